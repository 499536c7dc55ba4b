//! The in-meeting parts of the protocol: chat, hands, reactions, moderation and the locks
//! moderators set for viewers. The messages that carry them are in `signal.rs`.

use serde::{Deserialize, Serialize};

use crate::ids::ParticipantId;

/// Longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 2000;

/// Who a chat message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatTo {
    /// Everyone in the meeting.
    Everyone,
    /// The meeting's moderators (and the sender).
    Moderators,
    /// One participant (and the sender): `participant_id` names them.
    Participant,
}

/// A chat message as the server stamped it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Unique in its meeting, increasing.
    pub id: u64,
    /// The sender, `None` for a message an integration posted (BBB `sendChatMessage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<ParticipantId>,
    /// The sender's name as it was when sent.
    pub name: String,
    pub to: ChatTo,
    /// The recipient of a private message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_participant: Option<ParticipantId>,
    pub text: String,
    /// Milliseconds since the Unix epoch, by the server's clock.
    pub at_ms: i64,
}

/// A reaction shown briefly on the sender's tile. A small fixed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reaction {
    Applause,
    ThumbsUp,
    ThumbsDown,
    Laugh,
    Surprised,
    Heart,
}

/// What a moderator does to one participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModAction {
    /// Mute their microphone (the client mutes; a microphone is never forced on).
    Mute,
    /// Ask them to unmute (they decide).
    AskUnmute,
    /// Turn their camera off.
    CameraOff,
    /// Remove them from the meeting.
    Remove,
    /// Remove them, and refuse them for the rest of this meeting.
    RemoveAndBar,
    /// Make them a moderator.
    Promote,
    /// Make a moderator a participant again.
    Demote,
    /// Stop their screen share.
    StopScreen,
}

/// What a moderator asked this client to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModRequest {
    /// You were muted (the client mutes its microphone).
    Mute,
    /// A moderator asks you to unmute.
    AskUnmute,
    /// Your camera was turned off.
    CameraOff,
    /// Stop sharing your screen (a moderator stopped it, or someone took over).
    StopScreen,
}

/// What viewers (participants who are not moderators) may not do. All off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Locks {
    pub cameras: bool,
    pub microphones: bool,
    pub public_chat: bool,
    /// Private chat with other viewers (moderators can always be written to).
    pub private_chat: bool,
    pub screen_share: bool,
    /// Viewers see only moderators' cameras.
    pub hide_viewer_cameras: bool,
}
