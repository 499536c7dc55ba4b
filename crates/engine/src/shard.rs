//! One shard of the media engine: a thread of its own running a single-threaded runtime that
//! owns one UDP socket (read and written in batches), its ICE-TCP listener, a timer and one
//! [`Sfu`]. Rooms are pinned to a shard, so a shard never needs another's state; the shards
//! share only the traffic counters.

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use plenary_media::{Forwarding, ParticipantId, RoomId, Sfu, SfuEvent, SfuOutput, Transport};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::batch::{RecvBatch, SendBatch};
use crate::{Command, Counters, EventSender, RecordingSink, tcp};

/// Receive batches taken in a row before what they produced is sent.
const BATCHES_PER_TURN: usize = 8;

pub(crate) async fn run(
    socket: UdpSocket,
    mut tcp: Option<tcp::Tcp>,
    mut sfu: Sfu,
    mut commands: mpsc::Receiver<Command>,
    counters: Arc<Counters>,
) {
    let mut listeners: HashMap<ParticipantId, EventSender> = HashMap::new();
    let mut recorders: HashMap<RoomId, RecordingSink> = HashMap::new();
    let mut inbox = RecvBatch::new();
    let mut outbox = SendBatch::new();
    let fd = socket.as_raw_fd();
    let mut deadline = Instant::now();
    // This shard's share of the participants gauge (sessions also end on their own).
    let mut counted: i64 = 0;
    loop {
        let sleep = tokio::time::sleep_until(deadline.into());
        let tcp_event = async {
            match tcp.as_mut() {
                Some(t) => t.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ready = socket.readable() => match ready {
                Ok(()) => {
                    for _ in 0..BATCHES_PER_TURN {
                        match socket.try_io(Interest::READABLE, || inbox.recv(fd)) {
                            Ok(n) => {
                                let now = Instant::now();
                                for i in 0..n {
                                    let (contents, source) = inbox.datagram(i);
                                    Counters::add(&counters.packets_received, 1);
                                    Counters::add(&counters.bytes_received, contents.len() as u64);
                                    sfu.handle_receive(now, Transport::Udp, source, contents);
                                }
                                if n < crate::batch::BATCH {
                                    break;
                                }
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                            // ICMP "port unreachable" from a peer that left surfaces here on
                            // Linux; it concerns that peer only.
                            Err(e) => {
                                tracing::debug!(error = %e, "UDP receive failed");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::debug!(error = %e, "UDP socket not readable"),
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
                Some(c) => handle_command(&mut sfu, &mut listeners, c),
                None => break,
            },
            () = sleep => sfu.handle_timeout(Instant::now()),
        }
        let out = Outlets {
            tcp: tcp.as_ref(),
            recorders: &recorders,
            counters: &counters,
        };
        deadline = flush(&mut sfu, &out, &mut outbox, &mut listeners);
        send(&socket, &mut outbox, &counters).await;
        let now_counted = sfu.participant_count() as i64;
        adjust(&counters.participants, now_counted - counted);
        counted = now_counted;
    }
    adjust(&counters.participants, -counted);
    tracing::info!("media engine shard stopped");
}

/// Sends the batch; when the socket's buffer is full, waits for room (briefly: a shard that
/// cannot send must still receive) and goes on, dropping what still does not fit.
async fn send(socket: &UdpSocket, outbox: &mut SendBatch, counters: &Counters) {
    let fd = socket.as_raw_fd();
    for attempt in 0..3 {
        let sent = outbox.flush(fd);
        Counters::add(&counters.packets_sent, sent.packets);
        Counters::add(&counters.bytes_sent, sent.bytes);
        Counters::add(&counters.send_errors, sent.errors);
        if !outbox.is_blocked() || attempt == 2 {
            break;
        }
        // The datagrams went through the raw socket: tell tokio it would block, so that
        // `writable` waits for room rather than answering at once.
        let _ = socket.try_io(Interest::WRITABLE, || {
            Err::<(), _>(std::io::Error::from(std::io::ErrorKind::WouldBlock))
        });
        let wait = tokio::time::timeout(std::time::Duration::from_millis(2), socket.writable());
        if wait.await.is_err() {
            break;
        }
    }
    Counters::add(&counters.send_errors, outbox.drop_blocked());
}

/// Adds `delta` (possibly negative) to a gauge shared by the shards.
fn adjust(gauge: &std::sync::atomic::AtomicU64, delta: i64) {
    if delta > 0 {
        gauge.fetch_add(delta as u64, Ordering::Relaxed);
    } else if delta < 0 {
        gauge.fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
    }
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
            let tiles: Vec<_> = tiles.into_iter().map(|(p, s, v)| (p, s, Some(v))).collect();
            sfu.set_views(now, id, &tiles);
        }
        Command::Stats { id, reply } => {
            let _ = reply.send(sfu.participant_stats(id));
        }
        Command::Loss { reply } => {
            let (sum, measured) = sfu.loss_total();
            let _ = reply.send((measured > 0).then_some((sum, measured)));
        }
        // Handled by the task itself (it keeps the recorders).
        Command::Record { .. } => {}
    }
}

/// Where the SFU's outputs go (datagrams into the shard's send batch).
struct Outlets<'a> {
    tcp: Option<&'a tcp::Tcp>,
    recorders: &'a HashMap<RoomId, RecordingSink>,
    counters: &'a Counters,
}

/// Sends what the SFU produced and routes its events; returns when to wake it next.
fn flush(
    sfu: &mut Sfu,
    out: &Outlets<'_>,
    outbox: &mut SendBatch,
    listeners: &mut HashMap<ParticipantId, EventSender>,
) -> Instant {
    let (tcp, counters) = (out.tcp, out.counters);
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
            SfuOutput::Transmit(t) => outbox.push(t.destination, t.contents),
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
