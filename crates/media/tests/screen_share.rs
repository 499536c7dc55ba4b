//! A client keeps a screen-share track ready from its first offer. The others hear of it only
//! once it carries media (no idle transceivers for everybody), then receive it labelled as a
//! screen, late joiners included.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::{Role, World};
use plenary_media::{MediaKind, TrackSource};

fn sources(w: &World, who: plenary_media::ParticipantId) -> Vec<TrackSource> {
    let mut v: Vec<TrackSource> = w.client(who).mid_source.values().copied().collect();
    v.sort_by_key(|s| s.name());
    v
}

#[test]
fn a_screen_track_is_announced_when_it_first_carries_media() {
    let mut w = World::new();
    let sharer = w.join(Role::Sharer);
    let early = w.join(Role::Subscriber);
    w.run_until_connected();
    w.run_for(Duration::from_secs(2));
    // Camera and microphone flow; the idle screen track was not offered to anyone.
    assert!(w.received(early, sharer, MediaKind::Video) > 0);
    assert_eq!(
        sources(&w, early),
        vec![TrackSource::Camera, TrackSource::Microphone]
    );
    assert_eq!(w.received_screen(early, sharer), 0);

    w.start_share(sharer);
    w.run_until(
        Duration::from_secs(5),
        "the screen reaches the viewer",
        |w| w.received_screen(early, sharer) > 0,
    );
    assert_eq!(
        sources(&w, early),
        vec![
            TrackSource::Camera,
            TrackSource::Microphone,
            TrackSource::Screen
        ]
    );
    // The camera kept flowing alongside the screen.
    let camera = w.received(early, sharer, MediaKind::Video);
    w.run_for(Duration::from_secs(1));
    assert!(w.received(early, sharer, MediaKind::Video) > camera);

    let late = w.join(Role::Subscriber);
    w.run_until(
        Duration::from_secs(5),
        "the late joiner sees the screen",
        |w| w.received_screen(late, sharer) > 0,
    );
    assert_eq!(sources(&w, late), sources(&w, early));
}
