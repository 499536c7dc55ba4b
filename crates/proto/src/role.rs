//! What a participant may do in a meeting.

use serde::{Deserialize, Serialize};

/// A participant's role in a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Moderator,
    Participant,
}
