//! The `plenary` binary's library: settings, the native API and signalling (translation
//! only), the browser client, and the wiring of every crate into one server. `main.rs` only
//! parses the command line.
//!
//! Layering (ARCHITECTURE.md): media ← engine; store ← accounts ← meeting ← bbb, portal and
//! this crate's `api`/`signal`. Tests start the whole server with [`start`] on port 0.

pub mod api;
pub mod metrics;
pub mod recorder;
pub mod settings;
pub mod signal;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use plenary_bbb as bbb;
use plenary_engine::Engine;
use plenary_portal as portal;
use plenary_store::Store;
use tokio::net::TcpListener;

pub use settings::Settings;

/// What the native API, signalling and the client's files reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Arc<dyn Store>,
    pub engine: Engine,
    /// Admission, room creation and the live meetings.
    pub meeting: Arc<plenary_meeting::Service>,
    /// The BigBlueButton-compatible API's state (the API itself only when configured).
    pub bbb: bbb::BbbState,
    /// The rooms portal's state.
    pub portal: portal::PortalState,
    /// Recordings: their rows, files, access and composition.
    pub recordings: Arc<plenary_recordings::Recordings>,
    /// The node's load, runs and recent errors.
    pub status: Arc<plenary_status::Monitor>,
    /// Where meeting clients' call-quality reports go to be kept.
    pub quality: plenary_status::quality::QualityTx,
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let policy = plenary_http::headers::Policy {
        embed_origins: state.settings.embed_origins.clone(),
    };
    Router::new()
        .merge(bbb::router().with_state(state.bbb.clone()))
        .merge(portal::router().with_state(state.portal.clone()))
        .merge(
            Router::new()
                .merge(api::router())
                .merge(signal::router())
                .merge(metrics::router())
                .merge(web::router())
                .with_state(state),
        )
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(axum::middleware::from_fn(move |req, next| {
            plenary_http::headers::add(policy.clone(), req, next)
        }))
}

/// The reason meetings end with when the server stops (the client says it translated).
pub const STOPPING: &str = "server_stopping";

/// A running server, as tests and `serve` see it.
#[derive(Debug)]
pub struct Running {
    pub http_addr: SocketAddr,
    /// The first media thread's UDP address (see `media_addrs`).
    pub media_addr: SocketAddr,
    /// Every media thread's UDP address.
    pub media_addrs: Vec<SocketAddr>,
    pub state: AppState,
    /// `(email, password)` of the admin account made on this first start, to show once.
    pub first_admin: Option<(String, String)>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Waits until the server stops (after the shutdown future given to [`start`] completes).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task
            .await
            .context("server task failed")?
            .context("HTTP server failed")
    }
}

/// The media ports, one per media thread: UDP, and (unless turned off) TCP on the same port
/// number for ICE-TCP. With port 0 free ports are picked; fixed ports (`media_port` + i) must
/// be free for both.
fn bind_media(settings: &Settings) -> anyhow::Result<Vec<plenary_engine::ShardSockets>> {
    let mut shards = Vec::new();
    for i in 0..settings.shard_count() {
        let port = match settings.media_port {
            0 => 0,
            p => p + i as u16,
        };
        shards.push(bind_one(settings, port)?);
    }
    Ok(shards)
}

fn bind_one(settings: &Settings, port: u16) -> anyhow::Result<plenary_engine::ShardSockets> {
    let bind = SocketAddr::new(settings.listen.ip(), port);
    for _attempt in 0..20 {
        let udp = std::net::UdpSocket::bind(bind)
            .with_context(|| format!("cannot bind the media UDP port {bind}"))?;
        if !settings.media_tcp {
            return Ok((udp, None));
        }
        let port = udp.local_addr()?.port();
        match std::net::TcpListener::bind(SocketAddr::new(bind.ip(), port)) {
            Ok(tcp) => return Ok((udp, Some(tcp))),
            // A picked port whose TCP twin is taken: pick another.
            Err(_) if bind.port() == 0 => continue,
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "cannot listen on TCP port {bind} for media over TCP \
                         (PLENARY_MEDIA_TCP=false turns it off)"
                    )
                });
            }
        }
    }
    anyhow::bail!("no free port for media over both UDP and TCP")
}

