//! ICE-TCP on the media port (RFC 6544, passive side): browsers whose UDP is blocked open a
//! TCP connection to the port the SFU announces, and send each STUN, DTLS or SRTP packet with
//! a two-byte length in front (RFC 4571). One task per connection reads and writes frames; the
//! engine task sees whole packets tagged with the connection's remote address, exactly like
//! datagrams.
//!
//! Limits keep a stranger from holding the port: at most [`MAX_CONNECTIONS`] connections (fewer
//! when the process may open few files), and [`MAX_PER_IP`] from one address (an IPv6 /64
//! counting as one); a connection that no session took a packet from within [`FIRST_PACKET`]
//! (at first) or [`IDLE`] (later) is closed — garbage does not keep it open — as is one
//! announcing a packet larger than any WebRTC packet ([`MAX_PACKET`]). A browser sends ICE
//! consent checks every few seconds, so a live session is never idle that long.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;

use crate::Counters;

pub const MAX_CONNECTIONS: usize = 2048;
/// A co-op office behind one NAT may bring dozens of people, each with one connection.
pub const MAX_PER_IP: usize = 64;
pub const FIRST_PACKET: Duration = Duration::from_secs(10);
pub const IDLE: Duration = Duration::from_secs(30);
/// Larger than any STUN, DTLS or SRTP packet a browser sends (they stay under the path MTU).
pub const MAX_PACKET: usize = 4096;
/// Packets queued for one connection before new ones are dropped (a stalled connection must
/// not grow memory; NACKs and keyframe requests recover, as they do for UDP loss).
const QUEUE: usize = 512;
/// How often connections are looked at for idleness.
const SWEEP_EVERY: Duration = Duration::from_secs(2);

/// Connections allowed: [`MAX_CONNECTIONS`], or a quarter of the files this process may open
/// (the HTTP side, WebSockets and the database need the rest).
fn connection_limit() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse::<usize>().ok())
        })
        .unwrap_or(1024);
    (soft / 4).clamp(16, MAX_CONNECTIONS)
}

struct Conn {
    tx: mpsc::Sender<Vec<u8>>,
    opened: Instant,
    /// When a session last took a packet from this connection.
    last_taken: Option<Instant>,
}

enum Incoming {
    Packet(SocketAddr, Vec<u8>),
    Closed(SocketAddr),
}

/// The connection limits, shared by every shard's listener: the process has one budget of
/// files and one address may hold [`MAX_PER_IP`] connections in all.
#[derive(Debug)]
pub struct TcpBudget {
    limit: usize,
    /// Open connections per address bucket (IPv6 by /64), and in all.
    open: std::sync::Mutex<(HashMap<IpAddr, usize>, usize)>,
}

impl TcpBudget {
    pub fn new() -> Self {
        let limit = connection_limit();
        if limit < MAX_CONNECTIONS {
            tracing::info!(limit, "ICE-TCP connections limited by the open-files limit");
        }
        Self {
            limit,
            open: std::sync::Mutex::new((HashMap::new(), 0)),
        }
    }

    /// Takes a place for a connection from `bucket`, if there is one (`gauge` shows the
    /// total, set while the count is held, so shards cannot overwrite each other's).
    fn take(&self, bucket: IpAddr, gauge: &std::sync::atomic::AtomicU64) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let from_ip = open.0.get(&bucket).copied().unwrap_or(0);
        if open.1 >= self.limit || from_ip >= MAX_PER_IP {
            return false;
        }
        *open.0.entry(bucket).or_default() += 1;
        open.1 += 1;
        gauge.store(open.1 as u64, Ordering::Relaxed);
        true
    }

    /// Gives a place back.
    fn give_back(&self, bucket: IpAddr, gauge: &std::sync::atomic::AtomicU64) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.0.get_mut(&bucket) {
            *n -= 1;
            if *n == 0 {
                open.0.remove(&bucket);
            }
            open.1 = open.1.saturating_sub(1);
        }
        gauge.store(open.1 as u64, Ordering::Relaxed);
    }
}

impl Default for TcpBudget {
    fn default() -> Self {
        Self::new()
    }
}

/// The listener and every open connection, owned by one shard.
pub struct Tcp {
    listener: TcpListener,
    counters: Arc<Counters>,
    budget: Arc<TcpBudget>,
    connections: HashMap<SocketAddr, Conn>,
    sweep: tokio::time::Interval,
    incoming_tx: mpsc::Sender<Incoming>,
    incoming: mpsc::Receiver<Incoming>,
}

