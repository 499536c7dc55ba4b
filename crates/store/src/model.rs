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

/// One session of a meeting created through the BigBlueButton-compatible API. The store keeps
/// the session's parameters as an opaque JSON document (`doc`) that the adapter owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiMeeting {
    pub internal_id: String,
    pub meeting_id: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    pub ended_ms: Option<i64>,
    pub doc: String,
}

/// A webhook registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    pub callback_url: String,
    /// Only this meeting's events; `None` means every meeting.
    pub meeting_id: Option<String>,
    /// Only these event ids; empty means every event.
    pub event_ids: Vec<String>,
    /// Deliver the raw event instead of the formatted one.
    pub raw: bool,
    pub created_ms: i64,
}

/// What it takes to register a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub callback_url: String,
    pub meeting_id: Option<String>,
    pub event_ids: Vec<String>,
    pub raw: bool,
    pub created_ms: i64,
}

pub(crate) fn webhook_from_row(
    id: i64,
    callback_url: String,
    meeting_id: Option<String>,
    event_ids: Option<String>,
    raw: i64,
    created_ms: i64,
) -> Webhook {
    Webhook {
        id,
        callback_url,
        meeting_id,
        event_ids: event_ids
            .map(|e| {
                e.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        raw: raw != 0,
        created_ms,
    }
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
