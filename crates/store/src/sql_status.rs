//! The queries of the operators' view and the status page (load samples, node runs, notices),
//! written once for both backends like `sql.rs` (expanded inside its `impl Store`).

macro_rules! sample_columns {
    () => {
        "node, at_ms, region, cpu, process_cpu, rss_bytes, meetings, participants, bits_in, \
         bits_out, packets_in, packets_out, loss_permille, near_capacity, refused, errors"
    };
}

macro_rules! notice_columns {
    () => {
        "id, kind, severity, region, title, body, starts_ms, ends_ms, created_ms, updated_ms, author"
    };
}

macro_rules! quality_columns {
    () => {
        "room_id, meeting_ms, participant, name, at_ms, loss_in, loss_out, jitter_ms, rtt_ms, \
         kbps_in, kbps_out, frames_decoded, frames_dropped, limitation, candidate, protocol, reconnects"
    };
}

macro_rules! problem_columns {
    () => {
        "id, room_id, meeting_ms, participant, name, account_id, at_ms, note, diagnostics"
    };
}

macro_rules! status_methods {
    () => {
        fn record_sample<'a>(&'a self, s: &'a $crate::LoadSample) -> $crate::StoreFuture<'a, ()> {
            Box::pin(async move {
                sqlx::query(concat!(
                    "INSERT INTO status_samples (",
                    $crate::sql_status::sample_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                     ON CONFLICT (node, at_ms) DO NOTHING"
                ))
                .bind(&s.node)
                .bind(s.at_ms)
                .bind(&s.region)
                .bind(s.cpu)
                .bind(s.process_cpu)
                .bind(s.rss_bytes)
                .bind(s.meetings)
                .bind(s.participants)
                .bind(s.bits_in)
                .bind(s.bits_out)
                .bind(s.packets_in)
                .bind(s.packets_out)
                .bind(s.loss_permille)
                .bind(i64::from(s.near_capacity))
                .bind(s.refused)
                .bind(s.errors)
                .execute(&self.pool)
                .await?;
                Ok(())
            })
        }

        fn load_samples<'a>(
            &'a self,
            node: Option<&'a str>,
            since_ms: i64,
        ) -> $crate::StoreFuture<'a, Vec<$crate::LoadSample>> {
            Box::pin(async move {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    $crate::sql_status::sample_columns!(),
                    " FROM status_samples WHERE at_ms >= $1 AND ($2 = '' OR node = $2) \
                      ORDER BY at_ms, node"
                ))
                .bind(since_ms)
                .bind(node.unwrap_or(""))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::status::sample_from_row).collect()
            })
        }

        fn latest_samples(&self, since_ms: i64) -> $crate::StoreFuture<'_, Vec<$crate::LoadSample>> {
            Box::pin(async move {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    $crate::sql_status::sample_columns!(),
                    " FROM status_samples s JOIN (SELECT node AS n, MAX(at_ms) AS m FROM status_samples \
                       WHERE at_ms >= $1 GROUP BY node) l ON s.node = l.n AND s.at_ms = l.m ORDER BY s.node"
                ))
                .bind(since_ms)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::status::sample_from_row).collect()
            })
        }

        fn prune_samples(&self, before_ms: i64) -> $crate::StoreFuture<'_, u64> {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM status_samples WHERE at_ms < $1")
                    .bind(before_ms)
                    .execute(&self.pool)
                    .await?;
                // Runs of nodes long gone (a container's host name changes at every start).
                let runs = sqlx::query("DELETE FROM node_runs WHERE started_ms < $1")
                    .bind(before_ms.saturating_sub(90 * 86_400_000))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() + runs.rows_affected())
            })
        }

        fn record_run<'a>(&'a self, r: &'a $crate::NodeRun) -> $crate::StoreFuture<'a, ()> {
            Box::pin(async move {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO node_runs (node, run, version, started_ms, stopped_ms) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&r.node)
                .bind(&r.run)
                .bind(&r.version)
                .bind(r.started_ms)
                .bind(r.stopped_ms)
                .execute(&mut *tx)
                .await?;
                // A node's runs: the last hundred are kept.
                sqlx::query(
                    "DELETE FROM node_runs WHERE node = $1 AND id NOT IN \
                     (SELECT id FROM node_runs WHERE node = $1 ORDER BY started_ms DESC, id DESC LIMIT 100)",
                )
                .bind(&r.node)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            })
        }

        fn run_stopped<'a>(
            &'a self,
            node: &'a str,
            run: &'a str,
            at_ms: i64,
        ) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE node_runs SET stopped_ms = $3 WHERE node = $1 AND run = $2 AND stopped_ms IS NULL",
                )
                .bind(node)
                .bind(run)
                .bind(at_ms)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            })
        }

        fn node_runs(&self, limit: u32) -> $crate::StoreFuture<'_, Vec<$crate::NodeRun>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT node, run, version, started_ms, stopped_ms FROM node_runs \
                     ORDER BY started_ms DESC, id DESC LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::NodeRun {
                            node: r.try_get(0)?,
                            run: r.try_get(1)?,
                            version: r.try_get(2)?,
                            started_ms: r.try_get(3)?,
                            stopped_ms: r.try_get(4)?,
                        })
                    })
                    .collect()
            })
        }

        fn create_notice<'a>(
            &'a self,
            n: &'a $crate::StatusNotice,
        ) -> $crate::StoreFuture<'a, $crate::StatusNotice> {
            Box::pin(async move {
                use sqlx::Row as _;
                let id: i64 = sqlx::query(
                    "INSERT INTO status_notices (kind, severity, region, title, body, starts_ms, ends_ms, \
                     created_ms, updated_ms, author) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(n.kind.as_str())
                .bind(n.severity.as_str())
                .bind(&n.region)
                .bind(&n.title)
                .bind(&n.body)
                .bind(n.starts_ms)
                .bind(n.ends_ms)
                .bind(n.created_ms)
                .bind(n.updated_ms)
                .bind(&n.author)
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
                Ok($crate::StatusNotice { id, ..n.clone() })
            })
        }

        fn end_notice(&self, id: i64, at_ms: i64) -> $crate::StoreFuture<'_, bool> {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE status_notices SET ends_ms = $2, updated_ms = $2 WHERE id = $1 \
                       AND (ends_ms IS NULL OR ends_ms > $2)",
                )
                .bind(id)
                .bind(at_ms)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            })
        }

        fn delete_notice(&self, id: i64) -> $crate::StoreFuture<'_, bool> {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM status_notices WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            })
        }

        fn notices(&self, since_ms: i64, limit: u32) -> $crate::StoreFuture<'_, Vec<$crate::StatusNotice>> {
            Box::pin(async move {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    $crate::sql_status::notice_columns!(),
                    " FROM status_notices WHERE ends_ms IS NULL OR ends_ms >= $1 \
                      ORDER BY starts_ms DESC, id DESC LIMIT $2"
                ))
                .bind(since_ms)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::status::notice_from_row).collect()
            })
        }

        fn save_quality<'a>(&'a self, rows: &'a [$crate::QualityRow]) -> $crate::StoreFuture<'a, ()> {
            Box::pin(async move {
                let mut tx = self.pool.begin().await?;
                for q in rows {
                    sqlx::query(concat!(
                        "INSERT INTO call_quality (",
                        $crate::sql_status::quality_columns!(),
                        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
                    ))
                    .bind(&q.room)
                    .bind(q.meeting_ms)
                    .bind(q.participant)
                    .bind(&q.name)
                    .bind(q.at_ms)
                    .bind(q.loss_in)
                    .bind(q.loss_out)
                    .bind(q.jitter_ms)
                    .bind(q.rtt_ms)
                    .bind(q.kbps_in)
                    .bind(q.kbps_out)
                    .bind(q.frames_decoded)
                    .bind(q.frames_dropped)
                    .bind(&q.limitation)
                    .bind(&q.candidate)
                    .bind(&q.protocol)
                    .bind(q.reconnects)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            })
        }

        fn quality_of<'a>(
            &'a self,
            room: &'a str,
            meeting_ms: i64,
        ) -> $crate::StoreFuture<'a, Vec<$crate::QualityRow>> {
            Box::pin(async move {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    $crate::sql_status::quality_columns!(),
                    " FROM call_quality WHERE room_id = $1 AND meeting_ms = $2 ORDER BY participant, at_ms, id"
                ))
                .bind(room)
                .bind(meeting_ms)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::status::quality_from_row).collect()
            })
        }

        fn quality_meetings<'a>(
            &'a self,
            room: &'a str,
            limit: u32,
        ) -> $crate::StoreFuture<'a, Vec<$crate::QualityMeeting>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT meeting_ms, COUNT(DISTINCT participant), MAX(at_ms) FROM call_quality \
                     WHERE room_id = $1 GROUP BY meeting_ms ORDER BY meeting_ms DESC LIMIT $2",
                )
                .bind(room)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::QualityMeeting {
                            meeting_ms: r.try_get(0)?,
                            people: r.try_get(1)?,
                            last_ms: r.try_get(2)?,
                        })
                    })
                    .collect()
            })
        }

        fn prune_quality(&self, before_ms: i64) -> $crate::StoreFuture<'_, u64> {
            Box::pin(async move {
                let q = sqlx::query("DELETE FROM call_quality WHERE at_ms < $1")
                    .bind(before_ms)
                    .execute(&self.pool)
                    .await?;
                let p = sqlx::query("DELETE FROM problem_reports WHERE at_ms < $1")
                    .bind(before_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(q.rows_affected() + p.rows_affected())
            })
        }

        fn save_problem<'a>(&'a self, p: &'a $crate::ProblemRow) -> $crate::StoreFuture<'a, i64> {
            Box::pin(async move {
                use sqlx::Row as _;
                let id: i64 = sqlx::query(
                    "INSERT INTO problem_reports (room_id, meeting_ms, participant, name, account_id, at_ms, \
                     note, diagnostics) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(&p.room)
                .bind(p.meeting_ms)
                .bind(p.participant)
                .bind(&p.name)
                .bind(p.account_id)
                .bind(p.at_ms)
                .bind(&p.note)
                .bind(&p.diagnostics)
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
                Ok(id)
            })
        }

        fn problem_count<'a>(&'a self, room: &'a str, meeting_ms: i64) -> $crate::StoreFuture<'a, u32> {
            Box::pin(async move {
                use sqlx::Row as _;
                let n: i64 = sqlx::query(
                    "SELECT COUNT(*) FROM problem_reports WHERE room_id = $1 AND meeting_ms = $2",
                )
                .bind(room)
                .bind(meeting_ms)
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
                Ok(u32::try_from(n).unwrap_or(u32::MAX))
            })
        }

        fn problems<'a>(
            &'a self,
            meeting: Option<(&'a str, i64)>,
            since_ms: i64,
            limit: u32,
        ) -> $crate::StoreFuture<'a, Vec<$crate::ProblemRow>> {
            Box::pin(async move {
                let (room, meeting_ms) = meeting.unwrap_or(("", 0));
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    $crate::sql_status::problem_columns!(),
                    " FROM problem_reports WHERE at_ms >= $1 AND ($2 = '' OR (room_id = $2 AND meeting_ms = $3)) \
                      ORDER BY at_ms DESC, id DESC LIMIT $4"
                ))
                .bind(since_ms)
                .bind(room)
                .bind(meeting_ms)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::status::problem_from_row).collect()
            })
        }
    };
}

pub(crate) use {notice_columns, problem_columns, quality_columns, sample_columns, status_methods};
