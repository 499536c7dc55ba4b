//! One typed settings struct, built once at start and passed down (never a global).
//!
//! Precedence: built-in defaults → settings file (TOML, `--config` / `PLENARY_CONFIG`) →
//! environment (`PLENARY_*`) → command-line flags. Unknown keys in the file are refused.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

pub use plenary_accounts::{MappingRule, OrgRole, Secret, SignupPolicy, SsoProvider};
pub use plenary_meeting::RoomCreation;
use serde::{Deserialize, Serialize};

/// Everything the server needs to know to run.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// HTTP address (portal, API, signalling).
    pub listen: SocketAddr,
    /// Where the embedded database and generated secrets live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty means SQLite in the data folder.
    pub database_url: Option<String>,
    /// The first UDP port media uses; with several media threads, thread `i` uses
    /// `media_port + i` (0 picks free ports, for tests).
    pub media_port: u16,
    /// Media threads (shards of the media engine), each with its own port; rooms are spread
    /// over them. 0: one per core.
    pub media_threads: usize,
    /// Rooms with more microphones than `loudest_above` forward only the `loudest_audio`
    /// loudest to each receiver.
    pub loudest_audio: usize,
    pub loudest_above: usize,
    /// Whether browsers whose UDP is blocked may send media over TCP to the same port
    /// (ICE-TCP); the port must then be open for TCP too.
    pub media_tcp: bool,
    /// The address announced to browsers in ICE candidates. Defaults to the HTTP listen
    /// address when that is a specific address, else 127.0.0.1 (set this on a real server).
    pub public_ip: Option<IpAddr>,
    /// Key that signs join tokens. Empty means: generated on first start and kept in the data
    /// folder. Nodes sharing a database must share this.
    pub secret: Option<Secret>,
    /// Serve the browser client from this folder instead of the copy built into the binary
    /// (for working on the client without rebuilding).
    pub web_dir: Option<PathBuf>,
    /// Most participants in one meeting; a join beyond it is refused with a clear message.
    pub max_participants: usize,
    /// How long each sent video packet is kept for resending on a NACK, in milliseconds (the
    /// payload is shared with the incoming packet; each subscriber keeps a header and a
    /// reference).
    pub resend_history_ms: u64,
    /// The address people reach this server at (`https://meet.example.coop`), for absolute
    /// links such as the BigBlueButton API's join URLs. Empty: taken from each request's Host.
    pub public_url: Option<String>,
    /// Shared secrets of the BigBlueButton-compatible API; the API is off when there are none.
    pub bbb_secrets: Vec<Secret>,
    /// Hashes accepted in BigBlueButton API checksums: any of sha1, sha256, sha384, sha512.
    pub bbb_checksum_algorithms: Vec<String>,
    /// Who may create an account: `open`, `approval` (an admin approves) or `invite`.
    pub signup: SignupPolicy,
    /// The email of the platform admin made on the first start (its password is printed once).
    pub admin_email: String,
    /// Log filter, `tracing` syntax (e.g. `info`, `plenary=debug`).
    pub log: String,
    /// OpenID Connect providers members may sign in through (`[[sso]]` tables; file only).
    pub sso: Vec<SsoProvider>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (for per-address rate limits).
    pub trusted_proxies: Vec<IpAddr>,
    /// Who may create rooms: `members` (signed-in accounts, API tokens, the BigBlueButton
    /// API's clients) or `anyone` (an open instance: anyone can relay media through it).
    pub room_creation: RoomCreation,
    /// Rooms made without an account (under `anyone`) are deleted after this many days unused.
    pub anonymous_room_days: u32,
    /// Seconds a client has to send a request's headers (and, on an idle keep-alive
    /// connection, the next request's): slow and idle connections are closed.
    pub http_header_timeout_secs: u64,
    /// Seconds a request may take to arrive and be answered (a body sent byte by byte gets 408).
    pub http_request_timeout_secs: u64,
    /// Seconds a participant whose connection dropped keeps their place while getting back in.
    pub reconnect_hold_secs: u64,
    /// Recordings composed at once (each an ffmpeg at the lowest priority).
    pub recording_workers: usize,
    /// Where ready recordings are kept: `s3://bucket/prefix[?options]` (credentials from the
    /// `AWS_*` variables); none: the data folder.
    pub recordings_url: Option<String>,
    /// Days a recording is kept after it ends, unless its organisation says otherwise (none:
    /// until deleted).
    pub recording_retention_days: Option<u32>,
    /// Megabytes an organisation's recordings may take, unless it says otherwise (none: no
    /// limit).
    pub recording_quota_mb: Option<u64>,
    /// Open connections (WebSockets included) from one client address; trusted proxies are
    /// exempt.
    pub max_connections_per_address: usize,
    /// Sites (`https://moodle.example.coop`) that may embed meeting pages in a frame; none by
    /// default (pages refuse to be framed).
    pub embed_origins: Vec<String>,
    /// This node's name, unique among the nodes sharing a database (the seats its participants
    /// hold carry it; at its start it frees the ones its previous run held). Default: the
    /// machine's host name.
    pub node_name: String,
    /// This node's region, as usage reports and the status page name it (`eu`, `ca`…).
    pub region: String,
    /// Days the usage ledger's raw events are kept (reports of older periods are then
    /// incomplete); 0: kept for ever.
    pub usage_retention_days: u32,
    /// Whether usage is recorded at all (off: the reports stay empty).
    pub usage_ledger: bool,
    /// Most participants in all meetings on this node together; someone new beyond it is
    /// refused with a clear message (running meetings are untouched). `None`: no limit.
    pub capacity: Option<usize>,
    /// The machine's CPU busy share (percent of all cores, measured every few seconds) at
    /// which nobody new is let in. `None`: not limited by CPU.
    pub capacity_cpu_percent: Option<u8>,
    /// Days call-quality and problem reports are kept.
    pub quality_retention_days: u32,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("media_port", &self.media_port)
            .field("media_tcp", &self.media_tcp)
            .field("media_threads", &self.media_threads)
            .field("loudest_audio", &self.loudest_audio)
            .field("loudest_above", &self.loudest_above)
            .field("public_ip", &self.public_ip)
            .field("secret", &self.secret)
            .field("web_dir", &self.web_dir)
            .field("max_participants", &self.max_participants)
            .field("resend_history_ms", &self.resend_history_ms)
            .field("public_url", &self.public_url)
            .field("bbb_secrets", &self.bbb_secrets)
            .field("bbb_checksum_algorithms", &self.bbb_checksum_algorithms)
            .field("signup", &self.signup)
            .field("admin_email", &self.admin_email)
            .field("log", &self.log)
            .field("sso", &self.sso)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("room_creation", &self.room_creation)
            .field("anonymous_room_days", &self.anonymous_room_days)
            .field("http_header_timeout_secs", &self.http_header_timeout_secs)
            .field("http_request_timeout_secs", &self.http_request_timeout_secs)
            .field("reconnect_hold_secs", &self.reconnect_hold_secs)
            .field("recording_workers", &self.recording_workers)
            .field("recording_retention_days", &self.recording_retention_days)
            .field("recording_quota_mb", &self.recording_quota_mb)
            // Only the scheme and bucket: the options may name an endpoint or keys.
            .field(
                "recordings_url",
                &self
                    .recordings_url
                    .as_deref()
                    .map(|u| u.split('?').next().unwrap_or_default()),
            )
            .field(
                "max_connections_per_address",
                &self.max_connections_per_address,
            )
            .field("embed_origins", &self.embed_origins)
            .field("node_name", &self.node_name)
            .field("region", &self.region)
            .field("usage_retention_days", &self.usage_retention_days)
            .field("usage_ledger", &self.usage_ledger)
            .field("capacity", &self.capacity)
            .field("capacity_cpu_percent", &self.capacity_cpu_percent)
            .field("quality_retention_days", &self.quality_retention_days)
            .finish()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            media_port: 10000,
            media_tcp: true,
            media_threads: 0,
            loudest_audio: plenary_media::DEFAULT_LOUDEST_AUDIO,
            loudest_above: plenary_media::DEFAULT_LOUDEST_ABOVE,
            public_ip: None,
            secret: None,
            web_dir: None,
            max_participants: 100,
            resend_history_ms: plenary_media::DEFAULT_RESEND_HISTORY.as_millis() as u64,
            public_url: None,
            bbb_secrets: Vec::new(),
            bbb_checksum_algorithms: ["sha1", "sha256", "sha384", "sha512"]
                .map(String::from)
                .to_vec(),
            signup: SignupPolicy::Approval,
            admin_email: "admin@localhost".into(),
            log: "info".into(),
            sso: Vec::new(),
            trusted_proxies: Vec::new(),
            room_creation: RoomCreation::Members,
            anonymous_room_days: 7,
            http_header_timeout_secs: 10,
            http_request_timeout_secs: 30,
            reconnect_hold_secs: plenary_meeting::HOLD_FOR.as_secs(),
            recording_workers: 1,
            recordings_url: None,
            recording_retention_days: None,
            recording_quota_mb: None,
            max_connections_per_address: 64,
            embed_origins: Vec::new(),
            node_name: host_name(),
            region: "default".into(),
            usage_retention_days: 400,
            usage_ledger: true,
            capacity: None,
            capacity_cpu_percent: None,
            quality_retention_days: 30,
        }
    }
}

