//! Datagrams that are not WebRTC (random bytes, truncated STUN, fake RTP) from unknown or
//! known addresses neither panic the SFU nor disturb the sessions it carries.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Role, World};
use plenary_media::{MediaKind, Transport};

/// A tiny seeded generator, so that a failure replays exactly.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = (self.next() as usize) % max;
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn garbage_never_panics_or_disturbs_a_meeting() {
    let mut w = World::new();
    let publisher = w.join(Role::Publisher);
    let subscriber = w.join(Role::Subscriber);
    w.run_until_connected();
    w.run_for(Duration::from_secs(1));
    let before = w.received(subscriber, publisher, MediaKind::Video);

    let known = w.client(publisher).addr;
    let stranger: SocketAddr = "10.9.9.9:1234".parse().unwrap();
    let mut rng = Lcg(42);
    let now = w.now;
    for i in 0..5_000 {
        let mut d = rng.bytes(1500);
        // Steer some into the demultiplexer's branches: STUN (0..3), DTLS (20..63), RTP (128..191).
        if let Some(first) = d.first_mut() {
            *first = match i % 4 {
                0 => *first % 4,
                1 => 20 + *first % 44,
                2 => 128 + *first % 64,
                _ => *first,
            };
        }
        let from = if i % 2 == 0 { known } else { stranger };
        w.sfu.handle_receive(now, Transport::Udp, from, &d);
    }
    w.run_for(Duration::from_secs(2));

    assert!(
        w.received(subscriber, publisher, MediaKind::Video) > before + 40,
        "media stopped after the garbage"
    );
    assert_eq!(w.sfu.participant_count(), 2);
}
