//! Plenary's storage: the [`Store`] trait, and one implementation per backend, each owning its
//! migrations. The backend is chosen by URL ([`open`]): `sqlite://…` (the default, a file under
//! the data folder) or `postgres://…`. Both pass the same contract suite (`tests/contract.rs`).

mod minutes;
mod model;
mod polls;
mod postgres;
mod recordings;
mod sql;
mod sql_admission;
mod sql_minutes;
mod sql_polls;
mod sql_recordings;
mod sql_sso;
mod sql_status;
mod sql_usage;
mod sqlite;
mod status;
mod usage;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

pub use minutes::{MinutesInfo, MinutesRow};
pub use model::{
    ApiMeeting, ApiToken, ChatRow, Identity, Invitation, Member, Membership, MembershipRequest,
    NewApiToken, NewInvitation, NewOrganisation, NewRoom, NewUser, NewWebhook, Organisation, Room,
    SOURCE_ACCEPTED, SOURCE_MANUAL, SeatTaken, SsoRule, User, UserStatus, Webhook,
};
pub use polls::{PollRow, VoteOutcome, VoteRow};
pub use postgres::PostgresStore;
pub use recordings::{RecordingPolicy, RecordingRow, RecordingStatus, RecordingUpdate};
pub use sqlite::SqliteStore;
pub use status::{
    LoadSample, NodeRun, NoticeKind, ProblemRow, QualityMeeting, QualityRow, Severity, StatusNotice,
};
pub use usage::{
    Attendance, SpanOf, UsageEvent, UsageFilter, UsageKind, UsageOp, UsageSpan, UsageToken,
    meeting_key,
};

use plenary_proto::RoomId;

/// A boxed future, so that `Store` can be used as `dyn Store` (the backend is picked at run time).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// What can go wrong in storage. Messages are safe to log; none carries a password.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("{0} already exists")]
    Conflict(String),
    /// A limit checked with the write (an owner's rooms, say) is reached; nothing was written.
    #[error("the limit of {0} is reached")]
    LimitReached(String),
    /// A one-time thing (an invitation, say) that is missing, used or expired.
    #[error("{0} is no longer valid")]
    Gone(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("cannot prepare the data folder {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
}

impl StoreError {
    /// Whether the same write may succeed if tried again: the database unreachable, busy or
    /// locked, out of disk or memory, a deadlock or serialization failure. Otherwise (a
    /// constraint, bad data, a closed pool) trying again gives the same answer.
    pub fn is_transient(&self) -> bool {
        let StoreError::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::BeginFailed => true,
            sqlx::Error::Database(d) => {
                let code = d.code().unwrap_or_default();
                if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    let n = code.parse::<i64>().unwrap_or(0);
                    // SQLite (extended codes; the primary is the low byte): BUSY, LOCKED,
                    // NOMEM, IOERR, FULL, CANTOPEN, PROTOCOL.
                    matches!(n & 0xff, 5 | 6 | 7 | 10 | 13 | 14 | 15)
                } else {
                    // PostgreSQL SQLSTATE classes: connection, transaction rollback
                    // (serialization, deadlock), insufficient resources (disk full), operator
                    // intervention (shutting down), system error.
                    // And a lock not available (a lock timeout) or an object in use.
                    ["08", "40", "53", "57", "58", "55P03", "55006"]
                        .iter()
                        .any(|class| code.starts_with(class))
                }
            }
            _ => false,
        }
    }
}