impl Tcp {
    pub fn new(listener: TcpListener, counters: Arc<Counters>, budget: Arc<TcpBudget>) -> Self {
        let (incoming_tx, incoming) = mpsc::channel(1024);
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            listener,
            counters,
            budget,
            connections: HashMap::new(),
            sweep,
            incoming_tx,
            incoming,
        }
    }

    /// The next packet from any connection, accepting and closing connections meanwhile.
    /// Cancel-safe: every await is on a cancel-safe call, and state changes between them.
    pub async fn next(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, remote)) => self.open(stream, remote),
                    Err(e) => {
                        // Out of file descriptors, say: wait a moment rather than spin.
                        tracing::warn!(error = %e, "ICE-TCP accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                incoming = self.incoming.recv() => match incoming? {
                    Incoming::Packet(remote, contents) => return Some((remote, contents)),
                    Incoming::Closed(remote) => {
                        // Its task ended (the browser closed it, or it broke): unless a newer
                        // connection from the same address has its place already.
                        if self.connections.get(&remote).is_some_and(|c| c.tx.is_closed()) {
                            self.drop_connection(remote);
                        }
                    }
                },
                _ = self.sweep.tick() => self.close_idle(Instant::now()),
            }
        }
    }

    fn open(&mut self, stream: TcpStream, remote: SocketAddr) {
        let bucket = plenary_proto::net::address_bucket(remote.ip());
        // A reconnecting browser may reuse an address whose old task has not ended yet: it
        // keeps its place.
        if !self.connections.contains_key(&remote)
            && !self.budget.take(bucket, &self.counters.tcp_connections)
        {
            tracing::debug!(%remote, "ICE-TCP connection refused: too many");
            return; // dropping the stream closes it
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let conn = Conn {
            tx,
            opened: Instant::now(),
            last_taken: None,
        };
        self.connections.insert(remote, conn);
        tokio::spawn(connection(stream, remote, self.incoming_tx.clone(), rx));
    }

    /// Forgets a connection; dropping its sender ends its task, which closes the socket.
    fn drop_connection(&mut self, remote: SocketAddr) {
        if self.connections.remove(&remote).is_none() {
            return;
        }
        let bucket = plenary_proto::net::address_bucket(remote.ip());
        self.budget
            .give_back(bucket, &self.counters.tcp_connections);
    }

    /// A session took a packet from `remote`'s connection: it is in use.
    pub fn taken(&mut self, remote: SocketAddr, now: Instant) {
        if let Some(c) = self.connections.get_mut(&remote) {
            c.last_taken = Some(now);
        }
    }

    /// Closes connections no session took anything from for too long.
    fn close_idle(&mut self, now: Instant) {
        let idle: Vec<SocketAddr> = self
            .connections
            .iter()
            .filter(|(_, c)| match c.last_taken {
                Some(t) => now.saturating_duration_since(t) > IDLE,
                None => now.saturating_duration_since(c.opened) > FIRST_PACKET,
            })
            .map(|(a, _)| *a)
            .collect();
        for remote in idle {
            tracing::debug!(%remote, "ICE-TCP connection closed: no session uses it");
            self.drop_connection(remote);
        }
    }

    /// Queues `contents` on the connection from `remote`; false when there is none or it is
    /// too far behind.
    pub fn send(&self, remote: SocketAddr, contents: Vec<u8>) -> bool {
        let n = contents.len() as u64;
        let queued = self
            .connections
            .get(&remote)
            .is_some_and(|c| c.tx.try_send(contents).is_ok());
        if queued {
            Counters::add(&self.counters.packets_sent, 1);
            Counters::add(&self.counters.bytes_sent, n);
        }
        queued
    }
}

/// One connection's life: frames in, frames out, until either side ends or it idles.
async fn connection(
    stream: TcpStream,
    remote: SocketAddr,
    to_engine: mpsc::Sender<Incoming>,
    from_engine: mpsc::Receiver<Vec<u8>>,
) {
    // Media: every packet on its way at once, not held back to fill a segment.
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let ended = tokio::select! {
        r = read_frames(read, remote, &to_engine) => r,
        r = write_frames(write, from_engine) => r,
    };
    if let Err(e) = ended {
        tracing::debug!(%remote, error = %e, "ICE-TCP connection closed");
    }
    let _ = to_engine.send(Incoming::Closed(remote)).await;
}

async fn read_frames(
    mut read: OwnedReadHalf,
    remote: SocketAddr,
    to_engine: &mpsc::Sender<Incoming>,
) -> io::Result<()> {
    let mut wait = FIRST_PACKET;
    loop {
        let packet = timeout(wait, read_frame(&mut read))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "idle"))??;
        wait = IDLE;
        if to_engine
            .send(Incoming::Packet(remote, packet))
            .await
            .is_err()
        {
            return Ok(()); // the engine has stopped
        }
    }
}

/// One RFC 4571 frame: a big-endian u16 length, then that many bytes.
pub async fn read_frame(read: &mut (impl AsyncReadExt + Unpin)) -> io::Result<Vec<u8>> {
    let len = read.read_u16().await? as usize;
    if len == 0 || len > MAX_PACKET {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a {len}-byte packet"),
        ));
    }
    let mut packet = vec![0; len];
    read.read_exact(&mut packet).await?;
    Ok(packet)
}

async fn write_frames(
    write: OwnedWriteHalf,
    mut from_engine: mpsc::Receiver<Vec<u8>>,
) -> io::Result<()> {
    let mut write = BufWriter::new(write);
    while let Some(packet) = from_engine.recv().await {
        let Ok(len) = u16::try_from(packet.len()) else {
            continue; // cannot be framed; str0m never makes one this large
        };
        write.write_u16(len).await?;
        write.write_all(&packet).await?;
        // Whatever else is already queued goes in the same write.
        if from_engine.is_empty() {
            write.flush().await?;
        }
    }
    Ok(()) // the engine closed this connection
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_are_read_whole_across_partial_reads() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            // Two packets, split at awkward places.
            let bytes = [0u8, 3, b'a', b'b', b'c', 0, 2, b'x', b'y'];
            for chunk in bytes.chunks(2) {
                client.write_all(chunk).await.unwrap();
                tokio::task::yield_now().await;
            }
            client
        });
        assert_eq!(read_frame(&mut server).await.unwrap(), b"abc");
        assert_eq!(read_frame(&mut server).await.unwrap(), b"xy");
        drop(writer.await.unwrap());
        assert!(read_frame(&mut server).await.is_err(), "end of stream");
    }

    #[tokio::test]
    async fn empty_and_oversized_frames_end_the_connection() {
        for len in [0u16, (MAX_PACKET + 1) as u16] {
            let (mut client, mut server) = tokio::io::duplex(64);
            client.write_u16(len).await.unwrap();
            let e = read_frame(&mut server).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{len}");
        }
    }
}
