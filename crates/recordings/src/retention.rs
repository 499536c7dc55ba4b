//! Retention: a recording is deleted (its files for real, everywhere) once it is older than
//! its organisation keeps them — the shortest of the room owner's organisations' rules, else
//! the site's default. A sweep runs at start and every hour; recordings still being recorded
//! or composed are never swept. A room deleted through the portal takes its own recordings
//! with it ([`Recordings::delete_room`]); an integration's recordings outlive their room (a
//! BBB meeting's room goes with the meeting; its recordings are the integration's to delete).

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

    /// Deletes a room (ending its meeting) and its recordings, files and all, whatever their
    /// state: a recorder or worker still holding one finds its folder and row gone and stops
    /// there (its writes fail; its updates change nothing). False: no such room.
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
            if !crate::made_by_integration(&r)
                && let Err(e) = self.delete(&r).await
            {
                tracing::error!(id = %r.id, error = %e, "a deleted room's recording could not be deleted");
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
                let Some(days) = self.kept_days(&r, default_days).await? else {
                    continue;
                };
                let ended = r.ended_ms.unwrap_or(r.started_ms + r.length_ms);
                if ended + days * DAY_MS <= now_ms {
                    // One that cannot be deleted now (object storage down) does not hold up
                    // the rest: the next sweep tries again.
                    match self.delete(&r).await {
                        Ok(_) => {
                            tracing::info!(id = %r.id, days, "recording deleted: older than it is kept");
                            deleted += 1;
                        }
                        Err(e) => {
                            tracing::error!(id = %r.id, error = %e, "an expired recording could not be deleted")
                        }
                    }
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
