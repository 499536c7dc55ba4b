//! Retention: a recording is deleted (its files for real, everywhere) once it is older than
//! its organisation keeps them — the shortest of the room owner's organisations' rules, else
//! the site's default. A sweep runs at start and every hour; recordings still being recorded
//! or composed are never swept. A room deleted (through the portal) takes its own recordings
//! with it: the finished ones at once ([`Recordings::delete_room`]), one still being recorded
//! or composed at the next sweep after it is finished. An integration's recordings outlive
//! their room (a BBB meeting's room goes with the meeting; its recordings are the
//! integration's to delete).

use std::sync::Arc;
use std::time::Duration;

use plenary_store::{RecordingRow, RecordingStatus, StoreError};

use crate::{RecordingError, Recordings};

const DAY_MS: i64 = 24 * 3600 * 1000;
const EVERY: Duration = Duration::from_secs(3600);

impl Recordings {
    /// How many days `r` is kept after it ends (`None`: until deleted).
    pub async fn kept_days(
        &self,
        r: &RecordingRow,
        default_days: Option<i64>,
    ) -> Result<Option<i64>, StoreError> {
        let store = self.store();
        let owner = store
            .get_room(&r.room)
            .await?
            .and_then(|room| room.owner_id);
        let mut days = None::<i64>;
        if let Some(owner) = owner {
            for m in store.orgs_of(owner).await? {
                if let Some(d) = store.recording_policy(m.org.id).await?.retention_days {
                    days = Some(days.map_or(d, |x| x.min(d)));
                }
            }
        }
        Ok(days.or(default_days))
    }

    /// Whether `r` is the recording of a room that was deleted (not an integration's).
    async fn room_gone(&self, r: &RecordingRow) -> Result<bool, StoreError> {
        Ok(!crate::made_by_integration(r) && self.store().get_room(&r.room).await?.is_none())
    }

    /// Deletes a room (ending its meeting) and its recordings, files and all; one still being
    /// recorded or composed goes at the sweep after it is finished, as does one whose files
    /// could not be deleted now. False: no such room.
    pub async fn delete_room(
        &self,
        meeting: &plenary_meeting::Service,
        room: &plenary_proto::RoomId,
        reason: &str,
    ) -> Result<bool, StoreError> {
        if !meeting.delete_room(room, reason).await? {
            return Ok(false);
        }
        for r in self.store().recordings_of_room(room).await? {
            if matches!(r.status, RecordingStatus::Ready | RecordingStatus::Failed)
                && !crate::made_by_integration(&r)
                && let Err(e) = self.delete(&r).await
            {
                tracing::error!(id = %r.id, error = %e, "a deleted room's recording is left for the sweep");
            }
        }
        Ok(true)
    }

    /// Deletes every recording older than it is kept, at `now_ms`; returns how many.
    pub async fn sweep(
        &self,
        now_ms: i64,
        default_days: Option<i64>,
    ) -> Result<usize, RecordingError> {
        let mut deleted = 0;
        for status in [RecordingStatus::Ready, RecordingStatus::Failed] {
            for r in self.store().recordings_in(status).await? {
                if self.room_gone(&r).await? {
                    self.delete(&r).await?;
                    tracing::info!(id = %r.id, "recording deleted: its room was deleted");
                    deleted += 1;
                    continue;
                }
                let Some(days) = self.kept_days(&r, default_days).await? else {
                    continue;
                };
                let ended = r.ended_ms.unwrap_or(r.started_ms + r.length_ms);
                if ended + days * DAY_MS <= now_ms {
                    self.delete(&r).await?;
                    tracing::info!(id = %r.id, days, "recording deleted: older than it is kept");
                    deleted += 1;
                }
            }
        }
        Ok(deleted)
    }
}

/// Sweeps at start and every hour.
pub fn spawn_sweeper(recordings: Arc<Recordings>, default_days: Option<i64>) {
    tokio::spawn(async move {
        loop {
            let now = plenary_proto::clock::unix_millis() as i64;
            if let Err(e) = recordings.sweep(now, default_days).await {
                tracing::error!(error = %e, "the recordings' retention sweep failed");
            }
            tokio::time::sleep(EVERY).await;
        }
    });
}
