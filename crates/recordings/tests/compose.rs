//! A recording of real media (VP8 and Opus files made by ffmpeg, as a browser's would be)
//! goes from its end to a composed MP4 through the store's queue and a worker: playable
//! tracks at once, then H.264 + AAC of the recording's length with chapters at the speakers.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use plenary_proto::RoomId;
use plenary_record::files::track_file;
use plenary_recordings::timeline::{Event, Person};
use plenary_recordings::{NewRecording, Recordings};
use plenary_store::{NewRoom, RecordingStatus};

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg (Debian's; the test command installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn probe(file: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json"])
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_recording_is_playable_then_composed_into_one_mp4() {
    let dir = std::env::temp_dir().join(format!("plenary-compose-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = plenary_store::open(&format!("sqlite://{}", dir.join("db/p.db").display()))
        .await
        .unwrap();
    let room = RoomId::parse("abc-defg-hij").unwrap();
    store
        .create_room(&NewRoom {
            id: room.clone(),
            name: "Assembly".into(),
            created_at: 0,
            owner_id: None,
            settings: "{}".into(),
            anonymous: false,
        })
        .await
        .unwrap();
    let recordings = Recordings::new(
        store.clone(),
        dir.join("recordings"),
        [7; 32],
        "ffmpeg".into(),
        None,
    );
    let (row, folder) = recordings
        .begin(&NewRecording {
            room: room.clone(),
            meeting_id: room.to_string(),
            meeting_ms: 1,
            name: "Assembly".into(),
            started_ms: 1_700_000_000_000,
            meta: "{}".into(),
        })
        .await
        .unwrap();

    // Two people with camera and microphone (the second from 2 s), the first shares a
    // screen from 4 s to 8 s; 10 s in all. The files' times are on the recording's clock,
    // as the recorder writes them.
    let f = |n: &str| folder.join(n).to_string_lossy().into_owned();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=s=640x480:r=15:d=10",
        "-c:v",
        "libvpx",
        "-b:v",
        "400k",
        &f("p1-camera.webm"),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=f=440:d=10",
        "-c:a",
        "libopus",
        &f("p1-microphone.webm"),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "smptebars=s=640x480:r=15:d=8",
        "-output_ts_offset",
        "2",
        "-c:v",
        "libvpx",
        "-b:v",
        "400k",
        &f("p2-camera.webm"),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=f=660:d=8",
        "-output_ts_offset",
        "2",
        "-c:a",
        "libopus",
        &f("p2-microphone.webm"),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=1280x720:r=5:d=4",
        "-output_ts_offset",
        "4",
        "-c:v",
        "libvpx",
        "-b:v",
        "600k",
        &f("p1-screen.webm"),
    ]);
    let mut tracks = Vec::new();
    for n in [
        "p1-camera.webm",
        "p1-microphone.webm",
        "p2-camera.webm",
        "p2-microphone.webm",
        "p1-screen.webm",
    ] {
        tracks.push(track_file(&folder, n).unwrap().unwrap());
    }
    assert_eq!(
        tracks[2].start_ms, 2_000,
        "a late track starts at its offset"
    );
    let people = vec![
        Person {
            participant: 1,
            name: "Ada".into(),
        },
        Person {
            participant: 2,
            name: "Bo".into(),
        },
    ];
    let events = vec![
        Event::Joined {
            at_ms: 0,
            participant: 1,
        },
        Event::Joined {
            at_ms: 2_000,
            participant: 2,
        },
        Event::Speaking {
            at_ms: 2_500,
            participant: 2,
            speaking: true,
        },
        Event::Speaking {
            at_ms: 5_000,
            participant: 2,
            speaking: false,
        },
        Event::Screen {
            at_ms: 4_000,
            participant: 1,
            on: true,
        },
        Event::Speaking {
            at_ms: 6_000,
            participant: 1,
            speaking: true,
        },
        Event::Screen {
            at_ms: 8_000,
            participant: 1,
            on: false,
        },
        Event::Chat {
            at_ms: 7_000,
            name: "Bo".into(),
            text: "Agreed «ok»".into(),
        },
    ];
    let mut timeline = plenary_recordings::timeline_of(&row, &tracks, people, events);
    timeline.length_ms = 10_000;
    recordings
        .end(&row.id, &timeline, row.started_ms + 10_000)
        .await
        .unwrap();

    // Playable now: every track remuxed (cues and a duration) beside its timeline.
    let got = store.get_recording(&row.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.length_ms),
        (RecordingStatus::Processing, 10_000)
    );
    assert!(got.bytes > 0);
    let play = folder.join("play/p2-camera.webm");
    let d: f64 = probe(&play, &["-show_entries", "format=duration"])["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (d - 8.0).abs() < 0.3,
        "the playable copy starts at 0 and lasts 8 s: {d}"
    );
    assert_eq!(recordings.timeline(&got).await.unwrap(), timeline);

    // A worker composes it.
    let started = std::time::Instant::now();
    plenary_recordings::worker::spawn(recordings.clone(), 1);
    let mut done = got;
    for _ in 0..600 {
        done = store.get_recording(&row.id).await.unwrap().unwrap();
        if done.status != RecordingStatus::Processing {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(done.status, RecordingStatus::Ready, "{:?}", done.error);
    eprintln!("composed 10 s in {:?}", started.elapsed());
    let mp4 = folder.join("recording.mp4");
    let streams = probe(
        &mp4,
        &[
            "-show_entries",
            "stream=codec_name,codec_type,width,height:format=duration,format_name",
        ],
    );
    let codecs: Vec<&str> = streams["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["codec_type"] != "data") // the chapters' own track
        .map(|s| s["codec_name"].as_str().unwrap())
        .collect();
    assert_eq!(codecs, ["h264", "aac"]);
    assert_eq!(streams["streams"][0]["width"], 1280);
    assert_eq!(streams["streams"][0]["height"], 720);
    let length: f64 = streams["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (length - 10.0).abs() < 0.5,
        "the meeting's length: {length}"
    );
    let chapters = probe(&mp4, &["-show_chapters"]);
    let titles: Vec<&str> = chapters["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["tags"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Plenary", "Bo", "Ada"]);
    // faststart: the index (moov) comes before the media (mdat).
    let bytes = std::fs::read(&mp4).unwrap();
    let at = |tag: &[u8]| bytes.windows(4).position(|w| w == tag).unwrap();
    assert!(at(b"moov") < at(b"mdat"));
    assert!(done.bytes as u64 > bytes.len() as u64);

    // Deleting removes every file.
    assert!(recordings.delete(&done).await.unwrap());
    assert!(!folder.exists());
    assert_eq!(store.get_recording(&row.id).await.unwrap(), None);
    std::fs::remove_dir_all(&dir).unwrap();
}
