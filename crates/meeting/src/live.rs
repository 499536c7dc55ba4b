//! Who is in which live meeting, as people see it: names, roles, microphone and camera state.
//! Every change is broadcast to the others in the room through their signalling tasks, and
//! published as a [`RoomEvent`] for server-side listeners (the BigBlueButton API's lifecycle
//! and webhooks).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use plenary_proto::{Forwarding, ParticipantId, ParticipantInfo, Role, RoomId, ServerMessage};
use tokio::sync::{broadcast, mpsc};

use crate::JoinClaims;
use crate::usage::{Joiner, UsageFact};

/// What reaches one participant's connection task from the meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
// Messages are nearly all of what goes through: boxing them to shrink the rare variants
// would allocate for every one.
#[allow(clippy::large_enum_variant)]
pub enum ToConnection {
    /// Write this to the WebSocket.
    Message(ServerMessage),
    /// (To a waiting guest) a moderator let you in: finish joining.
    Admitted,
    /// (To a waiting guest) a moderator turned you away.
    Denied,
    /// Someone connected with your join token (you reloaded the page, or the link was used
    /// elsewhere): this connection gives up its seat and closes.
    Replaced,
    /// This participant got back in on a newer connection (a resume): this one closes and
    /// leaves everything (the meeting place, the media, the seat) to the newer one.
    Superseded,
    /// A moderator removed you (`barred`: and you may not come back to this meeting).
    Removed { barred: bool },
}

/// An open signalling connection, counted until dropped.
#[derive(Debug)]
pub struct ConnectionOpen(std::sync::Arc<AtomicU64>);

impl Drop for ConnectionOpen {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Messages for one participant's WebSocket. Bounded: a client that stops reading is
/// disconnected rather than allowed to grow the server's memory.
pub type Outbox = mpsc::Sender<ToConnection>;

/// A participant as the server knows them: what others see, plus what only the server and
/// the issuer of their join token need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub info: ParticipantInfo,
    pub role: Role,
    /// The token issuer's id for this person, if it gave one.
    pub user_id: Option<String>,
    /// Who this is, as far as the server can tell (account, integration user, address):
    /// what a moderator's "remove and bar" refuses for the rest of the meeting.
    pub identity: Vec<String>,
    /// The kind of client they came with (a browser family, say), for the usage ledger.
    pub client: String,
}

/// What a meeting starts with, when a join starts it.
#[derive(Debug, Clone, Default)]
pub struct Starting {
    /// What viewers may not do (an integration's lock settings).
    pub locks: plenary_proto::Locks,
    /// The room's prepared agenda.
    pub agenda: Vec<plenary_proto::AgendaItem>,
}

/// A change in a live meeting, for listeners on the server side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomEvent {
    Joined {
        room: RoomId,
        participant: Participant,
    },
    Left {
        room: RoomId,
        participant: Participant,
        /// How many remain.
        remaining: usize,
    },
    MediaState {
        room: RoomId,
        participant: Participant,
        /// The state before this change.
        was_audio: bool,
        was_video: bool,
    },
    /// The room's recording started, paused, resumed or stopped (also when its meeting ended
    /// while recording: then `Off`).
    Recording {
        room: RoomId,
        state: plenary_proto::RecordingState,
    },
    /// A participant started or stopped speaking (for the recording's timeline).
    Speaking {
        room: RoomId,
        participant: ParticipantId,
        speaking: bool,
    },
    /// A poll opened (`who` asked it), got a vote (`who` voted) or closed.
    Poll {
        room: RoomId,
        poll: Box<plenary_proto::Poll>,
        who: Option<Box<Participant>>,
        change: crate::polls::PollChange,
    },
    /// The shared minutes' text now (while the meeting is recorded, at most every few
    /// seconds after an edit: for the recording's timeline).
    Notes { room: RoomId, text: String },
}