/// Settings given on the command line or in the environment; each overrides the file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Overrides {
    /// Settings file (TOML). `plenary default-config` prints one with every key.
    #[arg(long, env = "PLENARY_CONFIG")]
    pub config: Option<PathBuf>,
    /// HTTP address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "PLENARY_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Data folder (SQLite database, generated secret) [default: ./data]
    #[arg(long, env = "PLENARY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: SQLite in the data folder]
    #[arg(long, env = "PLENARY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// First UDP port for media (media thread i uses this + i); 0 picks free ones [default: 10000]
    #[arg(long, env = "PLENARY_MEDIA_PORT")]
    pub media_port: Option<u16>,
    /// Media threads, each with its own port; 0 means one per core [default: 0]
    #[arg(long, env = "PLENARY_MEDIA_THREADS")]
    pub media_threads: Option<usize>,
    /// In large rooms, how many of the loudest microphones are forwarded [default: 5]
    #[arg(long, env = "PLENARY_LOUDEST_AUDIO")]
    pub loudest_audio: Option<usize>,
    /// Rooms with more microphones than this forward only the loudest [default: 10]
    #[arg(long, env = "PLENARY_LOUDEST_ABOVE")]
    pub loudest_above: Option<usize>,
    /// Also accept media over TCP on the media port, for browsers whose UDP is blocked [default: true]
    #[arg(long, env = "PLENARY_MEDIA_TCP")]
    pub media_tcp: Option<bool>,
    /// IP address announced in ICE candidates (the address browsers reach the server at)
    #[arg(long, env = "PLENARY_PUBLIC_IP")]
    pub public_ip: Option<IpAddr>,
    /// Secret that signs join tokens [default: generated, kept in the data folder]
    #[arg(long, env = "PLENARY_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Serve the browser client from this folder instead of the built-in copy
    #[arg(long, env = "PLENARY_WEB_DIR")]
    pub web_dir: Option<PathBuf>,
    /// Most participants in one meeting [default: 100]
    #[arg(long, env = "PLENARY_MAX_PARTICIPANTS")]
    pub max_participants: Option<usize>,
    /// Milliseconds a sent video packet is kept for resending on a NACK [default: 1000]
    #[arg(long, env = "PLENARY_RESEND_HISTORY_MS")]
    pub resend_history_ms: Option<u64>,
    /// Public base URL for absolute links, e.g. https://meet.example.coop [default: from the request]
    #[arg(long, env = "PLENARY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Shared secrets of the BigBlueButton API, comma-separated; the API is off without one
    #[arg(
        long,
        env = "PLENARY_BBB_SECRETS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub bbb_secrets: Option<Vec<String>>,
    /// Checksum hashes the BigBlueButton API accepts [default: sha1,sha256,sha384,sha512]
    #[arg(long, env = "PLENARY_BBB_CHECKSUM_ALGORITHMS", value_delimiter = ',')]
    pub bbb_checksum_algorithms: Option<Vec<String>>,
    /// Who may create an account: open, approval or invite [default: approval]
    #[arg(long, env = "PLENARY_SIGNUP", value_parser = parse_signup)]
    pub signup: Option<SignupPolicy>,
    /// Email of the admin account made on first start [default: admin@localhost]
    #[arg(long, env = "PLENARY_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// Log filter, e.g. info or plenary_server=debug [default: info]
    #[arg(long, env = "PLENARY_LOG")]
    pub log: Option<String>,
    /// Reverse proxies (IP addresses, comma-separated) whose X-Forwarded-For is believed
    #[arg(long, env = "PLENARY_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<IpAddr>>,
    /// Who may create rooms: members or anyone [default: members]
    #[arg(long, env = "PLENARY_ROOM_CREATION", value_parser = parse_room_creation)]
    pub room_creation: Option<RoomCreation>,
    /// Days an anonymous room (room_creation = anyone) lives unused [default: 7]
    #[arg(long, env = "PLENARY_ANONYMOUS_ROOM_DAYS")]
    pub anonymous_room_days: Option<u32>,
    /// Seconds a request's headers (and an idle connection's next request) may take [default: 10]
    #[arg(long, env = "PLENARY_HTTP_HEADER_TIMEOUT_SECS")]
    pub http_header_timeout_secs: Option<u64>,
    /// Seconds a request may take to arrive and be answered [default: 30]
    #[arg(long, env = "PLENARY_HTTP_REQUEST_TIMEOUT_SECS")]
    pub http_request_timeout_secs: Option<u64>,
    /// Seconds a dropped participant's place is held while they reconnect [default: 30]
    #[arg(long, env = "PLENARY_RECONNECT_HOLD_SECS")]
    pub reconnect_hold_secs: Option<u64>,
    /// Recordings composed at once [default: 1]
    #[arg(long, env = "PLENARY_RECORDING_WORKERS")]
    pub recording_workers: Option<usize>,
    /// Where ready recordings are kept, `s3://bucket/prefix` [default: the data folder]
    #[arg(long, env = "PLENARY_RECORDINGS_URL")]
    pub recordings_url: Option<String>,
    /// Days recordings are kept after they end [default: until deleted]
    #[arg(long, env = "PLENARY_RECORDING_RETENTION_DAYS")]
    pub recording_retention_days: Option<u32>,
    /// Megabytes each organisation's recordings may take [default: no limit]
    #[arg(long, env = "PLENARY_RECORDING_QUOTA_MB")]
    pub recording_quota_mb: Option<u64>,
    /// Open connections from one client address [default: 64]
    #[arg(long, env = "PLENARY_MAX_CONNECTIONS_PER_ADDRESS")]
    pub max_connections_per_address: Option<usize>,
    /// This node's name among the nodes sharing a database [default: the host name]
    #[arg(long, env = "PLENARY_NODE_NAME")]
    pub node_name: Option<String>,
    /// This node's region, in usage reports and on the status page [default: default]
    #[arg(long, env = "PLENARY_REGION")]
    pub region: Option<String>,
    /// Days the usage ledger's raw events are kept; 0: for ever [default: 400]
    #[arg(long, env = "PLENARY_USAGE_RETENTION_DAYS")]
    pub usage_retention_days: Option<u32>,
    /// Record usage statistics (`false`: none at all) [default: true]
    #[arg(long, env = "PLENARY_USAGE_LEDGER")]
    pub usage_ledger: Option<bool>,
    /// Most participants on this node, all meetings together; 0: no limit [default: 0]
    #[arg(long, env = "PLENARY_CAPACITY")]
    pub capacity: Option<usize>,
    /// CPU busy percent at which nobody new is let in; 0: no CPU limit [default: 0]
    #[arg(long, env = "PLENARY_CAPACITY_CPU_PERCENT")]
    pub capacity_cpu_percent: Option<u8>,
    /// Days call-quality and problem reports are kept [default: 30]
    #[arg(long, env = "PLENARY_QUALITY_RETENTION_DAYS")]
    pub quality_retention_days: Option<u32>,
    /// Sites that may embed meeting pages in a frame, comma-separated origins [default: none]
    #[arg(long, env = "PLENARY_EMBED_ORIGINS", value_delimiter = ',')]
    pub embed_origins: Option<Vec<String>>,
}

