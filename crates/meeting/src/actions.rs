//! What happens inside a meeting: chat (public, to the moderators, private), hands and
//! reactions, and the moderators' powers (mute, ask to unmute, camera off, remove and bar,
//! promote and demote, mute all, locks, end for all). Every action is checked here, whoever
//! sends it: a client that skips its interface gets the same refusals. Signalling only
//! translates.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use plenary_proto::{
    ChatMessage, ChatTo, Locks, MAX_CHAT_CHARS, ModAction, ModRequest, ParticipantId, Reaction,
    Role, RoomId, ServerMessage,
};

use crate::live::{Meetings, RoomEvent, State, ToConnection, broadcast};

/// Chat messages a meeting keeps in memory for late joiners (all are in the store).
const HISTORY: usize = 1000;
/// Chat messages (and reactions) one participant may send per window.
const PER_WINDOW: usize = 20;
/// Hand and microphone/camera/screen changes one participant may make per window (each
/// reaches everyone): plenty for a person, not enough to flood the others.
const STATE_PER_WINDOW: usize = 40;
const WINDOW: Duration = Duration::from_secs(10);

/// One running meeting's state beyond who is in it.
#[derive(Debug)]
pub struct InMeeting {
    /// When its first participant joined, in milliseconds since the epoch: the meeting's id
    /// within its room (the chat is stored under it).
    pub started_ms: i64,
    chat: Vec<ChatMessage>,
    next_chat: u64,
    pub(crate) hands: Vec<ParticipantId>,
    pub(crate) locks: Locks,
    /// Identities removed for the rest of the meeting.
    barred: HashSet<String>,
    /// Recent sends per participant (chat, reactions), for the rate limit.
    recent: std::collections::HashMap<ParticipantId, Vec<Instant>>,
    /// Recent hand and media-state changes per participant, for their own limit.
    recent_state: std::collections::HashMap<ParticipantId, Vec<Instant>>,
    /// Whether it is being recorded.
    pub(crate) recording: plenary_proto::RecordingState,
    /// Roles moderators gave, by who the person is (their account or integration user id,
    /// never a shared address) and by seat: someone demoted who reloads stays demoted.
    given_roles: std::collections::HashMap<String, Role>,
    /// Its polls, open and closed.
    pub(crate) polls: crate::polls::Polls,
    /// Its agenda and speakers' list.
    pub(crate) floor: crate::agenda::Floor,
    /// Its shared minutes.
    pub(crate) minutes: std::sync::Arc<crate::minutes::Minutes>,
}

impl InMeeting {
    pub(crate) fn new(started_ms: i64) -> Self {
        Self {
            started_ms,
            chat: Vec::new(),
            next_chat: 1,
            hands: Vec::new(),
            locks: Locks::default(),
            barred: HashSet::new(),
            recent: Default::default(),
            recent_state: Default::default(),
            given_roles: Default::default(),
            recording: Default::default(),
            polls: Default::default(),
            floor: Default::default(),
            minutes: Default::default(),
        }
    }

    /// The role a moderator gave this person (or seat) in this meeting, if one did.
    pub(crate) fn given_role(&self, claims: &crate::JoinClaims) -> Option<Role> {
        role_keys(claims).find_map(|k| self.given_roles.get(&k).copied())
    }

    fn give_role(&mut self, claims: &crate::JoinClaims, role: Role) {
        for k in role_keys(claims) {
            self.given_roles.insert(k, role);
        }
    }

    pub(crate) fn is_barred(&self, identity: &[String]) -> bool {
        identity.iter().any(|i| self.barred.contains(i))
    }

    fn too_fast(&mut self, who: ParticipantId, now: Instant) -> bool {
        over_budget(self.recent.entry(who).or_default(), PER_WINDOW, now)
    }

    /// Whether `who` changed their hand or media state too often just now (counts this one).
    pub(crate) fn state_too_fast(&mut self, who: ParticipantId, now: Instant) -> bool {
        over_budget(
            self.recent_state.entry(who).or_default(),
            STATE_PER_WINDOW,
            now,
        )
    }
}

/// What a given role is remembered under: the person's stable identities (an address is
/// shared by everyone behind one NAT, so never that), then the seat.
fn role_keys(claims: &crate::JoinClaims) -> impl Iterator<Item = String> {
    claims
        .identity()
        .into_iter()
        .filter(|i| !i.starts_with("address:"))
        .chain(std::iter::once(format!("seat:{}", claims.seat)))
}

