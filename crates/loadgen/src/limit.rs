//! The machine's limit: the least any SFU must pay per forwarded packet here. A minimal
//! forwarder receives batches of encrypted packets (recvmmsg), decrypts each once
//! (AES-128-GCM, as SRTP's AEAD profile), encrypts a copy per subscriber with that
//! subscriber's key, and sends the copies in batches (sendmmsg). No signalling, no RTCP, no
//! jitter buffer, no pacing: a cost floor, measured as CPU time of the forwarding thread.

use std::io::{IoSlice, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use aws_lc_rs::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrIn, recvmmsg, sendmmsg};

/// An RTP header's worth of authenticated, unencrypted bytes, as in SRTP.
const HEADER: usize = 12;
/// A VP8-sized payload.
const PAYLOAD: usize = 1100;
const TAG: usize = 16;
const PACKET: usize = HEADER + PAYLOAD + TAG;
const BATCH: usize = 32;

/// What the probe measured.
#[derive(Debug, Clone, Copy)]
pub struct LimitResult {
    pub fanout: usize,
    /// Packets sent by the forwarder.
    pub forwarded: u64,
    /// Forwarding-thread CPU-seconds.
    pub cpu_seconds: f64,
    pub us_per_packet: f64,
    pub packets_per_cpu_second: f64,
}

fn key(byte: u8) -> anyhow::Result<LessSafeKey> {
    let k = UnboundKey::new(&AES_128_GCM, &[byte; 16]).map_err(|_| anyhow::anyhow!("bad key"))?;
    Ok(LessSafeKey::new(k))
}

