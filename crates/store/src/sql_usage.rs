//! The queries of the usage ledger, its attendance and its tokens, written once for both
//! backends like `sql.rs` (expanded inside its `impl Store`). Every write that opens or closes
//! something runs in a transaction whose commit is checked.

/// The ledger's columns as written, in the order `bind_event!` binds them.
macro_rules! event_columns {
    () => {
        "at_ms, kind, room_id, meeting_ms, since_ms, person, role, member, client, room_orgs, \
         person_orgs, node, region, bytes, ref, meeting_key"
    };
}

/// Binds an event's columns, in `event_columns!`'s order.
macro_rules! bind_event {
    ($q:expr, $e:expr) => {
        $q.bind($e.at_ms)
            .bind($e.kind.as_str())
            .bind(&$e.room)
            .bind($e.meeting_ms)
            .bind($e.since_ms)
            .bind($e.person)
            .bind(&$e.role)
            .bind($e.member.map(i64::from))
            .bind(&$e.client)
            .bind($crate::usage::orgs_text(&$e.room_orgs))
            .bind($crate::usage::orgs_text(&$e.person_orgs))
            .bind(&$e.node)
            .bind(&$e.region)
            .bind($e.bytes)
            .bind(&$e.reference)
            .bind($crate::usage::meeting_key(&$e.room, $e.meeting_ms))
    };
}

/// The filters every report query shares, on columns of `usage_events` aliased `e`: `$2` from,
/// `$3` until, `$4` the organisations' pattern, `$5` the room (or ''), `$6` the region (or '').
macro_rules! usage_filters {
    () => {
        " AND e.room_orgs LIKE $4 AND ($5 = '' OR e.room_id = $5) AND ($6 = '' OR e.region = $6)"
    };
}

