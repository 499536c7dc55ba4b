use plenary_proto::RoomId;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// A room as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub id: RoomId,
    pub name: String,
    /// Seconds since the Unix epoch, UTC.
    pub created_at: i64,
}

/// What it takes to create a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoom {
    pub id: RoomId,
    pub name: String,
    pub created_at: i64,
}

/// Turns a stored row into a [`Room`], refusing an id that is not a valid [`RoomId`].
pub(crate) fn room_from_row(
    id: String,
    name: String,
    created_at: i64,
) -> Result<Room, crate::StoreError> {
    let id = RoomId::parse(&id)
        .map_err(|e| crate::StoreError::Corrupt(format!("room id {id:?}: {e}")))?;
    Ok(Room {
        id,
        name,
        created_at,
    })
}

/// Whether a database error is a unique-key violation (the same on both backends).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// A migrator over a backend's embedded migrations: (version, description, SQL).
pub(crate) fn migrator(list: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        list.iter()
            .map(|(v, d, sql)| {
                Migration::new(
                    *v,
                    (*d).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}
