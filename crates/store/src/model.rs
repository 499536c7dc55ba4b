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
    /// The account that owns it, if any.
    pub owner_id: Option<i64>,
    /// The room's settings, a JSON document the server owns (`{}`: defaults).
    pub settings: String,
}

/// What it takes to create a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoom {
    pub id: RoomId,
    pub name: String,
    pub created_at: i64,
    pub owner_id: Option<i64>,
    /// The room's first settings document (`{}`: defaults).
    pub settings: String,
    /// Made without an account: deleted once unused for a while.
    pub anonymous: bool,
}

impl NewRoom {
    /// A room with default settings, not anonymous.
    pub fn new(
        id: RoomId,
        name: impl Into<String>,
        created_at: i64,
        owner_id: Option<i64>,
    ) -> Self {
        Self {
            id,
            name: name.into(),
            created_at,
            owner_id,
            settings: "{}".into(),
            anonymous: false,
        }
    }
}

/// What taking a seat did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatTaken {
    /// The seat is the caller's now; `previous` held it until now (a reload, or the same token
    /// used elsewhere: that connection is to be closed).
    Taken { previous: Option<String> },
    /// The room holds its limit of seats already.
    Full,
    /// No such seat in that room, or it expired, or the room is gone.
    Unknown,
}

/// An API token (its secret was shown once; only a hash is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub user_id: i64,
    /// The account's email, for the admin page.
    pub user_email: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// What it takes to record an API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    pub token_hash: String,
    pub name: String,
    pub user_id: i64,
    pub created_at: i64,
}

/// An organisation's request that an account join it, waiting for that account's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRequest {
    pub org: Organisation,
    pub user: User,
    pub is_admin: bool,
    /// Who asked (their name), if their account still exists.
    pub invited_by: Option<String>,
    pub created_at: i64,
}

/// Where an account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Active,
    /// Signed up on an instance that needs an admin's approval.
    Pending,
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Pending => "pending",
            Self::Disabled => "disabled",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self, crate::StoreError> {
        match s {
            "active" => Ok(Self::Active),
            "pending" => Ok(Self::Pending),
            "disabled" => Ok(Self::Disabled),
            other => Err(crate::StoreError::Corrupt(format!("user status {other:?}"))),
        }
    }
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    /// Lower-cased.
    pub email: String,
    pub name: String,
    /// argon2id PHC string; `None` for accounts that only sign in through a provider.
    pub password_hash: Option<String>,
    pub is_admin: bool,
    pub status: UserStatus,
    pub created_at: i64,
}

/// What it takes to create an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub is_admin: bool,
    pub status: UserStatus,
    pub created_at: i64,
}

/// A member organisation and its limits (`None`: no limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: i64,
    pub name: String,
    pub max_rooms_per_member: Option<i64>,
    pub max_participants: Option<i64>,
    /// The longest a meeting in a member's room may last, in minutes.
    pub max_meeting_minutes: Option<i64>,
    pub created_at: i64,
}

/// What it takes to create an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrganisation {
    pub name: String,
    pub max_rooms_per_member: Option<i64>,
    pub max_participants: Option<i64>,
    pub max_meeting_minutes: Option<i64>,
    pub created_at: i64,
}

/// An invitation to create an account (its secret is known only to whoever got the link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: i64,
    /// Lower-cased: the account gets this address.
    pub email: String,
    /// The organisation the new account joins, if any.
    pub org_id: Option<i64>,
    /// Whether it joins as the organisation's admin.
    pub org_admin: bool,
    pub invited_by: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
    /// The account made with it, once used.
    pub used_by: Option<i64>,
    pub used_at: Option<i64>,
}

