//! The meeting service: who may enter a room and as what ([`admission`], the only minter of
//! join tokens), the one way to create a room ([`rooms`]), the live meetings (presence, lobby,
//! roles) and the organisations' meeting-length limit. Every HTTP surface and the signalling
//! layer call this; none of them decides on its own.

pub mod actions;
pub mod admission;
pub mod agenda;
pub mod capacity;
pub mod in_meeting;
pub mod length;
pub mod live;
pub mod minutes;
mod minutes_check;
pub mod names;
pub mod poll_results;
pub mod polls;
pub mod reconnect;
pub mod recording;
pub mod room_settings;
pub mod rooms;
pub mod token;
pub mod usage;

use std::sync::Arc;

use plenary_accounts::throttle::RateLimiter;

pub use actions::{ActionError, Snapshot};
pub use admission::{Grant, IntegrationJoin, JoinRequest, LimitBy, Refusal, Via};
pub use live::{
    DecideError, Entered, JoinRefused, Meetings, Outbox, Participant, RoomEvent, Starting,
    ToConnection,
};
pub use reconnect::{HOLD_FOR, Resumed};
pub use room_settings::{
    Access, GuestPolicy, IntegrationRecording, IntegrationRules, Joiner, RecordingAudience,
    RoomSettings,
};
pub use rooms::{CreateRefusal, Creator, RoomCreation};
pub use token::{JoinClaims, TokenError, verify_join_token};

use plenary_store::{Room, Store, StoreError};

/// The meeting service's part of the settings.
#[derive(Debug, Clone)]
pub struct MeetingSettings {
    /// Most participants in one meeting on this server.
    pub max_participants: usize,
    pub room_creation: RoomCreation,
    /// Anonymous rooms are deleted after this many days unused.
    pub anonymous_room_days: u32,
    /// This node's name in the seats it hands out (`<node>:<participant>`).
    pub node: String,
    /// The storage an organisation's recordings may take when it set no quota of its own.
    pub recording_quota_bytes: Option<i64>,
    /// Most participants on this node, all meetings together ([`capacity`]).
    pub capacity: Option<usize>,
    /// The CPU busy share at which nobody new is let in ([`capacity`]).
    pub capacity_cpu_percent: Option<u8>,
}

/// The meeting service. One per server; cheap to share.
#[derive(Debug)]
pub struct Service {
    pub store: Arc<dyn Store>,
    /// The live meetings on this node.
    pub live: Arc<Meetings>,
    /// Key for join tokens.
    secret: Arc<[u8]>,
    pub settings: MeetingSettings,
    code_attempts: RateLimiter,
    /// This run of the node (random at each start): the seats its participants hold are
    /// `<node>/<run>:<participant>`, so that no other process's holders are mistaken for its.
    run: String,
    /// One entry at a time per seat (see [`Service::seat_entry`]).
    seat_locks: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// What this node can take (the load sampler keeps its CPU reading).
    pub capacity: Arc<capacity::Capacity>,
}

impl Service {
    /// The service, after freeing the seats this node's previous run held (its participants
    /// left with it).
    pub async fn start(
        store: Arc<dyn Store>,
        secret: Arc<[u8]>,
        settings: MeetingSettings,
    ) -> Result<Arc<Self>, StoreError> {
        // This node's previous runs' participants left with them.
        let freed = store
            .release_node_seats(&format!("{}/", settings.node))
            .await?;
        if freed > 0 {
            tracing::info!(seats = freed, "freed the seats of this node's previous run");
        }
        // This node's previous runs' meetings ended with them, and the polls still open in
        // them (another node's are its own).
        let now = plenary_proto::clock::unix_millis();
        match store
            .close_node_polls(&format!("{}/", settings.node), now)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                polls = n,
                "closed the polls this node's previous run left open"
            ),
            Err(e) => {
                tracing::error!(error = %e, "could not close the polls of this node's previous run")
            }
        }
        let capacity = Arc::new(capacity::Capacity::new(
            settings.capacity,
            settings.capacity_cpu_percent,
        ));
        let service = Arc::new(Self {
            store,
            live: Arc::new(Meetings::default()),
            secret,
            settings,
            code_attempts: RateLimiter::new(admission::CODE_WINDOW, admission::CODE_ATTEMPTS),
            seat_locks: Default::default(),
            capacity,
            run: plenary_accounts::password::random_token()[..10].to_owned(),
        });
        polls::close_when_meetings_end(&service);
        Ok(service)
    }
}

/// Whether `user_id` owns or co-owns `room`.
pub async fn moderates(store: &dyn Store, room: &Room, user_id: i64) -> Result<bool, StoreError> {
    if room.owner_id == Some(user_id) {
        return Ok(true);
    }
    Ok(store
        .co_owners(&room.id)
        .await?
        .iter()
        .any(|u| u.id == user_id))
}

/// Whether `account` is a member of an organisation `owner` belongs to.
pub async fn shares_org(store: &dyn Store, owner: i64, account: i64) -> Result<bool, StoreError> {
    let theirs = store.orgs_of(owner).await?;
    let mine = store.orgs_of(account).await?;
    Ok(mine
        .iter()
        .any(|m| theirs.iter().any(|t| t.org.id == m.org.id)))
}
