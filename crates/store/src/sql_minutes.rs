//! The queries of a meeting's shared minutes, written once for both backends like `sql.rs`
//! (expanded inside its `impl Store`). Every write is one transaction whose commit is checked.

macro_rules! minutes_methods {
    () => {
        fn minutes<'a>(
            &'a self,
            room: &'a plenary_proto::RoomId,
            meeting_ms: i64,
        ) -> $crate::StoreFuture<'a, Option<$crate::MinutesRow>> {
            Box::pin(async move {
                use sqlx::Row as _;
                // One read transaction: the state and the edits after it, as of one moment.
                let mut tx = self.pool.begin().await?;
                let Some(row) = sqlx::query(
                    "SELECT state, updated_ms, compacted_seq FROM minutes \
                     WHERE room_id = $1 AND meeting_ms = $2",
                )
                .bind(room.as_str())
                .bind(meeting_ms)
                .fetch_optional(&mut *tx)
                .await?
                else {
                    return Ok(None);
                };
                let edits = sqlx::query(
                    "SELECT seq, body FROM minutes_edits \
                     WHERE room_id = $1 AND meeting_ms = $2 ORDER BY seq",
                )
                .bind(room.as_str())
                .bind(meeting_ms)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Some($crate::MinutesRow {
                    state: row.try_get(0)?,
                    edits: edits
                        .iter()
                        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                        .collect::<Result<_, sqlx::Error>>()?,
                    updated_ms: row.try_get(1)?,
                    compacted_seq: row.try_get(2)?,
                }))
            })
        }

        fn add_minutes_edit<'a>(
            &'a self,
            room: &'a plenary_proto::RoomId,
            meeting_ms: i64,
            seq: i64,
            body: &'a [u8],
            now_ms: i64,
        ) -> $crate::StoreFuture<'a, ()> {
            Box::pin(async move {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO minutes (room_id, meeting_ms, state, updated_ms) \
                     VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (room_id, meeting_ms) DO UPDATE SET updated_ms = $4",
                )
                .bind(room.as_str())
                .bind(meeting_ms)
                .bind(&[] as &[u8])
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO minutes_edits (room_id, meeting_ms, seq, body) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(room.as_str())
                .bind(meeting_ms)
                .bind(seq)
                .bind(body)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            })
        }

        fn compact_minutes<'a>(
            &'a self,
            room: &'a plenary_proto::RoomId,
            meeting_ms: i64,
            state: &'a [u8],
            through_seq: i64,
        ) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let mut tx = self.pool.begin().await?;
                // Only a state newer than the stored one replaces it (two compactions racing,
                // at a meeting's end and within it, never put an older one back).
                let newer = sqlx::query(
                    "UPDATE minutes SET state = $3, compacted_seq = $4 \
                     WHERE room_id = $1 AND meeting_ms = $2 AND compacted_seq < $4",
                )
                .bind(room.as_str())
                .bind(meeting_ms)
                .bind(state)
                .bind(through_seq)
                .execute(&mut *tx)
                .await?;
                if newer.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query(
                    "DELETE FROM minutes_edits \
                     WHERE room_id = $1 AND meeting_ms = $2 AND seq <= $3",
                )
                .bind(room.as_str())
                .bind(meeting_ms)
                .bind(through_seq)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            })
        }

        fn minutes_of<'a>(
            &'a self,
            room: &'a plenary_proto::RoomId,
        ) -> $crate::StoreFuture<'a, Vec<$crate::MinutesInfo>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT meeting_ms, updated_ms FROM minutes \
                     WHERE room_id = $1 ORDER BY meeting_ms DESC",
                )
                .bind(room.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::MinutesInfo {
                            meeting_ms: r.try_get(0)?,
                            updated_ms: r.try_get(1)?,
                        })
                    })
                    .collect()
            })
        }
    };
}

pub(crate) use minutes_methods;
