//! Simulcast: a publisher sends three encodings (as Chrome does, each with its own sequence
//! numbers, timestamps and VP8 picture ids); each subscriber gets one, chosen from the size it
//! shows the tile at and from its downlink, and switches only at a keyframe of the new
//! encoding, which the SFU asks for. What the subscriber's VP8 depacketizer delivers has no
//! gap, picture ids one apart, and starts each encoding at a keyframe.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::{Duration, Instant};

use common::{Role, VideoIn, World};
use plenary_media::{ParticipantId, TileView, TrackSource};

fn tile(width: u32, height: u32) -> Option<TileView> {
    Some(TileView {
        width,
        height,
        visible: true,
    })
}

fn frames_since(w: &World, sub: ParticipantId, publ: ParticipantId, t: Instant) -> Vec<VideoIn> {
    w.client(sub)
        .video_log
        .get(&publ.0)
        .map(|v| v.iter().filter(|f| f.at >= t).copied().collect())
        .unwrap_or_default()
}

/// Everything delivered so far decodes: no gap, picture ids and TL0PICIDX one apart frame to
/// frame, every change of encoding at a keyframe.
fn assert_decodable(log: &[VideoIn]) {
    assert!(!log.is_empty());
    assert!(log[0].keyframe, "the first frame is a keyframe");
    for pair in log.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        assert!(b.contiguous, "a gap before {b:?}");
        assert_eq!(
            b.picture_id,
            a.picture_id.map(|p| p + 1),
            "picture ids {a:?} → {b:?}"
        );
        assert_eq!(b.tl0, a.tl0.map(|p| p + 1), "TL0PICIDX {a:?} → {b:?}");
        if a.layer != b.layer {
            assert!(b.keyframe, "switched to {} without a keyframe", b.layer);
        }
    }
}

#[test]
fn the_tile_size_chooses_the_layer_and_a_switch_is_seamless() {
    let mut w = World::new();
    let publ = w.join(Role::Simulcast);
    let sub = w.join(Role::Subscriber);
    w.run_until_connected();
    w.run_for(Duration::from_secs(2));
    // No view reported: the top encoding.
    let t = w.now - Duration::from_millis(500);
    let recent = frames_since(&w, sub, publ, t);
    assert!(
        recent.len() > 10 && recent.iter().all(|f| f.layer == 2),
        "{recent:?}"
    );

    // A thumbnail: the lowest encoding, from its next keyframe, which the SFU asked for.
    let requests_before = w.client(publ).layers_out[0].keyframe_requests;
    let now = w.now;
    w.sfu
        .set_view(now, sub, publ, TrackSource::Camera, tile(320, 180));
    w.run_for(Duration::from_secs(1));
    let recent = frames_since(&w, sub, publ, w.now - Duration::from_millis(300));
    assert!(
        recent.len() > 5 && recent.iter().all(|f| f.layer == 0),
        "{recent:?}"
    );
    assert!(w.client(publ).layers_out[0].keyframe_requests > requests_before);
    let switched = frames_since(&w, sub, publ, now);
    let first_low = switched.iter().position(|f| f.layer == 0).unwrap();
    assert!(switched[first_low].keyframe);
    // Within a round trip and a frame or two of the request.
    assert!(
        switched[first_low].at - now < Duration::from_millis(200),
        "{:?}",
        switched[first_low].at - now
    );

    // Pinned large: the top again; a middling tile: the middle one.
    let now = w.now;
    w.sfu
        .set_view(now, sub, publ, TrackSource::Camera, tile(1280, 720));
    w.run_for(Duration::from_secs(1));
    let recent = frames_since(&w, sub, publ, w.now - Duration::from_millis(300));
    assert!(recent.iter().all(|f| f.layer == 2), "{recent:?}");
    let now = w.now;
    w.sfu
        .set_view(now, sub, publ, TrackSource::Camera, tile(600, 340));
    w.run_for(Duration::from_secs(1));
    let recent = frames_since(&w, sub, publ, w.now - Duration::from_millis(300));
    assert!(recent.iter().all(|f| f.layer == 1), "{recent:?}");

    assert_decodable(&w.client(sub).video_log[&publ.0]);
    // Nothing was lost on the way: every frame of the encodings received, in order.
    let log = &w.client(sub).video_log[&publ.0];
    for pair in log.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if a.layer == b.layer {
            assert_eq!(b.seq, a.seq + 1, "a frame missing: {a:?} → {b:?}");
        } else {
            // The new layer starts at the frame captured with the old one's last, or the next.
            assert!(b.seq == a.seq || b.seq == a.seq + 1, "{a:?} → {b:?}");
        }
    }
}

