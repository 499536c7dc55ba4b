//! Polls and votes in a running meeting. A moderator asks; whoever the poll is for answers
//! once (one vote per person: their account, else their integration's user id, else their
//! seat — a second device of the same person is refused, by this node and by the store's key);
//! a vote is stored, counts and all, before anyone is told; a secret poll's stored votes and
//! this memory hold who voted and the counts, never who chose what. Every check is here, so a
//! client that skips its interface gets the same refusals.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use plenary_proto::clock::unix_millis;
use plenary_proto::{MAX_POLLS, ParticipantId, Poll, PollSpec, PollVoters, RoomId, ServerMessage};
use plenary_store::{PollRow, VoteOutcome, VoteRow};

use crate::poll_results::{Results, results_of};

use crate::actions::{ActionError, moderator};
use crate::live::{Meetings, RoomEvent, ToConnection, broadcast};
use crate::{JoinClaims, Service};

/// How often at most everyone is shown a poll's new votes.
const UPDATE_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// A meeting's polls, open and closed.
#[derive(Debug, Default)]
pub(crate) struct Polls {
    list: Vec<LivePoll>,
    next: u64,
}

#[derive(Debug)]
struct LivePoll {
    /// What everyone may see, counts and names included (hidden on the way out).
    poll: Poll,
    counts: Vec<u32>,
    /// Who chose each option (named polls only).
    names: Vec<Vec<String>>,
    /// Voters counted, by key.
    voted: HashSet<String>,
    /// Voters whose vote is being stored now (a second device racing the first is refused).
    pending: HashSet<String>,
    /// Closed with the store's results (every vote committed before the close in them).
    final_from_store: bool,
    /// Votes came since everyone was last shown the poll: an update is on its way.
    update_due: bool,
}

impl LivePoll {
    /// The poll as everyone sees it now: no counts while they are hidden, no names of a
    /// secret poll's voters ever.
    fn public(&self) -> Poll {
        let shown = self.poll.closed_ms.is_some() || !hides_while_open(&self.poll.spec);
        Poll {
            counts: shown.then(|| self.counts.clone()),
            names: (shown && !self.poll.spec.secret).then(|| self.names.clone()),
            ..self.poll.clone()
        }
    }
}

/// Whether a poll's counts stay hidden until it closes: asked so, or secret (live counts
/// moving as people click would tell who chose what in a small meeting).
pub fn hides_while_open(spec: &PollSpec) -> bool {
    spec.hide_results || spec.secret
}

/// Who a vote is from: one vote per person, whichever device they use (a guest without an
/// account or an integration's user id is known by their seat only: a new page is a new seat).
fn voter_key(claims: &JoinClaims) -> String {
    if let Some(a) = claims.account {
        format!("account:{a}")
    } else if let Some(u) = &claims.user_id {
        format!("user:{u}")
    } else {
        format!("seat:{}", claims.seat)
    }
}

/// What happened to a poll, for the listeners of [`crate::RoomEvent::Poll`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollChange {
    Opened,
    /// A vote counted: its choices, or `None` for a secret poll's.
    Voted {
        choices: Option<Vec<u32>>,
    },
    Closed,
}

/// A vote taken but not yet stored.
#[derive(Debug, Clone)]
pub struct Ballot {
    room: RoomId,
    who: ParticipantId,
    meeting_ms: i64,
    poll: u64,
    voter: String,
    name: String,
    account: Option<i64>,
    voters: PollVoters,
    secret: bool,
    hidden: bool,
    choices: Vec<u32>,
}

/// The members of a meeting.
type Members = HashMap<ParticipantId, crate::live::Member>;

/// Participant `id` of `members`, for a [`RoomEvent`].
fn member_of(members: &Members, id: ParticipantId) -> Option<Box<crate::Participant>> {
    members.get(&id).map(|m| Box::new(m.p.clone()))
}

fn poll_mut(polls: &mut Polls, id: u64) -> Result<&mut LivePoll, ActionError> {
    polls
        .list
        .iter_mut()
        .find(|p| p.poll.id == id)
        .ok_or(ActionError::UnknownPoll)
}

