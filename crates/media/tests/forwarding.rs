//! Every subscriber receives every publisher's audio and video; nobody receives their own.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::{Role, World};
use plenary_media::MediaKind;

#[test]
fn two_publishers_three_subscribers_all_receive_everything() {
    let mut w = World::new();
    let publishers = [w.join(Role::Publisher), w.join(Role::Publisher)];
    let subscribers = [
        w.join(Role::Subscriber),
        w.join(Role::Subscriber),
        w.join(Role::Subscriber),
    ];

    w.run_until_connected();
    w.run_for(Duration::from_secs(3));

    let everyone: Vec<_> = publishers.iter().chain(&subscribers).copied().collect();
    for &receiver in &everyone {
        for &publisher in &publishers {
            for kind in [MediaKind::Audio, MediaKind::Video] {
                let got = w.received(receiver, publisher, kind);
                if receiver == publisher {
                    assert_eq!(got, 0, "{receiver} received its own {kind:?}");
                    continue;
                }
                let sent = w.client(publisher).frames_sent(kind) as usize;
                // Frames sent in the first few hundred ms (before the subscriber's
                // renegotiation completed) are not forwarded; everything after is.
                assert!(sent > 50, "{publisher} sent only {sent} {kind:?} frames");
                assert!(
                    got * 10 >= sent * 9,
                    "{receiver} got {got} of {sent} {kind:?} frames from {publisher}"
                );
            }
        }
        assert_eq!(
            w.client(receiver).gapped,
            0,
            "{receiver} saw gaps on a lossless link"
        );
    }

    // Each subscriber learnt, through signalling events, which publisher each track is from.
    for &s in &subscribers {
        let owners: Vec<_> = w.client(s).mid_owner.values().collect();
        assert_eq!(owners.len(), 4, "{s}: {owners:?}");
        for &p in &publishers {
            assert!(owners.contains(&&(p, MediaKind::Audio)));
            assert!(owners.contains(&&(p, MediaKind::Video)));
        }
    }

    let stats = w.sfu.participant_stats(subscribers[0]).unwrap();
    assert!(stats.connected);
    assert!(stats.packets_out > 0);
    assert_eq!(stats.packets_in, 0);
}
