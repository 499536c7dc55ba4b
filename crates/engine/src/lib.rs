//! The async shell around the sans-IO SFU: one task owns the UDP socket, the timer and the
//! [`Sfu`], and takes commands from signalling tasks over a channel. The core never sees a
//! socket or a clock; this is the only place that reads `Instant::now()` for media.
//!
//! When UDP is blocked, browsers reach the same port over TCP (ICE-TCP, RFC 6544): the engine
//! accepts those connections ([`tcp`]), one small task per connection reads and writes its
//! RFC 4571 frames, and the packets go through the same task and [`Sfu`] as datagrams do.

mod tcp;

pub use tcp::MAX_PER_IP as MAX_TCP_PER_IP;

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use plenary_media::{
    Forwarding, MediaError, ParticipantId, ParticipantStats, RecordedFrame, RoomId, Sfu, SfuConfig,
    SfuEvent, SfuOutput, TileView, TrackSource, Transport,
};
use tokio::net::{TcpListener, UdpSocket};
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
    Loss {
        reply: oneshot::Sender<Option<f32>>,
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

/// A handle on the media engine task; cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    commands: mpsc::Sender<Command>,
    /// The UDP address media is received on.
    pub local_addr: SocketAddr,
    /// Traffic counters, updated by the engine task, read by `/metrics`.
    pub counters: Arc<Counters>,
}

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
    /// Starts the engine on `socket`; `config` announces the public IP and the socket's port
    /// as its ICE candidate. With `tcp` (a listener on the same port), ICE-TCP connections are
    /// accepted there too, and `config.tcp` is set so the SFU announces it. The task ends when
    /// every handle is dropped.
    pub fn start(
        socket: UdpSocket,
        tcp: Option<TcpListener>,
        mut config: SfuConfig,
    ) -> Result<Self, MediaError> {
        let local_addr = socket
            .local_addr()
            .map_err(|e| MediaError::Startup(e.to_string()))?;
        config.tcp = tcp.is_some();
        let sfu = Sfu::new(config, Instant::now())?;
        let (commands, rx) = mpsc::channel(1024);
        let counters = Arc::new(Counters::default());
        let tcp = tcp.map(|l| tcp::Tcp::new(l, counters.clone()));
        tokio::spawn(run(Arc::new(socket), tcp, sfu, rx, counters.clone()));
        Ok(Self {
            commands,
            local_addr,
            counters,
        })
    }

    async fn call<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.ok()?;
        rx.await.ok()
    }

    pub async fn add(
        &self,
        id: ParticipantId,
        room: RoomId,
        events: EventSender,
    ) -> Result<(), MediaError> {
        self.call(|reply| Command::Add {
            id,
            room,
            events,
            reply,
        })
        .await
        .unwrap_or_else(|| Err(stopped()))
    }

    pub async fn offer(&self, id: ParticipantId, sdp: String) -> Result<String, MediaError> {
        self.call(|reply| Command::Offer { id, sdp, reply })
            .await
            .unwrap_or_else(|| Err(stopped()))
    }

    pub async fn answer(&self, id: ParticipantId, sdp: String) -> Result<(), MediaError> {
        self.call(|reply| Command::Answer { id, sdp, reply })
            .await
            .unwrap_or_else(|| Err(stopped()))
    }

    /// What of `id`'s media is forwarded, to whom. A participant starts with nothing
    /// forwarded ([`Forwarding::CLOSED`]) until this is set.
    pub async fn set_forwarding(&self, id: ParticipantId, forwarding: Forwarding) {
        let _ = self
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
        let _ = self.commands.send(Command::View { id, tiles }).await;
    }

    pub async fn remove(&self, id: ParticipantId) {
        let _ = self.commands.send(Command::Remove { id }).await;
    }

    /// Starts handing `room`'s frames to `to` (everything everyone receives), or stops.
    pub async fn record(&self, room: RoomId, to: Option<RecordingSink>) {
        let _ = self.commands.send(Command::Record { room, to }).await;
    }

    pub async fn stats(&self, id: ParticipantId) -> Option<ParticipantStats> {
        self.call(|reply| Command::Stats { id, reply })
            .await
            .flatten()
    }

    /// The participants' mean packet loss (each one's worse direction), of those measured.
    pub async fn mean_loss(&self) -> Option<f32> {
        self.call(|reply| Command::Loss { reply }).await.flatten()
    }
}

fn stopped() -> MediaError {
    MediaError::Startup("the media engine has stopped".into())
}