macro_rules! usage_methods {
    () => {
        fn usage_open<'a>(
            &'a self,
            key: &'a str,
            e: &'a $crate::UsageEvent,
        ) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let op = $crate::UsageOp::Open { key: key.to_owned(), event: e.clone() };
                Ok($crate::Store::usage_apply(self, None, std::slice::from_ref(&op)).await?[0])
            })
        }

        fn usage_close<'a>(&'a self, key: &'a str, at_ms: i64) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let op = $crate::UsageOp::Close { key: key.to_owned(), at_ms };
                Ok($crate::Store::usage_apply(self, None, std::slice::from_ref(&op)).await?[0])
            })
        }

        fn usage_apply<'a>(
            &'a self,
            batch: Option<&'a str>,
            ops: &'a [$crate::UsageOp],
        ) -> $crate::StoreFuture<'a, Vec<bool>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let mut done = Vec::with_capacity(ops.len());
                let mut tx = self.pool.begin().await?;
                if let Some(id) = batch {
                    // Written already (a retry after a commit whose answer was lost): once.
                    let first = sqlx::query(
                        "INSERT INTO usage_batches (id, at_ms) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(id)
                    .bind(plenary_proto::clock::unix_millis())
                    .execute(&mut *tx)
                    .await?;
                    if first.rows_affected() == 0 {
                        tx.rollback().await?;
                        return Ok(vec![false; ops.len()]);
                    }
                }
                // The longest span is raised once, last: a row lock taken mid-batch and held
                // while other rows are taken could deadlock with another node's closing.
                let mut longest = 0i64;
                for op in ops {
                    done.push(match op {
                        $crate::UsageOp::Open { key, event: e } => {
                            // Open already (a retry after a commit whose answer was lost): once.
                            let open = sqlx::query("SELECT 1 FROM usage_open WHERE key = $1")
                                .bind(key)
                                .fetch_optional(&mut *tx)
                                .await?;
                            if open.is_some() {
                                false
                            } else {
                                let q = sqlx::query(concat!(
                                    "INSERT INTO usage_events (",
                                    $crate::sql_usage::event_columns!(),
                                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id"
                                ));
                                let id: i64 = $crate::sql_usage::bind_event!(q, e)
                                    .fetch_one(&mut *tx)
                                    .await?
                                    .try_get(0)?;
                                sqlx::query(
                                    "INSERT INTO usage_open (key, event_id, alive_ms) VALUES ($1, $2, $3)",
                                )
                                .bind(key)
                                .bind(id)
                                .bind(e.at_ms)
                                .execute(&mut *tx)
                                .await?;
                                true
                            }
                        }
                        $crate::UsageOp::Close { key, at_ms } => {
                            // Taken first: of two closes at once (a node's own and another's of
                            // its stale rows), the second finds nothing to close.
                            let taken = sqlx::query("DELETE FROM usage_open WHERE key = $1 RETURNING event_id")
                                .bind(key)
                                .fetch_optional(&mut *tx)
                                .await?;
                            match taken {
                                None => false,
                                Some(taken) => {
                                    let event: i64 = taken.try_get(0)?;
                                    let opened: i64 = sqlx::query("SELECT at_ms FROM usage_events WHERE id = $1")
                                        .bind(event)
                                        .fetch_one(&mut *tx)
                                        .await?
                                        .try_get(0)?;
                                    let at_ms = (*at_ms).max(opened);
                                    // The closing event repeats the opening one; it never closes
                                    // before it opened.
                                    sqlx::query(concat!(
                                        "INSERT INTO usage_events (",
                                        $crate::sql_usage::event_columns!(),
                                        ") SELECT $2, CASE e.kind WHEN 'joined' THEN 'left' ELSE 'meeting_ended' END, \
                                           e.room_id, e.meeting_ms, e.at_ms, e.person, e.role, e.member, e.client, \
                                           e.room_orgs, e.person_orgs, e.node, e.region, e.bytes, e.ref, e.meeting_key \
                                         FROM usage_events e WHERE e.id = $1"
                                    ))
                                    .bind(event)
                                    .bind(at_ms)
                                    .execute(&mut *tx)
                                    .await?;
                                    longest = longest.max(at_ms.saturating_sub(opened));
                                    true
                                }
                            }
                        }
                        $crate::UsageOp::Attendance(a) => {
                            // Only while the organisation keeps attendance. The no-op update
                            // locks its policy row: an opt-out (which updates it before deleting
                            // what was kept) waits for this write or makes it find nothing.
                            let keeps = sqlx::query(
                                "UPDATE org_usage_policy SET keep_attendance = keep_attendance \
                                 WHERE org_id = $1 AND keep_attendance <> 0",
                            )
                            .bind(a.org_id)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected()
                                > 0;
                            keeps && sqlx::query(
                                "INSERT INTO usage_attendance (org_id, room_id, room_name, meeting_ms, account_id, \
                                 name, joined_ms, left_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                                 ON CONFLICT (org_id, room_id, meeting_ms, joined_ms, name) DO NOTHING",
                            )
                            .bind(a.org_id)
                            .bind(&a.room)
                            .bind(&a.room_name)
                            .bind(a.meeting_ms)
                            .bind(a.account_id)
                            .bind(&a.name)
                            .bind(a.joined_ms)
                            .bind(a.left_ms)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected()
                                > 0
                        }
                    });
                }
                if longest > 0 {
                    sqlx::query("UPDATE usage_longest SET span_ms = $1 WHERE id = 1 AND span_ms < $1")
                        .bind(longest)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(done)
            })
        }

        fn usage_record<'a>(&'a self, e: &'a $crate::UsageEvent) -> $crate::StoreFuture<'a, ()> {
            Box::pin(async move {
                let q = sqlx::query(concat!(
                    "INSERT INTO usage_events (",
                    $crate::sql_usage::event_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
                ));
                $crate::sql_usage::bind_event!(q, e).execute(&self.pool).await?;
                Ok(())
            })
        }

        fn usage_import<'a>(
            &'a self,
            events: &'a [$crate::UsageEvent],
        ) -> $crate::StoreFuture<'a, ()> {
            Box::pin(async move {
                const COLUMNS: usize = 16;
                const ROWS: usize = 400;
                let mut tx = self.pool.begin().await?;
                for chunk in events.chunks(ROWS) {
                    let mut sql = String::from(concat!(
                        "INSERT INTO usage_events (",
                        $crate::sql_usage::event_columns!(),
                        ") VALUES "
                    ));
                    for r in 0..chunk.len() {
                        sql.push_str(if r == 0 { "(" } else { ", (" });
                        for c in 0..COLUMNS {
                            if c > 0 {
                                sql.push_str(", ");
                            }
                            sql.push_str(&format!("${}", r * COLUMNS + c + 1));
                        }
                        sql.push(')');
                    }
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for e in chunk {
                        q = $crate::sql_usage::bind_event!(q, e);
                    }
                    q.execute(&mut *tx).await?;
                }
                let longest = events
                    .iter()
                    .filter_map(|e| e.since_ms.map(|since| e.at_ms - since))
                    .max()
                    .unwrap_or(0);
                sqlx::query("UPDATE usage_longest SET span_ms = $1 WHERE id = 1 AND span_ms < $1")
                    .bind(longest)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            })
        }

        fn usage_alive<'a>(&'a self, prefix: &'a str, now_ms: i64) -> $crate::StoreFuture<'a, u64> {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE usage_open SET alive_ms = $2 WHERE substr(key, 1, length($1)) = $1",
                )
                .bind(prefix)
                .bind(now_ms)
                .execute(&self.pool)
                .await?;
                // Batch ids are needed while their batch may be tried again (minutes).
                sqlx::query("DELETE FROM usage_batches WHERE at_ms < $1")
                    .bind(now_ms.saturating_sub(86_400_000))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            })
        }

        fn usage_close_stale<'a>(
            &'a self,
            node_prefix: &'a str,
            keep_prefix: &'a str,
            stale_before: i64,
        ) -> $crate::StoreFuture<'a, u64> {
            Box::pin(async move {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT key, alive_ms FROM usage_open \
                     WHERE (substr(key, 1, length($1)) = $1 AND substr(key, 1, length($2)) <> $2) \
                        OR alive_ms < $3 ORDER BY key",
                )
                .bind(node_prefix)
                .bind(keep_prefix)
                .bind(stale_before)
                .fetch_all(&self.pool)
                .await?;
                let mut closed = 0;
                for row in rows {
                    let key: String = row.try_get(0)?;
                    let alive: i64 = row.try_get(1)?;
                    if $crate::Store::usage_close(self, &key, alive).await? {
                        closed += 1;
                    }
                }
                Ok(closed)
            })
        }

        fn usage_spans<'a>(
            &'a self,
            of: $crate::SpanOf,
            f: &'a $crate::UsageFilter,
            owners: bool,
        ) -> $crate::StoreFuture<'a, Vec<$crate::UsageSpan>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let (closing, opening) = match of {
                    $crate::SpanOf::Meetings => ("meeting_ended", "meeting_started"),
                    $crate::SpanOf::People => ("left", "joined"),
                };
                // Without owners only numbers are read (a report reads a million rows: every
                // text column costs).
                macro_rules! spans_query {
                    ($extra:literal, $open_extra:literal) => {
                        concat!(
                            "SELECT e.since_ms, e.at_ms, e.at_ms, e.meeting_key, e.person, e.member",
                            $extra,
                            " FROM usage_events e WHERE e.kind = $1 AND e.at_ms >= $2 AND e.since_ms < $3 \
                               AND e.at_ms <= $8",
                            $crate::sql_usage::usage_filters!(),
                            " UNION ALL \
                             SELECT e.at_ms, CAST(NULL AS BIGINT), o.alive_ms, e.meeting_key, e.person, e.member",
                            $open_extra,
                            " FROM usage_open o JOIN usage_events e ON e.id = o.event_id \
                             WHERE e.kind = $7 AND e.at_ms < $3",
                            $crate::sql_usage::usage_filters!()
                        )
                    };
                }
                let sql = if owners {
                    spans_query!(", e.room_id, e.region, e.room_orgs", ", e.room_id, e.region, e.room_orgs")
                } else {
                    spans_query!("", "")
                };
                // Closing events up to the longest span after the period (bound as a number, so
                // that the index on at_ms bounds the read; saturating at the end of time).
                let longest: i64 = sqlx::query("SELECT span_ms FROM usage_longest WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await?
                    .try_get(0)?;
                let rows = sqlx::query(sql)
                    .bind(closing)
                    .bind(f.from_ms)
                    .bind(f.to_ms)
                    .bind($crate::usage::org_pattern(f.org))
                    .bind(f.room.as_deref().unwrap_or(""))
                    .bind(f.region.as_deref().unwrap_or(""))
                    .bind(opening)
                    .bind(f.to_ms.saturating_add(longest))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(|r| $crate::usage::span_from_row(r, owners)).collect()
            })
        }

        fn usage_recording_events<'a>(
            &'a self,
            f: &'a $crate::UsageFilter,
        ) -> $crate::StoreFuture<'a, Vec<$crate::UsageEvent>> {
            Box::pin(async move {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    $crate::sql_usage::event_columns!(),
                    " FROM usage_events e WHERE e.kind IN ($1, 'recording_deleted') \
                       AND e.at_ms >= $2 AND e.at_ms < $3",
                    $crate::sql_usage::usage_filters!(),
                    " ORDER BY e.at_ms, e.id"
                ))
                .bind("recording_stored")
                .bind(f.from_ms)
                .bind(f.to_ms)
                .bind($crate::usage::org_pattern(f.org))
                .bind(f.room.as_deref().unwrap_or(""))
                .bind(f.region.as_deref().unwrap_or(""))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::usage::event_from_row).collect()
            })
        }

        fn usage_oldest(&self) -> $crate::StoreFuture<'_, Option<i64>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT MIN(at_ms) FROM usage_events")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.try_get(0)?)
            })
        }

        fn prune_usage(&self, before_ms: i64) -> $crate::StoreFuture<'_, u64> {
            Box::pin(async move {
                // What is still open keeps its opening event (its closing one copies it).
                let done = sqlx::query(
                    "DELETE FROM usage_events WHERE at_ms < $1 \
                       AND id NOT IN (SELECT event_id FROM usage_open)",
                )
                .bind(before_ms)
                .execute(&self.pool)
                .await?;
                let attendance = sqlx::query("DELETE FROM usage_attendance WHERE left_ms < $1")
                    .bind(before_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() + attendance.rows_affected())
            })
        }

        fn keeps_attendance(&self, org_id: i64) -> $crate::StoreFuture<'_, bool> {
            Box::pin(async move {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT keep_attendance FROM org_usage_policy WHERE org_id = $1")
                    .bind(org_id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match row {
                    Some(r) => r.try_get::<i64, _>(0)? != 0,
                    None => false,
                })
            })
        }

        fn set_keeps_attendance(&self, org_id: i64, keep: bool) -> $crate::StoreFuture<'_, ()> {
            Box::pin(async move {
                let mut tx = self.pool.begin().await?;
                // The policy first: its row lock makes a ledger's attendance write (which locks
                // it too, see usage_apply) either finish before the deletion below or find the
                // option off.
                sqlx::query(
                    "INSERT INTO org_usage_policy (org_id, keep_attendance) VALUES ($1, $2) \
                     ON CONFLICT (org_id) DO UPDATE SET keep_attendance = excluded.keep_attendance",
                )
                .bind(org_id)
                .bind(i64::from(keep))
                .execute(&mut *tx)
                .await?;
                if !keep {
                    // Turned off, what was kept goes too.
                    sqlx::query("DELETE FROM usage_attendance WHERE org_id = $1")
                        .bind(org_id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            })
        }

        fn save_attendance<'a>(&'a self, a: &'a $crate::Attendance) -> $crate::StoreFuture<'a, ()> {
            Box::pin(async move {
                let op = $crate::UsageOp::Attendance(a.clone());
                $crate::Store::usage_apply(self, None, std::slice::from_ref(&op)).await?;
                Ok(())
            })
        }

        fn attendance<'a>(
            &'a self,
            org_id: Option<i64>,
            account_id: Option<i64>,
            from_ms: i64,
            to_ms: i64,
        ) -> $crate::StoreFuture<'a, Vec<$crate::Attendance>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT org_id, room_id, room_name, meeting_ms, account_id, name, joined_ms, left_ms \
                     FROM usage_attendance WHERE ($1 = 0 OR org_id = $1) AND ($2 = 0 OR account_id = $2) \
                       AND joined_ms < $4 AND left_ms >= $3 ORDER BY meeting_ms, room_id, joined_ms, id",
                )
                .bind(org_id.unwrap_or(0))
                .bind(account_id.unwrap_or(0))
                .bind(from_ms)
                .bind(to_ms)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::Attendance {
                            org_id: r.try_get(0)?,
                            room: r.try_get(1)?,
                            room_name: r.try_get(2)?,
                            meeting_ms: r.try_get(3)?,
                            account_id: r.try_get(4)?,
                            name: r.try_get(5)?,
                            joined_ms: r.try_get(6)?,
                            left_ms: r.try_get(7)?,
                        })
                    })
                    .collect()
            })
        }

        fn create_usage_token<'a>(
            &'a self,
            org_id: i64,
            name: &'a str,
            token_hash: &'a str,
            now: i64,
        ) -> $crate::StoreFuture<'a, $crate::UsageToken> {
            Box::pin(async move {
                use sqlx::Row as _;
                let mut tx = self.pool.begin().await?;
                let row = sqlx::query(
                    "INSERT INTO usage_tokens (org_id, token_hash, name, created_at) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(org_id)
                .bind(token_hash)
                .bind(name)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok($crate::UsageToken {
                    id: row.try_get(0)?,
                    org_id,
                    name: name.to_owned(),
                    created_at: now,
                    last_used_at: None,
                })
            })
        }

        fn usage_token_org<'a>(
            &'a self,
            token_hash: &'a str,
            now: i64,
        ) -> $crate::StoreFuture<'a, Option<i64>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT org_id FROM usage_tokens WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                sqlx::query("UPDATE usage_tokens SET last_used_at = $2 WHERE token_hash = $1")
                    .bind(token_hash)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(Some(row.try_get(0)?))
            })
        }

        fn usage_tokens(&self, org_id: i64) -> $crate::StoreFuture<'_, Vec<$crate::UsageToken>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT id, org_id, name, created_at, last_used_at FROM usage_tokens \
                     WHERE org_id = $1 ORDER BY created_at DESC, id DESC",
                )
                .bind(org_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::UsageToken {
                            id: r.try_get(0)?,
                            org_id: r.try_get(1)?,
                            name: r.try_get(2)?,
                            created_at: r.try_get(3)?,
                            last_used_at: r.try_get(4)?,
                        })
                    })
                    .collect()
            })
        }

        fn delete_usage_token(&self, org_id: i64, id: i64) -> $crate::StoreFuture<'_, bool> {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM usage_tokens WHERE id = $1 AND org_id = $2")
                    .bind(id)
                    .bind(org_id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            })
        }
    };
}

pub(crate) use {bind_event, event_columns, usage_filters, usage_methods};