/// Whether one more send within [`WINDOW`] goes over `budget` (counts it when not).
fn over_budget(list: &mut Vec<Instant>, budget: usize, now: Instant) -> bool {
    list.retain(|t| now.duration_since(*t) < WINDOW);
    if list.len() >= budget {
        return true;
    }
    list.push(now);
    false
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("you are not in this meeting")]
    NotInMeeting,
    #[error("only a moderator may do that")]
    NotModerator,
    #[error("no such participant in this meeting")]
    UnknownParticipant,
    #[error("a moderator locked that for participants")]
    Locked,
    #[error("a chat message needs 1 to {MAX_CHAT_CHARS} characters")]
    BadText,
    #[error("slow down: too many messages at once")]
    TooFast,
    #[error("no such chat message")]
    UnknownMessage,
    #[error("the server cannot save this right now")]
    Unavailable,
    #[error("this room may not be recorded")]
    RecordingNotAllowed,
    #[error("the organisation's recordings take all the storage it may use")]
    RecordingQuotaFull,
    #[error("no such poll in this meeting")]
    UnknownPoll,
    #[error("this poll is closed")]
    PollClosed,
    #[error("choose one of the poll's options (several only where it allows)")]
    BadChoice,
    #[error("you voted in this poll already")]
    AlreadyVoted,
    #[error("this poll is for others (signed-in people or the organisation's members)")]
    NotEligible,
    #[error("{0}")]
    BadPoll(String),
    #[error("polls are turned off in this meeting")]
    PollsDisabled,
    #[error("{0}")]
    BadAgenda(String),
    #[error("that is not an edit of the minutes (a Yjs update, base64, of at most {} KiB)", plenary_proto::MAX_NOTES_EDIT_BYTES / 1024)]
    BadNotes,
    #[error("the minutes are as long as they may be")]
    NotesFull,
    #[error("shared notes are turned off in this meeting")]
    NotesDisabled,
    #[error("that edit follows one the server does not have: load the minutes again")]
    NotesGap,
}

/// Whether `msg` is for `who` (with role `role`).
fn visible(msg: &ChatMessage, who: ParticipantId, role: Role) -> bool {
    match msg.to {
        ChatTo::Everyone => true,
        ChatTo::Moderators => role == Role::Moderator || msg.from == Some(who),
        ChatTo::Participant => msg.to_participant == Some(who) || msg.from == Some(who),
    }
}

/// Who is in `room` and its meeting's state, when `who` is one of them.
pub(crate) fn in_meeting<'a>(
    state: &'a mut State,
    room: &RoomId,
    who: ParticipantId,
) -> Result<
    (
        &'a std::collections::HashMap<ParticipantId, crate::live::Member>,
        &'a mut InMeeting,
    ),
    ActionError,
> {
    let members = state.rooms.get(room).ok_or(ActionError::NotInMeeting)?;
    if !members.contains_key(&who) {
        return Err(ActionError::NotInMeeting);
    }
    let m = state
        .meetings
        .get_mut(room)
        .ok_or(ActionError::NotInMeeting)?;
    Ok((members, m))
}

/// Takes `id` out of the meeting's hand queue (they left), telling the others if it changed.
pub(crate) fn forget_hand(state: &mut State, room: &RoomId, id: ParticipantId) {
    let Some(m) = state.meetings.get_mut(room) else {
        return;
    };
    let had_floor = crate::agenda::forget_speaker(m, id);
    let had_hand = m.hands.contains(&id);
    m.hands.retain(|h| *h != id);
    let Some(members) = state.rooms.get(room) else {
        return;
    };
    if had_hand {
        broadcast(
            members,
            &ServerMessage::Hands {
                queue: m.hands.clone(),
            },
        );
    }
    if had_hand || had_floor {
        crate::agenda::tell_speakers(members, m);
    }
}

/// A chat message as a participant asked for it.
#[derive(Debug, Clone, Copy)]
pub struct ChatDraft<'a> {
    pub to: ChatTo,
    /// The recipient, for `to: participant`.
    pub to_participant: Option<ParticipantId>,
    pub text: &'a str,
}

/// What someone joining sees of the meeting so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub chat: Vec<ChatMessage>,
    pub hands: Vec<ParticipantId>,
    pub locks: Locks,
    pub recording: plenary_proto::RecordingState,
}