impl Meetings {
    /// The meeting's polls as everyone sees them, and those `claims`' person voted in.
    pub fn polls_snapshot(&self, room: &RoomId, claims: &JoinClaims) -> (Vec<Poll>, Vec<u64>) {
        let state = self.lock();
        let Some(m) = state.meetings.get(room) else {
            return Default::default();
        };
        let key = voter_key(claims);
        let polls = m.polls.list.iter().map(LivePoll::public).collect();
        let voted = m
            .polls
            .list
            .iter()
            .filter(|p| p.voted.contains(&key))
            .map(|p| p.poll.id)
            .collect();
        (polls, voted)
    }

    /// (Moderators) checks a poll `by` asks and numbers it (not yet shown: [`Self::post_poll`]
    /// shows it once it is stored). Returns the meeting's id too.
    fn prepare_poll(
        &self,
        room: &RoomId,
        by: ParticipantId,
        spec: &PollSpec,
        now_ms: i64,
    ) -> Result<(i64, Poll), ActionError> {
        let spec = spec.checked().map_err(ActionError::BadPoll)?;
        let mut state = self.lock();
        let name = moderator(&state, room, by)?;
        let m = state
            .meetings
            .get_mut(room)
            .ok_or(ActionError::NotInMeeting)?;
        if m.polls.list.len() >= MAX_POLLS {
            return Err(ActionError::BadPoll(format!(
                "a meeting holds at most {MAX_POLLS} polls"
            )));
        }
        m.polls.next += 1;
        let poll = Poll {
            id: m.polls.next,
            closes_ms: spec.duration_s.map(|d| now_ms + i64::from(d) * 1000),
            spec,
            by: name,
            opened_ms: now_ms,
            closed_ms: None,
            votes: 0,
            counts: None,
            names: None,
        };
        Ok((m.started_ms, poll))
    }

    fn post_poll(&self, room: &RoomId, meeting_ms: i64, poll: Poll, by: ParticipantId) {
        let mut state = self.lock();
        let state = &mut *state;
        let Some(m) = state
            .meetings
            .get_mut(room)
            .filter(|m| m.started_ms == meeting_ms)
        else {
            return;
        };
        let n = poll.spec.option_names().len();
        let live = LivePoll {
            poll,
            counts: vec![0; n],
            names: vec![Vec::new(); n],
            voted: HashSet::new(),
            pending: HashSet::new(),
            final_from_store: false,
            update_due: false,
        };
        let msg = ServerMessage::Poll {
            poll: live.public(),
        };
        let event = RoomEvent::Poll {
            room: room.clone(),
            poll: Box::new(live.poll.clone()),
            who: state.rooms.get(room).and_then(|m| member_of(m, by)),
            change: PollChange::Opened,
        };
        m.polls.list.push(live);
        if let Some(members) = state.rooms.get(room) {
            broadcast(members, &msg);
        }
        self.publish(event);
    }

    /// Takes `who`'s vote in poll `id` if it is well formed and theirs to give, and holds
    /// their place while it is stored ([`Self::counted`] or [`Self::not_counted`] after).
    fn begin_vote(
        &self,
        room: &RoomId,
        who: ParticipantId,
        id: u64,
        choices: &[u32],
    ) -> Result<Ballot, ActionError> {
        let mut state = self.lock();
        let state = &mut *state;
        let me = state
            .rooms
            .get(room)
            .and_then(|m| m.get(&who))
            .ok_or(ActionError::NotInMeeting)?;
        let (voter, name, account) = (
            voter_key(&me.claims),
            me.p.info.name.clone(),
            me.claims.account,
        );
        let m = state
            .meetings
            .get_mut(room)
            .ok_or(ActionError::NotInMeeting)?;
        let meeting_ms = m.started_ms;
        let p = poll_mut(&mut m.polls, id)?;
        // Closed, or its timer ran out and closes it any moment.
        if !p.poll.is_open() || p.poll.closes_ms.is_some_and(|c| unix_millis() >= c) {
            return Err(ActionError::PollClosed);
        }
        if !p.poll.spec.valid_choices(choices) {
            return Err(ActionError::BadChoice);
        }
        if p.voted.contains(&voter) || !p.pending.insert(voter.clone()) {
            return Err(ActionError::AlreadyVoted);
        }
        Ok(Ballot {
            room: room.clone(),
            who,
            meeting_ms,
            poll: id,
            voter,
            name,
            account,
            voters: p.poll.spec.voters,
            secret: p.poll.spec.secret,
            hidden: hides_while_open(&p.poll.spec),
            choices: choices.to_vec(),
        })
    }

