//! A meeting's agenda and speakers' list. The agenda's items are kept with the room (its
//! settings: its owners prepare them before the meeting on the room's page, or in it) and
//! a moderator moves through them, each item's time box shown to all. The raised hands are
//! the speakers' list: a moderator gives the floor to the next (progressive: those who have
//! not spoken yet in this meeting first), whose hand is lowered, with a speaking time shown
//! as a timer. Every action is checked here; signalling only translates.

use std::collections::{HashMap, HashSet};

use plenary_proto::clock::unix_millis;
use plenary_proto::{
    Agenda, AgendaItem, MAX_SPEAKING_SECONDS, ParticipantId, RoomId, ServerMessage, Speakers,
    speaking_order,
};

use crate::actions::{ActionError, InMeeting, moderator};
use crate::live::{Meetings, Member, broadcast};
use crate::{RoomSettings, Service};

/// A meeting's agenda and speakers' list beyond its hands.
#[derive(Debug, Default)]
pub(crate) struct Floor {
    pub(crate) agenda: Agenda,
    speaker: Option<(ParticipantId, i64)>,
    /// Who has had the floor in this meeting (by participant: a reload is a new participant
    /// and counts as not having spoken — a known limit).
    spoken: HashSet<ParticipantId>,
    progressive: bool,
    limit_s: Option<u32>,
}

impl Floor {
    pub(crate) fn new(items: Vec<AgendaItem>) -> Self {
        Self {
            agenda: Agenda {
                items,
                ..Agenda::default()
            },
            ..Self::default()
        }
    }
}

/// The speakers' list of `m` as everyone sees it.
pub(crate) fn speakers_of(m: &InMeeting) -> Speakers {
    let f = &m.floor;
    Speakers {
        current: f.speaker.map(|s| s.0),
        since_ms: f.speaker.map(|s| s.1),
        queue: speaking_order(&m.hands, f.progressive, |p| f.spoken.contains(&p)),
        progressive: f.progressive,
        limit_s: f.limit_s,
    }
}

/// Tells everyone in `members` the speakers' list of `m` (after a hand or the floor changed).
pub(crate) fn tell_speakers(members: &HashMap<ParticipantId, Member>, m: &InMeeting) {
    broadcast(
        members,
        &ServerMessage::Speakers {
            speakers: speakers_of(m),
        },
    );
}

/// `id` left: if they had the floor, nobody has it now.
pub(crate) fn forget_speaker(m: &mut InMeeting, id: ParticipantId) -> bool {
    if m.floor.speaker.is_some_and(|s| s.0 == id) {
        m.floor.speaker = None;
        return true;
    }
    false
}

impl Meetings {
    /// The account of moderator `by`, if they came with one.
    fn moderator_account(
        &self,
        room: &RoomId,
        by: ParticipantId,
    ) -> Result<Option<i64>, ActionError> {
        let state = self.lock();
        moderator(&state, room, by)?;
        Ok(state
            .rooms
            .get(room)
            .and_then(|m| m.get(&by))
            .and_then(|m| m.claims.account))
    }

    /// The meeting's agenda and speakers' list.
    pub fn floor_snapshot(&self, room: &RoomId) -> (Agenda, Speakers) {
        let state = self.lock();
        state
            .meetings
            .get(room)
            .map(|m| (m.floor.agenda.clone(), speakers_of(m)))
            .unwrap_or_default()
    }

    /// Runs `f` on the meeting's state and its members, as `by`: a moderator, or (where
    /// `speaker_may`) the one who has the floor. `f` tells the members what changed, under
    /// the same lock, so nobody sees changes out of order.
    fn act(
        &self,
        room: &RoomId,
        by: ParticipantId,
        speaker_may: bool,
        f: impl FnOnce(&mut InMeeting, &HashMap<ParticipantId, Member>) -> Result<(), ActionError>,
    ) -> Result<(), ActionError> {
        let mut state = self.lock();
        let speaking = speaker_may
            && state
                .meetings
                .get(room)
                .and_then(|m| m.floor.speaker)
                .is_some_and(|s| s.0 == by);
        if !speaking {
            moderator(&state, room, by)?;
        }
        let state = &mut *state;
        let m = state
            .meetings
            .get_mut(room)
            .ok_or(ActionError::NotInMeeting)?;
        let none = HashMap::new();
        f(m, state.rooms.get(room).unwrap_or(&none))
    }

    fn set_agenda_items(
        &self,
        room: &RoomId,
        by: ParticipantId,
        items: Vec<AgendaItem>,
    ) -> Result<(), ActionError> {
        self.act(room, by, false, |m, members| {
            let a = &mut m.floor.agenda;
            a.items = items;
            if a.current.is_some_and(|c| c >= a.items.len()) {
                a.current = None;
                a.since_ms = None;
            }
            broadcast(members, &agenda_message(m));
            Ok(())
        })
    }