/// What it takes to make an invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvitation {
    /// A hash of the link's secret.
    pub token_hash: String,
    pub email: String,
    pub org_id: Option<i64>,
    pub org_admin: bool,
    pub invited_by: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A single sign-on mapping rule added in the portal (the server checks `kind` and `value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoRule {
    pub id: i64,
    pub provider: String,
    /// `group`, `email_domain` or `default`.
    pub kind: String,
    /// The group or the domain (empty for `default`).
    pub value: String,
    /// The organisation's name.
    pub org: String,
    pub is_admin: bool,
    pub created_at: i64,
}

/// Where a membership comes from: set by a platform admin.
pub const SOURCE_MANUAL: &str = "manual";
/// Where a membership comes from: the account accepted an organisation's request or invitation.
pub const SOURCE_ACCEPTED: &str = "accepted";

/// A user's place in an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub org: Organisation,
    pub is_admin: bool,
    /// [`SOURCE_MANUAL`] (set by an admin) or `sso:<provider id>` (a mapping rule).
    pub source: String,
}

/// An organisation's member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: User,
    pub is_admin: bool,
    pub source: String,
}

/// An account's link to an identity provider's subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub provider: String,
    pub subject: String,
    pub user_id: i64,
    /// JSON the server owns: what the last sign-in saw and why it gave these roles.
    pub explanation: String,
    pub last_signin_at: i64,
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

/// A room from columns `id, name, created_at, owner_id, settings`, refusing an id that is not
/// a valid [`RoomId`].
pub(crate) fn room_from_row(r: &impl Columns) -> Result<Room, crate::StoreError> {
    let id = r.text(0)?;
    let id = RoomId::parse(&id)
        .map_err(|e| crate::StoreError::Corrupt(format!("room id {id:?}: {e}")))?;
    Ok(Room {
        id,
        name: r.text(1)?,
        created_at: r.int(2)?,
        owner_id: r.opt_int(3)?,
        settings: r.text(4)?,
    })
}

pub(crate) fn user_from_row(r: &impl Columns) -> Result<User, crate::StoreError> {
    user_from_row_at(r, 0)
}

/// An account from columns `id, email, name, password_hash, is_admin, status, created_at`
/// starting at column `at`.
pub(crate) fn user_from_row_at(r: &impl Columns, at: usize) -> Result<User, crate::StoreError> {
    Ok(User {
        id: r.int(at)?,
        email: r.text(at + 1)?,
        name: r.text(at + 2)?,
        password_hash: r.opt_text(at + 3)?,
        is_admin: r.int(at + 4)? != 0,
        status: UserStatus::parse(&r.text(at + 5)?)?,
        created_at: r.int(at + 6)?,
    })
}

/// An organisation from columns `id, name, max_rooms_per_member, max_participants,
/// created_at, max_meeting_minutes` (in that order, from the first).
pub(crate) fn org_from_row(r: &impl Columns) -> Result<Organisation, crate::StoreError> {
    Ok(Organisation {
        id: r.int(0)?,
        name: r.text(1)?,
        max_rooms_per_member: r.opt_int(2)?,
        max_participants: r.opt_int(3)?,
        max_meeting_minutes: r.opt_int(5)?,
        created_at: r.int(4)?,
    })
}

/// An invitation from columns `id, email, org_id, org_admin, invited_by, created_at,
/// expires_at, used_by, used_at`.
pub(crate) fn invitation_from_row(r: &impl Columns) -> Result<Invitation, crate::StoreError> {
    Ok(Invitation {
        id: r.int(0)?,
        email: r.text(1)?,
        org_id: r.opt_int(2)?,
        org_admin: r.int(3)? != 0,
        invited_by: r.opt_int(4)?,
        created_at: r.int(5)?,
        expires_at: r.int(6)?,
        used_by: r.opt_int(7)?,
        used_at: r.opt_int(8)?,
    })
}

/// A `LIKE … ESCAPE '\\'` pattern matching text that contains `query` (lower-cased).
pub(crate) fn contains_pattern(query: &str) -> String {
    let q = query
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{q}%")
}

/// Column access shared by both backends' rows.
pub(crate) trait Columns {
    fn int(&self, i: usize) -> Result<i64, crate::StoreError>;
    fn text(&self, i: usize) -> Result<String, crate::StoreError>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, crate::StoreError>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, crate::StoreError>;
}

macro_rules! impl_columns {
    ($row:ty) => {
        impl Columns for $row {
            fn int(&self, i: usize) -> Result<i64, crate::StoreError> {
                Ok(sqlx::Row::try_get(self, i)?)
            }
            fn text(&self, i: usize) -> Result<String, crate::StoreError> {
                Ok(sqlx::Row::try_get(self, i)?)
            }
            fn opt_text(&self, i: usize) -> Result<Option<String>, crate::StoreError> {
                Ok(sqlx::Row::try_get(self, i)?)
            }
            fn opt_int(&self, i: usize) -> Result<Option<i64>, crate::StoreError> {
                Ok(sqlx::Row::try_get(self, i)?)
            }
        }
    };
}
impl_columns!(sqlx::sqlite::SqliteRow);
impl_columns!(sqlx::postgres::PgRow);

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

/// A stored chat message of a meeting (the protocol's `ChatMessage`, flattened).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRow {
    pub room: RoomId,
    /// When the meeting started: its id within the room.
    pub meeting_ms: i64,
    pub id: i64,
    pub sender: Option<i64>,
    pub name: String,
    /// `everyone`, `moderators` or `participant`.
    pub to_kind: String,
    pub to_participant: Option<i64>,
    pub body: String,
    pub at_ms: i64,
    pub deleted_ms: Option<i64>,
}
