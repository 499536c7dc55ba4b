//! A late joiner cannot decode anything until the next keyframe: the SFU asks the publisher
//! for one as soon as the late joiner's video track is negotiated.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::{Role, World};
use plenary_media::MediaKind;

#[test]
fn late_joiner_triggers_a_keyframe_request() {
    let mut w = World::new();
    let publisher = w.join(Role::Publisher);
    let early = w.join(Role::Subscriber);
    w.run_until_connected();
    // Long enough for the early subscriber's own join request to be out of the way.
    w.run_for(Duration::from_secs(3));
    let requests_before = w.client(publisher).keyframe_requests;
    let sfu_requests_before = w
        .sfu
        .participant_stats(publisher)
        .unwrap()
        .keyframe_requests_sent;
    assert!(w.received(early, publisher, MediaKind::Video) > 0);

    let late = w.join(Role::Subscriber);
    w.run_until(Duration::from_secs(5), "late joiner receives video", |w| {
        w.received(late, publisher, MediaKind::Video) > 0
    });

    assert!(
        w.client(publisher).keyframe_requests > requests_before,
        "the publisher got no keyframe request after the late join"
    );
    let sfu_stats = w.sfu.participant_stats(publisher).unwrap();
    assert!(sfu_stats.keyframe_requests_sent > sfu_requests_before);
}

#[test]
fn no_keyframe_requests_without_a_reason() {
    // The control: with nobody joining and no loss, the SFU stays quiet after the start.
    let mut w = World::new();
    let publisher = w.join(Role::Publisher);
    w.join(Role::Subscriber);
    w.run_until_connected();
    w.run_for(Duration::from_secs(2));
    let before = w.client(publisher).keyframe_requests;
    w.run_for(Duration::from_secs(3));
    assert_eq!(w.client(publisher).keyframe_requests, before);
}