async fn run(
    socket: Arc<UdpSocket>,
    mut tcp: Option<tcp::Tcp>,
    mut sfu: Sfu,
    mut commands: mpsc::Receiver<Command>,
    counters: Arc<Counters>,
) {
    let mut listeners: HashMap<ParticipantId, EventSender> = HashMap::new();
    let mut recorders: HashMap<RoomId, RecordingSink> = HashMap::new();
    let mut buf = vec![0u8; 2048];
    let mut deadline = Instant::now();
    loop {
        let sleep = tokio::time::sleep_until(deadline.into());
        let tcp_event = async {
            match tcp.as_mut() {
                Some(t) => t.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            received = socket.recv_from(&mut buf) => match received {
                Ok((n, source)) => {
                    Counters::add(&counters.packets_received, 1);
                    Counters::add(&counters.bytes_received, n as u64);
                    sfu.handle_receive(Instant::now(), Transport::Udp, source, &buf[..n]);
                }
                // ICMP "port unreachable" from a peer that left surfaces here on Linux; it
                // concerns that peer only.
                Err(e) => tracing::debug!(error = %e, "UDP receive failed"),
            },
            packet = tcp_event => if let Some((source, contents)) = packet {
                Counters::add(&counters.packets_received, 1);
                Counters::add(&counters.bytes_received, contents.len() as u64);
                let now = Instant::now();
                if sfu.handle_receive(now, Transport::Tcp, source, &contents)
                    && let Some(tcp) = tcp.as_mut()
                {
                    tcp.taken(source, now);
                }
            },
            command = commands.recv() => match command {
                Some(Command::Record { room, to }) => {
                    sfu.set_recording(Instant::now(), &room, to.is_some());
                    match to {
                        Some(to) => recorders.insert(room, to),
                        None => recorders.remove(&room),
                    };
                }
                Some(c) => {
                    handle_command(&mut sfu, &mut listeners, c);
                    counters.participants.store(sfu.participant_count() as u64, Ordering::Relaxed);
                }
                None => break,
            },
            () = sleep => sfu.handle_timeout(Instant::now()),
        }
        let out = Outlets {
            socket: &socket,
            tcp: tcp.as_ref(),
            recorders: &recorders,
            counters: &counters,
        };
        deadline = flush(&mut sfu, &out, &mut listeners);
    }
    tracing::info!("media engine stopped");
}

fn handle_command(sfu: &mut Sfu, listeners: &mut HashMap<ParticipantId, EventSender>, c: Command) {
    let now = Instant::now();
    match c {
        Command::Add {
            id,
            room,
            events,
            reply,
        } => {
            let r = sfu.add_participant(now, id, room);
            if r.is_ok() {
                sfu.set_forwarding(now, id, Forwarding::CLOSED);
                listeners.insert(id, events);
            }
            let _ = reply.send(r);
        }
        Command::Offer { id, sdp, reply } => {
            let _ = reply.send(sfu.handle_offer(now, id, &sdp));
        }
        Command::Answer { id, sdp, reply } => {
            let _ = reply.send(sfu.handle_answer(now, id, &sdp));
        }
        Command::Remove { id } => {
            sfu.remove_participant(now, id);
            listeners.remove(&id);
        }
        Command::Forwarding { id, forwarding } => sfu.set_forwarding(now, id, forwarding),
        Command::View { id, tiles } => {
            for (publisher, source, view) in tiles {
                sfu.set_view(now, id, publisher, source, Some(view));
            }
        }
        Command::Stats { id, reply } => {
            let _ = reply.send(sfu.participant_stats(id));
        }
        Command::Loss { reply } => {
            let _ = reply.send(sfu.mean_loss());
        }
        // Handled by the task itself (it keeps the recorders).
        Command::Record { .. } => {}
    }
}

/// Where the SFU's outputs go.
struct Outlets<'a> {
    socket: &'a UdpSocket,
    tcp: Option<&'a tcp::Tcp>,
    recorders: &'a HashMap<RoomId, RecordingSink>,
    counters: &'a Counters,
}

/// Sends what the SFU produced and routes its events; returns when to wake it next.
fn flush(
    sfu: &mut Sfu,
    out: &Outlets<'_>,
    listeners: &mut HashMap<ParticipantId, EventSender>,
) -> Instant {
    let (socket, tcp, counters) = (out.socket, out.tcp, out.counters);
    loop {
        match sfu.poll_output() {
            SfuOutput::Recorded(frame) => {
                let taken = out
                    .recorders
                    .get(&frame.room)
                    .is_some_and(|to| to.try_send(frame).is_ok());
                if !taken {
                    Counters::add(&counters.recording_dropped, 1);
                }
            }
            SfuOutput::Transmit(t) if t.transport == Transport::Tcp => {
                let sent = tcp.is_some_and(|tcp| tcp.send(t.destination, t.contents));
                if !sent {
                    Counters::add(&counters.send_errors, 1);
                }
            }
            SfuOutput::Transmit(t) => {
                match socket.try_send_to(&t.contents, t.destination) {
                    Ok(n) => {
                        Counters::add(&counters.packets_sent, 1);
                        Counters::add(&counters.bytes_sent, n as u64);
                    }
                    Err(e) => {
                        Counters::add(&counters.send_errors, 1);
                        // UDP may drop; a full buffer or an unreachable (e.g. IPv6) candidate
                        // must not stop the engine. NACK and keyframe requests recover.
                        if e.kind() != ErrorKind::WouldBlock {
                            tracing::debug!(to = %t.destination, error = %e, "UDP send failed");
                        }
                    }
                }
            }
            SfuOutput::Event(e) => {
                let id = event_participant(&e);
                let gone = matches!(e, SfuEvent::Disconnected { .. });
                if let Some(tx) = listeners.get(&id) {
                    let _ = tx.send(e);
                }
                if gone {
                    listeners.remove(&id);
                }
            }
            SfuOutput::Timeout(t) => return t,
        }
    }
}

fn event_participant(e: &SfuEvent) -> ParticipantId {
    match e {
        SfuEvent::Offer { participant, .. }
        | SfuEvent::TrackAdded { participant, .. }
        | SfuEvent::TrackRemoved { participant, .. }
        | SfuEvent::Connected { participant }
        | SfuEvent::Speaking { participant, .. }
        | SfuEvent::Disconnected { participant } => *participant,
    }
}