impl Meetings {
    /// The meeting's chat `who` may see, its hands and its locks.
    pub fn snapshot(&self, room: &RoomId, who: ParticipantId, role: Role) -> Snapshot {
        let state = self.lock();
        let Some(m) = state.meetings.get(room) else {
            return Snapshot::default();
        };
        Snapshot {
            chat: m
                .chat
                .iter()
                .filter(|c| visible(c, who, role))
                .cloned()
                .collect(),
            hands: m.hands.clone(),
            locks: m.locks,
            recording: m.recording,
        }
    }

    /// When the meeting now running in `room` started (its id in the store), if one is.
    pub fn started_ms(&self, room: &RoomId) -> Option<i64> {
        self.lock().meetings.get(room).map(|m| m.started_ms)
    }

    /// Checks a chat message from `from` and stamps it (not yet sent: [`Meetings::post_chat`]
    /// sends it once it is stored).
    pub fn prepare_chat(
        &self,
        room: &RoomId,
        from: ParticipantId,
        draft: ChatDraft<'_>,
        now: Instant,
        now_ms: i64,
    ) -> Result<ChatMessage, ActionError> {
        let ChatDraft {
            to,
            to_participant,
            text,
        } = draft;
        let text = text.trim();
        if text.is_empty()
            || text.chars().count() > MAX_CHAT_CHARS
            || text.chars().any(|c| c.is_control() && c != '\n')
        {
            return Err(ActionError::BadText);
        }
        let mut state = self.lock();
        let state = &mut *state;
        let members = state.rooms.get(room).ok_or(ActionError::NotInMeeting)?;
        let me = members.get(&from).ok_or(ActionError::NotInMeeting)?;
        let (name, role) = (me.p.info.name.clone(), me.p.role);
        let to_participant = match to {
            ChatTo::Participant => {
                let target = to_participant.ok_or(ActionError::UnknownParticipant)?;
                let other = members
                    .get(&target)
                    .ok_or(ActionError::UnknownParticipant)?;
                Some((target, other.p.role))
            }
            _ => None,
        };
        let m = state
            .meetings
            .get_mut(room)
            .ok_or(ActionError::NotInMeeting)?;
        if role != Role::Moderator {
            let locked = match (to, to_participant) {
                (ChatTo::Everyone, _) => m.locks.public_chat,
                // Moderators can always be written to.
                (ChatTo::Moderators, _) => false,
                (ChatTo::Participant, Some((_, Role::Moderator))) => false,
                (ChatTo::Participant, _) => m.locks.private_chat,
            };
            if locked {
                return Err(ActionError::Locked);
            }
        }
        if m.too_fast(from, now) {
            return Err(ActionError::TooFast);
        }
        let id = m.next_chat;
        m.next_chat += 1;
        Ok(ChatMessage {
            id,
            from: Some(from),
            name,
            to,
            to_participant: to_participant.map(|(p, _)| p),
            text: text.to_owned(),
            at_ms: now_ms,
        })
    }

