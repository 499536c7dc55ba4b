//! PostgreSQL, for more than one node sharing state.

use std::str::FromStr;

use plenary_proto::RoomId;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};

use crate::model::{is_unique_violation, migrator, room_from_row};
use crate::{NewRoom, Room, Store, StoreError, StoreFuture};

const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "rooms",
    include_str!("../migrations/postgres/0001_rooms.sql"),
)];

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let opts = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await?;
        Ok(Self { pool })
    }
}

impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn migrate(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move { Ok(migrator(MIGRATIONS).run(&self.pool).await?) })
    }

    fn create_room<'a>(&'a self, room: &'a NewRoom) -> StoreFuture<'a, Room> {
        Box::pin(async move {
            sqlx::query("INSERT INTO rooms (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(room.id.as_str())
                .bind(&room.name)
                .bind(room.created_at)
                .execute(&self.pool)
                .await
                .map_err(|e| match is_unique_violation(&e) {
                    true => StoreError::Conflict(format!("room {}", room.id)),
                    false => e.into(),
                })?;
            Ok(Room {
                id: room.id.clone(),
                name: room.name.clone(),
                created_at: room.created_at,
            })
        })
    }

    fn get_room<'a>(&'a self, id: &'a RoomId) -> StoreFuture<'a, Option<Room>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT id, name, created_at FROM rooms WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?;
            row.map(|r| room_from_row(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
                .transpose()
        })
    }

    fn list_rooms(&self, limit: u32) -> StoreFuture<'_, Vec<Room>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT id, name, created_at FROM rooms ORDER BY created_at DESC, id LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.into_iter()
                .map(|r| room_from_row(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
                .collect()
        })
    }

    fn delete_room<'a>(&'a self, id: &'a RoomId) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let done = sqlx::query("DELETE FROM rooms WHERE id = $1")
                .bind(id.as_str())
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    fn close(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.pool.close().await;
            Ok(())
        })
    }
}

impl PostgresStore {
    /// Runs raw SQL statements (administration and tests: creating a schema, say).
    pub async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
