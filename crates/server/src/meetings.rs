//! Who is in which live meeting, as people see it: names, microphone and camera state.
//! Every change is broadcast to the others in the room through their signalling tasks.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use plenary_proto::{ParticipantId, ParticipantInfo, RoomId, ServerMessage};
use tokio::sync::mpsc;

/// Messages for one participant's WebSocket. Bounded: a client that stops reading is
/// disconnected rather than allowed to grow the server's memory.
pub type Outbox = mpsc::Sender<ServerMessage>;

#[derive(Debug)]
struct Member {
    info: ParticipantInfo,
    outbox: Outbox,
}

/// The live meetings of this server.
#[derive(Debug, Default)]
pub struct Meetings {
    next_id: AtomicU64,
    rooms: Mutex<HashMap<RoomId, HashMap<ParticipantId, Member>>>,
}

impl Meetings {
    /// A fresh participant id, unique in this process.
    pub fn next_participant_id(&self) -> ParticipantId {
        ParticipantId(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, HashMap<ParticipantId, Member>>> {
        // A panic while holding this lock cannot leave the map half-updated (each change is a
        // single insert or remove), so a poisoned lock is still safe to use.
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a participant; returns the others already there and tells them.
    pub fn join(
        &self,
        room: &RoomId,
        info: ParticipantInfo,
        outbox: Outbox,
    ) -> Vec<ParticipantInfo> {
        let mut rooms = self.lock();
        let members = rooms.entry(room.clone()).or_default();
        let others: Vec<ParticipantInfo> = members.values().map(|m| m.info.clone()).collect();
        broadcast(
            members,
            &ServerMessage::ParticipantJoined {
                participant: info.clone(),
            },
        );
        members.insert(info.id, Member { info, outbox });
        others
    }

    /// Removes a participant and tells the others. Harmless if already gone.
    pub fn leave(&self, room: &RoomId, id: ParticipantId) {
        let mut rooms = self.lock();
        let Some(members) = rooms.get_mut(room) else {
            return;
        };
        if members.remove(&id).is_none() {
            return;
        }
        broadcast(
            members,
            &ServerMessage::ParticipantLeft { participant_id: id },
        );
        if members.is_empty() {
            rooms.remove(room);
        }
    }

    /// Records and broadcasts a participant's microphone and camera state.
    pub fn set_media_state(&self, room: &RoomId, id: ParticipantId, audio: bool, video: bool) {
        let mut rooms = self.lock();
        let Some(members) = rooms.get_mut(room) else {
            return;
        };
        let Some(me) = members.get_mut(&id) else {
            return;
        };
        me.info.audio = audio;
        me.info.video = video;
        let msg = ServerMessage::MediaState {
            participant_id: id,
            audio,
            video,
        };
        for (other, m) in members.iter() {
            if *other != id {
                let _ = m.outbox.try_send(msg.clone());
            }
        }
    }

    /// How many are in a room now.
    pub fn count(&self, room: &RoomId) -> usize {
        self.lock().get(room).map_or(0, HashMap::len)
    }

    /// Everyone in a room now.
    pub fn participants(&self, room: &RoomId) -> Vec<ParticipantInfo> {
        self.lock()
            .get(room)
            .map(|m| m.values().map(|m| m.info.clone()).collect())
            .unwrap_or_default()
    }
}

fn broadcast(members: &HashMap<ParticipantId, Member>, msg: &ServerMessage) {
    for m in members.values() {
        // A full outbox means that client stopped reading; its own task notices and closes.
        let _ = m.outbox.try_send(msg.clone());
    }
}