#[test]
fn an_off_screen_tile_gets_no_video_and_comes_back_at_a_keyframe() {
    let mut w = World::new();
    let publ = w.join(Role::Simulcast);
    let sub = w.join(Role::Subscriber);
    w.run_until_connected();
    w.run_for(Duration::from_secs(1));
    let now = w.now;
    let hidden = Some(TileView {
        width: 320,
        height: 180,
        visible: false,
    });
    w.sfu.set_view(now, sub, publ, TrackSource::Camera, hidden);
    w.run_for(Duration::from_millis(200));
    let after = w.now;
    let audio_before = w.client(sub).audio_log[&publ.0].len();
    w.run_for(Duration::from_secs(2));
    assert!(
        frames_since(&w, sub, publ, after).is_empty(),
        "an off-screen tile receives no video"
    );
    let audio = w.client(sub).audio_log[&publ.0].len() - audio_before;
    assert!(audio >= 95, "audio goes on: {audio} frames in 2 s");

    let now = w.now;
    w.sfu
        .set_view(now, sub, publ, TrackSource::Camera, tile(320, 180));
    w.run_for(Duration::from_secs(1));
    let back = frames_since(&w, sub, publ, now);
    assert!(back.len() > 20, "{back:?}");
    assert!(back[0].keyframe && back.iter().all(|f| f.layer == 0));
    assert_decodable(&w.client(sub).video_log[&publ.0]);
}

#[test]
fn a_squeezed_downlink_gets_a_lower_layer_keeps_its_audio_and_recovers() {
    let mut w = World::new();
    let publ = w.join(Role::Simulcast);
    let sub = w.join(Role::Subscriber);
    w.run_until_connected();
    w.run_for(Duration::from_secs(3));
    assert!(
        frames_since(&w, sub, publ, w.now - Duration::from_millis(500))
            .iter()
            .all(|f| f.layer == 2)
    );

    // 600 kbit/s with a 30 kB queue: the top encoding (720 kbit/s) cannot pass.
    w.client_mut(sub).set_downlink_rate(Some((600_000, 30_000)));
    let squeezed = w.now;
    w.run_until(Duration::from_secs(5), "a lower layer", |w| {
        frames_since(w, sub, publ, squeezed)
            .iter()
            .any(|f| f.layer < 2)
    });
    let lowered = w.now;
    // Once lowered (and before any try upward), audio passes whole.
    w.run_for(Duration::from_secs(3));
    let audio: Vec<u32> = w.client(sub).audio_log[&publ.0]
        .iter()
        .filter(|(_, at)| *at >= lowered + Duration::from_secs(1))
        .map(|(s, _)| *s)
        .collect();
    assert!(audio.len() >= 95, "{} audio frames in 2 s", audio.len());
    assert!(
        audio.windows(2).all(|x| x[1] == x[0] + 1),
        "audio lost: {audio:?}"
    );
    // A squeeze that lasts: the top layer is tried again seldom (the wait doubles after each
    // failed try), not every few seconds.
    w.run_for(Duration::from_secs(20));
    let log = frames_since(&w, sub, publ, lowered);
    let tries = log
        .windows(2)
        .filter(|x| x[0].layer < 2 && x[1].layer == 2)
        .count();
    assert!(
        (1..=2).contains(&tries),
        "{tries} tries of the top layer in 23 s (one after 4 s, the next after 8 more)"
    );

    // Freed: back to the top encoding (at the next try) and staying there.
    w.client_mut(sub).set_downlink_rate(None);
    let freed = w.now;
    w.run_until(Duration::from_secs(40), "the top layer again", |w| {
        frames_since(w, sub, publ, freed)
            .iter()
            .any(|f| f.layer == 2)
    });
    // Every change of layer (tries included) that arrived whole started at a keyframe (the
    // squeezed link itself lost some packets, keyframes' too).
    let all = &w.client(sub).video_log[&publ.0];
    for x in all.windows(2) {
        if x[0].layer != x[1].layer && x[1].contiguous {
            assert!(x[1].keyframe, "switched without a keyframe: {:?}", x[1]);
        }
    }
    let up = w.now;
    w.run_for(Duration::from_secs(10));
    let tail = frames_since(&w, sub, publ, up);
    assert!(
        tail.iter().all(|f| f.layer == 2),
        "stays on the top layer once the link is free"
    );
    // The squeezed link itself lost packets (its queue overflowed); once free, nothing is
    // missing and picture ids run on.
    for x in tail.windows(2) {
        assert!(x[1].contiguous && x[1].picture_id == x[0].picture_id.map(|p| p + 1));
    }
}