/// Opens storage, binds the sockets and starts serving. Returns once the server accepts
/// connections; it runs until `shutdown` completes.
pub async fn start(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Running> {
    let sso_providers = settings.sso.clone();
    let settings = Arc::new(settings);
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data folder {}",
            settings.data_dir.display()
        )
    })?;
    let store = plenary_store::open(&settings.database_url())
        .await
        .context("cannot open the database")?;
    let secret = load_or_create_secret(&settings)?;

    let shards = bind_media(&settings)?;
    // Each shard announces its own port on this address.
    let announce = SocketAddr::new(settings.announced_ip(), 0);
    let mut sfu_config = plenary_media::SfuConfig::new(announce);
    sfu_config.resend_history = std::time::Duration::from_millis(settings.resend_history_ms);
    sfu_config.loudest_audio = settings.loudest_audio;
    sfu_config.loudest_above = settings.loudest_above;
    let engine = Engine::start(shards, sfu_config)?;
    let engine_addrs = engine.local_addrs();

    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let http_addr = listener.local_addr()?;
    let bbb = if settings.bbb_secrets.is_empty() {
        None
    } else {
        let registry = bbb::Registry::load(store.clone())
            .await
            .context("cannot load the BigBlueButton API's meetings")?;
        let domain = settings
            .public_url
            .as_deref()
            .and_then(|u| u.split("://").nth(1))
            .map(|h| h.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| http_addr.to_string());
        let hooks = bbb::Hooks::load(store.clone(), domain)
            .await
            .context("cannot load the webhooks")?;
        Some(Arc::new(bbb::Bbb::new(
            settings.bbb_secrets.iter().map(|s| s.0.clone()).collect(),
            settings.bbb_algorithms(),
            registry,
            hooks,
        )))
    };
    let meeting =
        plenary_meeting::Service::start(store.clone(), secret.clone(), settings.meeting())
            .await
            .context("cannot start the meeting service")?;
    let remote = match &settings.recordings_url {
        Some(url) => Some(
            plenary_recordings::remote::Remote::from_url(url)
                .context("cannot use the recordings storage (PLENARY_RECORDINGS_URL)")?,
        ),
        None => None,
    };
    let recordings = plenary_recordings::Recordings::new(
        store.clone(),
        settings.data_dir.join("recordings"),
        derive_key(&secret, "recording links"),
        "ffmpeg".into(),
        remote,
    );
    let status = plenary_status::Monitor::new(
        &settings.node_name,
        &settings.region,
        env!("CARGO_PKG_VERSION"),
    );
    let quality =
        plenary_status::quality::Writer::spawn(store.clone(), settings.quality_retention_days);
    let portal = portal::PortalState {
        settings: Arc::new(portal::PortalSettings {
            public: settings.public(),
            trusted_proxies: settings.trusted_proxies.clone(),
            signup: settings.signup,
        }),
        store: store.clone(),
        meeting: meeting.clone(),
        portal: Arc::new(
            portal::Portal::new(sso_providers, derive_key(&secret, "portal device cookies"))
                .map_err(anyhow::Error::msg)?,
        ),
        recordings: recordings.clone(),
        status: status.clone(),
    };
    let bbb = bbb::BbbState {
        bbb,
        meeting: meeting.clone(),
        public: settings.public(),
        recordings: recordings.clone(),
    };
    let state = AppState {
        settings,
        store,
        engine,
        meeting,
        bbb,
        portal,
        recordings,
        status,
        quality,
    };
    let first_admin = plenary_accounts::bootstrap_admin(&*state.store, &state.settings.admin_email)
        .await
        .context("cannot create the first admin account")?;
    if let Some(b) = &state.bbb.bbb {
        bbb::spawn_background(&state.bbb, b);
    }
    plenary_meeting::length::spawn(state.store.clone(), state.meeting.live.clone());
    state.recordings.set_region(&state.settings.region);
    let ledger = state.settings.usage_ledger.then(|| {
        plenary_usage::Ledger::spawn(
            state.store.clone(),
            &state.meeting.live,
            state
                .settings
                .ledger(derive_key(&secret, "usage pseudonyms")),
        )
    });
    let bbb_api = state.bbb.bbb.clone();
    let meeting_of: recorder::MeetingOf = Arc::new(move |room| {
        let bbb_api = bbb_api.clone();
        Box::pin(async move {
            let s = bbb_api?.registry.session_of_room(&room).await?;
            let meta = serde_json::to_string(&s.metadata).unwrap_or_else(|_| "{}".into());
            Some((s.meeting_id, s.name, meta))
        })
    });
    recorder::spawn(
        state.meeting.live.clone(),
        state.engine.clone(),
        state.recordings.clone(),
        meeting_of,
    );
    plenary_recordings::worker::spawn(state.recordings.clone(), state.settings.recording_workers);
    plenary_recordings::retention::spawn_sweeper(
        state.recordings.clone(),
        state.settings.recording_retention_days.map(i64::from),
    );
    state.meeting.spawn_sweeper();
    state.status.started(&*state.store).await;
    state.status.spawn(
        state.store.clone(),
        state.meeting.capacity.clone(),
        load_source(&state),
    );
    let router = app(state.clone());
    let limits = state.settings.http_limits();
    let (meeting, store, status) = (
        state.meeting.clone(),
        state.store.clone(),
        state.status.clone(),
    );
    let task = tokio::spawn(async move {
        let live = meeting.live.clone();
        let stopping = async move {
            shutdown.await;
            // Everyone is told, and their connections close (freeing their seats).
            live.end_all(STOPPING);
        };
        let served = plenary_http::serve::serve(listener, router, limits, stopping).await;
        // Wait (a little) for the signalling connections to finish their cleanup (freeing their
        // seats), then for the database's statements in flight.
        // (Longer than a send to a client that does not read may take.)
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(12);
        while meeting.live.connections() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // Everyone has left: the usage ledger writes their leaving, then the database closes.
        meeting.live.close_usage();
        if let Some(ledger) = ledger {
            ledger.finish(std::time::Duration::from_secs(10)).await;
        }
        status.stopped(&*store).await;
        store.close().await.map_err(std::io::Error::other)?;
        served
    });
    Ok(Running {
        http_addr,
        media_addr: engine_addrs[0],
        media_addrs: engine_addrs,
        state,
        first_admin,
        task,
    })
}

