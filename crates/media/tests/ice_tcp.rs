//! ICE-TCP: a client that can reach the SFU only over TCP (UDP blocked) connects through the
//! passive TCP candidate and exchanges media with UDP clients; without the TCP candidate it
//! never connects.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::{Role, World};
use plenary_media::{MediaKind, Transport};

#[test]
fn a_tcp_only_client_meets_udp_clients_through_the_tcp_candidate() {
    let mut w = World::with_config(|c| c.tcp = true);
    let over_tcp = w.join_over(Role::Publisher, Transport::Tcp);
    let over_udp = w.join(Role::Publisher);
    w.run_until_connected();
    w.run_for(Duration::from_secs(3));

    for (receiver, publisher) in [(over_tcp, over_udp), (over_udp, over_tcp)] {
        for kind in [MediaKind::Audio, MediaKind::Video] {
            let sent = w.client(publisher).frames_sent(kind) as usize;
            let got = w.received(receiver, publisher, kind);
            assert!(sent > 50, "{publisher} sent only {sent} {kind:?} frames");
            assert!(
                got * 10 >= sent * 9,
                "{receiver} got {got} of {sent} {kind:?} frames from {publisher}"
            );
        }
    }
    assert_eq!(w.client(over_tcp).gapped, 0);
}

#[test]
fn without_the_tcp_candidate_a_tcp_only_client_never_connects() {
    let mut w = World::new();
    let over_tcp = w.join_over(Role::Publisher, Transport::Tcp);
    w.run_for(Duration::from_secs(10));
    assert!(!w.client(over_tcp).connected);
}