#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) p: Participant,
    pub(crate) outbox: Outbox,
    /// What the SFU may forward of this member's media (their role and the locks): a watch,
    /// so that the latest value always reaches the connection, never dropped like a message.
    pub(crate) forwarding: tokio::sync::watch::Sender<Forwarding>,
    /// Their token's claims (a waiting guest's too): a resumed connection carries on with them.
    pub(crate) claims: JoinClaims,
    /// What gets them back in after a drop (sent to them alone, in `joined`).
    pub(crate) resume_key: String,
    /// Which of their connections is the current one: each resume counts one up, so that an
    /// older connection's late cleanup never touches the newer one's place.
    pub(crate) generation: u64,
    /// Their connection dropped: the place is held for them (see `reconnect.rs`).
    pub(crate) held: bool,
}

impl Member {
    pub(crate) fn new(
        p: Participant,
        outbox: Outbox,
        forwarding: Forwarding,
        claims: JoinClaims,
    ) -> Self {
        Self {
            p,
            outbox,
            forwarding: tokio::sync::watch::channel(forwarding).0,
            claims,
            resume_key: plenary_accounts::password::random_token(),
            generation: 0,
            held: false,
        }
    }

    /// Recomputes what the SFU may forward of this member under `locks`: what their role and
    /// the locks allow, of what they have on.
    pub(crate) fn refresh_forwarding(&self, locks: &plenary_proto::Locks) {
        let i = &self.p.info;
        let now = Forwarding::of(self.p.role, locks).only_what_is_on(i.audio, i.video, i.screen);
        self.forwarding.send_if_modified(|f| {
            let changed = *f != now;
            *f = now;
            changed
        });
    }
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) rooms: HashMap<RoomId, HashMap<ParticipantId, Member>>,
    /// Rooms whose meeting was ended: nobody joins them again.
    pub(crate) ended: HashSet<RoomId>,
    /// Guests waiting to be let in, per room.
    pub(crate) lobby: HashMap<RoomId, HashMap<ParticipantId, Member>>,
    /// Each running meeting's chat, hands, locks and barred people (from its first join until
    /// its room is empty again).
    pub(crate) meetings: HashMap<RoomId, crate::actions::InMeeting>,
}

/// Why a moderator's admit or deny did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecideError {
    NotModerator,
    NotWaiting,
}

/// A participant in the meeting: who was there already, and their own resume key.
#[derive(Debug, Clone)]
pub struct Entered {
    pub others: Vec<ParticipantInfo>,
    pub resume_key: String,
    /// Their role in this meeting: the token's, unless a moderator promoted or demoted the
    /// token's seat earlier in it (a reload keeps what the moderator decided).
    pub role: Role,
    /// (A resume) what the meeting records they have on; a fresh join has nothing on yet.
    pub media: Option<plenary_proto::MediaOn>,
}

/// Why a join was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinRefused {
    Ended,
    /// A moderator removed this person from this meeting for good.
    Barred,
}

/// The live meetings of this server.
#[derive(Debug)]
pub struct Meetings {
    next_id: AtomicU64,
    /// Signalling connections open now (the server waits for them to finish when stopping).
    connections: std::sync::Arc<AtomicU64>,
    /// Set when the server stops.
    stopping: tokio::sync::watch::Sender<bool>,
    state: Mutex<State>,
    events: broadcast::Sender<RoomEvent>,
    /// The usage ledger's tap (see `usage.rs`): told while the state is locked, so that its
    /// facts come in the order things happened.
    pub(crate) usage: Mutex<Option<mpsc::UnboundedSender<crate::usage::UsageFact>>>,
    /// Meetings that ended (room, when it started), for closing the polls they left open:
    /// never dropped, unlike RoomEvents.
    pub(crate) ended: Mutex<Option<mpsc::UnboundedSender<(RoomId, i64)>>>,
}

impl Default for Meetings {
    fn default() -> Self {
        Self {
            next_id: AtomicU64::new(0),
            connections: std::sync::Arc::default(),
            stopping: tokio::sync::watch::channel(false).0,
            state: Mutex::new(State::default()),
            // Listeners that fall this far behind miss events (and log it); presence itself
            // never waits for them.
            events: broadcast::channel(4096).0,
            usage: Mutex::new(None),
            ended: Mutex::new(None),
        }
    }
}