fn parse_room_creation(s: &str) -> Result<RoomCreation, String> {
    RoomCreation::parse(s).ok_or_else(|| format!("{s:?}: use members or anyone"))
}

fn parse_signup(s: &str) -> Result<SignupPolicy, String> {
    let s = s.trim().to_ascii_lowercase();
    SignupPolicy::parse(&s).ok_or_else(|| format!("{s:?}: use open, approval or invite"))
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid settings file {path}: {source}")]
    Parse {
        path: String,
        source: Box<toml::de::Error>,
    },
    #[error("invalid setting: {0}")]
    Invalid(String),
}

impl Settings {
    /// Builds the settings: defaults, then the file, then environment and flags.
    pub fn load(o: &Overrides) -> Result<Self, SettingsError> {
        let mut s = match &o.config {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        if let Some(v) = o.listen {
            s.listen = v;
        }
        if let Some(v) = &o.data_dir {
            s.data_dir = v.clone();
        }
        if let Some(v) = o.database_url.as_ref().filter(|v| !v.is_empty()) {
            s.database_url = Some(v.clone());
        }
        if let Some(v) = o.media_port {
            s.media_port = v;
        }
        if let Some(v) = o.media_threads {
            s.media_threads = v;
        }
        if let Some(v) = o.loudest_audio {
            s.loudest_audio = v;
        }
        if let Some(v) = o.loudest_above {
            s.loudest_above = v;
        }
        if let Some(v) = o.media_tcp {
            s.media_tcp = v;
        }
        if let Some(v) = o.public_ip {
            s.public_ip = Some(v);
        }
        if let Some(v) = o.secret.as_ref().filter(|v| !v.is_empty()) {
            s.secret = Some(Secret(v.clone()));
        }
        if let Some(v) = &o.web_dir {
            s.web_dir = Some(v.clone());
        }
        if let Some(v) = o.max_participants {
            s.max_participants = v;
        }
        if let Some(v) = o.resend_history_ms {
            s.resend_history_ms = v;
        }
        if let Some(v) = o.public_url.as_ref().filter(|v| !v.is_empty()) {
            s.public_url = Some(v.clone());
        }
        if let Some(v) = &o.bbb_secrets {
            s.bbb_secrets = v.iter().map(|x| Secret(x.clone())).collect();
        }
        if let Some(v) = &o.bbb_checksum_algorithms {
            s.bbb_checksum_algorithms = v.clone();
        }
        if let Some(v) = o.signup {
            s.signup = v;
        }
        if let Some(v) = o.admin_email.as_ref().filter(|v| !v.is_empty()) {
            s.admin_email = v.clone();
        }
        if let Some(v) = &o.log {
            s.log = v.clone();
        }
        if let Some(v) = &o.trusted_proxies {
            s.trusted_proxies = v.clone();
        }
        if let Some(v) = o.room_creation {
            s.room_creation = v;
        }
        if let Some(v) = o.anonymous_room_days {
            s.anonymous_room_days = v;
        }
        if let Some(v) = o.http_header_timeout_secs {
            s.http_header_timeout_secs = v;
        }
        if let Some(v) = o.http_request_timeout_secs {
            s.http_request_timeout_secs = v;
        }
        if let Some(v) = o.reconnect_hold_secs {
            s.reconnect_hold_secs = v;
        }
        if let Some(v) = o.recording_workers {
            s.recording_workers = v;
        }
        if let Some(v) = o.recording_retention_days {
            s.recording_retention_days = Some(v).filter(|d| *d > 0);
        }
        if let Some(v) = o.recording_quota_mb {
            s.recording_quota_mb = Some(v);
        }
        if let Some(v) = &o.recordings_url {
            s.recordings_url = Some(v.clone()).filter(|v| !v.is_empty());
        }
        if let Some(v) = o.max_connections_per_address {
            s.max_connections_per_address = v;
        }
        if let Some(v) = o.node_name.as_ref().filter(|v| !v.is_empty()) {
            s.node_name = v.clone();
        }
        if let Some(v) = o.region.as_ref().filter(|v| !v.is_empty()) {
            s.region = v.clone();
        }
        if let Some(v) = o.usage_retention_days {
            s.usage_retention_days = v;
        }
        if let Some(v) = o.usage_ledger {
            s.usage_ledger = v;
        }
        if let Some(v) = o.capacity {
            s.capacity = Some(v).filter(|v| *v > 0);
        }
        if let Some(v) = o.capacity_cpu_percent {
            s.capacity_cpu_percent = Some(v).filter(|v| *v > 0);
        }
        if let Some(v) = o.quality_retention_days {
            s.quality_retention_days = v;
        }
        if let Some(v) = &o.embed_origins {
            s.embed_origins = v
                .iter()
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect();
        }
        s.validate()?;
        Ok(s)
    }

    pub fn from_file(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text).map_err(|source| SettingsError::Parse {
            path: path.display().to_string(),
            source: Box::new(source),
        })
    }

    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        if let Some(Secret(s)) = &self.secret
            && s.len() < 16
        {
            return Err(SettingsError::Invalid(
                "secret must be at least 16 characters".into(),
            ));
        }
        if let Some(ip) = self.public_ip
            && ip.is_unspecified()
        {
            return Err(SettingsError::Invalid(
                "public_ip must be an address browsers can reach, not 0.0.0.0 or ::".into(),
            ));
        }
        if self.max_participants == 0 {
            return Err(SettingsError::Invalid(
                "max_participants must be at least 1".into(),
            ));
        }
        if self.bbb_secrets.iter().any(|Secret(s)| s.trim().is_empty()) {
            return Err(SettingsError::Invalid(
                "a BigBlueButton API secret is empty: an empty secret would let anyone call the API"
                    .into(),
            ));
        }
        if self.bbb_checksum_algorithms.is_empty() {
            return Err(SettingsError::Invalid(
                "bbb_checksum_algorithms needs at least one of sha1, sha256, sha384, sha512".into(),
            ));
        }
        for a in &self.bbb_checksum_algorithms {
            if plenary_bbb::checksum::Algorithm::parse(a).is_none() {
                return Err(SettingsError::Invalid(format!(
                    "unknown checksum algorithm {a:?}: use sha1, sha256, sha384 or sha512"
                )));
            }
        }
        if let Some(u) = &self.public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(SettingsError::Invalid(
                "public_url must start with http:// or https://".into(),
            ));
        }
        self.validate_sso()?;
        if self.recording_workers > 64 {
            return Err(SettingsError::Invalid(
                "recording_workers must be at most 64".into(),
            ));
        }
        if self.reconnect_hold_secs > 600 {
            return Err(SettingsError::Invalid(
                "reconnect_hold_secs must be at most 600".into(),
            ));
        }
        if self.http_header_timeout_secs == 0
            || self.http_request_timeout_secs == 0
            || self.max_connections_per_address == 0
        {
            return Err(SettingsError::Invalid(
                "http_header_timeout_secs, http_request_timeout_secs and \
                 max_connections_per_address must be at least 1"
                    .into(),
            ));
        }
        if self.quality_retention_days == 0 {
            return Err(SettingsError::Invalid(
                "quality_retention_days must be at least 1".into(),
            ));
        }
        if self.capacity == Some(0) || self.capacity_cpu_percent.is_some_and(|p| p == 0 || p > 100)
        {
            return Err(SettingsError::Invalid(
                "capacity must be at least 1 and capacity_cpu_percent between 1 and 100 \
                 (leave them out for no limit)"
                    .into(),
            ));
        }
        let region_ok = !self.region.is_empty()
            && self.region.len() <= 32
            && self
                .region
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !region_ok {
            return Err(SettingsError::Invalid(format!(
                "region {:?}: use 1–32 letters, digits, '.', '_' and '-'",
                self.region
            )));
        }
        let node_ok = !self.node_name.is_empty()
            && self.node_name.len() <= 64
            && self
                .node_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !node_ok {
            return Err(SettingsError::Invalid(format!(
                "node_name {:?}: use 1–64 letters, digits, '.', '_' and '-'",
                self.node_name
            )));
        }
        for o in &self.embed_origins {
            let ok = (o.starts_with("https://") || o.starts_with("http://"))
                && o.split("://").nth(1).is_some_and(|h| {
                    !h.is_empty()
                        && h.chars()
                            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
                });
            if !ok {
                return Err(SettingsError::Invalid(format!(
                    "embed_origins: {o:?} is not an origin like https://moodle.example.coop"
                )));
            }
        }
        if self.anonymous_room_days == 0 {
            return Err(SettingsError::Invalid(
                "anonymous_room_days must be at least 1".into(),
            ));
        }
        if self.media_threads > 256 {
            return Err(SettingsError::Invalid(
                "media_threads must be at most 256 (0: one per core)".into(),
            ));
        }
        if self.media_port != 0 && usize::from(self.media_port) + self.shard_count() > 65_536 {
            return Err(SettingsError::Invalid(format!(
                "media_port {} + {} media threads passes port 65535",
                self.media_port,
                self.shard_count()
            )));
        }
        if !(1..=50).contains(&self.loudest_audio) {
            return Err(SettingsError::Invalid(
                "loudest_audio must be between 1 and 50".into(),
            ));
        }
        if !(100..=10_000).contains(&self.resend_history_ms) {
            return Err(SettingsError::Invalid(
                "resend_history_ms must be between 100 and 10000".into(),
            ));
        }
        Ok(())
    }

    fn validate_sso(&self) -> Result<(), SettingsError> {
        let bad = |m: String| Err(SettingsError::Invalid(m));
        for (i, p) in self.sso.iter().enumerate() {
            let id_ok = !p.id.is_empty()
                && p.id.len() <= 32
                && p.id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !id_ok {
                return bad(format!(
                    "sso id {:?}: use 1–32 lower-case letters, digits and -",
                    p.id
                ));
            }
            if self.sso[..i].iter().any(|q| q.id == p.id) {
                return bad(format!("sso id {:?} is used twice", p.id));
            }
            if !(p.issuer.starts_with("https://") || p.issuer.starts_with("http://")) {
                return bad(format!(
                    "sso {:?}: issuer must be an http(s) URL, not {:?}",
                    p.id, p.issuer
                ));
            }
            if p.client_id.is_empty() || p.name.trim().is_empty() {
                return bad(format!("sso {:?}: name and client_id are needed", p.id));
            }
            for r in &p.rules {
                let conditions = usize::from(r.group.is_some())
                    + usize::from(r.email_domain.is_some())
                    + usize::from(r.default);
                if conditions != 1 || r.org.trim().is_empty() {
                    return bad(format!(
                        "sso {:?}: each rule needs exactly one of group, email_domain or \
                         default = true, and an org (rule for {:?})",
                        p.id, r.org
                    ));
                }
            }
            if p.admin_groups.iter().any(|g| g.trim().is_empty()) {
                return bad(format!("sso {:?}: an admin group is empty", p.id));
            }
        }
        Ok(())
    }

    /// The address people reach this server at, without a trailing `/`.
    pub fn base_url(&self, host: Option<&str>) -> String {
        self.public().base_url(host)
    }

    /// The limits the HTTP server puts on connections and requests.
    pub fn http_limits(&self) -> plenary_http::serve::Limits {
        plenary_http::serve::Limits {
            header_timeout: std::time::Duration::from_secs(self.http_header_timeout_secs),
            request_timeout: std::time::Duration::from_secs(self.http_request_timeout_secs),
            per_address: self.max_connections_per_address,
            trusted_proxies: self.trusted_proxies.clone(),
            ..plenary_http::serve::Limits::default()
        }
    }

    /// The usage ledger's settings (its key derived from the server's secret by the caller).
    pub fn ledger(&self, key: [u8; 32]) -> plenary_usage::LedgerSettings {
        plenary_usage::LedgerSettings {
            node: self.node_name.clone(),
            region: self.region.clone(),
            key,
            retention_days: Some(self.usage_retention_days).filter(|d| *d > 0),
        }
    }

    /// The meeting service's settings.
    pub fn meeting(&self) -> plenary_meeting::MeetingSettings {
        plenary_meeting::MeetingSettings {
            max_participants: self.max_participants,
            room_creation: self.room_creation,
            anonymous_room_days: self.anonymous_room_days,
            node: self.node_name.clone(),
            recording_quota_bytes: self.recording_quota_mb.map(|mb| mb as i64 * 1_000_000),
            capacity: self.capacity,
            capacity_cpu_percent: self.capacity_cpu_percent,
        }
    }

    /// Where people reach this server, as the HTTP surfaces make links.
    pub fn public(&self) -> plenary_http::PublicUrl {
        plenary_http::PublicUrl {
            configured: self.public_url.clone(),
            listen: self.listen,
        }
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => plenary_store::default_url(&self.data_dir),
        }
    }

    /// The BigBlueButton API's accepted checksum hashes (validated at load).
    pub fn bbb_algorithms(&self) -> Vec<plenary_bbb::checksum::Algorithm> {
        self.bbb_checksum_algorithms
            .iter()
            .filter_map(|a| plenary_bbb::checksum::Algorithm::parse(a))
            .collect()
    }

    /// The address announced in ICE candidates.
    pub fn announced_ip(&self) -> IpAddr {
        self.public_ip.unwrap_or_else(|| match self.listen.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        })
    }

    /// How many media threads run: `media_threads`, or one per core.
    pub fn shard_count(&self) -> usize {
        match self.media_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// A settings file with every key and its default, for `plenary default-config`.
    pub fn default_toml() -> String {
        let body = toml::to_string_pretty(&Self::default()).unwrap_or_default();
        format!(
            "# Plenary settings. Every key is optional; environment variables (PLENARY_LISTEN,\n\
             # PLENARY_DATA_DIR, PLENARY_DATABASE_URL, PLENARY_MEDIA_PORT, PLENARY_MEDIA_THREADS,\n\
             # PLENARY_MEDIA_TCP, PLENARY_LOUDEST_AUDIO, PLENARY_LOUDEST_ABOVE,\n\
             # PLENARY_PUBLIC_IP, PLENARY_SECRET, PLENARY_WEB_DIR, PLENARY_MAX_PARTICIPANTS, PLENARY_RESEND_HISTORY_MS,\n\
             # PLENARY_PUBLIC_URL, PLENARY_BBB_SECRETS, PLENARY_BBB_CHECKSUM_ALGORITHMS,\n\
             # PLENARY_SIGNUP, PLENARY_ADMIN_EMAIL, PLENARY_TRUSTED_PROXIES, PLENARY_ROOM_CREATION,\n\
             # PLENARY_ANONYMOUS_ROOM_DAYS, PLENARY_EMBED_ORIGINS, PLENARY_HTTP_HEADER_TIMEOUT_SECS,\n\
             # PLENARY_HTTP_REQUEST_TIMEOUT_SECS, PLENARY_MAX_CONNECTIONS_PER_ADDRESS,\n\
             # PLENARY_NODE_NAME, PLENARY_LOG)\n\
             # and flags\n\
             # override this file. Single sign-on providers ([[sso]]) are set here only.\n\
             # Also: database_url = \"postgres://user@host/db\", public_ip = \"203.0.113.7\",\n\
             # secret = \"at least 16 characters\", web_dir = \"./web\".\n\n{body}"
        )
    }
}

