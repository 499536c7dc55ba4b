//! The shell around the sans-IO SFU, sharded across cores: each shard is a thread owning one
//! UDP socket (read and written in batches of datagrams), a timer and one [`Sfu`], and takes
//! commands from signalling tasks over a channel; a room is pinned to one shard, so shards
//! share nothing but counters ([`shard`]). The core never sees a socket or a clock; this is
//! the only place that reads `Instant::now()` for media.
//!
//! When UDP is blocked, browsers reach the same port over TCP (ICE-TCP, RFC 6544): the engine
//! accepts those connections ([`tcp`]), one small task per connection reads and writes its
//! RFC 4571 frames, and the packets go through the same shard and [`Sfu`] as datagrams do.

mod batch;
mod shard;
mod tcp;

pub use tcp::MAX_PER_IP as MAX_TCP_PER_IP;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use plenary_media::{
    Forwarding, MediaError, ParticipantId, ParticipantStats, RecordedFrame, RoomId, Sfu, SfuConfig,
    SfuEvent, TileView, TrackSource,
};
use tokio::sync::{mpsc, oneshot};

/// Events the engine sends to one participant's signalling task.
pub type EventSender = mpsc::UnboundedSender<SfuEvent>;

enum Command {
    Add {
        id: ParticipantId,
        room: RoomId,
        events: EventSender,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    Offer {
        id: ParticipantId,
        sdp: String,
        reply: oneshot::Sender<Result<String, MediaError>>,
    },
    Answer {
        id: ParticipantId,
        sdp: String,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    Remove {
        id: ParticipantId,
    },
    Forwarding {
        id: ParticipantId,
        forwarding: Forwarding,
    },
    Stats {
        id: ParticipantId,
        reply: oneshot::Sender<Option<ParticipantStats>>,
    },
    /// A shard's summed loss and how many participants it is over (those measured).
    Loss {
        reply: oneshot::Sender<Option<(f32, usize)>>,
    },
    Record {
        room: RoomId,
        to: Option<RecordingSink>,
    },
    View {
        id: ParticipantId,
        tiles: Vec<(ParticipantId, TrackSource, TileView)>,
    },
}

/// Where a recorded room's frames go (a recorder task writing the files). Bounded: a recorder
/// that falls behind loses frames (counted), the meeting never waits for it.
pub type RecordingSink = mpsc::Sender<RecordedFrame>;

/// A handle on the media engine's shards; cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    shards: Arc<[Shard]>,
    /// Which shard holds each participant (the shard of their room).
    placed: Arc<Mutex<HashMap<ParticipantId, usize>>>,
    /// The UDP address media is received on (the first shard's; see [`Engine::local_addrs`]).
    pub local_addr: SocketAddr,
    /// Traffic counters, updated by the shards, read by `/metrics`.
    pub counters: Arc<Counters>,
}

#[derive(Debug)]
struct Shard {
    commands: mpsc::Sender<Command>,
    addr: SocketAddr,
}

/// One shard's sockets: UDP, and the ICE-TCP listener on the same port if any.
pub type ShardSockets = (std::net::UdpSocket, Option<std::net::TcpListener>);

/// Cumulative UDP traffic of the media engine.
#[derive(Debug, Default)]
pub struct Counters {
    pub packets_received: AtomicU64,
    pub bytes_received: AtomicU64,
    pub packets_sent: AtomicU64,
    pub bytes_sent: AtomicU64,
    /// Packets that could not be sent (socket buffer full, unreachable address, a TCP
    /// connection gone or too far behind).
    pub send_errors: AtomicU64,
    pub participants: AtomicU64,
    /// Open ICE-TCP connections.
    pub tcp_connections: AtomicU64,
    /// Frames of recorded rooms the recorder could not take (it fell behind).
    pub recording_dropped: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        // Relaxed: independent monotonic counters, read only for reporting.
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

impl Engine {
    /// Starts one shard per entry of `sockets`, each on a thread of its own; `config` is the
    /// SFU's, with the public IP to announce: each shard announces its own socket's port.
    /// With a TCP listener (on the same port), ICE-TCP connections are accepted there too and
    /// announced. The shards end when every handle is dropped.
    pub fn start(sockets: Vec<ShardSockets>, config: SfuConfig) -> Result<Self, MediaError> {
        if sockets.is_empty() {
            return Err(MediaError::Startup("no media socket".into()));
        }
        let counters = Arc::new(Counters::default());
        let budget = Arc::new(tcp::TcpBudget::new());
        let mut shards = Vec::with_capacity(sockets.len());
        for (i, (udp, tcp)) in sockets.into_iter().enumerate() {
            let local = udp
                .local_addr()
                .map_err(|e| MediaError::Startup(e.to_string()))?;
            let mut config = config.clone();
            config.candidate_addr.set_port(local.port());
            config.tcp = tcp.is_some();
            let sfu = Sfu::new(config, Instant::now())?;
            let (commands, rx) = mpsc::channel(1024);
            let counters = counters.clone();
            let budget = budget.clone();
            udp.set_nonblocking(true)
                .map_err(|e| MediaError::Startup(e.to_string()))?;
            if let Some(t) = &tcp {
                t.set_nonblocking(true)
                    .map_err(|e| MediaError::Startup(e.to_string()))?;
            }
            std::thread::Builder::new()
                .name(format!("media-{i}"))
                .spawn(move || {
                    let runtime = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::error!(error = %e, "media shard cannot start");
                            return;
                        }
                    };
                    runtime.block_on(async move {
                        let udp = match tokio::net::UdpSocket::from_std(udp) {
                            Ok(u) => u,
                            Err(e) => {
                                tracing::error!(error = %e, "media shard cannot use its socket");
                                return;
                            }
                        };
                        let tcp = tcp
                            .and_then(|t| tokio::net::TcpListener::from_std(t).ok())
                            .map(|l| tcp::Tcp::new(l, counters.clone(), budget));
                        shard::run(udp, tcp, sfu, rx, counters).await;
                    });
                })
                .map_err(|e| MediaError::Startup(format!("cannot start a media thread: {e}")))?;
            shards.push(Shard {
                commands,
                addr: local,
            });
        }
        Ok(Self {
            local_addr: shards[0].addr,
            shards: shards.into(),
            placed: Arc::default(),
            counters,
        })
    }