fn nonce(seq: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&seq.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

/// Runs the probe for `duration` with each packet forwarded to `fanout` subscribers.
pub fn probe(fanout: usize, duration: Duration) -> anyhow::Result<LimitResult> {
    let forwarder = UdpSocket::bind("127.0.0.1:0")?;
    let forwarder_addr = forwarder.local_addr()?;
    // Subscribers: each drained by a thread blocked in recvmmsg, as real receivers wait in
    // epoll; on loopback the sender pays for waking them, as Plenary does in the benchmark.
    let subscribers: Vec<UdpSocket> = (0..fanout)
        .map(|_| UdpSocket::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()?;
    let sub_addrs: Vec<SockaddrIn> = subscribers
        .iter()
        .map(|s| to_sockaddr(s.local_addr()?))
        .collect::<anyhow::Result<_>>()?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut sinks = Vec::new();
    for sub in subscribers {
        let stop = stop.clone();
        sub.set_read_timeout(Some(Duration::from_millis(100)))?;
        sinks.push(std::thread::spawn(move || {
            let mut bufs = vec![[0u8; 1500]; BATCH];
            let mut headers = MultiHeaders::<SockaddrIn>::preallocate(BATCH, None);
            while !stop.load(Ordering::Relaxed) {
                let mut iovs: Vec<[IoSliceMut<'_>; 1]> =
                    bufs.iter_mut().map(|b| [IoSliceMut::new(b)]).collect();
                let flags = MsgFlags::MSG_WAITFORONE;
                let _ = recvmmsg(sub.as_raw_fd(), &mut headers, &mut iovs, flags, None)
                    .map(|r| r.count());
            }
        }));
    }

    // The publisher: blasts pre-encrypted packets as fast as it can.
    let blaster = {
        let stop = stop.clone();
        std::thread::spawn(move || -> anyhow::Result<()> {
            let sock = UdpSocket::bind("127.0.0.1:0")?;
            let k = key(1)?;
            let mut packets = vec![[0u8; PACKET]; BATCH];
            for (i, p) in packets.iter_mut().enumerate() {
                let (head, rest) = p.split_at_mut(HEADER);
                head[0] = 0x80;
                let tag = k
                    .seal_in_place_separate_tag(
                        nonce(i as u64),
                        Aad::from(&*head),
                        &mut rest[..PAYLOAD],
                    )
                    .map_err(|_| anyhow::anyhow!("seal"))?;
                rest[PAYLOAD..].copy_from_slice(tag.as_ref());
            }
            let dest = [Some(to_sockaddr(forwarder_addr)?); BATCH];
            let mut headers = MultiHeaders::<SockaddrIn>::preallocate(BATCH, None);
            while !stop.load(Ordering::Relaxed) {
                let iovs: Vec<[IoSlice<'_>; 1]> =
                    packets.iter().map(|p| [IoSlice::new(p)]).collect();
                let _ = sendmmsg(
                    sock.as_raw_fd(),
                    &mut headers,
                    &iovs,
                    dest,
                    [],
                    MsgFlags::empty(),
                );
            }
            Ok(())
        })
    };

    forwarder.set_read_timeout(Some(Duration::from_millis(100)))?;
    let k_in = key(1)?;
    let k_out: Vec<LessSafeKey> = (0..fanout)
        .map(|i| key(10 + i as u8))
        .collect::<anyhow::Result<_>>()?;
    let mut rx = vec![[0u8; 1500]; BATCH];
    let mut tx = vec![[0u8; PACKET]; BATCH];
    let mut tx_dest: Vec<Option<SockaddrIn>> = vec![None; BATCH];
    let mut rx_headers = MultiHeaders::<SockaddrIn>::preallocate(BATCH, None);
    let mut tx_headers = MultiHeaders::<SockaddrIn>::preallocate(BATCH, None);
    let mut forwarded: u64 = 0;
    let mut seq: u64 = 0;

    let cpu0 = thread_cpu_micros()?;
    let start = Instant::now();
    while start.elapsed() < duration {
        let mut lens = [0usize; BATCH];
        {
            let mut iovs: Vec<[IoSliceMut<'_>; 1]> =
                rx.iter_mut().map(|b| [IoSliceMut::new(b)]).collect();
            let Ok(results) = recvmmsg(
                forwarder.as_raw_fd(),
                &mut rx_headers,
                &mut iovs,
                MsgFlags::MSG_WAITFORONE,
                None,
            ) else {
                continue;
            };
            for (i, r) in results.enumerate() {
                lens[i] = r.bytes;
            }
        }
        let mut queued = 0;
        for (buf, len) in rx.iter_mut().zip(lens).filter(|(_, l)| *l == PACKET) {
            let (head, body) = buf[..len].split_at_mut(HEADER);
            // The receive side: one decryption per incoming packet.
            if k_in
                .open_in_place(nonce(seq % BATCH as u64), Aad::from(&*head), body)
                .is_err()
            {
                continue;
            }
            seq += 1;
            for (s, k) in k_out.iter().enumerate() {
                // The send side: one encryption per subscriber.
                let out = &mut tx[queued];
                out[..HEADER].copy_from_slice(head);
                out[HEADER..HEADER + PAYLOAD].copy_from_slice(&body[..PAYLOAD]);
                let (oh, ob) = out.split_at_mut(HEADER);
                let tag = k
                    .seal_in_place_separate_tag(nonce(seq), Aad::from(&*oh), &mut ob[..PAYLOAD])
                    .map_err(|_| anyhow::anyhow!("seal"))?;
                ob[PAYLOAD..].copy_from_slice(tag.as_ref());
                tx_dest[queued] = Some(sub_addrs[s]);
                queued += 1;
                if queued == BATCH {
                    forwarded += send_batch(&forwarder, &mut tx_headers, &tx, &tx_dest, queued);
                    queued = 0;
                }
            }
        }
        if queued > 0 {
            forwarded += send_batch(&forwarder, &mut tx_headers, &tx, &tx_dest, queued);
        }
    }
    let cpu_us = thread_cpu_micros()? - cpu0;
    stop.store(true, Ordering::Relaxed);
    blaster
        .join()
        .map_err(|_| anyhow::anyhow!("blaster panicked"))??;
    for sink in sinks {
        let _ = sink.join();
    }
    let cpu_seconds = cpu_us as f64 / 1e6;
    Ok(LimitResult {
        fanout,
        forwarded,
        cpu_seconds,
        us_per_packet: cpu_us as f64 / forwarded.max(1) as f64,
        packets_per_cpu_second: forwarded as f64 / cpu_seconds,
    })
}

fn send_batch(
    sock: &UdpSocket,
    headers: &mut MultiHeaders<SockaddrIn>,
    tx: &[[u8; PACKET]],
    dest: &[Option<SockaddrIn>],
    n: usize,
) -> u64 {
    let iovs: Vec<[IoSlice<'_>; 1]> = tx[..n].iter().map(|p| [IoSlice::new(p)]).collect();
    match sendmmsg(
        sock.as_raw_fd(),
        headers,
        &iovs,
        &dest[..n],
        [],
        MsgFlags::empty(),
    ) {
        Ok(results) => results.count() as u64,
        Err(_) => 0,
    }
}

fn to_sockaddr(a: SocketAddr) -> anyhow::Result<SockaddrIn> {
    match a {
        SocketAddr::V4(v4) => Ok(SockaddrIn::from(v4)),
        SocketAddr::V6(_) => anyhow::bail!("IPv4 only"),
    }
}

/// CPU time of the calling thread, in microseconds (`/proc/thread-self/schedstat`, ns).
fn thread_cpu_micros() -> anyhow::Result<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    let ns: u64 = s
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .context("schedstat")?;
    Ok(ns / 1000)
}