/// The machine's host name, as a node name (only letters, digits, '.', '_' and '-'), else
/// `local`.
fn host_name() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let name: String = raw
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
        .take(64)
        .collect();
    if name.is_empty() {
        "local".into()
    } else {
        name
    }
}

/// `postgres://user:pass@host/db` → `postgres://user:…@host/db`.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}://{user}:…{}", &url[..s], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_defaults_file_then_overrides() {
        let dir = std::env::temp_dir().join(format!("plenary-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("plenary.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:9000\"\nmedia_port = 4000\n").unwrap();
        let o = Overrides {
            config: Some(file.clone()),
            media_port: Some(5000),
            ..Default::default()
        };
        let s = Settings::load(&o).unwrap();
        assert_eq!(s.listen, "0.0.0.0:9000".parse().unwrap()); // from the file
        assert_eq!(s.media_port, 5000); // flag/env beats file
        assert_eq!(s.data_dir, PathBuf::from("data")); // default
        assert_eq!(s.announced_ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let err = Settings::from_toml("lisen = \"127.0.0.1:1\"")
            .err()
            .unwrap();
        assert!(err.to_string().contains("lisen"), "{err}");
        assert!(Settings::from_toml("media_port = 70000").is_err());
        let o = Overrides {
            secret: Some("short".into()),
            ..Default::default()
        };
        assert!(matches!(Settings::load(&o), Err(SettingsError::Invalid(_))));
        let o = Overrides {
            public_ip: Some("0.0.0.0".parse().unwrap()),
            ..Default::default()
        };
        assert!(matches!(Settings::load(&o), Err(SettingsError::Invalid(_))));
    }

    #[test]
    fn bbb_secrets_and_algorithms() {
        // PLENARY_BBB_SECRETS="a,,b": an empty secret is refused at start-up.
        let o = Overrides {
            bbb_secrets: Some(vec!["first-secret".into(), "".into()]),
            ..Default::default()
        };
        let err = Settings::load(&o).err().unwrap().to_string();
        assert!(err.contains("empty"), "{err}");
        let o = Overrides {
            bbb_secrets: Some(vec!["first-secret".into(), "second-secret".into()]),
            bbb_checksum_algorithms: Some(vec!["sha256".into(), "SHA-512".into()]),
            ..Default::default()
        };
        let s = Settings::load(&o).unwrap();
        assert_eq!(s.bbb_secrets.len(), 2);
        assert_eq!(s.bbb_algorithms().len(), 2);
        let o = Overrides {
            bbb_checksum_algorithms: Some(vec!["md5".into()]),
            ..Default::default()
        };
        assert!(Settings::load(&o).is_err());
        assert!(!format!("{s:?}").contains("second-secret"));
    }

    #[test]
    fn sso_providers_from_the_file() {
        let s = Settings::from_toml(
            r#"
[[sso]]
id = "social-coop"
name = "social.coop"
issuer = "https://id.social.coop/realms/coops"
client_id = "plenary"
client_secret = "s3cret-value"

[[sso.rules]]
group = "/social.coop"
org = "social.coop"

[[sso.rules]]
group = "/social.coop/admins"
org = "social.coop"
role = "admin"

[[sso.rules]]
default = true
org = "Guests"
"#,
        )
        .unwrap();
        s.validate().unwrap();
        let p = &s.sso[0];
        assert!(p.admin_groups.is_empty());
        assert_eq!(p.scopes, ["email", "profile"]);
        assert_eq!(p.groups_claim, "groups");
        assert_eq!(p.rules.len(), 3);
        assert_eq!(p.rules[0].role, OrgRole::Member);
        assert_eq!(p.rules[1].role, OrgRole::Admin);
        assert!(!format!("{s:?}").contains("s3cret"));
        // The file round-trips (`default-config` style output parses again).
        let again = Settings::from_toml(&toml::to_string(&s).unwrap()).unwrap();
        assert_eq!(again.sso[0].rules, p.rules);

        let bad = |text: &str| {
            let s = Settings::from_toml(text);
            match s {
                Err(_) => true,
                Ok(s) => s.validate().is_err(),
            }
        };
        let head = "[[sso]]\nname = \"X\"\nissuer = \"https://x\"\nclient_id = \"c\"\n";
        assert!(bad(&format!("{head}id = \"Bad Id\"\n")));
        assert!(bad(&format!("{head}id = \"ok\"\nissuer2 = 1\n")));
        assert!(bad(
            "[[sso]]\nid = \"x\"\nname = \"X\"\nissuer = \"ftp://x\"\nclient_id = \"c\"\n"
        ));
        assert!(bad(&format!(
            "{head}id = \"a\"\n[[sso]]\nid = \"a\"\nname = \"Y\"\nissuer = \"https://y\"\nclient_id = \"c\"\n"
        )));
        // A rule with two conditions, or none, or no organisation.
        for rule in [
            "group = \"/a\"\nemail_domain = \"a.org\"\norg = \"A\"",
            "org = \"A\"",
            "group = \"/a\"\norg = \" \"",
            "group = \"/a\"\norg = \"A\"\nrole = \"owner\"",
        ] {
            assert!(
                bad(&format!("{head}id = \"a\"\n[[sso.rules]]\n{rule}\n")),
                "{rule}"
            );
        }
        // Platform admins from groups; an empty group name is refused.
        let s =
            Settings::from_toml(&format!("{head}id = \"a\"\nadmin_groups = [\"/ops\"]\n")).unwrap();
        s.validate().unwrap();
        assert_eq!(s.sso[0].admin_groups, ["/ops"]);
        assert!(bad(&format!("{head}id = \"a\"\nadmin_groups = [\" \"]\n")));
    }

    #[test]
    fn default_config_round_trips() {
        let s = Settings::from_toml(&Settings::default_toml()).unwrap();
        assert_eq!(s.listen, Settings::default().listen);
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let s = Settings {
            secret: Some(Secret("correct horse battery staple".into())),
            database_url: Some("postgres://ada:hunter2@db/plenary".into()),
            ..Default::default()
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("horse"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("postgres://ada:…@db/plenary"), "{shown}");
    }
}
