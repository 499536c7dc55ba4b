//! The queries of a meeting's polls, written once for both backends like `sql.rs` (expanded
//! inside its `impl Store`). A vote and its counts are written in one transaction whose
//! commit is checked.

/// A poll's columns, in `poll_from_row`'s order.
macro_rules! poll_columns {
    () => {
        "room_id, meeting_ms, id, spec, by_name, opened_ms, closes_ms, closed_ms, node"
    };
}

macro_rules! poll_methods {
    () => {
        fn save_poll<'a>(
            &'a self,
            p: &'a $crate::PollRow,
            options: u32,
        ) -> $crate::StoreFuture<'a, ()> {
            Box::pin(async move {
                let mut tx = self.pool.begin().await?;
                sqlx::query(concat!(
                    "INSERT INTO polls (",
                    $crate::sql_polls::poll_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ))
                .bind(p.room.as_str())
                .bind(p.meeting_ms)
                .bind(p.id)
                .bind(&p.spec)
                .bind(&p.by_name)
                .bind(p.opened_ms)
                .bind(p.closes_ms)
                .bind(p.closed_ms)
                .bind(&p.node)
                .execute(&mut *tx)
                .await?;
                // Every option's count from the start: a vote then only rewrites rows.
                for choice in 0..options {
                    sqlx::query(
                        "INSERT INTO poll_counts (room_id, meeting_ms, poll_id, choice, votes) \
                         VALUES ($1, $2, $3, $4, 0)",
                    )
                    .bind(p.room.as_str())
                    .bind(p.meeting_ms)
                    .bind(p.id)
                    .bind(i64::from(choice))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            })
        }

        fn cast_vote<'a>(
            &'a self,
            v: &'a $crate::VoteRow,
            choices: &'a [u32],
            now_ms: i64,
        ) -> $crate::StoreFuture<'a, $crate::VoteOutcome> {
            Box::pin(async move {
                let mut tx = self.pool.begin().await?;
                // Still open (and its timer not run out), and held so while this vote is
                // written: a close waits for it, or it sees the close.
                let open = sqlx::query(
                    "UPDATE polls SET closed_ms = closed_ms \
                     WHERE room_id = $1 AND meeting_ms = $2 AND id = $3 AND closed_ms IS NULL \
                       AND (closes_ms IS NULL OR closes_ms > $4)",
                )
                .bind(v.room.as_str())
                .bind(v.meeting_ms)
                .bind(v.poll_id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
                if open.rows_affected() == 0 {
                    return Ok($crate::VoteOutcome::Closed);
                }
                let first = sqlx::query(
                    "INSERT INTO poll_votes (room_id, meeting_ms, poll_id, voter, name, choices) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                )
                .bind(v.room.as_str())
                .bind(v.meeting_ms)
                .bind(v.poll_id)
                .bind(&v.voter)
                .bind(&v.name)
                .bind(v.choices.as_deref().map($crate::polls::choices_text))
                .execute(&mut *tx)
                .await?;
                if first.rows_affected() == 0 {
                    // Voted already (another device, or another node): nothing changes.
                    return Ok($crate::VoteOutcome::AlreadyVoted);
                }
                // Every option's row is rewritten, chosen or not, so that no row's version
                // (PostgreSQL's xmin, say) tells which options this vote chose.
                let chosen = format!(",{},", $crate::polls::choices_text(choices));
                sqlx::query(
                    "UPDATE poll_counts SET votes = votes + \
                       CASE WHEN $4 LIKE '%,' || CAST(choice AS TEXT) || ',%' THEN 1 ELSE 0 END \
                     WHERE room_id = $1 AND meeting_ms = $2 AND poll_id = $3",
                )
                .bind(v.room.as_str())
                .bind(v.meeting_ms)
                .bind(v.poll_id)
                .bind(chosen)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok($crate::VoteOutcome::Counted)
            })
        }

        fn close_meeting_polls<'a>(
            &'a self,
            room: &'a plenary_proto::RoomId,
            meeting_ms: i64,
            closed_ms: i64,
        ) -> $crate::StoreFuture<'a, u64> {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE polls SET closed_ms = $3 \
                     WHERE room_id = $1 AND meeting_ms = $2 AND closed_ms IS NULL",
                )
                .bind(room.as_str())
                .bind(meeting_ms)
                .bind(closed_ms)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            })
        }

        fn close_node_polls<'a>(
            &'a self,
            node_prefix: &'a str,
            closed_ms: i64,
        ) -> $crate::StoreFuture<'a, u64> {
            Box::pin(async move {
                // A prefix compared as text (a LIKE pattern would read a node's `_` or `%`).
                let done = sqlx::query(
                    "UPDATE polls SET closed_ms = $2 \
                     WHERE closed_ms IS NULL AND substr(node, 1, length($1)) = $1",
                )
                .bind(node_prefix)
                .bind(closed_ms)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            })
        }

        fn close_poll<'a>(
            &'a self,
            room: &'a plenary_proto::RoomId,
            meeting_ms: i64,
            id: i64,
            closed_ms: i64,
        ) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE polls SET closed_ms = $4 \
                     WHERE room_id = $1 AND meeting_ms = $2 AND id = $3 AND closed_ms IS NULL",
                )
                .bind(room.as_str())
                .bind(meeting_ms)
                .bind(id)
                .bind(closed_ms)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            })
        }

        fn polls_of<'a>(
            &'a self,
            room: &'a plenary_proto::RoomId,
            meeting_ms: Option<i64>,
        ) -> $crate::StoreFuture<'a, Vec<$crate::PollRow>> {
            Box::pin(async move {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    $crate::sql_polls::poll_columns!(),
                    " FROM polls WHERE room_id = $1 AND ($2 < 0 OR meeting_ms = $2) \
                      ORDER BY meeting_ms DESC, id"
                ))
                .bind(room.as_str())
                .bind(meeting_ms.unwrap_or(-1))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::polls::poll_from_row).collect()
            })
        }

        fn poll_counts<'a>(
            &'a self,
            room: &'a plenary_proto::RoomId,
            meeting_ms: i64,
            id: i64,
        ) -> $crate::StoreFuture<'a, Vec<(u32, i64)>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT choice, votes FROM poll_counts \
                     WHERE room_id = $1 AND meeting_ms = $2 AND poll_id = $3 ORDER BY choice",
                )
                .bind(room.as_str())
                .bind(meeting_ms)
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let choice: i64 = r.try_get(0)?;
                        let votes: i64 = r.try_get(1)?;
                        let choice = u32::try_from(choice).map_err(|_| {
                            $crate::StoreError::Corrupt(format!("poll choice {choice}"))
                        })?;
                        Ok((choice, votes))
                    })
                    .collect()
            })
        }

        fn poll_votes<'a>(
            &'a self,
            room: &'a plenary_proto::RoomId,
            meeting_ms: i64,
            id: i64,
        ) -> $crate::StoreFuture<'a, Vec<$crate::VoteRow>> {
            Box::pin(async move {
                let rows = sqlx::query(
                    "SELECT room_id, meeting_ms, poll_id, voter, name, choices FROM poll_votes \
                     WHERE room_id = $1 AND meeting_ms = $2 AND poll_id = $3 ORDER BY name, voter",
                )
                .bind(room.as_str())
                .bind(meeting_ms)
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::polls::vote_from_row).collect()
            })
        }
    };
}

pub(crate) use {poll_columns, poll_methods};
