//! A recording on one clock: every track lands in its own file at the time its frames were
//! sent, a publisher who starts late starts at their offset, a pause leaves a gap, and a
//! participant's audio and video stay together.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::HashMap;
use std::io;
use std::time::{Duration, Instant};

use plenary_proto::{ParticipantId, TrackSource};
use plenary_record::recording::{Incoming, Recording, Storage, TrackKey};
use plenary_record::webm::{Codec, read_frames};

/// Files in memory, shared so the test can read them while they are written.
#[derive(Debug, Default, Clone)]
struct Memory(std::rc::Rc<std::cell::RefCell<HashMap<String, Vec<u8>>>>);

#[derive(Debug)]
struct MemoryFile(Memory, String);

impl io::Write for MemoryFile {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0
            .0
            .borrow_mut()
            .entry(self.1.clone())
            .or_default()
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Storage for Memory {
    type Out = MemoryFile;
    fn create(&mut self, name: &str) -> io::Result<MemoryFile> {
        self.0.borrow_mut().insert(name.to_owned(), Vec::new());
        Ok(MemoryFile(self.clone(), name.to_owned()))
    }
    fn remove(&mut self, name: &str) -> io::Result<()> {
        self.0.borrow_mut().remove(name);
        Ok(())
    }
}

fn vp8(keyframe: bool, n: u32) -> Vec<u8> {
    let mut f = if keyframe {
        vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]
    } else {
        vec![0x11, 0x02, 0x00]
    };
    f.extend_from_slice(&n.to_be_bytes());
    f
}

const ANN: ParticipantId = ParticipantId(1);
const BOB: ParticipantId = ParticipantId(2);

#[test]
fn tracks_share_one_clock_late_starts_keep_their_offset_and_a_pause_is_a_gap() {
    let t0 = Instant::now();
    let store = Memory::default();
    let mut rec = Recording::new(store.clone(), t0);
    let mic = |p| TrackKey {
        participant: p,
        source: TrackSource::Microphone,
    };
    let cam = |p| TrackKey {
        participant: p,
        source: TrackSource::Camera,
    };
    // Ann's RTP clocks start at arbitrary values, as browsers' do; Bob joins 4 s in.
    let (ann_audio_rtp, ann_video_rtp, bob_audio_rtp) = (1_000_000u64, 7_000_000u64, 42u64);
    for ms in (0..10_000u64).step_by(20) {
        // Up to 36 ms of network jitter on every frame.
        let now = t0 + Duration::from_millis(ms) + Duration::from_millis(ms % 37);
        if (6000..7000).contains(&ms) && !rec.is_paused() {
            rec.pause(now).unwrap();
        }
        if ms >= 7000 && rec.is_paused() {
            rec.resume(now);
        }
        rec.frame(Incoming {
            track: mic(ANN),
            codec: Codec::Opus { channels: 2 },
            rtp_time: ann_audio_rtp + ms * 48,
            clock_rate: 48_000,
            arrived: now,
            sender_ms: None,
            keyframe: true,
            data: &[0xfc, 1, 2],
        })
        .unwrap();
        if ms % 40 == 0 {
            rec.frame(Incoming {
                track: cam(ANN),
                codec: Codec::Vp8,
                rtp_time: ann_video_rtp + ms * 90,
                clock_rate: 90_000,
                arrived: now,
                sender_ms: None,
                keyframe: ms % 2000 == 0,
                data: &vp8(ms % 2000 == 0, ms as u32),
            })
            .unwrap();
        }
        if ms >= 4000 {
            rec.frame(Incoming {
                track: mic(BOB),
                codec: Codec::Opus { channels: 1 },
                rtp_time: bob_audio_rtp + (ms - 4000) * 48,
                clock_rate: 48_000,
                arrived: now,
                sender_ms: None,
                keyframe: true,
                data: &[0xfc, 3],
            })
            .unwrap();
        }
        rec.tick(now).unwrap();
    }
    let (_, files) = rec.finish().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(
        names,
        ["p1-microphone.webm", "p1-camera.webm", "p2-microphone.webm"]
    );
    let all = store.0.borrow();
    let times =
        |name: &str| -> Vec<u64> { read_frames(&all[name]).iter().map(|f| f.at_ms).collect() };
    let ann_audio = times("p1-microphone.webm");
    let ann_video = times("p1-camera.webm");
    let bob_audio = times("p2-microphone.webm");
    // Audio and video of one participant stay together, each frame where it was sent: the
    // jitter moves neither (their first frames arrived on time).
    assert_eq!(ann_audio[0], 0);
    for (i, at) in ann_video.iter().enumerate().take(140) {
        let sent = (i as u64) * 40;
        assert!(
            at.abs_diff(sent) <= 1,
            "video frame {i} at {at} ms, sent at {sent}"
        );
    }
    for (i, at) in ann_audio.iter().enumerate().take(290) {
        let sent = (i as u64) * 20;
        assert!(
            at.abs_diff(sent) <= 1,
            "audio frame {i} at {at} ms, sent at {sent}"
        );
    }
    // Bob starts where he joined, 4 s in (give or take his first frame's jitter).
    assert!(bob_audio[0].abs_diff(4000) <= 40, "{}", bob_audio[0]);
    // The pause: nothing between 6 and 7 s, in every track.
    for t in [&ann_audio, &ann_video, &bob_audio] {
        assert!(
            t.iter().all(|at| !(6010..6990).contains(at)),
            "a frame in the pause"
        );
        assert!(t.iter().any(|at| *at >= 7000), "nothing after the pause");
    }
    assert_eq!(files[2].start_ms, bob_audio[0]);
}

