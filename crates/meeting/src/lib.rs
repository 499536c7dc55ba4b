//! The meeting service: who may enter a room and as what (room settings and the join
//! decision), the join tokens that carry that decision, the live meetings (presence, lobby,
//! roles) and the organisations' meeting-length limit. Every HTTP surface and the signalling
//! layer call this; none of them decides on its own.

pub mod length;
pub mod live;
pub mod names;
pub mod room_settings;
pub mod token;

pub use live::{DecideError, JoinRefused, Meetings, Outbox, Participant, RoomEvent, ToConnection};
pub use room_settings::{Access, Joiner, RoomSettings};
pub use token::{JoinClaims, TokenError, sign_join_token, verify_join_token};

use plenary_store::{Room, Store, StoreError};

/// Whether `user_id` owns or co-owns `room`.
pub async fn moderates(store: &dyn Store, room: &Room, user_id: i64) -> Result<bool, StoreError> {
    if room.owner_id == Some(user_id) {
        return Ok(true);
    }
    Ok(store
        .co_owners(&room.id)
        .await?
        .iter()
        .any(|u| u.id == user_id))
}
