//! Batched UDP I/O: up to [`BATCH`] datagrams per system call each way (`recvmmsg`,
//! `sendmmsg`), so a busy shard spends its time forwarding rather than entering the kernel.
//! The buffers are allocated once per shard.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg};

/// Datagrams per system call.
pub const BATCH: usize = 32;
/// Larger than any datagram a WebRTC peer sends (they keep under the path MTU).
const DATAGRAM: usize = 2048;

pub struct RecvBatch {
    bufs: Vec<[u8; DATAGRAM]>,
    headers: MultiHeaders<SockaddrStorage>,
    /// Buffer, length and source of each datagram of the last [`RecvBatch::recv`].
    got: Vec<(usize, usize, SocketAddr)>,
}

impl RecvBatch {
    pub fn new() -> Self {
        Self {
            bufs: vec![[0; DATAGRAM]; BATCH],
            headers: MultiHeaders::preallocate(BATCH, None),
            got: Vec::with_capacity(BATCH),
        }
    }

    /// Takes what is waiting on `fd` (up to [`BATCH`]) without blocking; WouldBlock when
    /// nothing is.
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        let Self { bufs, headers, got } = self;
        got.clear();
        let mut iovs: Vec<[IoSliceMut<'_>; 1]> =
            bufs.iter_mut().map(|b| [IoSliceMut::new(b)]).collect();
        let results = recvmmsg(fd, headers, &mut iovs, MsgFlags::MSG_DONTWAIT, None)
            .map_err(io::Error::from)?;
        for (i, r) in results.enumerate() {
            // A datagram without a source address (not from a UDP peer) is skipped.
            if let Some(source) = r.address.as_ref().and_then(std_addr) {
                got.push((i, r.bytes, source));
            }
        }
        Ok(got.len())
    }

    /// The `i`-th datagram of the last receive and where it came from.
    pub fn datagram(&self, i: usize) -> (&[u8], SocketAddr) {
        let (buf, len, from) = self.got[i];
        (&self.bufs[buf][..len.min(DATAGRAM)], from)
    }
}

/// What one flush sent.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sent {
    pub packets: u64,
    pub bytes: u64,
    pub errors: u64,
}

pub struct SendBatch {
    headers: MultiHeaders<SockaddrStorage>,
    queue: Vec<(SocketAddr, Vec<u8>)>,
    addrs: Vec<Option<SockaddrStorage>>,
    /// The last flush stopped at a full socket buffer; `queue` holds what is left.
    blocked: bool,
}

impl SendBatch {
    pub fn new() -> Self {
        Self {
            headers: MultiHeaders::preallocate(BATCH, None),
            queue: Vec::with_capacity(BATCH * 4),
            addrs: Vec::with_capacity(BATCH),
            blocked: false,
        }
    }

    /// Whether the last flush left datagrams for want of buffer space.
    pub fn is_blocked(&self) -> bool {
        self.blocked
    }

    /// Gives up what a full buffer kept back; returns how many.
    pub fn drop_blocked(&mut self) -> u64 {
        self.blocked = false;
        let n = self.queue.len() as u64;
        self.queue.clear();
        n
    }

    pub fn push(&mut self, to: SocketAddr, contents: Vec<u8>) {
        self.queue.push((to, contents));
    }

    /// Sends everything queued, [`BATCH`] per call. A full socket buffer stops the flush and
    /// keeps the rest ([`SendBatch::is_blocked`]: the caller waits for room, or drops it);
    /// one bad destination costs only its own datagram (NACKs and keyframe requests recover,
    /// as for loss on the way).
    pub fn flush(&mut self, fd: RawFd) -> Sent {
        let mut sent = Sent::default();
        self.blocked = false;
        let mut queue = std::mem::take(&mut self.queue);
        let mut start = 0;
        while start < queue.len() {
            let chunk = &queue[start..queue.len().min(start + BATCH)];
            self.addrs.clear();
            self.addrs
                .extend(chunk.iter().map(|(to, _)| Some(storage(*to))));
            let iovs: Vec<[IoSlice<'_>; 1]> =
                chunk.iter().map(|(_, c)| [IoSlice::new(c)]).collect();
            let result = sendmmsg(
                fd,
                &mut self.headers,
                &iovs,
                &self.addrs,
                [],
                MsgFlags::MSG_DONTWAIT,
            )
            .map(|r| r.map(|x| x.bytes).collect::<Vec<usize>>());
            match result {
                Ok(lens) if !lens.is_empty() => {
                    sent.packets += lens.len() as u64;
                    sent.bytes += lens.iter().sum::<usize>() as u64;
                    start += lens.len();
                }
                Err(nix::errno::Errno::EAGAIN) | Ok(_) => {
                    self.blocked = true;
                    break;
                }
                Err(e) => {
                    // The first datagram of the chunk was refused (an unreachable address):
                    // skip it and go on.
                    tracing::debug!(to = %chunk[0].0, error = %e, "UDP send failed");
                    sent.errors += 1;
                    start += 1;
                }
            }
        }
        // What is left waits for room; the allocation is kept either way.
        queue.drain(..start);
        self.queue = queue;
        sent
    }
}

fn storage(a: SocketAddr) -> SockaddrStorage {
    match a {
        SocketAddr::V4(v4) => SockaddrStorage::from(v4),
        SocketAddr::V6(v6) => SockaddrStorage::from(v6),
    }
}

fn std_addr(s: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = s.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
    }
    s.as_sockaddr_in6()
        .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    use super::*;

    #[test]
    fn a_batch_goes_out_and_comes_back_whole() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = b.local_addr().unwrap();
        let mut out = SendBatch::new();
        for i in 0..(BATCH + 5) {
            out.push(to, vec![i as u8; 100 + i]);
        }
        let sent = out.flush(a.as_raw_fd());
        assert_eq!(sent.packets, (BATCH + 5) as u64);
        assert_eq!(sent.errors, 0);
        let mut inb = RecvBatch::new();
        let mut got = Vec::new();
        b.set_read_timeout(Some(std::time::Duration::from_secs(1)))
            .unwrap();
        while got.len() < BATCH + 5 {
            match inb.recv(b.as_raw_fd()) {
                Ok(n) => {
                    for i in 0..n {
                        let (d, from) = inb.datagram(i);
                        assert_eq!(from, a.local_addr().unwrap());
                        got.push(d.to_vec());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("{e}"),
            }
        }
        for (i, d) in got.iter().enumerate() {
            assert_eq!(d.len(), 100 + i);
            assert!(d.iter().all(|x| *x == i as u8));
        }
        // Nothing more: WouldBlock, not a wait.
        assert_eq!(
            inb.recv(b.as_raw_fd()).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
    }

    #[test]
    fn an_unreachable_destination_costs_only_its_own_datagram() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut out = SendBatch::new();
        out.push(b.local_addr().unwrap(), vec![1; 10]);
        // An IPv6 destination from an IPv4 socket is refused.
        out.push("[::1]:9".parse().unwrap(), vec![2; 10]);
        out.push(b.local_addr().unwrap(), vec![3; 10]);
        let sent = out.flush(a.as_raw_fd());
        assert_eq!((sent.packets, sent.errors), (2, 1));
    }
}
