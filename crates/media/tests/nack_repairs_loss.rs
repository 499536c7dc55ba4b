//! Seeded packet loss between a publisher and the SFU is repaired by NACK and RTX: the SFU
//! asks for the lost packets, the publisher resends them, and subscribers get every frame.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::{Role, World};
use plenary_media::MediaKind;

#[test]
fn seeded_uplink_loss_is_repaired() {
    let mut w = World::new();
    let publisher = w.join(Role::Publisher);
    let subscriber = w.join(Role::Subscriber);
    w.run_until_connected();
    w.run_for(Duration::from_secs(1));

    let first_lossy_frame = w.client(publisher).frames_sent(MediaKind::Video);
    w.client_mut(publisher).set_uplink_loss(0.05, 7);
    w.run_for(Duration::from_secs(5));
    // Stop sending and let retransmissions finish.
    w.client_mut(publisher).sending = false;
    let last_frame = w.client(publisher).frames_sent(MediaKind::Video);
    w.run_for(Duration::from_secs(2));

    let p = w.client(publisher);
    let lost = p.uplink_sent - p.uplink_delivered;
    assert!(
        lost > 20,
        "the link lost only {lost} packets: the test proves nothing"
    );

    let got = &w.client(subscriber).received[&(publisher.0, MediaKind::Video)];
    let missing: Vec<u32> = (first_lossy_frame..last_frame)
        .filter(|s| !got.contains(s))
        .collect();
    assert!(
        missing.is_empty(),
        "video frames never delivered: {missing:?}"
    );

    let stats = w.sfu.participant_stats(publisher).unwrap();
    assert!(stats.nacks_sent > 0, "the SFU sent no NACK: {stats:?}");
    // The SFU forwards packets as they come (RTP mode) and a repair when it arrives, so the
    // subscriber may wait for a repair for a moment (str0m's client gives up on in-order
    // delivery after three round trips, where a browser's jitter buffer waits longer); what
    // matters is that every frame arrives, checked above, and that few arrive late.
    let gapped = w.client(subscriber).gapped;
    assert!(
        gapped * 10 <= u64::from(last_frame - first_lossy_frame),
        "{gapped} frames came after a later one"
    );
}