    /// A public message an integration posts (BBB `sendChatMessage`), stamped.
    pub fn prepare_integration_chat(
        &self,
        room: &RoomId,
        name: &str,
        text: &str,
        now_ms: i64,
    ) -> Result<ChatMessage, ActionError> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_CHAT_CHARS {
            return Err(ActionError::BadText);
        }
        let mut state = self.lock();
        let m = state
            .meetings
            .get_mut(room)
            .ok_or(ActionError::NotInMeeting)?;
        let id = m.next_chat;
        m.next_chat += 1;
        Ok(ChatMessage {
            id,
            from: None,
            name: name.to_owned(),
            to: ChatTo::Everyone,
            to_participant: None,
            text: text.to_owned(),
            at_ms: now_ms,
        })
    }

    /// Sends a stamped (and stored) chat message to whoever may see it, and keeps it for late
    /// joiners.
    pub fn post_chat(&self, room: &RoomId, message: ChatMessage) {
        let mut state = self.lock();
        let state = &mut *state;
        let Some(m) = state.meetings.get_mut(room) else {
            return;
        };
        m.chat.push(message.clone());
        if m.chat.len() > HISTORY {
            let excess = m.chat.len() - HISTORY;
            m.chat.drain(..excess);
        }
        if let Some(members) = state.rooms.get(room) {
            let msg = ServerMessage::Chat {
                message: message.clone(),
            };
            for (id, member) in members {
                if visible(&message, *id, member.p.role) {
                    let _ = member.outbox.try_send(ToConnection::Message(msg.clone()));
                }
            }
        }
    }

    /// (Moderators) checks that chat message `id` exists and may be deleted by `by`.
    pub fn check_delete_chat(
        &self,
        room: &RoomId,
        by: ParticipantId,
        id: u64,
    ) -> Result<(), ActionError> {
        let state = self.lock();
        moderator(&state, room, by)?;
        let m = state.meetings.get(room).ok_or(ActionError::NotInMeeting)?;
        if m.chat.iter().any(|c| c.id == id) {
            Ok(())
        } else {
            Err(ActionError::UnknownMessage)
        }
    }

    /// Deletes chat message `id` (already checked and deleted in the store) and tells everyone.
    pub fn delete_chat(&self, room: &RoomId, id: u64) {
        let mut state = self.lock();
        let state = &mut *state;
        if let Some(m) = state.meetings.get_mut(room) {
            m.chat.retain(|c| c.id != id);
        }
        if let Some(members) = state.rooms.get(room) {
            broadcast(members, &ServerMessage::ChatDeleted { id });
        }
    }

    /// Raises or lowers `who`'s own hand.
    pub fn set_hand(
        &self,
        room: &RoomId,
        who: ParticipantId,
        raised: bool,
    ) -> Result<(), ActionError> {
        let mut state = self.lock();
        let (members, m) = in_meeting(&mut state, room, who)?;
        // Lowering is always allowed; raising draws on the allowance.
        if raised && m.state_too_fast(who, Instant::now()) {
            return Err(ActionError::TooFast);
        }
        let before = m.hands.clone();
        if raised && !m.hands.contains(&who) {
            m.hands.push(who);
        } else if !raised {
            m.hands.retain(|h| *h != who);
        }
        if m.hands != before {
            broadcast(
                members,
                &ServerMessage::Hands {
                    queue: m.hands.clone(),
                },
            );
            crate::agenda::tell_speakers(members, m);
        }
        Ok(())
    }

    /// (Moderators) lowers `target`'s hand, or every hand.
    pub fn lower_hand(
        &self,
        room: &RoomId,
        by: ParticipantId,
        target: Option<ParticipantId>,
    ) -> Result<(), ActionError> {
        let mut state = self.lock();
        moderator(&state, room, by)?;
        let state = &mut *state;
        let m = state
            .meetings
            .get_mut(room)
            .ok_or(ActionError::NotInMeeting)?;
        let before = m.hands.len();
        match target {
            Some(t) => m.hands.retain(|h| *h != t),
            None => m.hands.clear(),
        }
        if m.hands.len() != before
            && let Some(members) = state.rooms.get(room)
        {
            broadcast(
                members,
                &ServerMessage::Hands {
                    queue: m.hands.clone(),
                },
            );
            crate::agenda::tell_speakers(members, m);
        }
        Ok(())
    }

    /// A reaction from `who`, shown to everyone.
    pub fn react(
        &self,
        room: &RoomId,
        who: ParticipantId,
        reaction: Reaction,
        now: Instant,
    ) -> Result<(), ActionError> {
        let mut state = self.lock();
        let (members, m) = in_meeting(&mut state, room, who)?;
        if m.too_fast(who, now) {
            return Err(ActionError::TooFast);
        }
        broadcast(
            members,
            &ServerMessage::Reaction {
                participant_id: who,
                reaction,
            },
        );
        Ok(())
    }

    /// (Moderators) one action on one participant. A removed and barred person's identities
    /// are refused for the rest of the meeting (by admission and by [`Meetings::join`]).
    pub fn moderate(
        &self,
        room: &RoomId,
        by: ParticipantId,
        target: ParticipantId,
        action: ModAction,
    ) -> Result<(), ActionError> {
        let mut state = self.lock();
        let by_name = moderator(&state, room, by)?;
        let state_ref = &mut *state;
        let members = state_ref
            .rooms
            .get_mut(room)
            .ok_or(ActionError::NotInMeeting)?;
        let locks = state_ref
            .meetings
            .get(room)
            .map(|m| m.locks)
            .unwrap_or_default();
        let t = members
            .get_mut(&target)
            .ok_or(ActionError::UnknownParticipant)?;
        let ask = |m: &crate::live::Member, request: ModRequest| {
            let _ = m
                .outbox
                .try_send(ToConnection::Message(ServerMessage::ModeratorRequest {
                    request,
                    by: by_name.clone(),
                }));
        };
        match action {
            ModAction::Mute => {
                ask(t, ModRequest::Mute);
                set_media(members, target, Some(false), None, &locks);
            }
            ModAction::AskUnmute => ask(t, ModRequest::AskUnmute),
            ModAction::CameraOff => {
                ask(t, ModRequest::CameraOff);
                set_media(members, target, None, Some(false), &locks);
            }
            ModAction::StopScreen => stop_screen(members, target, &by_name, &locks),
            ModAction::Promote | ModAction::Demote => {
                let role = if action == ModAction::Promote {
                    Role::Moderator
                } else {
                    Role::Participant
                };
                t.p.role = role;
                t.p.info.role = role;
                t.refresh_forwarding(&locks);
                if let Some(m) = state_ref.meetings.get_mut(room) {
                    m.give_role(&t.claims, role);
                }
                broadcast(
                    members,
                    &ServerMessage::RoleChanged {
                        participant_id: target,
                        role,
                    },
                );
                // A viewer now: the locks apply to them as to every viewer.
                if role == Role::Participant {
                    hold_to_locks(members, target, &locks, &by_name);
                }
                // A new moderator sees the waiting room.
                if role == Role::Moderator
                    && let Some(lobby) = state_ref.lobby.get(room)
                    && let Some(t) = members.get(&target)
                {
                    for guest in lobby.values() {
                        let _ =
                            t.outbox
                                .try_send(ToConnection::Message(ServerMessage::GuestWaiting {
                                    participant: guest.p.info.clone(),
                                }));
                    }
                }
            }
            ModAction::Remove | ModAction::RemoveAndBar => {
                let barred = action == ModAction::RemoveAndBar;
                let gone = members
                    .remove(&target)
                    .ok_or(ActionError::UnknownParticipant)?;
                crate::live::deliver_surely(&gone.outbox, ToConnection::Removed { barred });
                broadcast(
                    members,
                    &ServerMessage::ParticipantLeft {
                        participant_id: target,
                    },
                );
                let remaining = members.len();
                if let Some(m) = state_ref.meetings.get_mut(room)
                    && barred
                {
                    m.barred.extend(gone.p.identity.iter().cloned());
                }
                // Their hand and their floor go with them, and the others see so.
                forget_hand(state_ref, room, target);
                drop(state);
                self.publish(RoomEvent::Left {
                    room: room.clone(),
                    participant: gone.p,
                    remaining,
                });
                return Ok(());
            }
        }
        Ok(())
    }

    /// (Moderators) mutes everyone who is not a moderator.
    pub fn mute_all(&self, room: &RoomId, by: ParticipantId) -> Result<(), ActionError> {
        let mut state = self.lock();
        let by_name = moderator(&state, room, by)?;
        let locks = state
            .meetings
            .get(room)
            .map(|m| m.locks)
            .unwrap_or_default();
        let members = state.rooms.get_mut(room).ok_or(ActionError::NotInMeeting)?;
        let viewers: Vec<ParticipantId> = members
            .values()
            .filter(|m| m.p.role != Role::Moderator)
            .map(|m| m.p.info.id)
            .collect();
        for id in viewers {
            if let Some(m) = members.get(&id) {
                let _ = m
                    .outbox
                    .try_send(ToConnection::Message(ServerMessage::ModeratorRequest {
                        request: ModRequest::Mute,
                        by: by_name.clone(),
                    }));
            }
            set_media(members, id, Some(false), None, &locks);
        }
        Ok(())
    }

    /// (Moderators) sets what viewers may not do; viewers locked out of their microphone,
    /// camera or screen share are muted, have it turned off, or their share stopped.
    pub fn set_locks(
        &self,
        room: &RoomId,
        by: ParticipantId,
        locks: Locks,
    ) -> Result<(), ActionError> {
        let mut state = self.lock();
        let by_name = moderator(&state, room, by)?;
        let state = &mut *state;
        let m = state
            .meetings
            .get_mut(room)
            .ok_or(ActionError::NotInMeeting)?;
        m.locks = locks;
        let members = state.rooms.get_mut(room).ok_or(ActionError::NotInMeeting)?;
        broadcast(members, &ServerMessage::Locks { locks });
        // The SFU stops forwarding what is locked, whatever a client sends.
        for m in members.values() {
            m.refresh_forwarding(&locks);
        }
        let viewers: Vec<ParticipantId> = members
            .values()
            .filter(|m| m.p.role != Role::Moderator)
            .map(|m| m.p.info.id)
            .collect();
        for id in viewers {
            hold_to_locks(members, id, &locks, &by_name);
        }
        Ok(())
    }

    /// The locks in force for `who` now: none for a moderator.
    pub fn locks_for(&self, room: &RoomId, who: ParticipantId) -> Locks {
        let state = self.lock();
        let moderator = state
            .rooms
            .get(room)
            .and_then(|m| m.get(&who))
            .is_some_and(|m| m.p.role == Role::Moderator);
        match (moderator, state.meetings.get(room)) {
            (false, Some(m)) => m.locks,
            _ => Locks::default(),
        }
    }

    /// (Moderators) checks that `by` may end the meeting for everyone.
    pub fn check_moderator(&self, room: &RoomId, by: ParticipantId) -> Result<(), ActionError> {
        moderator(&self.lock(), room, by).map(|_| ())
    }

    /// Whether any of `identity` was barred from the meeting running in `room`.
    pub fn is_barred(&self, room: &RoomId, identity: &[String]) -> bool {
        self.lock()
            .meetings
            .get(room)
            .is_some_and(|m| m.is_barred(identity))
    }
}

