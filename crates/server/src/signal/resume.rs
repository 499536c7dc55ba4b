//! Getting back in after a drop (`resume`), and what the end of a connection means for the
//! participant's place: held while they reconnect, given up when they leave, or left to the
//! newer connection that resumed it. Entries and cleanups of one seat run one at a time
//! (`seat_entry`), so an older connection's cleanup never touches a newer one's media.

use plenary_meeting::Entered;
use plenary_proto::{ErrorCode, PROTOCOL_VERSION, ParticipantId, RoomId};

use super::{Closing, Connection, Flow, Joined, Sink};

impl Connection {
    pub(super) async fn resume(
        &mut self,
        sink: &mut Sink,
        v: u32,
        room: RoomId,
        id: ParticipantId,
        key: String,
    ) -> Flow {
        if v != PROTOCOL_VERSION {
            return self.unsupported(sink, v).await;
        }
        let meeting = self.app.meeting.clone();
        let cannot = "this meeting no longer holds your place: join again";
        let Some(claims) = meeting.live.resume_claims(&room, id, &key) else {
            return self.fatal(sink, ErrorCode::CannotResume, cannot).await;
        };
        let _entry = meeting.seat_entry(&claims.seat).await;
        let Some(resumed) = meeting.live.resume(&room, id, &key, self.outbox.clone()) else {
            return self.fatal(sink, ErrorCode::CannotResume, cannot).await;
        };
        // Fresh media: whatever the SFU still had of the old connection goes.
        self.app.engine.remove(id).await;
        if let Err(e) = self
            .app
            .engine
            .add(id, room.clone(), self.events.clone())
            .await
        {
            // Nothing to resume media with: the place is held as after any drop.
            self.joined = Some(Joined {
                id,
                room,
                claims: resumed.claims,
                generation: resumed.generation,
            });
            return self
                .fatal_keeping_place(sink, ErrorCode::Unavailable, &e.to_string())
                .await;
        }
        self.start_forwarding(&room, id).await;
        drop(_entry);
        tracing::info!(participant = %id, %room, "back in");
        let others = meeting
            .live
            .participants(&room)
            .into_iter()
            .map(|p| p.info)
            .filter(|p| p.id != id)
            .collect();
        let joined = Joined {
            id,
            room,
            claims: resumed.claims,
            generation: resumed.generation,
        };
        let info = resumed.participant;
        let entered = Entered {
            others,
            resume_key: resumed.resume_key,
            role: info.role,
            media: Some(plenary_proto::MediaOn {
                audio: info.info.audio,
                video: info.info.video,
                screen: info.info.screen,
            }),
        };
        self.in_the_meeting(sink, joined, info.info.name, info.role, entered)
            .await
    }

    /// A fatal error that still leaves the place held (the client may try again).
    async fn fatal_keeping_place(&mut self, sink: &mut Sink, code: ErrorCode, why: &str) -> Flow {
        let flow = self.fatal(sink, code, why).await;
        self.closing = Closing::Hold;
        flow
    }

    pub(super) async fn cleanup(&mut self) {
        if let Some(w) = self.waiting.take() {
            self.app
                .meeting
                .live
                .leave_lobby(&w.room, w.participant.info.id);
        }
        let Some(j) = self.joined.take() else {
            return;
        };
        let meeting = self.app.meeting.clone();
        let live = &meeting.live;
        let _entry = meeting.seat_entry(&j.claims.seat).await;
        match live.generation_of(&j.room, j.id) {
            // A newer connection has the place, its media and its seat.
            Some(g) if g != j.generation => return,
            _ if self.closing == Closing::Superseded => return,
            // Already out of the meeting (removed, replaced, ended): only the seat is left
            // (freed only if this participant still holds it).
            None => {
                self.app.engine.remove(j.id).await;
                meeting.release_seat(&j.claims, j.id).await;
                tracing::info!(participant = %j.id, room = %j.room, "left");
                return;
            }
            Some(_) => {}
        }
        self.app.engine.remove(j.id).await;
        match self.closing {
            Closing::Hold if live.hold(&j.room, j.id, j.generation) => {
                tracing::info!(participant = %j.id, room = %j.room, "dropped: holding the place");
                let meeting = meeting.clone();
                let hold = std::time::Duration::from_secs(self.app.settings.reconnect_hold_secs);
                tokio::spawn(async move {
                    tokio::time::sleep(hold).await;
                    let _entry = meeting.seat_entry(&j.claims.seat).await;
                    if meeting.live.leave_if_held(&j.room, j.id, j.generation) {
                        meeting.release_seat(&j.claims, j.id).await;
                        tracing::info!(participant = %j.id, room = %j.room, "did not come back: left");
                    }
                });
            }
            _ => {
                live.leave_as(&j.room, j.id, j.generation);
                meeting.release_seat(&j.claims, j.id).await;
                tracing::info!(participant = %j.id, room = %j.room, "left");
            }
        }
    }
}