    /// Runs `f` on poll `id` of the meeting `meeting_ms` in `room`, with that meeting's
    /// members, if the meeting still runs (a newer one in the room is not it).
    fn with_poll<R>(
        &self,
        room: &RoomId,
        meeting_ms: i64,
        id: u64,
        f: impl FnOnce(&mut LivePoll, &Members) -> R,
    ) -> Option<R> {
        let mut state = self.lock();
        let state = &mut *state;
        let m = state
            .meetings
            .get_mut(room)
            .filter(|m| m.started_ms == meeting_ms)?;
        let p = poll_mut(&mut m.polls, id).ok()?;
        let none = Members::new();
        Some(f(p, state.rooms.get(room).unwrap_or(&none)))
    }

    /// The ballot was refused or could not be stored: its voter may try again.
    fn not_counted(&self, b: &Ballot) {
        self.with_poll(&b.room, b.meeting_ms, b.poll, |p, _| {
            p.pending.remove(&b.voter);
        });
    }

    /// The ballot is stored: it counts, the voter's connections hear that it counted, and
    /// everyone is to be shown the poll's new state. Returns whether that update is the
    /// caller's to send (after [`UPDATE_EVERY`], with [`Self::show_poll`]): votes arriving
    /// meanwhile ride on it, so a large assembly voting at once gets a few updates, not one
    /// per vote each.
    fn counted(&self, b: Ballot) -> bool {
        let (room, meeting_ms, id) = (b.room.clone(), b.meeting_ms, b.poll);
        self.with_poll(&room, meeting_ms, id, |p, members| {
            p.pending.remove(&b.voter);
            p.voted.insert(b.voter.clone());
            // Stored before the poll closed: a close that read its results from the store
            // after its own commit has this vote in them already.
            if !p.final_from_store {
                p.poll.votes += 1;
                for c in &b.choices {
                    if let Some(n) = p.counts.get_mut(*c as usize) {
                        *n += 1;
                    }
                    if let (false, Some(names)) = (b.secret, p.names.get_mut(*c as usize)) {
                        names.push(b.name.clone());
                    }
                }
            }
            self.publish(RoomEvent::Poll {
                room: b.room.clone(),
                poll: Box::new(p.poll.clone()),
                who: member_of(members, b.who),
                // What integrations hear of it: never a secret vote's choice, nor a hidden one's.
                change: PollChange::Voted {
                    choices: (!b.hidden).then(|| b.choices.clone()),
                },
            });
            let mine = ServerMessage::PollVoted {
                id: b.poll,
                choices: b.choices,
            };
            for member in members.values().filter(|m| voter_key(&m.claims) == b.voter) {
                let _ = member.outbox.try_send(ToConnection::Message(mine.clone()));
            }
            !std::mem::replace(&mut p.update_due, true)
        })
        .unwrap_or(false)
    }

    /// Shows everyone poll `id` as it is now (the update [`Self::counted`] scheduled).
    fn show_poll(&self, room: &RoomId, meeting_ms: i64, id: u64) {
        self.with_poll(room, meeting_ms, id, |p, members| {
            p.update_due = false;
            broadcast(members, &ServerMessage::Poll { poll: p.public() });
        });
    }

    /// What poll `id` of meeting `meeting_ms` asks, while that meeting runs.
    fn poll_spec(&self, room: &RoomId, meeting_ms: i64, id: u64) -> Option<PollSpec> {
        self.with_poll(room, meeting_ms, id, |p, _| p.poll.spec.clone())
    }

    /// (Moderators) checks that `by` may close poll `id` now; returns the meeting's id.
    fn check_close(&self, room: &RoomId, by: ParticipantId, id: u64) -> Result<i64, ActionError> {
        let mut state = self.lock();
        moderator(&state, room, by)?;
        let m = state
            .meetings
            .get_mut(room)
            .ok_or(ActionError::NotInMeeting)?;
        let meeting_ms = m.started_ms;
        let p = poll_mut(&mut m.polls, id)?;
        if !p.poll.is_open() {
            return Err(ActionError::PollClosed);
        }
        Ok(meeting_ms)
    }