#[test]
fn a_gap_splits_a_tracks_spans_and_a_new_rtp_clock_is_placed_when_it_arrives() {
    let t0 = Instant::now();
    let mut rec = Recording::new(Memory::default(), t0);
    let cam = TrackKey {
        participant: ANN,
        source: TrackSource::Camera,
    };
    let frame = |ms: u64, rtp: u64, key: bool, data: &[u8]| {
        let d = data.to_vec();
        move |rec: &mut Recording<Memory>| {
            rec.frame(Incoming {
                track: cam,
                codec: Codec::Vp8,
                rtp_time: rtp,
                clock_rate: 90_000,
                arrived: t0 + Duration::from_millis(ms),
                sender_ms: None,
                keyframe: key,
                data: &d,
            })
            .unwrap()
        }
    };
    // 0–1 s, then the camera is off for 3 s, then on again 4–5 s.
    for i in 0..=10u64 {
        frame(i * 100, 1_000 + i * 9_000, i == 0, &vp8(i == 0, i as u32))(&mut rec);
    }
    for i in 0..=10u64 {
        frame(
            4_000 + i * 100,
            1_000 + 360_000 + i * 9_000,
            i == 0,
            &vp8(i == 0, 0),
        )(&mut rec);
    }
    // The publisher reconnected: a new stream whose RTP clock starts anywhere, arriving at 6 s.
    for i in 0..=10u64 {
        frame(6_000 + i * 100, 77 + i * 9_000, i == 0, &vp8(i == 0, 0))(&mut rec);
    }
    // A camera that never sent a keyframe: nothing to start its file from.
    let bob_cam = TrackKey {
        participant: BOB,
        source: TrackSource::Camera,
    };
    rec.frame(Incoming {
        track: bob_cam,
        codec: Codec::Vp8,
        rtp_time: 5,
        clock_rate: 90_000,
        arrived: t0 + Duration::from_millis(500),
        sender_ms: None,
        keyframe: false,
        data: &vp8(false, 1),
    })
    .unwrap();
    let (store, files) = rec.finish().unwrap();
    assert_eq!(files.len(), 1, "no track for Bob's camera");
    assert!(
        !store.0.borrow().contains_key(&bob_cam.file_name()),
        "nor a file"
    );
    let f = &files[0];
    assert_eq!(f.spans, [(0, 1_000), (4_000, 7_000)]);
    assert_eq!((f.start_ms, f.end_ms), (0, 7_000));
    let data = store.0.borrow()[&f.file].clone();
    let times: Vec<u64> = read_frames(&data).iter().map(|fr| fr.at_ms).collect();
    assert_eq!(times.len(), 33);
    assert_eq!(times[22], 6_000, "the new stream starts when it arrived");
    assert_eq!(times[32], 7_000);
}

