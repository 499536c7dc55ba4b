//! The queries, written once: both backends accept `$N` placeholders and the same types, so
//! one `Store` body serves both (expanded per backend by `impl_store!`). What differs —
//! connecting, pool settings, migrations — stays in `sqlite.rs` and `postgres.rs`.

/// Implements [`crate::Store`] for a type with a `pool` field of a sqlx pool.
macro_rules! impl_store {
    ($store:ty, $backend:literal, $migrations:expr) => {
        impl $crate::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            fn migrate(&self) -> $crate::StoreFuture<'_, ()> {
                Box::pin(async move { Ok($crate::model::migrator($migrations).run(&self.pool).await?) })
            }

            fn create_room<'a>(&'a self, room: &'a $crate::NewRoom) -> $crate::StoreFuture<'a, $crate::Room> {
                Box::pin(async move {
                    sqlx::query("INSERT INTO rooms (id, name, created_at) VALUES ($1, $2, $3)")
                        .bind(room.id.as_str())
                        .bind(&room.name)
                        .bind(room.created_at)
                        .execute(&self.pool)
                        .await
                        .map_err(|e| match $crate::model::is_unique_violation(&e) {
                            true => $crate::StoreError::Conflict(format!("room {}", room.id)),
                            false => e.into(),
                        })?;
                    Ok($crate::Room {
                        id: room.id.clone(),
                        name: room.name.clone(),
                        created_at: room.created_at,
                    })
                })
            }

            fn get_room<'a>(
                &'a self,
                id: &'a plenary_proto::RoomId,
            ) -> $crate::StoreFuture<'a, Option<$crate::Room>> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    let row = sqlx::query("SELECT id, name, created_at FROM rooms WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                    row.map(|r| $crate::model::room_from_row(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
                        .transpose()
                })
            }

            fn list_rooms(&self, limit: u32) -> $crate::StoreFuture<'_, Vec<$crate::Room>> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    let rows = sqlx::query(
                        "SELECT id, name, created_at FROM rooms ORDER BY created_at DESC, id LIMIT $1",
                    )
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter()
                        .map(|r| $crate::model::room_from_row(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
                        .collect()
                })
            }

            fn delete_room<'a>(&'a self, id: &'a plenary_proto::RoomId) -> $crate::StoreFuture<'a, bool> {
                Box::pin(async move {
                    let done = sqlx::query("DELETE FROM rooms WHERE id = $1")
                        .bind(id.as_str())
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() > 0)
                })
            }

            fn save_api_meeting<'a>(&'a self, m: &'a $crate::ApiMeeting) -> $crate::StoreFuture<'a, ()> {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO api_meetings (internal_id, meeting_id, created_ms, ended_ms, doc) \
                         VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (internal_id) DO UPDATE SET ended_ms = excluded.ended_ms, doc = excluded.doc",
                    )
                    .bind(&m.internal_id)
                    .bind(&m.meeting_id)
                    .bind(m.created_ms)
                    .bind(m.ended_ms)
                    .bind(&m.doc)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                })
            }

            fn live_api_meetings(&self) -> $crate::StoreFuture<'_, Vec<$crate::ApiMeeting>> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    let rows = sqlx::query(
                        "SELECT internal_id, meeting_id, created_ms, ended_ms, doc FROM api_meetings \
                         WHERE ended_ms IS NULL ORDER BY created_ms, internal_id",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter()
                        .map(|r| {
                            Ok($crate::ApiMeeting {
                                internal_id: r.try_get(0)?,
                                meeting_id: r.try_get(1)?,
                                created_ms: r.try_get(2)?,
                                ended_ms: r.try_get(3)?,
                                doc: r.try_get(4)?,
                            })
                        })
                        .collect()
                })
            }

            fn create_webhook<'a>(&'a self, hook: &'a $crate::NewWebhook) -> $crate::StoreFuture<'a, $crate::Webhook> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    let events = (!hook.event_ids.is_empty()).then(|| hook.event_ids.join(","));
                    let row = sqlx::query(
                        "INSERT INTO webhooks (callback_url, meeting_id, event_ids, raw, created_ms) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    )
                    .bind(&hook.callback_url)
                    .bind(&hook.meeting_id)
                    .bind(&events)
                    .bind(i64::from(hook.raw))
                    .bind(hook.created_ms)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| match $crate::model::is_unique_violation(&e) {
                        true => $crate::StoreError::Conflict(format!("webhook {}", hook.callback_url)),
                        false => e.into(),
                    })?;
                    Ok($crate::Webhook {
                        id: row.try_get(0)?,
                        callback_url: hook.callback_url.clone(),
                        meeting_id: hook.meeting_id.clone(),
                        event_ids: hook.event_ids.clone(),
                        raw: hook.raw,
                        created_ms: hook.created_ms,
                    })
                })
            }

            fn list_webhooks(&self) -> $crate::StoreFuture<'_, Vec<$crate::Webhook>> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    let rows = sqlx::query(
                        "SELECT id, callback_url, meeting_id, event_ids, raw, created_ms FROM webhooks ORDER BY id",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter()
                        .map(|r| {
                            Ok($crate::model::webhook_from_row(
                                r.try_get(0)?,
                                r.try_get(1)?,
                                r.try_get(2)?,
                                r.try_get(3)?,
                                r.try_get(4)?,
                                r.try_get(5)?,
                            ))
                        })
                        .collect()
                })
            }

            fn delete_webhook(&self, id: i64) -> $crate::StoreFuture<'_, bool> {
                Box::pin(async move {
                    let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
                        .bind(id)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() > 0)
                })
            }

            fn close(&self) -> $crate::StoreFuture<'_, ()> {
                Box::pin(async move {
                    self.pool.close().await;
                    Ok(())
                })
            }
        }
    };
}

pub(crate) use impl_store;
