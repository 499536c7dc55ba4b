//! The API's meeting sessions: live ones in memory, every change written to the store before
//! it is acknowledged, so a restart or crash loses no created meeting. Ending a session ends
//! the Plenary meeting in its room (everyone is told and disconnected).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use plenary_meeting::{CreateRefusal, Creator, IntegrationRules};
use plenary_proto::RoomId;
use plenary_store::{ApiMeeting, Store, StoreError};
use tokio::sync::{Mutex, Notify};

use super::Bbb;
use super::hooks::HookEvent;
use super::meeting::{EndReason, Session};
use crate::BbbState;
use plenary_meeting::RoomEvent;
use plenary_proto::clock::unix_millis;

/// How long an ended session stays known, so joins get `meetingForciblyEnded` instead of
/// `notFound` (BBB keeps ended meetings in memory for a while too).
const KEEP_ENDED_MS: i64 = 60 * 60 * 1000;
/// How often expiry and duration are checked.
const TICK: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
struct State {
    /// Live sessions by external meetingID.
    live: HashMap<String, Session>,
    /// External meetingID of the live session in each room.
    rooms: HashMap<RoomId, String>,
    /// Recently ended sessions by external meetingID.
    ended: HashMap<String, Session>,
    /// Sessions being written to the store (the lock is not held across the write, so reads
    /// never wait for a disk flush); a second create of the same meetingID waits for it.
    creating: HashMap<String, (Session, Arc<Notify>)>,
}

#[derive(Debug)]
pub struct Registry {
    store: Arc<dyn Store>,
    state: Mutex<State>,
}

/// What `create` did.
#[derive(Debug)]
pub enum Created {
    New(Session),
    /// A live session with this meetingID exists; it is returned unchanged.
    Existing(Session),
}

impl Registry {
    /// Loads the live sessions from the store.
    pub async fn load(store: Arc<dyn Store>) -> Result<Self, StoreError> {
        let mut state = State::default();
        for row in store.live_api_meetings().await? {
            match serde_json::from_str::<Session>(&row.doc) {
                Ok(s) => {
                    state.rooms.insert(s.room.clone(), s.meeting_id.clone());
                    state.live.insert(s.meeting_id.clone(), s);
                }
                Err(e) => {
                    tracing::error!(internal_id = %row.internal_id, error = %e, "unreadable API meeting left as it is")
                }
            }
        }
        Ok(Self {
            store,
            state: Mutex::new(state),
        })
    }

    async fn save(&self, s: &Session) -> Result<(), StoreError> {
        let doc = serde_json::to_string(s).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.store
            .save_api_meeting(&ApiMeeting {
                internal_id: s.internal_id.clone(),
                meeting_id: s.meeting_id.clone(),
                created_ms: s.create_time_ms,
                ended_ms: s.ended_ms,
                doc,
            })
            .await
    }

    /// Creates a session unless one with its meetingID is live. `check` (the caller's, with the
    /// caller's error type: this registry knows no wire format) runs under the lock
    /// with the existing session (for `idNotUnique`) and all live ones (voice bridges). An empty
    /// voice bridge gets a free five-digit one.
    pub async fn create<E: From<StoreError>>(
        &self,
        meeting: &plenary_meeting::Service,
        mut new: Session,
        check: impl FnOnce(Option<&Session>, &[&Session]) -> Result<(), E>,
    ) -> Result<Created, E> {
        let mut state = loop {
            let state = self.state.lock().await;
            let Some((_, done)) = state.creating.get(&new.meeting_id) else {
                break state;
            };
            // The same meetingID is being created right now: wait for that to finish, then
            // answer as a repeat create (or create it if that write failed).
            let done = done.clone();
            let finished = done.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            drop(state);
            finished.await;
        };
        let live: Vec<&Session> = state
            .live
            .values()
            .chain(state.creating.values().map(|(s, _)| s))
            .collect();
        let existing = state.live.get(&new.meeting_id);
        check(existing, &live)?;
        if let Some(s) = existing {
            return Ok(Created::Existing(s.clone()));
        }
        if new.voice_bridge.is_empty() {
            let mut rng = rand::rng();
            new.voice_bridge = loop {
                // Five digits like bbb-web; 99999 is its test bridge.
                let v = rand::Rng::random_range(&mut rng, 10000..99999).to_string();
                if !live.iter().any(|l| l.voice_bridge == v) {
                    break v;
                }
            };
        }
        drop(live);
        let done = Arc::new(Notify::new());
        state
            .creating
            .insert(new.meeting_id.clone(), (new.clone(), done.clone()));
        drop(state);
        // Written before it is acknowledged: an accepted create survives a crash.
        let written = async {
            let rules = IntegrationRules {
                guest_policy: new.guest_policy,
                max_participants: new.max_participants,
                locks: new.initial_locks(),
                recording: plenary_meeting::IntegrationRecording {
                    record: new.record,
                    auto_start: new.auto_start_recording,
                    allow_start_stop: new.allow_start_stop_recording,
                    full_duration: new
                        .settings
                        .get("recordFullDurationMedia")
                        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
                },
                polls_disabled: new.feature_disabled("polls"),
                notes_disabled: new.feature_disabled("sharedNotes"),
            };
            meeting
                .create_room(
                    &new.name,
                    Creator::Integration {
                        id: new.room.clone(),
                        rules,
                    },
                )
                .await
                .map_err(|e| match e {
                    CreateRefusal::Unavailable(e) => e,
                    other => StoreError::Corrupt(other.to_string()),
                })?;
            let saved = self.save(&new).await;
            if saved.is_err() {
                // No session without its room, and no room without its session.
                if let Err(e) = self.store.delete_room(&new.room).await {
                    tracing::error!(room = %new.room, error = %e, "could not remove the room of a meeting that was not saved");
                }
            }
            saved
        }
        .await;
        let mut state = self.state.lock().await;
        state.creating.remove(&new.meeting_id);
        done.notify_waiters();
        written?;
        state.rooms.insert(new.room.clone(), new.meeting_id.clone());
        state.live.insert(new.meeting_id.clone(), new.clone());
        Ok(Created::New(new))
    }