/// `by`'s name if they are a moderator of the meeting in `room`.
pub(crate) fn moderator(
    state: &State,
    room: &RoomId,
    by: ParticipantId,
) -> Result<String, ActionError> {
    let me = state
        .rooms
        .get(room)
        .and_then(|m| m.get(&by))
        .ok_or(ActionError::NotInMeeting)?;
    if me.p.role != Role::Moderator {
        return Err(ActionError::NotModerator);
    }
    Ok(me.p.info.name.clone())
}

/// Puts viewer `id` under `locks`: a locked microphone muted, a locked camera turned off, a
/// share stopped when sharing is locked (their client is asked; the SFU already forwards
/// nothing of it).
fn hold_to_locks(
    members: &mut std::collections::HashMap<ParticipantId, crate::live::Member>,
    id: ParticipantId,
    locks: &Locks,
    by: &str,
) {
    let requests = [
        (locks.microphones, ModRequest::Mute),
        (locks.cameras, ModRequest::CameraOff),
    ];
    for (on, request) in requests {
        if on && let Some(m) = members.get(&id) {
            let _ = m
                .outbox
                .try_send(ToConnection::Message(ServerMessage::ModeratorRequest {
                    request,
                    by: by.to_owned(),
                }));
        }
    }
    set_media(
        members,
        id,
        locks.microphones.then_some(false),
        locks.cameras.then_some(false),
        locks,
    );
    if locks.screen_share {
        stop_screen(members, id, by, locks);
    }
}