#[test]
fn sender_reports_keep_a_late_video_with_its_sound_and_each_sender_on_its_own_clock() {
    let t0 = Instant::now();
    let store = Memory::default();
    let mut rec = Recording::new(store.clone(), t0);
    let track = |participant, source| TrackKey {
        participant,
        source,
    };
    // Ann's wall clock and Bob's are hours apart, as two computers' may be.
    let (ann_clock, bob_clock) = (1_765_000_000_000i64, 1_764_990_000_000i64);
    for ms in (0..8_000u64).step_by(20) {
        // Reports come after a second, as browsers send them.
        let reported = |clock: i64| (ms >= 1_000).then_some(clock + ms as i64);
        // Ann's sound arrives 30–39 ms after she captured it, her video 180 ms after (a large
        // keyframe, paced out, holds up every frame after it).
        let audio_at = t0 + Duration::from_millis(ms + 30 + ms % 10);
        rec.frame(Incoming {
            track: track(ANN, TrackSource::Microphone),
            codec: Codec::Opus { channels: 2 },
            rtp_time: 500 + ms * 48,
            clock_rate: 48_000,
            arrived: audio_at,
            sender_ms: reported(ann_clock),
            keyframe: true,
            data: &[0xfc, 1],
        })
        .unwrap();
        if ms % 40 == 0 {
            rec.frame(Incoming {
                track: track(ANN, TrackSource::Camera),
                codec: Codec::Vp8,
                rtp_time: 90_000 + ms * 90,
                clock_rate: 90_000,
                arrived: t0 + Duration::from_millis(ms + 180),
                sender_ms: reported(ann_clock),
                keyframe: ms % 2_000 == 0,
                data: &vp8(ms % 2_000 == 0, ms as u32),
            })
            .unwrap();
        }
        rec.frame(Incoming {
            track: track(BOB, TrackSource::Microphone),
            codec: Codec::Opus { channels: 1 },
            rtp_time: 7 + ms * 48,
            clock_rate: 48_000,
            arrived: t0 + Duration::from_millis(ms + 50),
            sender_ms: Some(bob_clock + ms as i64),
            keyframe: true,
            data: &[0xfc, 2],
        })
        .unwrap();
        rec.tick(audio_at).unwrap();
    }
    let _ = rec.finish().unwrap();
    let all = store.0.borrow();
    let times =
        |name: &str| -> Vec<u64> { read_frames(&all[name]).iter().map(|f| f.at_ms).collect() };
    let (audio, video, bob) = (
        times("p1-microphone.webm"),
        times("p1-camera.webm"),
        times("p2-microphone.webm"),
    );
    assert_eq!((audio.len(), video.len(), bob.len()), (400, 200, 400));
    // Soon after the reports came (the video catches up within a few frames), what Ann
    // captured together plays together (frame n of the video was captured with frame 2n of the
    // sound), not 150 ms apart.
    for i in 40..200 {
        let (v, a) = (video[i], audio[2 * i]);
        assert!(
            v.abs_diff(a) <= 20,
            "video frame {i} at {v} ms, its sound at {a}"
        );
    }
    // Each file's times go strictly forward: catching up never piles frames onto one time.
    for t in [&audio, &video, &bob] {
        assert!(t.windows(2).all(|w| w[1] > w[0]), "{t:?}");
    }
    // Bob's own clock puts him where he arrived, not where Ann's would.
    for (j, at) in bob.iter().enumerate() {
        assert!(
            at.abs_diff(j as u64 * 20 + 50) <= 1,
            "Bob's frame {j} at {at}"
        );
    }
}