    pub async fn live(&self, meeting_id: &str) -> Option<Session> {
        self.state.lock().await.live.get(meeting_id).cloned()
    }

    pub async fn all_live(&self) -> Vec<Session> {
        let mut all: Vec<Session> = self.state.lock().await.live.values().cloned().collect();
        all.sort_by(|a, b| {
            (a.create_time_ms, &a.meeting_id).cmp(&(b.create_time_ms, &b.meeting_id))
        });
        all
    }

    /// Whether a session with this meetingID ended recently.
    pub async fn recently_ended(&self, meeting_id: &str) -> bool {
        self.state.lock().await.ended.contains_key(meeting_id)
    }

    /// Changes a live session and saves it; returns the session after the change.
    pub async fn update(
        &self,
        meeting_id: &str,
        change: impl FnOnce(&mut Session),
    ) -> Result<Option<Session>, StoreError> {
        let mut state = self.state.lock().await;
        let Some(s) = state.live.get_mut(meeting_id) else {
            return Ok(None);
        };
        let before = s.clone();
        change(s);
        if *s != before {
            let s = s.clone();
            self.save(&s).await?;
            return Ok(Some(s));
        }
        Ok(Some(s.clone()))
    }

    async fn meeting_of_room(&self, room: &RoomId) -> Option<String> {
        self.state.lock().await.rooms.get(room).cloned()
    }

    /// The live API meeting held in `room`, if it is one.
    pub async fn session_of_room(&self, room: &RoomId) -> Option<Session> {
        let state = self.state.lock().await;
        let id = state.rooms.get(room)?;
        state.live.get(id).cloned()
    }

    /// Marks a live session ended and saves it. Returns it if it was live.
    async fn mark_ended(
        &self,
        meeting_id: &str,
        reason: EndReason,
        now_ms: i64,
    ) -> Option<Session> {
        let mut state = self.state.lock().await;
        let mut s = state.live.remove(meeting_id)?;
        state.rooms.remove(&s.room);
        s.ended_ms = Some(now_ms);
        s.end_reason = Some(reason);
        if let Err(e) = self.save(&s).await {
            tracing::error!(meeting = %s.meeting_id, error = %e, "could not record a meeting's end");
        }
        state
            .ended
            .retain(|_, e| e.ended_ms.is_some_and(|t| now_ms - t < KEEP_ENDED_MS));
        state.ended.insert(s.meeting_id.clone(), s.clone());
        Some(s)
    }
}

