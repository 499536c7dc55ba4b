//! The recorder's feed: while a room is recorded, the SFU hands over every frame everyone
//! receives — each participant's microphone and camera, a screen share — starting with a
//! keyframe of every video; nothing of a muted or locked source, nothing of another room,
//! nothing once recording stops.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Role, World};
use plenary_media::{Forwarding, RecordedCodec, TrackSource};

#[test]
fn a_recorded_room_hands_every_track_to_the_recorder() {
    let mut w = World::new();
    let people = [
        w.join(Role::Publisher),
        w.join(Role::Publisher),
        w.join(Role::Sharer),
    ];
    w.run_until_connected();
    w.run_for(Duration::from_secs(1));
    assert!(
        w.recorded.is_empty(),
        "nothing is recorded before recording starts"
    );

    let room = w.room.clone();
    let started = w.now;
    w.sfu.set_recording(started, &room, true);
    w.start_share(people[2]);
    w.run_for(Duration::from_secs(7));
    let now = w.now;
    w.sfu.set_recording(now, &room, false);
    let recorded = std::mem::take(&mut w.recorded);
    w.run_for(Duration::from_secs(1));
    assert!(w.recorded.is_empty(), "nothing is recorded after it stops");

    let mut per_track: BTreeMap<(u64, TrackSource), Vec<&plenary_media::RecordedFrame>> =
        BTreeMap::new();
    for f in &recorded {
        assert_eq!(f.room, room);
        per_track
            .entry((f.participant.0, f.source))
            .or_default()
            .push(f);
    }
    for p in people {
        for source in [TrackSource::Microphone, TrackSource::Camera] {
            let frames = per_track.get(&(p.0, source)).map_or(0, Vec::len);
            assert!(frames > 50, "{p} {source:?}: {frames} frames recorded");
        }
    }
    let screen = &per_track[&(people[2].0, TrackSource::Screen)];
    assert!(screen.len() > 10, "the screen share: {}", screen.len());
    // Every video track has a keyframe within half a second of the start (asked for when
    // recording started; a file starts at its first keyframe).
    for ((p, source), frames) in &per_track {
        let f = frames[0];
        match f.codec {
            RecordedCodec::Vp8 => {
                let soon = frames
                    .iter()
                    .take_while(|x| x.arrived <= started + Duration::from_millis(500))
                    .any(|x| x.keyframe);
                assert!(soon, "p{p} {source:?}: no keyframe in the first 500 ms");
                assert_eq!(f.clock_rate, 90_000);
            }
            RecordedCodec::Opus { .. } => assert_eq!(f.clock_rate, 48_000),
        }
        // On each track, RTP time goes forward.
        assert!(frames.windows(2).all(|x| x[1].rtp_time >= x[0].rtp_time));
    }
    // Sender reports came (str0m sends one for audio every 5 s, as Chrome does) and put each frame on its sender's
    // wall clock: one sender's sound and picture, captured together, are reported together
    // (the simulated link delays both alike).
    for p in people {
        let lag = |source: TrackSource| -> Vec<i64> {
            per_track[&(p.0, source)]
                .iter()
                .filter(|f| f.arrived >= started + Duration::from_secs(6))
                .map(|f| {
                    let sent = f.sender_ms.expect("a sender report by now");
                    (f.arrived - started).as_millis() as i64 - sent
                })
                .collect()
        };
        let (audio, video) = (lag(TrackSource::Microphone), lag(TrackSource::Camera));
        assert!(!audio.is_empty() && !video.is_empty());
        let (lo, hi) = audio
            .iter()
            .chain(&video)
            .fold((i64::MAX, i64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
        assert!(
            hi - lo <= 15,
            "{p}: arrival minus capture spans {lo}..{hi} ms"
        );
    }
}

#[test]
fn what_nobody_may_receive_is_not_recorded() {
    let mut w = World::new();
    let muted = w.join(Role::Publisher);
    let other = w.join(Role::Publisher);
    w.run_until_connected();
    let now = w.now;
    // The meeting says: nothing of `muted`'s microphone is forwarded (muted or locked).
    let closed_mic = Forwarding {
        microphone: plenary_media::Audience::Nobody,
        ..Forwarding::default()
    };
    w.sfu.set_forwarding(now, muted, closed_mic);
    let room = w.room.clone();
    w.sfu.set_recording(now, &room, true);
    w.run_for(Duration::from_secs(3));
    let of = |p: plenary_media::ParticipantId, s: TrackSource| {
        w.recorded
            .iter()
            .filter(|f| f.participant == p && f.source == s)
            .count()
    };
    assert_eq!(of(muted, TrackSource::Microphone), 0);
    assert!(of(muted, TrackSource::Camera) > 30);
    assert!(of(other, TrackSource::Microphone) > 30);
}