impl Meetings {
    /// Server-side changes of every meeting, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<RoomEvent> {
        self.events.subscribe()
    }

    pub(crate) fn publish(&self, e: RoomEvent) {
        // No listener is fine: nothing on the server wants presence events then.
        let _ = self.events.send(e);
    }

    /// Counts a signalling connection as open until the guard is dropped (after its cleanup).
    pub fn connection(&self) -> ConnectionOpen {
        self.connections.fetch_add(1, Ordering::SeqCst);
        ConnectionOpen(self.connections.clone())
    }

    /// Signalling connections open now.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    /// Whether participant `id` is in any meeting on this node.
    pub fn is_present(&self, id: ParticipantId) -> bool {
        self.lock().rooms.values().any(|m| m.contains_key(&id))
    }

    /// A fresh participant id, unique in this process.
    pub fn next_participant_id(&self) -> ParticipantId {
        ParticipantId(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the map half-updated (each change is a
        // single insert or remove), so a poisoned lock is still safe to use.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a participant unless the room's meeting ended; returns the others already there
    /// and the key that gets this participant back in after a drop, and tells the others.
    /// (Limits are the seats' business: admission checked them.)
    pub fn join(
        &self,
        room: &RoomId,
        mut participant: Participant,
        outbox: Outbox,
        claims: JoinClaims,
        starting: Starting,
    ) -> Result<Entered, JoinRefused> {
        let mut state = self.lock();
        if state.ended.contains(room) {
            return Err(JoinRefused::Ended);
        }
        let now = plenary_proto::clock::unix_millis();
        let mut facts = Vec::new();
        let meeting = state.meetings.entry(room.clone()).or_insert_with(|| {
            let mut m = crate::actions::InMeeting::new(now);
            m.locks = starting.locks;
            m.floor = crate::agenda::Floor::new(starting.agenda);
            facts.push(UsageFact::MeetingStarted {
                room: room.clone(),
                meeting_ms: now,
                at_ms: now,
            });
            m
        });
        if meeting.is_barred(&participant.identity) {
            // (Bars are a running meeting's: a meeting this join started bars nobody.)
            return Err(JoinRefused::Barred);
        }
        let meeting_ms = meeting.started_ms;
        if let Some(role) = meeting.given_role(&claims) {
            participant.role = role;
            participant.info.role = role;
        }
        let role = participant.role;
        let i = &participant.info;
        let forwarding = Forwarding::of(participant.role, &meeting.locks)
            .only_what_is_on(i.audio, i.video, i.screen);
        let members = state.rooms.entry(room.clone()).or_default();
        let others: Vec<ParticipantInfo> = members.values().map(|m| m.p.info.clone()).collect();
        broadcast(
            members,
            &ServerMessage::ParticipantJoined {
                participant: participant.info.clone(),
            },
        );
        facts.push(UsageFact::Joined {
            room: room.clone(),
            meeting_ms,
            at_ms: now,
            participant: participant.info.id,
            who: Joiner {
                role,
                account: claims.account,
                user_id: claims.user_id.clone(),
                seat: claims.seat.clone(),
                name: participant.info.name.clone(),
                client: participant.client.clone(),
            },
        });
        let member = Member::new(participant.clone(), outbox, forwarding, claims);
        let resume_key = member.resume_key.clone();
        members.insert(participant.info.id, member);
        self.tell_usage(facts);
        drop(state);
        self.publish(RoomEvent::Joined {
            room: room.clone(),
            participant,
        });
        Ok(Entered {
            others,
            resume_key,
            role,
            media: None,
        })
    }

    /// What the SFU may forward of `id`'s media, kept up to date while they are in the
    /// meeting (the connection hands it to the media engine).
    pub fn forwarding(
        &self,
        room: &RoomId,
        id: ParticipantId,
    ) -> Option<tokio::sync::watch::Receiver<Forwarding>> {
        self.lock()
            .rooms
            .get(room)
            .and_then(|m| m.get(&id))
            .map(|m| m.forwarding.subscribe())
    }

    /// Removes a participant and tells the others. Harmless if already gone.
    pub fn leave(&self, room: &RoomId, id: ParticipantId) {
        let mut state = self.lock();
        let Some(members) = state.rooms.get_mut(room) else {
            return;
        };
        let Some(gone) = members.remove(&id) else {
            return;
        };
        broadcast(
            members,
            &ServerMessage::ParticipantLeft { participant_id: id },
        );
        let remaining = members.len();
        let now = plenary_proto::clock::unix_millis();
        let meeting_ms = state.meetings.get(room).map_or(0, |m| m.started_ms);
        let mut facts = vec![UsageFact::Left {
            room: room.clone(),
            meeting_ms,
            at_ms: now,
            participant: id,
        }];
        let mut recording_ended = false;
        if remaining == 0 {
            // The meeting is over: its chat, hands, locks and bars with it (the chat is kept in
            // the store), and its recording ends.
            state.rooms.remove(room);
            let meeting = state.meetings.remove(room);
            recording_ended = meeting.as_ref().is_some_and(|m| !m.recording.is_off());
            if let Some(m) = meeting {
                facts.push(UsageFact::MeetingEnded {
                    room: room.clone(),
                    meeting_ms: m.started_ms,
                    at_ms: now,
                });
            }
        } else {
            crate::actions::forget_hand(&mut state, room, id);
        }
        self.tell_usage(facts);
        drop(state);
        if recording_ended {
            self.publish(RoomEvent::Recording {
                room: room.clone(),
                state: plenary_proto::RecordingState::Off,
            });
        }
        self.publish(RoomEvent::Left {
            room: room.clone(),
            participant: gone.p,
            remaining,
        });
    }

    /// Puts a guest in a room's waiting room and tells the moderators there.
    pub fn wait(
        &self,
        room: &RoomId,
        participant: Participant,
        outbox: Outbox,
        claims: JoinClaims,
    ) -> Result<(), JoinRefused> {
        let mut state = self.lock();
        if state.ended.contains(room) {
            return Err(JoinRefused::Ended);
        }
        if let Some(members) = state.rooms.get(room) {
            tell_moderators(
                members,
                &ServerMessage::GuestWaiting {
                    participant: participant.info.clone(),
                },
            );
        }
        // A waiting guest sends no media: nothing is forwarded of them.
        state.lobby.entry(room.clone()).or_default().insert(
            participant.info.id,
            Member::new(participant, outbox, Forwarding::CLOSED, claims),
        );
        Ok(())
    }

    /// Guests waiting in a room, in the order they came.
    pub fn lobby(&self, room: &RoomId) -> Vec<ParticipantInfo> {
        let mut all: Vec<ParticipantInfo> = self
            .lock()
            .lobby
            .get(room)
            .map(|l| l.values().map(|m| m.p.info.clone()).collect())
            .unwrap_or_default();
        all.sort_by_key(|p| p.id);
        all
    }

    /// A moderator lets a waiting guest in (`admit`) or turns them away.
    pub fn decide(
        &self,
        room: &RoomId,
        moderator: ParticipantId,
        guest: ParticipantId,
        admit: bool,
    ) -> Result<(), DecideError> {
        let mut state = self.lock();
        let is_moderator = state
            .rooms
            .get(room)
            .and_then(|m| m.get(&moderator))
            .is_some_and(|m| m.p.role == Role::Moderator);
        if !is_moderator {
            return Err(DecideError::NotModerator);
        }
        let waiting = state.lobby.get_mut(room).and_then(|l| l.remove(&guest));
        let Some(g) = waiting else {
            return Err(DecideError::NotWaiting);
        };
        let _ = g.outbox.try_send(if admit {
            ToConnection::Admitted
        } else {
            ToConnection::Denied
        });
        if let Some(members) = state.rooms.get(room) {
            tell_moderators(
                members,
                &ServerMessage::LobbyLeft {
                    participant_id: guest,
                },
            );
        }
        Ok(())
    }

    /// A waiting guest went away. Harmless if they are not waiting.
    pub fn leave_lobby(&self, room: &RoomId, id: ParticipantId) {
        let mut state = self.lock();
        let gone = state.lobby.get_mut(room).and_then(|l| l.remove(&id));
        if gone.is_some()
            && let Some(members) = state.rooms.get(room)
        {
            tell_moderators(members, &ServerMessage::LobbyLeft { participant_id: id });
        }
        if state.lobby.get(room).is_some_and(HashMap::is_empty) {
            state.lobby.remove(room);
        }
    }

    /// The role a moderator gave this person earlier in the room's meeting, if any (it wins
    /// over their token's: a reload keeps a promotion or a demotion).
    pub fn given_role(&self, room: &RoomId, claims: &JoinClaims) -> Option<Role> {
        self.lock().meetings.get(room)?.given_role(claims)
    }

    /// Whether a room's meeting was ended for good (nobody joins it again).
    pub fn is_ended(&self, room: &RoomId) -> bool {
        self.lock().ended.contains(room)
    }

    /// Another connection took participant `id`'s seat over: they leave the meeting at once
    /// (the others are told), and their connection is told to close. That message is never
    /// dropped, even when a slow client's outbox is full.
    pub fn replace(&self, room: &RoomId, id: ParticipantId) {
        let Some(outbox) = self
            .lock()
            .rooms
            .get(room)
            .and_then(|m| m.get(&id))
            .map(|m| m.outbox.clone())
        else {
            return;
        };
        self.leave(room, id);
        deliver_surely(&outbox, ToConnection::Replaced);
    }

    /// Changes to `true` when the server stops.
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Ends every meeting (the server is stopping): everyone is told why and disconnected, and
    /// connections in no meeting are told to close.
    pub fn end_all(&self, reason: &str) {
        let _ = self.stopping.send(true);
        let rooms: Vec<RoomId> = {
            let state = self.lock();
            state
                .rooms
                .keys()
                .chain(state.lobby.keys())
                .cloned()
                .collect()
        };
        for room in rooms {
            self.stop(&room, reason, false);
        }
    }

    /// Tells the moderators of every meeting on this node.
    pub fn tell_all_moderators(&self, msg: &ServerMessage) {
        for members in self.lock().rooms.values() {
            tell_moderators(members, msg);
        }
    }

    /// When the meeting running in `room` started (ms; it names the meeting in the usage
    /// ledger and in call-quality reports).
    pub fn meeting_started(&self, room: &RoomId) -> Option<i64> {
        self.lock().meetings.get(room).map(|m| m.started_ms)
    }

    /// A participant's display name, while in `room`.
    pub fn participant_name(&self, room: &RoomId, id: ParticipantId) -> Option<String> {
        let state = self.lock();
        state
            .rooms
            .get(room)?
            .get(&id)
            .map(|m| m.p.info.name.clone())
    }

    /// How many meetings run on this server now.
    pub fn meeting_count(&self) -> usize {
        self.lock().rooms.values().filter(|m| !m.is_empty()).count()
    }

    /// How many are in meetings on this server now.
    pub fn total(&self) -> usize {
        self.lock().rooms.values().map(HashMap::len).sum()
    }

    /// Ends a room's meeting: everyone in it is told why and disconnected, and nobody joins
    /// it again. Their signalling tasks clean up (and publish `Left`) as they close.
    pub fn end(&self, room: &RoomId, reason: &str) {
        self.stop(room, reason, true);
    }

    /// Ends the meeting now in a room that stays open: everyone is told why and disconnected;
    /// a later join starts a new meeting.
    pub fn end_meeting(&self, room: &RoomId, reason: &str) {
        self.stop(room, reason, false);
    }

    /// Everyone leaves at once, those whose place is held too (their resume then finds no
    /// place), and the meeting's state (chat in memory, hands, locks, bars) goes with them:
    /// nothing of it lingers for the room's next meeting. Each open connection is told why
    /// (never dropped, even from a full outbox) and closes.
    fn stop(&self, room: &RoomId, reason: &str, forever: bool) {
        let mut state = self.lock();
        if forever {
            state.ended.insert(room.clone());
        }
        let members = state.rooms.remove(room).unwrap_or_default();
        let meeting = state.meetings.remove(room);
        let was_recording = meeting.as_ref().is_some_and(|m| !m.recording.is_off());
        let waiting = state.lobby.remove(room).unwrap_or_default();
        if let Some(m) = meeting {
            let now = plenary_proto::clock::unix_millis();
            let mut ids: Vec<ParticipantId> = members.keys().copied().collect();
            ids.sort();
            let mut facts: Vec<UsageFact> = ids
                .into_iter()
                .map(|participant| UsageFact::Left {
                    room: room.clone(),
                    meeting_ms: m.started_ms,
                    at_ms: now,
                    participant,
                })
                .collect();
            facts.push(UsageFact::MeetingEnded {
                room: room.clone(),
                meeting_ms: m.started_ms,
                at_ms: now,
            });
            self.tell_usage(facts);
        }
        drop(state);
        if was_recording {
            self.publish(RoomEvent::Recording {
                room: room.clone(),
                state: plenary_proto::RecordingState::Off,
            });
        }
        let msg = ServerMessage::Ended {
            reason: reason.to_owned(),
        };
        for m in members.values().chain(waiting.values()) {
            deliver_surely(&m.outbox, ToConnection::Message(msg.clone()));
        }
        let mut gone: Vec<Participant> = members.into_values().map(|m| m.p).collect();
        gone.sort_by_key(|p| p.info.id);
        let mut remaining = gone.len();
        for participant in gone {
            remaining -= 1;
            self.publish(RoomEvent::Left {
                room: room.clone(),
                participant,
                remaining,
            });
        }
    }

    /// Records and tells everyone how well a participant's connection carries media, when
    /// that changed.
    pub fn set_quality(&self, room: &RoomId, id: ParticipantId, quality: plenary_proto::Quality) {
        let mut state = self.lock();
        let Some(members) = state.rooms.get_mut(room) else {
            return;
        };
        let Some(me) = members.get_mut(&id) else {
            return;
        };
        if me.p.info.quality == quality {
            return;
        }
        me.p.info.quality = quality;
        broadcast(
            members,
            &ServerMessage::Quality {
                participant_id: id,
                quality,
            },
        );
    }

    /// Records and tells everyone whether a participant speaks now.
    pub fn set_speaking(&self, room: &RoomId, id: ParticipantId, speaking: bool) {
        let mut state = self.lock();
        let Some(members) = state.rooms.get_mut(room) else {
            return;
        };
        let Some(me) = members.get_mut(&id) else {
            return;
        };
        if me.p.info.speaking == speaking {
            return;
        }
        me.p.info.speaking = speaking;
        broadcast(
            members,
            &ServerMessage::Speaking {
                participant_id: id,
                speaking,
            },
        );
        // Only a recording's timeline wants it: no event for rooms not being recorded.
        let recorded = state
            .meetings
            .get(room)
            .is_some_and(|m| m.recording != plenary_proto::RecordingState::Off);
        drop(state);
        if recorded {
            self.publish(RoomEvent::Speaking {
                room: room.clone(),
                participant: id,
                speaking,
            });
        }
    }

    /// Records and broadcasts a participant's microphone, camera and screen state; the SFU
    /// forwards only what is on. Refused when sent too often (it reaches everyone).
    pub fn set_media_state(
        &self,
        room: &RoomId,
        id: ParticipantId,
        audio: bool,
        video: bool,
        screen: bool,
    ) -> Result<(), crate::ActionError> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let Some(members) = state.rooms.get_mut(room) else {
            return Err(crate::ActionError::NotInMeeting);
        };
        let Some(meeting) = state.meetings.get_mut(room) else {
            return Err(crate::ActionError::NotInMeeting);
        };
        let Some(me) = members.get_mut(&id) else {
            return Err(crate::ActionError::NotInMeeting);
        };
        // A viewer locked out of the microphone, camera or screen share cannot turn it on.
        let locks = meeting.locks;
        if me.p.role != Role::Moderator
            && ((audio && locks.microphones)
                || (video && locks.cameras)
                || (screen && locks.screen_share))
        {
            return Err(crate::ActionError::Locked);
        }
        // Turning something off is always allowed; turning on draws on the allowance.
        let turns_on = (audio && !me.p.info.audio)
            || (video && !me.p.info.video)
            || (screen && !me.p.info.screen);
        if turns_on && meeting.state_too_fast(id, std::time::Instant::now()) {
            return Err(crate::ActionError::TooFast);
        }
        let (was_audio, was_video, was_screen) =
            (me.p.info.audio, me.p.info.video, me.p.info.screen);
        me.p.info.audio = audio;
        me.p.info.video = video;
        me.p.info.screen = screen;
        me.refresh_forwarding(&locks);
        let name = me.p.info.name.clone();
        let changed = RoomEvent::MediaState {
            room: room.clone(),
            participant: me.p.clone(),
            was_audio,
            was_video,
        };
        let msg = ServerMessage::MediaState {
            participant_id: id,
            audio,
            video,
            screen,
        };
        for (other, m) in members.iter() {
            if *other != id {
                let _ = m.outbox.try_send(ToConnection::Message(msg.clone()));
            }
        }
        // One share at a time: a new share takes over (its client asked the person first).
        if screen && !was_screen {
            let sharing: Vec<ParticipantId> = members
                .values()
                .filter(|m| m.p.info.id != id && m.p.info.screen)
                .map(|m| m.p.info.id)
                .collect();
            for other in sharing {
                crate::actions::stop_screen(members, other, &name, &locks);
            }
        }
        drop(guard);
        if (was_audio, was_video, was_screen) != (audio, video, screen) {
            self.publish(changed);
        }
        Ok(())
    }

    /// How many are in a room now.
    pub fn count(&self, room: &RoomId) -> usize {
        self.lock().rooms.get(room).map_or(0, HashMap::len)
    }

    /// Everyone in a room now, in the order they joined.
    pub fn participants(&self, room: &RoomId) -> Vec<Participant> {
        let mut all: Vec<Participant> = self
            .lock()
            .rooms
            .get(room)
            .map(|m| m.values().map(|m| m.p.clone()).collect())
            .unwrap_or_default();
        all.sort_by_key(|p| p.info.id);
        all
    }
}

/// Sends what must reach a connection (it ends their part: removed, replaced, the end): when
/// the outbox is full it is sent as soon as there is room, never dropped.
pub(crate) fn deliver_surely(outbox: &Outbox, to: ToConnection) {
    if let Err(mpsc::error::TrySendError::Full(to)) = outbox.try_send(to) {
        let outbox = outbox.clone();
        tokio::spawn(async move {
            let _ = outbox.send(to).await;
        });
    }
}

pub(crate) fn broadcast(members: &HashMap<ParticipantId, Member>, msg: &ServerMessage) {
    for m in members.values() {
        // A full outbox means that client stopped reading; its own task notices and closes.
        let _ = m.outbox.try_send(ToConnection::Message(msg.clone()));
    }
}

/// Sends `msg` to everyone in `members` but `id`.
pub(crate) fn broadcast_except(
    members: &HashMap<ParticipantId, Member>,
    id: ParticipantId,
    msg: &ServerMessage,
) {
    for m in members.values().filter(|m| m.p.info.id != id) {
        let _ = m.outbox.try_send(ToConnection::Message(msg.clone()));
    }
}

pub(crate) fn tell_moderators(members: &HashMap<ParticipantId, Member>, msg: &ServerMessage) {
    for m in members.values().filter(|m| m.p.role == Role::Moderator) {
        let _ = m.outbox.try_send(ToConnection::Message(msg.clone()));
    }
}