/// Ends a live session: the room's meeting ends for everyone in it, the room is removed,
/// `meta_endCallbackUrl` is called and `meeting-ended` delivered. Returns whether it was live.
pub async fn end_session(
    app: &BbbState,
    bbb: &Arc<Bbb>,
    meeting_id: &str,
    reason: EndReason,
) -> bool {
    let Some(s) = bbb
        .registry
        .mark_ended(meeting_id, reason, unix_millis())
        .await
    else {
        return false;
    };
    let why = match reason {
        EndReason::Ended => "The meeting was ended.",
        EndReason::DurationExceeded => "The meeting reached its time limit.",
        EndReason::NoModerator => "The meeting ended: no moderator was present.",
        EndReason::NobodyJoined | EndReason::LastUserLeft => "The meeting has ended.",
    };
    if let Err(e) = app.meeting.delete_room(&s.room, why).await {
        tracing::warn!(room = %s.room, error = %e, "could not remove an ended meeting's room");
    }
    tracing::info!(meeting = %s.meeting_id, ?reason, "API meeting ended");
    bbb.hooks.publish(HookEvent::meeting_ended(&s));
    if let Some(url) = s.metadata.get("endcallbackurl").cloned() {
        // `recordingmarks`: whether a recording was made in this session, not merely allowed.
        let recorded = match app
            .recordings
            .store()
            .recordings_of_meeting(&s.meeting_id)
            .await
        {
            Ok(rows) => rows.iter().any(|r| r.started_ms >= s.create_time_ms),
            Err(e) => {
                tracing::warn!(meeting = %s.meeting_id, error = %e, "cannot tell whether it was recorded");
                s.record
            }
        };
        bbb.hooks.call_end_callback(url, &s.meeting_id, recorded);
    }
    true
}

/// Follows the live meetings: who joined (the session starts), who left (expiry starts),
/// media changes (webhooks), and ends sessions whose time is up.
pub fn spawn_lifecycle(app: BbbState, bbb: Arc<Bbb>) {
    let mut events = app.meeting.live.subscribe();
    let app2 = app.clone();
    let bbb2 = bbb.clone();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(e) => on_room_event(&app2, &bbb2, e).await,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "BBB API fell behind the meetings' events");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        loop {
            tick.tick().await;
            let now = unix_millis();
            for s in bbb.registry.all_live().await {
                if let Some(reason) = s.due_to_end(now, app.meeting.live.count(&s.room)) {
                    end_session(&app, &bbb, &s.meeting_id, reason).await;
                }
            }
        }
    });
}

async fn on_room_event(app: &BbbState, bbb: &Arc<Bbb>, e: RoomEvent) {
    let room = match &e {
        RoomEvent::Joined { room, .. }
        | RoomEvent::Left { room, .. }
        | RoomEvent::MediaState { room, .. } => room,
        // The BBB recording calls and callbacks come with the recordings themselves.
        RoomEvent::Recording { .. } | RoomEvent::Speaking { .. } | RoomEvent::Notes { .. } => {
            return;
        }
        RoomEvent::Poll { room, .. } => room,
    };
    let Some(meeting_id) = bbb.registry.meeting_of_room(room).await else {
        return; // not an API meeting
    };
    let now = unix_millis();
    // Who is here after a join or leave decides whether the "no moderator" clock runs.
    let no_moderator_since = |s: &mut Session| {
        let people = app.meeting.live.participants(room);
        let moderator_here = people
            .iter()
            .any(|p| p.role == plenary_proto::Role::Moderator);
        if moderator_here || people.is_empty() {
            s.no_moderator_since_ms = None;
        } else {
            s.no_moderator_since_ms.get_or_insert(now);
        }
    };
    let result = match &e {
        RoomEvent::Joined { participant, .. } => {
            let mut first_join = false;
            let updated = bbb
                .registry
                .update(&meeting_id, |s| {
                    first_join = s.started_ms.is_none();
                    s.started_ms.get_or_insert(now);
                    s.last_left_ms = None;
                    if let Some(u) = &participant.user_id {
                        s.users.insert(u.clone());
                    }
                    no_moderator_since(s);
                })
                .await;
            // `autoStartRecording` / `recordFullDurationMedia`: recorded from the first join
            // (only then: a moderator who stopped it keeps it stopped).
            let auto = app
                .meeting
                .store
                .get_room(room)
                .await
                .ok()
                .flatten()
                .and_then(|r| plenary_meeting::RoomSettings::parse(&r.settings).integration);
            if first_join && auto.is_some_and(|rules| rules.recording.starts_by_itself()) {
                app.meeting.start_recording_by_integration(room);
            }
            updated
        }
        RoomEvent::Left { remaining, .. } => {
            bbb.registry
                .update(&meeting_id, |s| {
                    if *remaining == 0 {
                        s.last_left_ms = Some(now);
                    }
                    no_moderator_since(s);
                })
                .await
        }
        // Media changes only become webhook events.
        RoomEvent::MediaState { .. }
        | RoomEvent::Recording { .. }
        | RoomEvent::Speaking { .. }
        | RoomEvent::Notes { .. }
        | RoomEvent::Poll { .. } => Ok(bbb.registry.live(&meeting_id).await),
    };
    let session = match result {
        Ok(Some(s)) => s,
        Ok(None) => return,
        Err(err) => {
            tracing::error!(meeting = %meeting_id, error = %err, "could not save a meeting's state");
            return;
        }
    };
    for hook_event in HookEvent::from_room_event(&session, &e) {
        bbb.hooks.publish(hook_event);
    }
}
