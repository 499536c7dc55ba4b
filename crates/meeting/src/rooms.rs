//! Creating rooms: the one way, for every surface (the portal's "new room", the native API, the
//! BigBlueButton adapter's `create`). Closed by default: only signed-in members create rooms,
//! unless the operator opened the instance (`room_creation = anyone`), and then the rooms made
//! without an account expire once unused. An owner's organisations' room limit is checked and
//! written in one store transaction.

use std::time::Duration;

use plenary_proto::RoomId;
use plenary_proto::clock::unix_secs;
use plenary_store::{NewRoom, Room, StoreError, User};
use serde::{Deserialize, Serialize};

use crate::Service;
use crate::room_settings::{IntegrationRules, RoomSettings};

/// Who may create rooms (`PLENARY_ROOM_CREATION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RoomCreation {
    /// Signed-in members (and API tokens, which act as an account), and the BigBlueButton
    /// API's clients with the shared secret.
    #[default]
    Members,
    /// Anyone, even without an account: an open instance anyone can relay media through.
    Anyone,
}

impl RoomCreation {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "members" => Some(Self::Members),
            "anyone" => Some(Self::Anyone),
            _ => None,
        }
    }
}

/// Who creates a room.
#[derive(Debug, Clone)]
pub enum Creator {
    /// A signed-in account (or an API token acting as one): it owns the room.
    Account(User),
    /// Nobody signed in (only under [`RoomCreation::Anyone`]).
    Anonymous,
    /// An integration, under its own rules; its rooms admit only through its join links.
    Integration { id: RoomId, rules: IntegrationRules },
}

/// Why a room was not made.
#[derive(Debug, thiserror::Error)]
pub enum CreateRefusal {
    #[error("creating rooms needs a signed-in account")]
    SignInRequired,
    #[error("your organisation allows {max} rooms per member")]
    RoomLimit { max: i64 },
    #[error("{0}")]
    BadName(&'static str),
    #[error("the server cannot reach its database right now")]
    Unavailable(#[source] StoreError),
}

impl From<StoreError> for CreateRefusal {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "room creation storage failure");
        Self::Unavailable(e)
    }
}

impl Service {
    /// Creates a room named `name` (empty: the owner's name, else "Meeting").
    pub async fn create_room(&self, name: &str, by: Creator) -> Result<Room, CreateRefusal> {
        // Who may is checked before anything is said about what they sent.
        if matches!(by, Creator::Anonymous) && self.settings.room_creation != RoomCreation::Anyone {
            return Err(CreateRefusal::SignInRequired);
        }
        let fallback = match &by {
            Creator::Account(u) => u.name.clone(),
            _ => "Meeting".to_owned(),
        };
        let name = match &by {
            // An integration's names are its own (BBB allows long ones): kept, shortened.
            Creator::Integration { .. } => {
                let n: String = name
                    .trim()
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(100)
                    .collect();
                if n.is_empty() { fallback } else { n }
            }
            _ if name.trim().is_empty() => fallback,
            _ => crate::names::clean_room_name(name).map_err(CreateRefusal::BadName)?,
        };
        let (owner, max_rooms, anonymous, settings, fixed_id) = match by {
            Creator::Account(u) => {
                let max = plenary_accounts::limits_of(&*self.store, u.id)
                    .await?
                    .max_rooms;
                (Some(u.id), max, false, RoomSettings::default(), None)
            }
            Creator::Anonymous => (None, None, true, RoomSettings::default(), None),
            Creator::Integration { id, rules } => {
                // An integration lists its recordings to its own people (BBB's playback
                // links are unguessable links): the link opens them, unless protected.
                let settings = RoomSettings {
                    recording_allowed: rules.recording.record,
                    recordings_audience: crate::RecordingAudience::Link,
                    integration: Some(rules),
                    ..RoomSettings::default()
                };
                (None, None, false, settings, Some(id))
            }
        };
        // Random ids collide with negligible probability; retry a few times all the same.
        for _ in 0..5 {
            let new = NewRoom {
                id: fixed_id.clone().unwrap_or_else(RoomId::random),
                name: name.clone(),
                created_at: unix_secs(),
                owner_id: owner,
                settings: settings.to_json(),
                anonymous,
            };
            match self.store.create_room_within(&new, max_rooms).await {
                Ok(room) => {
                    tracing::info!(room = %room.id, owner = ?room.owner_id, anonymous, "room created");
                    return Ok(room);
                }
                Err(StoreError::LimitReached(_)) => {
                    return Err(CreateRefusal::RoomLimit {
                        max: max_rooms.unwrap_or_default(),
                    });
                }
                Err(StoreError::Conflict(_)) if fixed_id.is_none() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict("a free room id".into()).into())
    }

    /// Deletes a room: its meeting ends for everyone in it (`reason`), then it is gone.
    pub async fn delete_room(&self, id: &RoomId, reason: &str) -> Result<bool, StoreError> {
        self.live.end(id, reason);
        self.store.delete_room(id).await
    }

    /// Deletes anonymous rooms unused for `anonymous_room_days`, now and every hour; looks
    /// after the seats every minute ([`Service::sweep_seats`]).
    pub fn spawn_sweeper(self: &std::sync::Arc<Self>) {
        let seats = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                match seats.sweep_seats().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(seats = n, "freed seats nobody was holding any more"),
                    Err(e) => tracing::error!(error = %e, "could not free orphaned seats"),
                }
            }
        });
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tick.tick().await;
                let days = i64::from(me.settings.anonymous_room_days);
                let before = unix_secs() - days * 86_400;
                match me.store.delete_unused_anonymous_rooms(before).await {
                    Ok(gone) => {
                        for id in &gone {
                            me.live.end(id, "room_deleted");
                        }
                        if !gone.is_empty() {
                            tracing::info!(
                                rooms = gone.len(),
                                days,
                                "unused anonymous rooms deleted"
                            );
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "could not delete unused anonymous rooms")
                    }
                }
            }
        });
    }
}