/// Everything Plenary persists. One implementation per backend.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// `"sqlite"` or `"postgres"`, for logs and the status page.
    fn backend(&self) -> &'static str;

    /// Brings the schema up to date. Safe to run on every start.
    fn migrate(&self) -> StoreFuture<'_, ()>;

    /// Creates a room; [`StoreError::Conflict`] if the id is taken.
    fn create_room<'a>(&'a self, room: &'a NewRoom) -> StoreFuture<'a, Room>;

    fn get_room<'a>(&'a self, id: &'a RoomId) -> StoreFuture<'a, Option<Room>>;

    /// The most recently created rooms first, at most `limit`.
    fn list_rooms(&self, limit: u32) -> StoreFuture<'_, Vec<Room>>;

    /// Rooms owned by `owner_id`, newest first.
    fn rooms_of(&self, owner_id: i64) -> StoreFuture<'_, Vec<Room>>;

    /// Shares a room with an account, who co-owns it (sharing twice is one share).
    fn share_room<'a>(&'a self, room: &'a RoomId, user_id: i64) -> StoreFuture<'a, ()>;

    /// Stops sharing; returns whether it was shared.
    fn unshare_room<'a>(&'a self, room: &'a RoomId, user_id: i64) -> StoreFuture<'a, bool>;

    /// The accounts a room is shared with, by email.
    fn co_owners<'a>(&'a self, room: &'a RoomId) -> StoreFuture<'a, Vec<User>>;

    /// Rooms shared with an account, newest first.
    fn rooms_shared_with(&self, user_id: i64) -> StoreFuture<'_, Vec<Room>>;

    /// Replaces a room's settings document; returns whether the room exists.
    fn set_room_settings<'a>(&'a self, id: &'a RoomId, settings: &'a str) -> StoreFuture<'a, bool>;

    /// Replaces a room's settings with `new` only if they are still `old` (nobody changed them
    /// since they were read); returns whether it did.
    fn swap_room_settings<'a>(
        &'a self,
        id: &'a RoomId,
        old: &'a str,
        new: &'a str,
    ) -> StoreFuture<'a, bool>;

    /// Deletes a room; returns whether it existed.
    fn delete_room<'a>(&'a self, id: &'a RoomId) -> StoreFuture<'a, bool>;

    /// Inserts or replaces an API meeting session (keyed by `internal_id`).
    fn save_api_meeting<'a>(&'a self, m: &'a ApiMeeting) -> StoreFuture<'a, ()>;

    /// API meeting sessions that have not ended, oldest first.
    fn live_api_meetings(&self) -> StoreFuture<'_, Vec<ApiMeeting>>;

    /// Registers a webhook; [`StoreError::Conflict`] if its callback URL is registered already.
    fn create_webhook<'a>(&'a self, hook: &'a NewWebhook) -> StoreFuture<'a, Webhook>;

    /// Every webhook, by id.
    fn list_webhooks(&self) -> StoreFuture<'_, Vec<Webhook>>;

    /// Removes a webhook; returns whether it existed.
    fn delete_webhook(&self, id: i64) -> StoreFuture<'_, bool>;

    /// Creates an account; [`StoreError::Conflict`] if the email is taken.
    fn create_user<'a>(&'a self, user: &'a NewUser) -> StoreFuture<'a, User>;

    /// The account with this (lower-cased) email.
    fn user_by_email<'a>(&'a self, email: &'a str) -> StoreFuture<'a, Option<User>>;

    fn user_by_id(&self, id: i64) -> StoreFuture<'_, Option<User>>;

    fn count_users(&self) -> StoreFuture<'_, i64>;

    /// Accounts whose email or name contains `query` (any case), pending ones first, then by
    /// email; at most `limit`.
    fn search_users<'a>(&'a self, query: &'a str, limit: u32) -> StoreFuture<'a, Vec<User>>;

    /// Replaces an account's password hash and ends all its sessions, in one transaction;
    /// returns whether it exists.
    fn set_password_hash<'a>(&'a self, id: i64, hash: &'a str) -> StoreFuture<'a, bool>;

    /// Changes an account's status and admin flag (a changed admin flag is then set by hand:
    /// [`SOURCE_MANUAL`]); returns whether it exists.
    fn update_user(&self, id: i64, status: UserStatus, is_admin: bool) -> StoreFuture<'_, bool>;

    /// Creates an organisation; [`StoreError::Conflict`] if the name is taken.
    fn create_org<'a>(&'a self, org: &'a NewOrganisation) -> StoreFuture<'a, Organisation>;

    /// Every organisation, by name.
    fn list_orgs(&self) -> StoreFuture<'_, Vec<Organisation>>;

    /// Adds (or updates) a membership.
    fn set_org_member(&self, org_id: i64, user_id: i64, is_admin: bool) -> StoreFuture<'_, ()>;

    /// The organisations a user belongs to, by name.
    fn orgs_of(&self, user_id: i64) -> StoreFuture<'_, Vec<Membership>>;

    fn org_by_id(&self, id: i64) -> StoreFuture<'_, Option<Organisation>>;

    fn org_by_name<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<Organisation>>;

    /// An organisation's members, admins first, then by email.
    fn org_members(&self, org_id: i64) -> StoreFuture<'_, Vec<Member>>;

    /// Removes a membership; returns whether it existed.
    fn remove_org_member(&self, org_id: i64, user_id: i64) -> StoreFuture<'_, bool>;

    /// Rooms owned by the organisation's members, newest first.
    fn rooms_of_org(&self, org_id: i64) -> StoreFuture<'_, Vec<Room>>;

    /// Makes a user's memberships from `source` exactly `grants` (organisation id, admin), in
    /// one transaction: memberships from that source not granted are removed; memberships an
    /// admin set by hand ([`SOURCE_MANUAL`]) are left as they are.
    fn sync_memberships<'a>(
        &'a self,
        user_id: i64,
        source: &'a str,
        grants: &'a [(i64, bool)],
    ) -> StoreFuture<'a, ()>;

    /// The account linked to a provider's subject.
    fn identity_user<'a>(
        &'a self,
        provider: &'a str,
        subject: &'a str,
    ) -> StoreFuture<'a, Option<i64>>;

    /// Links (or re-links) a provider's subject and records what its last sign-in saw.
    fn save_identity<'a>(&'a self, identity: &'a Identity) -> StoreFuture<'a, ()>;

    /// The identities linked to an account, by provider.
    fn identities_of(&self, user_id: i64) -> StoreFuture<'_, Vec<Identity>>;

    /// Site settings an admin set in the portal (key, value), by key.
    fn site_settings(&self) -> StoreFuture<'_, Vec<(String, String)>>;

    /// Sets one site setting.
    fn set_site_setting<'a>(&'a self, key: &'a str, value: &'a str) -> StoreFuture<'a, ()>;

    /// Records an invitation.
    fn create_invitation<'a>(&'a self, inv: &'a NewInvitation) -> StoreFuture<'a, Invitation>;

    /// The invitation whose secret has this hash (used or not).
    fn invitation<'a>(&'a self, token_hash: &'a str) -> StoreFuture<'a, Option<Invitation>>;

    /// Invitations not used yet, newest first: all of them, or one organisation's.
    fn open_invitations(&self, org_id: Option<i64>) -> StoreFuture<'_, Vec<Invitation>>;

    /// Withdraws an unused invitation.
    fn delete_invitation(&self, id: i64) -> StoreFuture<'_, bool>;

    /// Creates the account an invitation allows, in one transaction: the invitation is marked
    /// used (it must be unused and not expired at `now`, else [`StoreError::Gone`]), the account
    /// is created with the invitation's email, and joins the invitation's organisation.
    fn accept_invitation<'a>(
        &'a self,
        token_hash: &'a str,
        user: &'a NewUser,
        now: i64,
    ) -> StoreFuture<'a, User>;

    /// The mapping rules added in the portal for a provider, oldest first.
    fn sso_rules<'a>(&'a self, provider: &'a str) -> StoreFuture<'a, Vec<SsoRule>>;

    /// Adds a mapping rule (its `id` is ignored; the stored rule is returned).
    fn add_sso_rule<'a>(&'a self, rule: &'a SsoRule) -> StoreFuture<'a, SsoRule>;

    /// Removes one of a provider's mapping rules.
    fn delete_sso_rule<'a>(&'a self, provider: &'a str, id: i64) -> StoreFuture<'a, bool>;

    /// Keeps a single sign-on login in progress until `expires_at` (and drops those expired at
    /// `now`).
    fn save_sso_login<'a>(
        &'a self,
        state_hash: &'a str,
        pending: &'a str,
        now: i64,
        expires_at: i64,
    ) -> StoreFuture<'a, ()>;

    /// Takes (removes and returns) a login in progress that has not expired at `now`.
    fn take_sso_login<'a>(
        &'a self,
        state_hash: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<String>>;

    /// Makes an account's platform-admin role from `source` (`sso:<provider>`) `granted`: an
    /// account not admin, or admin through another provider, becomes one from `source`; an
    /// admin from `source` stops being one when not granted; an admin set by hand stays.
    /// Returns whether it is admin now.
    fn sync_platform_admin<'a>(
        &'a self,
        user_id: i64,
        source: &'a str,
        granted: bool,
    ) -> StoreFuture<'a, bool>;

    /// Clears an account's password and ends all its sessions, in one transaction: an identity
    /// provider has just proven the address belongs to someone, and whoever set the password
    /// (sign-up and invitations do not check addresses) may not have been them.
    fn claim_account(&self, user_id: i64) -> StoreFuture<'_, ()>;

    /// Where an account's platform-admin role comes from ([`SOURCE_MANUAL`] or `sso:<id>`).
    fn admin_source(&self, user_id: i64) -> StoreFuture<'_, Option<String>>;

    /// How many accounts are linked to each identity provider, by provider.
    fn identity_counts(&self) -> StoreFuture<'_, Vec<(String, i64)>>;

    /// Rooms whose name or link contains `query` (any case), newest first.
    fn search_rooms<'a>(&'a self, query: &'a str, limit: u32) -> StoreFuture<'a, Vec<Room>>;

    /// Records a signed-in session (by the hash of its cookie secret).
    fn create_session<'a>(
        &'a self,
        id_hash: &'a str,
        user_id: i64,
        csrf: &'a str,
        expires_at: i64,
    ) -> StoreFuture<'a, ()>;

    /// The account and CSRF token of a session that has not expired at `now`.
    fn session<'a>(&'a self, id_hash: &'a str, now: i64)
    -> StoreFuture<'a, Option<(User, String)>>;

    fn delete_session<'a>(&'a self, id_hash: &'a str) -> StoreFuture<'a, ()>;

    /// Closes the connection pool, waiting for running statements.
    fn close(&self) -> StoreFuture<'_, ()>;

    // --- Admission (sql_admission.rs) ---

    /// Creates a room, refusing with [`StoreError::LimitReached`] when its owner has
    /// `max_rooms` already (checked and written in one transaction: no race past the limit);
    /// [`StoreError::Conflict`] if the id is taken.
    fn create_room_within<'a>(
        &'a self,
        room: &'a NewRoom,
        max_rooms: Option<i64>,
    ) -> StoreFuture<'a, Room>;

    /// Records that a room was just used (someone took a seat in it).
    fn touch_room<'a>(&'a self, id: &'a RoomId, now: i64) -> StoreFuture<'a, ()>;

    /// Deletes the anonymous rooms not used since `unused_since`; returns their ids.
    fn delete_unused_anonymous_rooms(&self, unused_since: i64) -> StoreFuture<'_, Vec<RoomId>>;

    /// Records the seat a join token admits to (again: the later expiry is kept), and forgets
    /// free seats that expired at `now`.
    fn add_seat<'a>(
        &'a self,
        seat: &'a str,
        room: &'a RoomId,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, ()>;

    /// Makes a live seat last until at least `until` (a guest waiting in the lobby); returns
    /// whether the seat exists and has not expired at `now` (an unknown seat is never made).
    fn extend_seat<'a>(
        &'a self,
        seat: &'a str,
        room: &'a RoomId,
        until: i64,
        now: i64,
    ) -> StoreFuture<'a, bool>;

    /// Gives a seat to `holder` (`<node>:<participant>`): taken over from whoever held it, or,
    /// when free, only while the room holds fewer than `max` seats — checked and written in one
    /// transaction.
    fn take_seat<'a>(
        &'a self,
        seat: &'a str,
        room: &'a RoomId,
        holder: &'a str,
        max: Option<i64>,
        now: i64,
    ) -> StoreFuture<'a, SeatTaken>;

    /// Frees a seat if `holder` still holds it; returns whether it did.
    fn release_seat<'a>(&'a self, seat: &'a str, holder: &'a str) -> StoreFuture<'a, bool>;

    /// Frees every seat whose holder starts with `prefix` (a node at its start frees what its
    /// previous runs held: those participants left with them).
    fn release_node_seats<'a>(&'a self, prefix: &'a str) -> StoreFuture<'a, u64>;

    /// The seats held by holders starting with `prefix` (one run of a node): (seat, holder).
    fn node_seats<'a>(&'a self, prefix: &'a str) -> StoreFuture<'a, Vec<(String, String)>>;

    /// Renews the lease of the seats held by holders starting with `prefix` (`held_since` =
    /// `now`); a running node does this every minute.
    fn renew_seats<'a>(&'a self, prefix: &'a str, now: i64) -> StoreFuture<'a, u64>;

    /// Frees held seats whose lease was last renewed before `before` (their node is gone).
    fn free_stale_seats(&self, before: i64) -> StoreFuture<'_, u64>;

    /// How many seats of a room are held now.
    fn held_seats<'a>(&'a self, room: &'a RoomId) -> StoreFuture<'a, i64>;

    /// Records an API token.
    fn create_api_token<'a>(&'a self, token: &'a NewApiToken) -> StoreFuture<'a, ApiToken>;

    /// The account an API token (by the hash of its secret) acts as; notes its use.
    fn api_token_user<'a>(&'a self, token_hash: &'a str, now: i64)
    -> StoreFuture<'a, Option<User>>;

    /// Every API token, newest first.
    fn api_tokens(&self) -> StoreFuture<'_, Vec<ApiToken>>;

    /// Revokes an API token; returns whether it existed.
    fn delete_api_token(&self, id: i64) -> StoreFuture<'_, bool>;

    /// Asks an account to join an organisation (asking again replaces the request).
    fn request_membership(
        &self,
        org_id: i64,
        user_id: i64,
        is_admin: bool,
        invited_by: Option<i64>,
        now: i64,
    ) -> StoreFuture<'_, ()>;

    /// Requests waiting for an answer: one organisation's, one account's, or all.
    fn membership_requests(
        &self,
        org_id: Option<i64>,
        user_id: Option<i64>,
    ) -> StoreFuture<'_, Vec<MembershipRequest>>;

    /// The account answers a request: accepted, it becomes a member ([`SOURCE_ACCEPTED`]);
    /// either way the request is gone. Returns whether there was one.
    fn answer_membership_request(
        &self,
        org_id: i64,
        user_id: i64,
        accept: bool,
    ) -> StoreFuture<'_, bool>;

    /// An existing account accepts an invitation made for its address, in one transaction:
    /// the invitation is marked used (unused, unexpired and for `user`'s email, else
    /// [`StoreError::Gone`]) and the account joins its organisation. Returns that organisation.
    fn join_by_invitation<'a>(
        &'a self,
        token_hash: &'a str,
        user: &'a User,
        now: i64,
    ) -> StoreFuture<'a, Option<i64>>;

    /// Whether the database answers.
    fn ping(&self) -> StoreFuture<'_, ()>;

    // --- Chat (sql_admission.rs) ---

    /// Records a chat message of a meeting.
    fn save_chat<'a>(&'a self, row: &'a ChatRow) -> StoreFuture<'a, ()>;

    /// Marks a chat message deleted at `now_ms`; returns whether it was there.
    fn delete_chat<'a>(
        &'a self,
        room: &'a RoomId,
        meeting_ms: i64,
        id: i64,
        now_ms: i64,
    ) -> StoreFuture<'a, bool>;

    /// A meeting's chat, deleted messages included, in order.
    fn chat_of<'a>(&'a self, room: &'a RoomId, meeting_ms: i64) -> StoreFuture<'a, Vec<ChatRow>>;

    /// Forgets every seat of a room (a meeting ended for everyone: its links admit nobody).
    fn delete_room_seats<'a>(&'a self, room: &'a RoomId) -> StoreFuture<'a, u64>;

    // --- Recordings and their composition queue (sql_recordings.rs) ---

    /// Records that a recording started; [`StoreError::Conflict`] if its id is taken.
    fn create_recording<'a>(&'a self, r: &'a RecordingRow) -> StoreFuture<'a, ()>;

    fn get_recording<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<RecordingRow>>;

    /// A room's recordings, newest first.
    fn recordings_of_room<'a>(&'a self, room: &'a RoomId) -> StoreFuture<'a, Vec<RecordingRow>>;

    /// The recordings made under a BBB `meetingID` (or room id), newest first.
    fn recordings_of_meeting<'a>(
        &'a self,
        meeting_id: &'a str,
    ) -> StoreFuture<'a, Vec<RecordingRow>>;

    /// Every recording in `status`, oldest first.
    fn recordings_in(&self, status: RecordingStatus) -> StoreFuture<'_, Vec<RecordingRow>>;

    /// The newest recordings, at most `limit`.
    fn all_recordings(&self, limit: u32) -> StoreFuture<'_, Vec<RecordingRow>>;

    /// A recording's files are complete: it moves from recording to processing (its
    /// composition queued). Returns whether it was recording.
    fn recording_ended<'a>(
        &'a self,
        id: &'a str,
        ended_ms: i64,
        length_ms: i64,
        bytes: i64,
    ) -> StoreFuture<'a, bool>;

    /// Takes the oldest queued composition nobody holds (or whose holder's lease ran out),
    /// leased until `now_ms + lease_ms`, counting an attempt.
    fn claim_recording_job(
        &self,
        now_ms: i64,
        lease_ms: i64,
    ) -> StoreFuture<'_, Option<RecordingRow>>;

    /// A composition's progress (per mille), its lease extended — only by the worker that
    /// holds it (`attempt`: the attempt its claim counted; a worker whose lease ran out and
    /// whose job another took changes nothing).
    fn recording_progress<'a>(
        &'a self,
        id: &'a str,
        attempt: i64,
        progress: i64,
        lease_until: i64,
    ) -> StoreFuture<'a, bool>;

    /// A composition finished: the recording is ready, `bytes` stored in all.
    fn recording_composed<'a>(
        &'a self,
        id: &'a str,
        attempt: i64,
        bytes: i64,
    ) -> StoreFuture<'a, bool>;

    /// A composition failed: queued again, or `for_good` failed, with the reason.
    fn recording_failed<'a>(
        &'a self,
        id: &'a str,
        attempt: i64,
        error: &'a str,
        for_good: bool,
    ) -> StoreFuture<'a, bool>;

    /// A failed recording is queued again (an admin's retry).
    fn retry_recording<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool>;

    /// Changes what `u` names; returns whether the recording exists.
    fn update_recording<'a>(&'a self, id: &'a str, u: &'a RecordingUpdate)
    -> StoreFuture<'a, bool>;

    /// An organisation's recording rules (the defaults when it set none).
    fn recording_policy(&self, org_id: i64) -> StoreFuture<'_, RecordingPolicy>;

    /// Sets an organisation's recording rules.
    fn set_recording_policy<'a>(
        &'a self,
        org_id: i64,
        p: &'a RecordingPolicy,
    ) -> StoreFuture<'a, ()>;

    /// Records that a recording's files are now in the object storage.
    fn recording_moved<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool>;

    /// Ready recordings made by an integration (meeting id not the room's) whose
    /// recording-ready callback was neither delivered nor given up on, oldest first.
    fn recordings_to_notify(&self) -> StoreFuture<'_, Vec<String>>;

    /// Records that a recording's ready callback was delivered (or given up on).
    fn recording_notified<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool>;

    /// Forgets a recording (its files are deleted first, by the caller).
    fn delete_recording<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool>;

    // --- The usage ledger (sql_usage.rs) ---

    /// Records an opening event (a meeting started, someone joined) and that it is open under
    /// `key` (`<node>/<run>:…`), in one transaction; returns whether it opened (`false`: `key`
    /// was open already, nothing written).
    fn usage_open<'a>(&'a self, key: &'a str, e: &'a UsageEvent) -> StoreFuture<'a, bool>;

    /// Closes what is open under `key` at `at_ms` (never before it opened): its closing event
    /// (meeting ended, left) is written and it is no longer open, in one transaction. Returns
    /// whether it was open.
    fn usage_close<'a>(&'a self, key: &'a str, at_ms: i64) -> StoreFuture<'a, bool>;

    /// Does each of `ops` in order, in one transaction (one commit for many facts); returns,
    /// for each, whether it did something (an open not already open, a close of something
    /// open, an attendance kept by an organisation that keeps it and not already kept). A
    /// `batch` id already written does nothing (all `false`): a batch tried again after a
    /// commit whose answer was lost is written once (ids are kept a day).
    fn usage_apply<'a>(
        &'a self,
        batch: Option<&'a str>,
        ops: &'a [UsageOp],
    ) -> StoreFuture<'a, Vec<bool>>;

    /// Records an event that opens nothing (a recording stored or deleted).
    fn usage_record<'a>(&'a self, e: &'a UsageEvent) -> StoreFuture<'a, ()>;

    /// Records many events at once, in one transaction (imports, benchmarks, tests).
    fn usage_import<'a>(&'a self, events: &'a [UsageEvent]) -> StoreFuture<'a, ()>;

    /// Notes that what is open under keys starting with `prefix` (one run of a node) is still
    /// open at `now_ms`.
    fn usage_alive<'a>(&'a self, prefix: &'a str, now_ms: i64) -> StoreFuture<'a, u64>;

    /// Closes, each at the time it was last known open, what this node's earlier runs left open
    /// (keys starting with `node_prefix` but not `keep_prefix`) and whatever nobody said was
    /// open since `stale_before`. Returns how many.
    fn usage_close_stale<'a>(
        &'a self,
        node_prefix: &'a str,
        keep_prefix: &'a str,
        stale_before: i64,
    ) -> StoreFuture<'a, u64>;

    /// The meetings, or people's times in them, that `f` selects and that overlap its period
    /// (or start or end within it), open ones included; with `owners`, each with its room,
    /// region and organisations.
    fn usage_spans<'a>(
        &'a self,
        of: SpanOf,
        f: &'a UsageFilter,
        owners: bool,
    ) -> StoreFuture<'a, Vec<UsageSpan>>;

    /// Recordings stored and deleted within `f`'s period, in order.
    fn usage_recording_events<'a>(&'a self, f: &'a UsageFilter)
    -> StoreFuture<'a, Vec<UsageEvent>>;

    /// When the oldest event kept happened.
    fn usage_oldest(&self) -> StoreFuture<'_, Option<i64>>;

    /// Deletes the events (and attendance) older than `before_ms`, except what is still open.
    fn prune_usage(&self, before_ms: i64) -> StoreFuture<'_, u64>;

    /// Whether an organisation keeps its meetings' attendance (off unless it chose to).
    fn keeps_attendance(&self, org_id: i64) -> StoreFuture<'_, bool>;

    /// Sets whether an organisation keeps attendance; turned off, what was kept is deleted.
    fn set_keeps_attendance(&self, org_id: i64, keep: bool) -> StoreFuture<'_, ()>;

    /// Records one person's attendance of a meeting.
    fn save_attendance<'a>(&'a self, a: &'a Attendance) -> StoreFuture<'a, ()>;

    /// Attendance overlapping `[from_ms, to_ms)`: an organisation's, or an account's, or both.
    fn attendance<'a>(
        &'a self,
        org_id: Option<i64>,
        account_id: Option<i64>,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreFuture<'a, Vec<Attendance>>;

    // --- The operators' view and the status page (sql_status.rs) ---

    /// Keeps one minute's load sample of a node (a second for the same minute is ignored).
    fn record_sample<'a>(&'a self, s: &'a LoadSample) -> StoreFuture<'a, ()>;

    /// Samples since `since_ms`, oldest first: one node's, or every node's.
    fn load_samples<'a>(
        &'a self,
        node: Option<&'a str>,
        since_ms: i64,
    ) -> StoreFuture<'a, Vec<LoadSample>>;

    /// Each node's latest sample, if taken since `since_ms` (the nodes alive, and their load).
    fn latest_samples(&self, since_ms: i64) -> StoreFuture<'_, Vec<LoadSample>>;

    /// Deletes every node's samples older than `before_ms` (and runs 90 days older still).
    fn prune_samples(&self, before_ms: i64) -> StoreFuture<'_, u64>;

    /// Records a node's start (the last hundred of each node are kept).
    fn record_run<'a>(&'a self, r: &'a NodeRun) -> StoreFuture<'a, ()>;

    /// Records that a run stopped cleanly.
    fn run_stopped<'a>(&'a self, node: &'a str, run: &'a str, at_ms: i64) -> StoreFuture<'a, bool>;

    /// The latest runs of every node, newest first.
    fn node_runs(&self, limit: u32) -> StoreFuture<'_, Vec<NodeRun>>;

    /// Posts an incident or maintenance notice (its `id` is given by the store).
    fn create_notice<'a>(&'a self, n: &'a StatusNotice) -> StoreFuture<'a, StatusNotice>;

    /// Ends a notice now (resolved, maintenance over); `false` if it had ended already.
    fn end_notice(&self, id: i64, at_ms: i64) -> StoreFuture<'_, bool>;

    fn delete_notice(&self, id: i64) -> StoreFuture<'_, bool>;

    /// Notices ongoing, to come, or ended since `since_ms`, the latest first.
    fn notices(&self, since_ms: i64, limit: u32) -> StoreFuture<'_, Vec<StatusNotice>>;

    /// Keeps participants' call-quality reports, in one transaction.
    fn save_quality<'a>(&'a self, rows: &'a [QualityRow]) -> StoreFuture<'a, ()>;

    /// A meeting's call-quality reports, by participant then time.
    fn quality_of<'a>(&'a self, room: &'a str, meeting_ms: i64)
    -> StoreFuture<'a, Vec<QualityRow>>;

    /// A room's meetings that have call-quality reports, the latest first.
    fn quality_meetings<'a>(
        &'a self,
        room: &'a str,
        limit: u32,
    ) -> StoreFuture<'a, Vec<QualityMeeting>>;

    /// Deletes call-quality and problem reports older than `before_ms`.
    fn prune_quality(&self, before_ms: i64) -> StoreFuture<'_, u64>;

    /// Keeps a problem report; returns its id.
    fn save_problem<'a>(&'a self, p: &'a ProblemRow) -> StoreFuture<'a, i64>;

    /// How many problem reports a meeting has.
    fn problem_count<'a>(&'a self, room: &'a str, meeting_ms: i64) -> StoreFuture<'a, u32>;

    /// Problem reports since `since_ms` (of one meeting, or all), the latest first.
    fn problems<'a>(
        &'a self,
        meeting: Option<(&'a str, i64)>,
        since_ms: i64,
        limit: u32,
    ) -> StoreFuture<'a, Vec<ProblemRow>>;

    /// Records an organisation's read-only usage token (by the hash of its secret).
    fn create_usage_token<'a>(
        &'a self,
        org_id: i64,
        name: &'a str,
        token_hash: &'a str,
        now: i64,
    ) -> StoreFuture<'a, UsageToken>;

    /// The organisation whose usage a token (by the hash of its secret) reads; notes its use.
    fn usage_token_org<'a>(&'a self, token_hash: &'a str, now: i64)
    -> StoreFuture<'a, Option<i64>>;

    /// An organisation's usage tokens, newest first.
    fn usage_tokens(&self, org_id: i64) -> StoreFuture<'_, Vec<UsageToken>>;

    /// Revokes one of an organisation's usage tokens; returns whether it existed.
    fn delete_usage_token(&self, org_id: i64, id: i64) -> StoreFuture<'_, bool>;

    // --- A meeting's polls (sql_polls.rs) ---

    /// Records a poll that opens, with a zero count for each of its `options`.
    fn save_poll<'a>(&'a self, p: &'a PollRow, options: u32) -> StoreFuture<'a, ()>;

    /// Records a vote and adds one to each of `choices`' counts, in one transaction, if the
    /// poll is open at `now_ms` and this voter has not voted in it (else nothing is written).
    fn cast_vote<'a>(
        &'a self,
        v: &'a VoteRow,
        choices: &'a [u32],
        now_ms: i64,
    ) -> StoreFuture<'a, VoteOutcome>;

    /// Closes the polls meeting `meeting_ms` of `room` left open (it ended); returns how many.
    fn close_meeting_polls<'a>(
        &'a self,
        room: &'a RoomId,
        meeting_ms: i64,
        closed_ms: i64,
    ) -> StoreFuture<'a, u64>;

    /// Closes the open polls asked on node runs whose name starts with `node_prefix` (a node's
    /// previous runs, at its start); returns how many.
    fn close_node_polls<'a>(&'a self, node_prefix: &'a str, closed_ms: i64)
    -> StoreFuture<'a, u64>;

    /// Marks a poll closed at `closed_ms`; `false` if it was closed already (or is not there).
    fn close_poll<'a>(
        &'a self,
        room: &'a RoomId,
        meeting_ms: i64,
        id: i64,
        closed_ms: i64,
    ) -> StoreFuture<'a, bool>;

    /// A room's polls (of one meeting, or of all), the latest meeting first, each meeting's
    /// in the order asked.
    fn polls_of<'a>(
        &'a self,
        room: &'a RoomId,
        meeting_ms: Option<i64>,
    ) -> StoreFuture<'a, Vec<PollRow>>;

    /// A poll's votes per option index (options nobody chose are missing).
    fn poll_counts<'a>(
        &'a self,
        room: &'a RoomId,
        meeting_ms: i64,
        id: i64,
    ) -> StoreFuture<'a, Vec<(u32, i64)>>;

    /// Who voted in a poll (and, unless secret, what), by name.
    fn poll_votes<'a>(
        &'a self,
        room: &'a RoomId,
        meeting_ms: i64,
        id: i64,
    ) -> StoreFuture<'a, Vec<VoteRow>>;

    // --- A meeting's shared minutes (sql_minutes.rs) ---

    /// A meeting's minutes: the compacted state and the edits since, read as of one moment.
    fn minutes<'a>(
        &'a self,
        room: &'a RoomId,
        meeting_ms: i64,
    ) -> StoreFuture<'a, Option<MinutesRow>>;

    /// Stores one edit (numbered `seq`, increasing) of a meeting's minutes, creating them.
    fn add_minutes_edit<'a>(
        &'a self,
        room: &'a RoomId,
        meeting_ms: i64,
        seq: i64,
        body: &'a [u8],
        now_ms: i64,
    ) -> StoreFuture<'a, ()>;

    /// Replaces a meeting's minutes' state with `state` (which holds every edit up to
    /// `through_seq`) and drops those edits, in one transaction; a state no newer than the
    /// stored one changes nothing. Returns whether it replaced it.
    fn compact_minutes<'a>(
        &'a self,
        room: &'a RoomId,
        meeting_ms: i64,
        state: &'a [u8],
        through_seq: i64,
    ) -> StoreFuture<'a, bool>;

    /// A room's meetings that have minutes, the latest first.
    fn minutes_of<'a>(&'a self, room: &'a RoomId) -> StoreFuture<'a, Vec<MinutesInfo>>;
}

/// Opens the store named by `url` and runs its migrations.
///
/// `sqlite://relative/path.db` is relative to the working directory; `sqlite::memory:` is an
/// in-memory database (tests). Parent folders of a SQLite file are created.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = if let Some(path) = sqlite_path(url) {
        if let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::DataDir {
                path: parent.display().to_string(),
                source,
            })?;
        }
        Arc::new(SqliteStore::connect(url).await?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(PostgresStore::connect(url).await?)
    } else {
        // Never echo a URL that might hold a password: show only its scheme.
        let scheme = url.split(':').next().unwrap_or_default();
        return Err(StoreError::UnsupportedUrl(format!("{scheme}:…")));
    };
    store.migrate().await?;
    Ok(store)
}

/// The file path of a `sqlite:` URL, or `None` if it is not one (or is in-memory).
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    Some(if path == ":memory:" { "" } else { path })
}

/// The default database URL: a SQLite file in the data folder.
pub fn default_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("plenary.db").display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://data/plenary.db"),
            Some("data/plenary.db")
        );
        assert_eq!(sqlite_path("sqlite:data/p.db?mode=rwc"), Some("data/p.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), Some(""));
        assert_eq!(sqlite_path("postgres://x"), None);
    }
}
