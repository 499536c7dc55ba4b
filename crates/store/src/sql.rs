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
