//! The queries of recordings and their composition queue, written once for both backends
//! like `sql.rs` (expanded inside its `impl Store`). Every write that returns rows runs in a
//! transaction whose commit is checked (see `sql.rs`).

/// The columns `recording_from_row` reads, in its order.
macro_rules! recording_columns {
    () => {
        "id, room_id, meeting_id, meeting_ms, name, started_ms, ended_ms, length_ms, state, \
         published, protected, meta, folder, bytes, progress, error, attempts, lease_until, remote"
    };
}

macro_rules! recording_methods {
    () => {
        fn create_recording<'a>(
            &'a self,
            r: &'a $crate::RecordingRow,
        ) -> $crate::StoreFuture<'a, ()> {
            Box::pin(async move {
                let done = sqlx::query(concat!(
                    "INSERT INTO recordings (",
                    $crate::sql_recordings::recording_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
                ))
                .bind(&r.id)
                .bind(r.room.as_str())
                .bind(&r.meeting_id)
                .bind(r.meeting_ms)
                .bind(&r.name)
                .bind(r.started_ms)
                .bind(r.ended_ms)
                .bind(r.length_ms)
                .bind(r.status.as_str())
                .bind(i64::from(r.published))
                .bind(i64::from(r.protected))
                .bind(&r.meta)
                .bind(&r.folder)
                .bind(r.bytes)
                .bind(r.progress)
                .bind(&r.error)
                .bind(r.attempts)
                .bind(r.lease_until)
                .bind(i64::from(r.remote))
                .execute(&self.pool)
                .await;
                match done {
                    Err(e) if $crate::model::is_unique_violation(&e) => {
                        Err($crate::StoreError::Conflict(format!("recording {}", r.id)))
                    }
                    Err(e) => Err(e.into()),
                    Ok(_) => Ok(()),
                }
            })
        }

        fn get_recording<'a>(
            &'a self,
            id: &'a str,
        ) -> $crate::StoreFuture<'a, Option<$crate::RecordingRow>> {
            Box::pin(async move {
                let row = sqlx::query(concat!(
                    "SELECT ",
                    $crate::sql_recordings::recording_columns!(),
                    " FROM recordings WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map($crate::recordings::recording_from_row).transpose()
            })
        }

        fn recordings_of_room<'a>(
            &'a self,
            room: &'a plenary_proto::RoomId,
        ) -> $crate::StoreFuture<'a, Vec<$crate::RecordingRow>> {
            Box::pin(async move {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    $crate::sql_recordings::recording_columns!(),
                    " FROM recordings WHERE room_id = $1 ORDER BY started_ms DESC, id"
                ))
                .bind(room.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::recordings::recording_from_row).collect()
            })
        }

        fn recordings_of_meeting<'a>(
            &'a self,
            meeting_id: &'a str,
        ) -> $crate::StoreFuture<'a, Vec<$crate::RecordingRow>> {
            Box::pin(async move {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    $crate::sql_recordings::recording_columns!(),
                    " FROM recordings WHERE meeting_id = $1 ORDER BY started_ms DESC, id"
                ))
                .bind(meeting_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::recordings::recording_from_row).collect()
            })
        }

        fn recordings_in(
            &self,
            status: $crate::RecordingStatus,
        ) -> $crate::StoreFuture<'_, Vec<$crate::RecordingRow>> {
            Box::pin(async move {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    $crate::sql_recordings::recording_columns!(),
                    " FROM recordings WHERE state = $1 ORDER BY started_ms, id"
                ))
                .bind(status.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::recordings::recording_from_row).collect()
            })
        }

        fn all_recordings(&self, limit: u32) -> $crate::StoreFuture<'_, Vec<$crate::RecordingRow>> {
            Box::pin(async move {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    $crate::sql_recordings::recording_columns!(),
                    " FROM recordings ORDER BY started_ms DESC, id LIMIT $1"
                ))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::recordings::recording_from_row).collect()
            })
        }

        fn recording_ended<'a>(
            &'a self,
            id: &'a str,
            ended_ms: i64,
            length_ms: i64,
            bytes: i64,
        ) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE recordings SET state = 'processing', ended_ms = $2, length_ms = $3, bytes = $4, \
                     progress = 0, lease_until = NULL WHERE id = $1 AND state = 'recording'",
                )
                .bind(id)
                .bind(ended_ms)
                .bind(length_ms)
                .bind(bytes)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            })
        }

        fn claim_recording_job(
            &self,
            now_ms: i64,
            lease_ms: i64,
        ) -> $crate::StoreFuture<'_, Option<$crate::RecordingRow>> {
            Box::pin(async move {
                let mut tx = self.pool.begin().await?;
                // The lease is checked again on the row itself: of two workers that picked the
                // same job, the second updates nothing.
                let row = sqlx::query(concat!(
                    "UPDATE recordings SET lease_until = $1 + $2, attempts = attempts + 1 \
                     WHERE id = (SELECT id FROM recordings WHERE state = 'processing' \
                                 AND (lease_until IS NULL OR lease_until < $1) \
                                 ORDER BY ended_ms, id LIMIT 1) \
                       AND state = 'processing' AND (lease_until IS NULL OR lease_until < $1) \
                     RETURNING ",
                    $crate::sql_recordings::recording_columns!()
                ))
                .bind(now_ms)
                .bind(lease_ms)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.as_ref().map($crate::recordings::recording_from_row).transpose()
            })
        }

        fn recording_progress<'a>(
            &'a self,
            id: &'a str,
            attempt: i64,
            progress: i64,
            lease_until: i64,
        ) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE recordings SET progress = $2, lease_until = $3 WHERE id = $1 AND state = 'processing' AND attempts = $4",
                )
                .bind(id)
                .bind(progress)
                .bind(lease_until)
                .bind(attempt)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            })
        }

        fn recording_composed<'a>(
            &'a self,
            id: &'a str,
            attempt: i64,
            bytes: i64,
        ) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE recordings SET state = 'ready', progress = 1000, bytes = $2, error = NULL, \
                     lease_until = NULL WHERE id = $1 AND state = 'processing' AND attempts = $3",
                )
                .bind(id)
                .bind(bytes)
                .bind(attempt)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            })
        }

        fn recording_failed<'a>(
            &'a self,
            id: &'a str,
            attempt: i64,
            error: &'a str,
            for_good: bool,
        ) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let state = if for_good { "failed" } else { "processing" };
                let done = sqlx::query(
                    "UPDATE recordings SET state = $2, error = $3, lease_until = NULL \
                     WHERE id = $1 AND state = 'processing' AND attempts = $4",
                )
                .bind(id)
                .bind(state)
                .bind(error)
                .bind(attempt)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            })
        }

        fn retry_recording<'a>(&'a self, id: &'a str) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE recordings SET state = 'processing', attempts = 0, progress = 0, lease_until = NULL \
                     WHERE id = $1 AND state = 'failed'",
                )
                .bind(id)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            })
        }

        fn update_recording<'a>(
            &'a self,
            id: &'a str,
            u: &'a $crate::RecordingUpdate,
        ) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE recordings SET published = COALESCE($2, published), protected = COALESCE($3, protected), \
                     name = COALESCE($4, name), meta = COALESCE($5, meta) WHERE id = $1",
                )
                .bind(id)
                .bind(u.published.map(i64::from))
                .bind(u.protected.map(i64::from))
                .bind(&u.name)
                .bind(&u.meta)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            })
        }

        fn recording_moved<'a>(&'a self, id: &'a str) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let done = sqlx::query("UPDATE recordings SET remote = 1 WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            })
        }

        fn recordings_to_notify(&self) -> $crate::StoreFuture<'_, Vec<String>> {
            Box::pin(async move {
                let rows = sqlx::query(
                    "SELECT id FROM recordings WHERE state = 'ready' AND ready_notified = 0 \
                     AND meeting_id <> room_id ORDER BY started_ms, id",
                )
                .fetch_all(&self.pool)
                .await?;
                use sqlx::Row as _;
                Ok(rows
                    .iter()
                    .map(|r| r.try_get::<String, _>(0))
                    .collect::<Result<_, _>>()?)
            })
        }

        fn recording_notified<'a>(&'a self, id: &'a str) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let done = sqlx::query("UPDATE recordings SET ready_notified = 1 WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            })
        }

        fn recording_policy(&self, org_id: i64) -> $crate::StoreFuture<'_, $crate::RecordingPolicy> {
            Box::pin(async move {
                use sqlx::Row as _;
                let row = sqlx::query(
                    "SELECT allowed, retention_days, quota_bytes FROM org_recording_policy WHERE org_id = $1",
                )
                .bind(org_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(match row {
                    None => $crate::RecordingPolicy::default(),
                    Some(r) => $crate::RecordingPolicy {
                        allowed: r.try_get::<i64, _>(0)? != 0,
                        retention_days: r.try_get(1)?,
                        quota_bytes: r.try_get(2)?,
                    },
                })
            })
        }

        fn set_recording_policy<'a>(
            &'a self,
            org_id: i64,
            p: &'a $crate::RecordingPolicy,
        ) -> $crate::StoreFuture<'a, ()> {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO org_recording_policy (org_id, allowed, retention_days, quota_bytes) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (org_id) DO UPDATE SET allowed = excluded.allowed, retention_days = excluded.retention_days, quota_bytes = excluded.quota_bytes",
                )
                .bind(org_id)
                .bind(i64::from(p.allowed))
                .bind(p.retention_days)
                .bind(p.quota_bytes)
                .execute(&self.pool)
                .await?;
                Ok(())
            })
        }

        fn delete_recording<'a>(&'a self, id: &'a str) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM recordings WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            })
        }
    };
}

pub(crate) use recording_columns;
pub(crate) use recording_methods;
