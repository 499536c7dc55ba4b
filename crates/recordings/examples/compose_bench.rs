//! Composition speed (docs/performance.md): a synthetic meeting of four people with camera
//! and microphone, one of them sharing a screen for half of it, speakers changing every
//! 30 s, composed into the MP4 exactly as the server's worker does it (ffmpeg at nice 19).
//! Prints the meeting's length, the time to make it playable (remuxing the tracks) and to
//! compose it, and their ratio to the length.
//!
//! `cargo run --release -p plenary-recordings --example compose_bench [minutes]` (default 10).
#![allow(clippy::unwrap_used)] // a benchmark: a failed step is a failed run

use std::process::Command;
use std::time::Instant;

use plenary_proto::RoomId;
use plenary_record::files::track_file;
use plenary_recordings::timeline::{Event, Person};
use plenary_recordings::{NewRecording, Recordings};
use plenary_store::NewRoom;

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::main]
async fn main() {
    let minutes: u64 = std::env::args()
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(10);
    let secs = minutes * 60;
    let dir = std::env::temp_dir().join(format!("plenary-compose-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = plenary_store::open(&format!("sqlite://{}", dir.join("db/p.db").display()))
        .await
        .unwrap();
    let room = RoomId::parse("abc-defg-hij").unwrap();
    store
        .create_room(&NewRoom {
            id: room.clone(),
            name: "Bench".into(),
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
        [1; 32],
        "ffmpeg".into(),
        None,
    );
    let (row, folder) = recordings
        .begin(&NewRecording {
            room,
            meeting_id: "bench".into(),
            meeting_ms: 0,
            name: "Bench".into(),
            started_ms: 1,
            meta: "{}".into(),
        })
        .await
        .unwrap();

    // The media, as browsers send it: 640×360 VP8 at 15 fps, Opus, a 1280×720 screen at 5 fps.
    println!("generating {minutes} min of synthetic media…");
    let t = secs.to_string();
    let half = (secs / 2).to_string();
    let f = |n: &str| folder.join(n).to_string_lossy().into_owned();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("testsrc=s=640x360:r=15:d={t}"),
        "-c:v",
        "libvpx",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-b:v",
        "500k",
        &f("p1-camera.webm"),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("sine=f=300:d={t}"),
        "-c:a",
        "libopus",
        "-b:a",
        "32k",
        &f("p1-microphone.webm"),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("testsrc2=s=1280x720:r=5:d={half}"),
        "-output_ts_offset",
        &(secs / 4).to_string(),
        "-c:v",
        "libvpx",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-b:v",
        "800k",
        &f("p1-screen.webm"),
    ]);
    for p in 2..=4 {
        std::fs::copy(
            folder.join("p1-camera.webm"),
            folder.join(format!("p{p}-camera.webm")),
        )
        .unwrap();
        std::fs::copy(
            folder.join("p1-microphone.webm"),
            folder.join(format!("p{p}-microphone.webm")),
        )
        .unwrap();
    }
    let mut tracks = Vec::new();
    for p in 1..=4 {
        for s in ["camera", "microphone"] {
            tracks.push(
                track_file(&folder, &format!("p{p}-{s}.webm"))
                    .unwrap()
                    .unwrap(),
            );
        }
    }
    tracks.push(track_file(&folder, "p1-screen.webm").unwrap().unwrap());
    let people = (1..=4)
        .map(|p| Person {
            participant: p,
            name: format!("Person {p}"),
        })
        .collect();
    let mut events = Vec::new();
    for (k, at) in (0..secs * 1000).step_by(30_000).enumerate() {
        let p = (k % 4) as u64 + 1;
        events.push(Event::Speaking {
            at_ms: at,
            participant: p,
            speaking: true,
        });
        events.push(Event::Speaking {
            at_ms: at + 28_000,
            participant: p,
            speaking: false,
        });
    }
    events.push(Event::Screen {
        at_ms: secs * 250,
        participant: 1,
        on: true,
    });
    events.push(Event::Screen {
        at_ms: secs * 750,
        participant: 1,
        on: false,
    });
    events.sort_by_key(Event::at_ms);
    let mut timeline = plenary_recordings::timeline_of(&row, &tracks, people, events);
    timeline.length_ms = secs * 1000;

    let started = Instant::now();
    recordings
        .end(&row.id, &timeline, 1 + secs as i64 * 1000)
        .await
        .unwrap();
    let playable = started.elapsed();
    let job = store
        .claim_recording_job(i64::MAX / 4, 3_600_000)
        .await
        .unwrap()
        .unwrap();
    let started = Instant::now();
    recordings.compose(&job).await.unwrap();
    let composed = started.elapsed();
    let len = secs as f64;
    println!(
        "meeting {len:.0} s (4 people, a screen shared half the time): playable after {:.2} s ({:.4}× its length), composed in {:.1} s ({:.3}× its length)",
        playable.as_secs_f64(),
        playable.as_secs_f64() / len,
        composed.as_secs_f64(),
        composed.as_secs_f64() / len
    );
    let _ = std::fs::remove_dir_all(&dir);
}
