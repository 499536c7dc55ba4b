//! The embedded default: SQLite in WAL mode with full fsync, so an accepted write survives a
//! crash or power cut.

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::StoreError;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "rooms",
        include_str!("../migrations/sqlite/0001_rooms.sql"),
    ),
    (
        2,
        "api meetings and webhooks",
        include_str!("../migrations/sqlite/0002_api_meetings_hooks.sql"),
    ),
    (
        3,
        "accounts",
        include_str!("../migrations/sqlite/0003_accounts.sql"),
    ),
    (
        4,
        "room settings",
        include_str!("../migrations/sqlite/0004_room_settings.sql"),
    ),
    (
        5,
        "organisations",
        include_str!("../migrations/sqlite/0005_organisations.sql"),
    ),
    (
        6,
        "single sign-on and shared rooms",
        include_str!("../migrations/sqlite/0006_sso.sql"),
    ),
    (
        7,
        "site settings, invitations, sign-ins in progress",
        include_str!("../migrations/sqlite/0007_site_invitations.sql"),
    ),
    (
        8,
        "seats, anonymous rooms, API tokens, membership requests",
        include_str!("../migrations/sqlite/0008_admission.sql"),
    ),
    (
        9,
        "chat",
        include_str!("../migrations/sqlite/0009_chat.sql"),
    ),
    (
        10,
        "recordings and their composition queue",
        include_str!("../migrations/sqlite/0010_recordings.sql"),
    ),
    (
        11,
        "recordings moved to object storage",
        include_str!("../migrations/sqlite/0011_recordings_remote.sql"),
    ),
    (
        12,
        "organisations' recording rules",
        include_str!("../migrations/sqlite/0012_recording_policy.sql"),
    ),
    (
        13,
        "recording-ready callbacks delivered",
        include_str!("../migrations/sqlite/0013_recording_ready_notified.sql"),
    ),
    (
        14,
        "the usage ledger, attendance, usage tokens",
        include_str!("../migrations/sqlite/0014_usage.sql"),
    ),
    (
        15,
        "the usage ledger's batches written once",
        include_str!("../migrations/sqlite/0015_usage_batches.sql"),
    ),
    (
        16,
        "load samples, node runs, status notices",
        include_str!("../migrations/sqlite/0016_status.sql"),
    ),
    (
        17,
        "call quality, problem reports",
        include_str!("../migrations/sqlite/0017_call_quality.sql"),
    ),
    (
        18,
        "polls and votes",
        include_str!("../migrations/sqlite/0018_polls.sql"),
    ),
    (
        19,
        "shared minutes",
        include_str!("../migrations/sqlite/0019_minutes.sql"),
    ),
];

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        Ok(Self { pool })
    }
}

crate::sql::impl_store!(SqliteStore, "sqlite", MIGRATIONS);

impl SqliteStore {
    /// Runs raw SQL statements (administration and tests: installing a trigger, say).
    pub async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