    /// Every shard's UDP address.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.shards.iter().map(|s| s.addr).collect()
    }

    /// The shard a room is pinned to: a stable hash of its id.
    pub fn shard_of_room(&self, room: &RoomId) -> usize {
        // FNV-1a: the same room lands on the same shard in every process.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in room.as_str().bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        (h % self.shards.len() as u64) as usize
    }

    fn shard_of(&self, id: ParticipantId) -> &Shard {
        let i = self
            .placed
            .lock()
            .ok()
            .and_then(|p| p.get(&id).copied())
            .unwrap_or(0);
        &self.shards[i.min(self.shards.len() - 1)]
    }

    async fn call<T>(shard: &Shard, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        shard.commands.send(make(tx)).await.ok()?;
        rx.await.ok()
    }

    pub async fn add(
        &self,
        id: ParticipantId,
        room: RoomId,
        events: EventSender,
    ) -> Result<(), MediaError> {
        let i = self.shard_of_room(&room);
        let r = Self::call(&self.shards[i], |reply| Command::Add {
            id,
            room,
            events,
            reply,
        })
        .await
        .unwrap_or_else(|| Err(stopped()));
        if r.is_ok()
            && let Ok(mut placed) = self.placed.lock()
        {
            placed.insert(id, i);
        }
        r
    }

    pub async fn offer(&self, id: ParticipantId, sdp: String) -> Result<String, MediaError> {
        Self::call(self.shard_of(id), |reply| Command::Offer { id, sdp, reply })
            .await
            .unwrap_or_else(|| Err(stopped()))
    }

    pub async fn answer(&self, id: ParticipantId, sdp: String) -> Result<(), MediaError> {
        Self::call(self.shard_of(id), |reply| Command::Answer {
            id,
            sdp,
            reply,
        })
        .await
        .unwrap_or_else(|| Err(stopped()))
    }

    /// What of `id`'s media is forwarded, to whom. A participant starts with nothing
    /// forwarded ([`Forwarding::CLOSED`]) until this is set.
    pub async fn set_forwarding(&self, id: ParticipantId, forwarding: Forwarding) {
        let _ = self
            .shard_of(id)
            .commands
            .send(Command::Forwarding { id, forwarding })
            .await;
    }

    /// How `id`'s client shows the others' video: (publisher, source, view) for each tile.
    pub async fn set_view(
        &self,
        id: ParticipantId,
        tiles: Vec<(ParticipantId, TrackSource, TileView)>,
    ) {
        let _ = self
            .shard_of(id)
            .commands
            .send(Command::View { id, tiles })
            .await;
    }

    pub async fn remove(&self, id: ParticipantId) {
        let _ = self
            .shard_of(id)
            .commands
            .send(Command::Remove { id })
            .await;
        if let Ok(mut placed) = self.placed.lock() {
            placed.remove(&id);
        }
    }

    /// Starts handing `room`'s frames to `to` (everything everyone receives), or stops.
    pub async fn record(&self, room: RoomId, to: Option<RecordingSink>) {
        let shard = &self.shards[self.shard_of_room(&room)];
        let _ = shard.commands.send(Command::Record { room, to }).await;
    }

    pub async fn stats(&self, id: ParticipantId) -> Option<ParticipantStats> {
        Self::call(self.shard_of(id), |reply| Command::Stats { id, reply })
            .await
            .flatten()
    }

    /// The participants' mean packet loss (each one's worse direction), of those measured,
    /// over every shard.
    pub async fn mean_loss(&self) -> Option<f32> {
        let mut sum = 0.0;
        let mut n = 0usize;
        for shard in self.shards.iter() {
            if let Some(Some((total, count))) =
                Self::call(shard, |reply| Command::Loss { reply }).await
            {
                sum += total;
                n += count;
            }
        }
        (n > 0).then(|| sum / n as f32)
    }
}

fn stopped() -> MediaError {
    MediaError::Startup("the media engine has stopped".into())
}