/// Records a participant's microphone or camera as off (a moderator's doing), stops
/// forwarding it and tells the others.
fn set_media(
    members: &mut std::collections::HashMap<ParticipantId, crate::live::Member>,
    id: ParticipantId,
    audio: Option<bool>,
    video: Option<bool>,
    locks: &Locks,
) {
    let Some(m) = members.get_mut(&id) else {
        return;
    };
    let before = (m.p.info.audio, m.p.info.video);
    if let Some(a) = audio {
        m.p.info.audio = a;
    }
    if let Some(v) = video {
        m.p.info.video = v;
    }
    let (audio, video) = (m.p.info.audio, m.p.info.video);
    m.refresh_forwarding(locks);
    if (audio, video) != before {
        let screen = m.p.info.screen;
        broadcast(
            members,
            &ServerMessage::MediaState {
                participant_id: id,
                audio,
                video,
                screen,
            },
        );
    }
}

/// Stops `id`'s screen share (`by` stopped it, or took over): they are asked to stop, and the
/// others see it stopped.
pub(crate) fn stop_screen(
    members: &mut std::collections::HashMap<ParticipantId, crate::live::Member>,
    id: ParticipantId,
    by: &str,
    locks: &Locks,
) {
    let Some(m) = members.get_mut(&id) else {
        return;
    };
    if !m.p.info.screen {
        return;
    }
    m.p.info.screen = false;
    m.refresh_forwarding(locks);
    let _ = m
        .outbox
        .try_send(ToConnection::Message(ServerMessage::ModeratorRequest {
            request: ModRequest::StopScreen,
            by: by.to_owned(),
        }));
    let (audio, video) = (m.p.info.audio, m.p.info.video);
    broadcast(
        members,
        &ServerMessage::MediaState {
            participant_id: id,
            audio,
            video,
            screen: false,
        },
    );
}