/// What the load sampler reads: the live meetings and the media engine's counters.
fn load_source(state: &AppState) -> plenary_status::Source {
    let (live, engine) = (state.meeting.live.clone(), state.engine.clone());
    Arc::new(move || {
        let (live, engine) = (live.clone(), engine.clone());
        Box::pin(async move {
            use std::sync::atomic::Ordering::Relaxed;
            let c = &engine.counters;
            plenary_status::Totals {
                meetings: live.meeting_count() as u64,
                participants: live.total() as u64,
                packets_in: c.packets_received.load(Relaxed),
                packets_out: c.packets_sent.load(Relaxed),
                bytes_in: c.bytes_received.load(Relaxed),
                bytes_out: c.bytes_sent.load(Relaxed),
                loss: engine.mean_loss().await,
            }
        })
    })
}

/// A key for one purpose, derived from the server's secret (so it outlives restarts and every
/// node sharing the secret has it).
fn derive_key(secret: &[u8], purpose: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::new()
        .chain_update(purpose.as_bytes())
        .chain_update([0])
        .chain_update(secret)
        .finalize()
        .into()
}

/// The join-token key: from settings, else from `secret` in the data folder, created on
/// first start (readable by the owner only).
fn load_or_create_secret(settings: &Settings) -> anyhow::Result<Arc<[u8]>> {
    if let Some(s) = &settings.secret {
        return Ok(Arc::from(s.0.as_bytes()));
    }
    let path = settings.data_dir.join("secret");
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() >= 32 => return Ok(Arc::from(bytes)),
        Ok(_) => anyhow::bail!(
            "{} is too short to be a secret; delete it to have a new one made",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    let bytes: [u8; 32] = rand::random();
    write_private(&path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a new join-token secret");
    Ok(Arc::from(&bytes[..]))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