    /// (Moderators) makes item `index` the one under discussion (none: no item).
    pub fn agenda_go(
        &self,
        room: &RoomId,
        by: ParticipantId,
        index: Option<usize>,
    ) -> Result<(), ActionError> {
        self.act(room, by, false, |m, members| {
            let a = &mut m.floor.agenda;
            if index.is_some_and(|i| i >= a.items.len()) {
                return Err(ActionError::BadAgenda("no such agenda item".into()));
            }
            a.current = index;
            a.since_ms = index.map(|_| unix_millis());
            broadcast(members, &agenda_message(m));
            Ok(())
        })
    }

    /// (Moderators) gives the floor to the first on the speakers' list (their hand lowered);
    /// with nobody waiting, nobody has it.
    pub fn speaker_next(&self, room: &RoomId, by: ParticipantId) -> Result<(), ActionError> {
        self.act(room, by, false, |m, members| {
            let next = speakers_of(m).queue.first().copied();
            m.floor.speaker = next.map(|p| (p, unix_millis()));
            if let Some(p) = next {
                m.floor.spoken.insert(p);
                m.hands.retain(|h| *h != p);
            }
            tell_speakers(members, m);
            if next.is_some() {
                broadcast(
                    members,
                    &ServerMessage::Hands {
                        queue: m.hands.clone(),
                    },
                );
            }
            Ok(())
        })
    }

    /// The current speaker is done (said by a moderator or the speaker).
    pub fn speaker_done(&self, room: &RoomId, by: ParticipantId) -> Result<(), ActionError> {
        self.act(room, by, true, |m, members| {
            m.floor.speaker = None;
            tell_speakers(members, m);
            Ok(())
        })
    }

    /// (Moderators) whether the list is progressive, and the speaking time.
    pub fn speakers_set(
        &self,
        room: &RoomId,
        by: ParticipantId,
        progressive: bool,
        limit_s: Option<u32>,
    ) -> Result<(), ActionError> {
        if limit_s.is_some_and(|l| l == 0 || l > MAX_SPEAKING_SECONDS) {
            return Err(ActionError::BadAgenda(format!(
                "a speaking time is 1 to {MAX_SPEAKING_SECONDS} seconds"
            )));
        }
        self.act(room, by, false, |m, members| {
            m.floor.progressive = progressive;
            m.floor.limit_s = limit_s;
            tell_speakers(members, m);
            Ok(())
        })
    }
}

fn agenda_message(m: &InMeeting) -> ServerMessage {
    ServerMessage::Agenda {
        agenda: m.floor.agenda.clone(),
    }
}

impl Service {
    /// (Moderators) sets the agenda's items. A moderator whose account owns or co-owns the
    /// room (or an admin's) keeps them with the room for its next meetings, before anyone is
    /// shown them; any other moderator (a moderator code's, an integration's, someone
    /// promoted) changes this meeting's agenda only.
    pub async fn set_agenda(
        &self,
        room: &RoomId,
        by: ParticipantId,
        items: &[AgendaItem],
    ) -> Result<(), ActionError> {
        let items = AgendaItem::checked(items).map_err(ActionError::BadAgenda)?;
        let account = self.live.moderator_account(room, by)?;
        if let Some(account) = account
            && self.manages_room(room, account).await?
        {
            self.keep_agenda(room, &items).await?;
        }
        self.live.set_agenda_items(room, by, items)
    }

    async fn manages_room(&self, room: &RoomId, account: i64) -> Result<bool, ActionError> {
        let unavailable = |e: plenary_store::StoreError| {
            tracing::error!(error = %e, %room, "could not check who manages a room");
            ActionError::Unavailable
        };
        let Some(r) = self.store.get_room(room).await.map_err(unavailable)? else {
            return Ok(false);
        };
        let admin = self
            .store
            .user_by_id(account)
            .await
            .map_err(unavailable)?
            .is_some_and(|u| u.is_admin);
        Ok(admin
            || crate::moderates(&*self.store, &r, account)
                .await
                .map_err(unavailable)?)
    }

    /// Writes the agenda into the room's settings, changing nothing else in them: the write
    /// takes only if the settings are still as read (an owner saving the room's settings
    /// meanwhile is read again).
    async fn keep_agenda(&self, room: &RoomId, items: &[AgendaItem]) -> Result<(), ActionError> {
        let unavailable = |e: plenary_store::StoreError| {
            tracing::error!(error = %e, %room, "could not keep a room's agenda");
            ActionError::Unavailable
        };
        for _ in 0..5 {
            let Some(r) = self.store.get_room(room).await.map_err(unavailable)? else {
                return Err(ActionError::NotInMeeting);
            };
            let mut settings = RoomSettings::parse(&r.settings);
            settings.agenda = items.to_vec();
            let new = settings.to_json();
            if self
                .store
                .swap_room_settings(room, &r.settings, &new)
                .await
                .map_err(unavailable)?
            {
                return Ok(());
            }
        }
        tracing::error!(%room, "a room's settings kept changing while its agenda was written");
        Err(ActionError::Unavailable)
    }
}
