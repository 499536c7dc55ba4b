//! Getting back in after a drop. When a participant's connection is lost (not a leave, a
//! removal or the end), the meeting holds their place for [`HOLD_FOR`]: the others see them
//! reconnecting, their role, hand and seat are kept, and a new connection with their resume
//! key takes the place again. Each resume counts the member's generation up, so that a late
//! cleanup by an older connection never touches the newer one's place.

use std::time::Duration;

use plenary_proto::{ParticipantId, RoomId, ServerMessage};

use crate::JoinClaims;
use crate::live::{Meetings, Outbox, Participant, ToConnection, broadcast_except};

/// How long a dropped participant's place is held.
pub const HOLD_FOR: Duration = Duration::from_secs(30);

/// A place taken again.
#[derive(Debug, Clone)]
pub struct Resumed {
    pub participant: Participant,
    pub claims: JoinClaims,
    /// The new connection's generation.
    pub generation: u64,
    pub resume_key: String,
}

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Meetings {
    /// The claims of the place `key` resumes, if the meeting holds it (nothing changes).
    pub fn resume_claims(&self, room: &RoomId, id: ParticipantId, key: &str) -> Option<JoinClaims> {
        let state = self.lock();
        let m = state.rooms.get(room)?.get(&id)?;
        same_secret(&m.resume_key, key).then(|| m.claims.clone())
    }

    /// Takes participant `id`'s place again on a new connection (`outbox`), if `key` is
    /// theirs. Their previous connection, if it is still open, is told to close and leave
    /// everything to this one; the others see them back.
    pub fn resume(
        &self,
        room: &RoomId,
        id: ParticipantId,
        key: &str,
        outbox: Outbox,
    ) -> Option<Resumed> {
        let mut state = self.lock();
        // A meeting ended for good holds nobody's place (ending removes everyone anyway).
        if state.ended.contains(room) {
            return None;
        }
        let members = state.rooms.get_mut(room)?;
        let m = members.get_mut(&id)?;
        if !same_secret(&m.resume_key, key) {
            return None;
        }
        let old = std::mem::replace(&mut m.outbox, outbox);
        if !m.held
            && let Err(tokio::sync::mpsc::error::TrySendError::Full(msg)) =
                old.try_send(ToConnection::Superseded)
        {
            tokio::spawn(async move {
                let _ = old.send(msg).await;
            });
        }
        let was_held = std::mem::take(&mut m.held);
        m.p.info.reconnecting = false;
        // Their media starts afresh: nothing is heard of them until the SFU hears it again.
        let was_speaking = std::mem::take(&mut m.p.info.speaking);
        m.generation += 1;
        let resumed = Resumed {
            participant: m.p.clone(),
            claims: m.claims.clone(),
            generation: m.generation,
            resume_key: m.resume_key.clone(),
        };
        if was_speaking {
            broadcast_except(
                members,
                id,
                &ServerMessage::Speaking {
                    participant_id: id,
                    speaking: false,
                },
            );
        }
        if was_held {
            broadcast_except(
                members,
                id,
                &ServerMessage::ParticipantReconnected { participant_id: id },
            );
        }
        Some(resumed)
    }

    /// Participant `id`'s connection of `generation` dropped: their place is held and the
    /// others see them reconnecting. False when that connection is no longer theirs (a newer
    /// one resumed) or they are no longer in the meeting.
    pub fn hold(&self, room: &RoomId, id: ParticipantId, generation: u64) -> bool {
        let mut state = self.lock();
        let Some(members) = state.rooms.get_mut(room) else {
            return false;
        };
        let Some(m) = members.get_mut(&id) else {
            return false;
        };
        if m.generation != generation {
            return false;
        }
        m.held = true;
        m.p.info.reconnecting = true;
        if std::mem::take(&mut m.p.info.speaking) {
            broadcast_except(
                members,
                id,
                &ServerMessage::Speaking {
                    participant_id: id,
                    speaking: false,
                },
            );
        }
        broadcast_except(
            members,
            id,
            &ServerMessage::ParticipantReconnecting { participant_id: id },
        );
        true
    }

    /// Whether `generation` is participant `id`'s current connection.
    pub fn is_current(&self, room: &RoomId, id: ParticipantId, generation: u64) -> bool {
        self.generation_of(room, id) == Some(generation)
    }

    /// Participant `id`'s current connection's generation, if they are in the meeting.
    pub fn generation_of(&self, room: &RoomId, id: ParticipantId) -> Option<u64> {
        self.lock()
            .rooms
            .get(room)
            .and_then(|m| m.get(&id))
            .map(|m| m.generation)
    }

    /// The place held since a drop was not taken again in time: they leave the meeting.
    /// True when they did, or were no longer in it at all (removed or the meeting ended while
    /// held): either way their seat should be freed. False when they came back.
    pub fn leave_if_held(&self, room: &RoomId, id: ParticipantId, generation: u64) -> bool {
        let member = self
            .lock()
            .rooms
            .get(room)
            .and_then(|m| m.get(&id))
            .map(|m| m.held && m.generation == generation);
        match member {
            None => true,
            Some(true) => {
                self.leave(room, id);
                true
            }
            Some(false) => false,
        }
    }

    /// Participant `id`'s connection of `generation` leaves for good (a leave, a removal, the
    /// end): true when it was still theirs and they left.
    pub fn leave_as(&self, room: &RoomId, id: ParticipantId, generation: u64) -> bool {
        if !self.is_current(room, id, generation) {
            return false;
        }
        self.leave(room, id);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", "a"));
    }
}
