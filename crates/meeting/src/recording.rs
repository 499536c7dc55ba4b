//! Recording a meeting: moderators start, pause, resume and stop it where the room allows it
//! (checked here, whoever asks); everyone is told, and joiners see it in `joined`. The
//! recorder itself listens for [`RoomEvent::Recording`].

use plenary_proto::{ParticipantId, RecordAction, RecordingState, RoomId, ServerMessage};

use crate::Service;
use crate::actions::ActionError;
use crate::live::{Meetings, RoomEvent, broadcast};
use crate::room_settings::RoomSettings;

/// Where `action` takes a recording that is `now` (None: nothing changes).
fn next(now: RecordingState, action: RecordAction) -> Option<RecordingState> {
    use RecordingState::{Off, Paused, Recording};
    match (now, action) {
        (Off, RecordAction::Start) => Some(Recording),
        (Recording, RecordAction::Pause) => Some(Paused),
        (Paused, RecordAction::Resume | RecordAction::Start) => Some(Recording),
        (Recording | Paused, RecordAction::Stop) => Some(Off),
        _ => None,
    }
}

/// An organisation's recordings: those of its members' rooms, each with its room.
pub async fn organisation_recordings(
    store: &dyn plenary_store::Store,
    org_id: i64,
) -> Result<Vec<(plenary_store::Room, plenary_store::RecordingRow)>, plenary_store::StoreError> {
    let mut out = Vec::new();
    for room in store.rooms_of_org(org_id).await? {
        for r in store.recordings_of_room(&room.id).await? {
            out.push((room.clone(), r));
        }
    }
    Ok(out)
}

/// The storage an organisation's recordings take.
pub async fn organisation_recording_bytes(
    store: &dyn plenary_store::Store,
    org_id: i64,
) -> Result<i64, plenary_store::StoreError> {
    let all = organisation_recordings(store, org_id).await?;
    Ok(all.iter().map(|(_, r)| r.bytes).sum())
}

impl Meetings {
    /// `by`'s name, if they moderate the meeting in `room`.
    fn moderates(&self, room: &RoomId, by: ParticipantId) -> Result<String, ActionError> {
        crate::actions::moderator(&self.lock(), room, by)
    }

    /// The meeting's recording state now.
    pub fn recording(&self, room: &RoomId) -> RecordingState {
        self.lock()
            .meetings
            .get(room)
            .map_or(RecordingState::Off, |m| m.recording)
    }

    /// Every meeting being recorded (or paused) now, with its state.
    pub fn recording_rooms(&self) -> Vec<(RoomId, RecordingState)> {
        self.lock()
            .meetings
            .iter()
            .filter(|(_, m)| m.recording != RecordingState::Off)
            .map(|(room, m)| (room.clone(), m.recording))
            .collect()
    }

    /// Applies `action` (already allowed), tells everyone and the recorder.
    fn apply_recording(
        &self,
        room: &RoomId,
        by: ParticipantId,
        action: RecordAction,
    ) -> Result<(), ActionError> {
        let by_name = self.moderates(room, by)?;
        let mut state = self.lock();
        let state = &mut *state;
        let m = state
            .meetings
            .get_mut(room)
            .ok_or(ActionError::NotInMeeting)?;
        let Some(new) = next(m.recording, action) else {
            return Ok(());
        };
        m.recording = new;
        if let Some(members) = state.rooms.get(room) {
            broadcast(
                members,
                &ServerMessage::Recording {
                    state: new,
                    by: by_name,
                },
            );
        }
        self.publish(RoomEvent::Recording {
            room: room.clone(),
            state: new,
        });
        Ok(())
    }
}

impl Service {
    /// (Moderators) starts, pauses, resumes or stops the recording of the meeting in `room`;
    /// starting needs a room whose settings allow recording.
    pub async fn record(
        &self,
        room: &RoomId,
        by: ParticipantId,
        action: RecordAction,
    ) -> Result<(), ActionError> {
        self.live.moderates(room, by)?;
        let stored = self
            .store
            .get_room(room)
            .await
            .map_err(|_| ActionError::Unavailable)?;
        let owner = stored.as_ref().and_then(|r| r.owner_id);
        let settings = stored.map(|r| RoomSettings::parse(&r.settings));
        let allowed = match settings {
            None => false,
            // An integration's rules decide (BBB `record`, `allowStartStopRecording`,
            // `recordFullDurationMedia`), for every action.
            Some(RoomSettings {
                integration: Some(rules),
                ..
            }) => rules.recording.moderators_control(),
            // Setting a room's recording off stops nothing already recording, but nobody
            // resumes or starts one there any more.
            Some(s) => {
                s.recording_allowed || matches!(action, RecordAction::Stop | RecordAction::Pause)
            }
        };
        if !allowed {
            return Err(ActionError::RecordingNotAllowed);
        }
        if matches!(action, RecordAction::Start | RecordAction::Resume)
            && let Some(owner) = owner
        {
            self.organisations_allow_recording(owner).await?;
        }
        self.live.apply_recording(room, by, action)
    }

    /// The owner's organisations' rules: none forbids recording, and none has used its
    /// storage (its quota, else the site's).
    async fn organisations_allow_recording(&self, owner: i64) -> Result<(), ActionError> {
        let unavailable = |_| ActionError::Unavailable;
        for m in self.store.orgs_of(owner).await.map_err(unavailable)? {
            let policy = self
                .store
                .recording_policy(m.org.id)
                .await
                .map_err(unavailable)?;
            if !policy.allowed {
                return Err(ActionError::RecordingNotAllowed);
            }
            let Some(quota) = policy.quota_bytes.or(self.settings.recording_quota_bytes) else {
                continue;
            };
            if organisation_recording_bytes(&*self.store, m.org.id)
                .await
                .map_err(unavailable)?
                >= quota
            {
                return Err(ActionError::RecordingQuotaFull);
            }
        }
        Ok(())
    }

    /// Starts the recording of the meeting in `room` without a moderator (an integration's
    /// `autoStartRecording` or `recordFullDurationMedia`, at the first join); nothing if it
    /// records already.
    pub fn start_recording_by_integration(&self, room: &RoomId) {
        let mut guard = self.live.lock();
        let state = &mut *guard;
        let Some(m) = state.meetings.get_mut(room) else {
            return;
        };
        if m.recording != RecordingState::Off {
            return;
        }
        m.recording = RecordingState::Recording;
        if let Some(members) = state.rooms.get(room) {
            broadcast(
                members,
                &ServerMessage::Recording {
                    state: RecordingState::Recording,
                    by: String::new(),
                },
            );
        }
        drop(guard);
        self.live.publish(RoomEvent::Recording {
            room: room.clone(),
            state: RecordingState::Recording,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RecordingState::{Off, Paused, Recording};

    #[test]
    fn actions_move_the_recording_along() {
        assert_eq!(next(Off, RecordAction::Start), Some(Recording));
        assert_eq!(next(Recording, RecordAction::Start), None);
        assert_eq!(next(Recording, RecordAction::Pause), Some(Paused));
        assert_eq!(next(Paused, RecordAction::Resume), Some(Recording));
        assert_eq!(next(Paused, RecordAction::Stop), Some(Off));
        assert_eq!(next(Off, RecordAction::Stop), None);
        assert_eq!(next(Off, RecordAction::Pause), None);
    }
}
