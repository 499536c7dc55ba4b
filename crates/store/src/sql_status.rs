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
                    " FROM status_samples s WHERE at_ms >= $1 AND at_ms = \
                       (SELECT MAX(at_ms) FROM status_samples l WHERE l.node = s.node) ORDER BY node"
                ))
                .bind(since_ms)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::status::sample_from_row).collect()
            })
        }

        fn prune_samples<'a>(&'a self, node: &'a str, before_ms: i64) -> $crate::StoreFuture<'a, u64> {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM status_samples WHERE node = $1 AND at_ms < $2")
                    .bind(node)
                    .bind(before_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
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
    };
}

pub(crate) use {notice_columns, sample_columns, status_methods};