    /// Poll `id` of the meeting `meeting_ms` closed (in the store already): everyone sees its
    /// results, as the store has them (`None`: as counted here).
    fn closed(
        &self,
        room: &RoomId,
        meeting_ms: i64,
        id: u64,
        closed_ms: i64,
        stored: Option<Results>,
    ) {
        self.with_poll(room, meeting_ms, id, |p, members| {
            if p.poll.closed_ms.is_some() {
                return;
            }
            p.poll.closed_ms = Some(closed_ms);
            if let Some(r) = stored {
                p.final_from_store = true;
                p.poll.votes = r.votes;
                p.counts = r.counts;
                if let Some(names) = r.names {
                    p.names = names;
                }
            }
            broadcast(members, &ServerMessage::Poll { poll: p.public() });
            self.publish(RoomEvent::Poll {
                room: room.clone(),
                poll: Box::new(p.poll.clone()),
                who: None,
                change: PollChange::Closed,
            });
        });
    }
}

impl Service {
    /// (Moderators) asks a poll: checked, stored, then shown to everyone; one with a timer
    /// closes by itself.
    pub async fn open_poll(
        self: &Arc<Self>,
        room: &RoomId,
        by: ParticipantId,
        spec: &PollSpec,
    ) -> Result<(), ActionError> {
        self.polls_allowed(room).await?;
        let (meeting_ms, poll) = self.live.prepare_poll(room, by, spec, unix_millis())?;
        let spec_json = serde_json::to_string(&poll.spec).map_err(|_| ActionError::Unavailable)?;
        let row = PollRow {
            room: room.clone(),
            meeting_ms,
            id: poll.id as i64,
            spec: spec_json,
            by_name: poll.by.clone(),
            opened_ms: poll.opened_ms,
            closes_ms: poll.closes_ms,
            closed_ms: None,
            node: self.holder_prefix(),
        };
        let options = poll.spec.option_names().len() as u32;
        if let Err(e) = self.store.save_poll(&row, options).await {
            tracing::error!(error = %e, %room, "could not store a poll");
            return Err(ActionError::Unavailable);
        }
        let (id, duration) = (poll.id, poll.spec.duration_s);
        self.live.post_poll(room, meeting_ms, poll, by);
        if let Some(d) = duration {
            let service = Arc::downgrade(self);
            let room = room.clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_secs(u64::from(d))).await;
                if let Some(service) = service.upgrade() {
                    service.close_stored(&room, meeting_ms, id).await;
                }
            });
        }
        Ok(())
    }

    /// Refuses polls in a room whose integration turned them off (BBB `disabledFeatures=polls`).
    async fn polls_allowed(&self, room: &RoomId) -> Result<(), ActionError> {
        let r = self.store.get_room(room).await.map_err(|e| {
            tracing::error!(error = %e, %room, "could not read a room's settings");
            ActionError::Unavailable
        })?;
        let off = r.is_some_and(|r| {
            crate::RoomSettings::parse(&r.settings)
                .integration
                .is_some_and(|i| i.polls_disabled)
        });
        if off {
            return Err(ActionError::PollsDisabled);
        }
        Ok(())
    }

    /// `who`'s vote in poll `id`: checked (open, well formed, theirs to give, not given yet),
    /// stored with its counts, then counted and shown.
    pub async fn vote(
        &self,
        room: &RoomId,
        who: ParticipantId,
        id: u64,
        choices: &[u32],
    ) -> Result<(), ActionError> {
        let ballot = self.live.begin_vote(room, who, id, choices)?;
        let stored = match self.may_vote(room, &ballot).await {
            Ok(true) => self.store_vote(&ballot).await,
            Ok(false) => Err(ActionError::NotEligible),
            Err(e) => Err(e),
        };
        match stored {
            Ok(()) => {
                let (room, meeting_ms, id) = (ballot.room.clone(), ballot.meeting_ms, ballot.poll);
                if self.live.counted(ballot) {
                    let live = self.live.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(UPDATE_EVERY).await;
                        live.show_poll(&room, meeting_ms, id);
                    });
                }
                Ok(())
            }
            Err(e) => {
                self.live.not_counted(&ballot);
                Err(e)
            }
        }
    }

    /// Whether the ballot's person is one the poll is for.
    async fn may_vote(&self, room: &RoomId, b: &Ballot) -> Result<bool, ActionError> {
        let Some(account) = b.account else {
            return Ok(b.voters == PollVoters::Everyone);
        };
        if b.voters != PollVoters::Members {
            return Ok(true);
        }
        let unavailable = |e: plenary_store::StoreError| {
            tracing::error!(error = %e, %room, "could not check who may vote");
            ActionError::Unavailable
        };
        let Some(r) = self.store.get_room(room).await.map_err(unavailable)? else {
            return Ok(false);
        };
        if crate::moderates(&*self.store, &r, account)
            .await
            .map_err(unavailable)?
        {
            return Ok(true);
        }
        match r.owner_id {
            Some(owner) => crate::shares_org(&*self.store, owner, account)
                .await
                .map_err(unavailable),
            None => Ok(false),
        }
    }

    async fn store_vote(&self, b: &Ballot) -> Result<(), ActionError> {
        let row = VoteRow {
            room: b.room.clone(),
            meeting_ms: b.meeting_ms,
            poll_id: b.poll as i64,
            voter: b.voter.clone(),
            name: b.name.clone(),
            choices: (!b.secret).then(|| b.choices.clone()),
        };
        match self.store.cast_vote(&row, &b.choices, unix_millis()).await {
            Ok(VoteOutcome::Counted) => Ok(()),
            Ok(VoteOutcome::AlreadyVoted) => Err(ActionError::AlreadyVoted),
            Ok(VoteOutcome::Closed) => Err(ActionError::PollClosed),
            Err(e) => {
                tracing::error!(error = %e, room = %b.room, "could not store a vote");
                Err(ActionError::Unavailable)
            }
        }
    }

    /// (Moderators) closes poll `id` now.
    pub async fn close_poll(
        &self,
        room: &RoomId,
        by: ParticipantId,
        id: u64,
    ) -> Result<(), ActionError> {
        let meeting_ms = self.live.check_close(room, by, id)?;
        match self.close_in_store(room, meeting_ms, id).await {
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, %room, "could not close a poll");
                Err(ActionError::Unavailable)
            }
        }
    }

    /// Closes poll `id` in the store, then for everyone with the store's results (which hold
    /// every vote committed before the close). Returns whether it was open.
    async fn close_in_store(
        &self,
        room: &RoomId,
        meeting_ms: i64,
        id: u64,
    ) -> Result<bool, plenary_store::StoreError> {
        let closed_ms = unix_millis();
        let was_open = self
            .store
            .close_poll(room, meeting_ms, id as i64, closed_ms)
            .await?;
        let spec = self.live.poll_spec(room, meeting_ms, id);
        let stored = match &spec {
            Some(spec) => match results_of(&*self.store, room, meeting_ms, id as i64, spec).await {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!(error = %e, %room, "a closed poll's results, as counted here");
                    None
                }
            },
            None => None,
        };
        self.live.closed(room, meeting_ms, id, closed_ms, stored);
        Ok(was_open)
    }

    /// A poll's timer ran out: closed in the store (even if its meeting ended meanwhile) and
    /// for everyone still there; a store that is briefly unavailable is tried again.
    async fn close_stored(&self, room: &RoomId, meeting_ms: i64, id: u64) {
        for wait in [1, 2, 4, 8, 16, 0] {
            match self.close_in_store(room, meeting_ms, id).await {
                Ok(_) => return,
                Err(e) if wait > 0 => {
                    tracing::warn!(error = %e, %room, "could not close a poll on time; trying again");
                    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
                }
                Err(e) => tracing::error!(error = %e, %room, "could not close a poll on time"),
            }
        }
    }

    /// The meeting `meeting_ms` of `room` ended: the polls still open in it are closed in the
    /// store (tried again while the store is briefly unavailable; past that, the next start's
    /// sweep closes them).
    async fn close_ended_polls(&self, room: &RoomId, meeting_ms: i64) {
        // A stopping server's meetings end after its store closed: its next start closes them.
        if *self.live.stopping().borrow() {
            return;
        }
        for wait in [1, 2, 4, 0] {
            match self
                .store
                .close_meeting_polls(room, meeting_ms, unix_millis())
                .await
            {
                Ok(_) => return,
                Err(e) if wait > 0 => {
                    tracing::warn!(error = %e, %room, "could not close an ended meeting's polls; trying again");
                    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, %room, "could not close an ended meeting's polls");
                }
            }
        }
    }
}

/// Closes in the store the polls a meeting leaves open when it ends, and compacts its minutes,
/// from a task hearing every meeting's end (room and start) as it happens.
pub(crate) fn close_when_meetings_end(service: &Arc<Service>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    *service.live.ended.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
    let service = Arc::downgrade(service);
    tokio::spawn(async move {
        while let Some((room, meeting_ms)) = rx.recv().await {
            let Some(s) = service.upgrade() else { return };
            s.close_ended_polls(&room, meeting_ms).await;
            s.compact_ended_minutes(&room, meeting_ms).await;
        }
    });
}
