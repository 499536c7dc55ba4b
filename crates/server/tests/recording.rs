//! Recording over real signalling and UDP: only a moderator, and only where the room allows
//! it, starts a recording; everyone (joiners too) is told; a headless participant's microphone
//! ends up in its own WebM file that ffprobe reads, with a gap where the recording paused.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::ws::{Ws, connect, join_as, next_of, notes_insert, send};
use common::{TestServer, eventually};
use plenary_peer::{Peer, PeerOptions, Publish};
use plenary_proto::RoomId;
use serde_json::json;

async fn join(server: &TestServer, room: &RoomId, name: &str, owner: bool) -> Ws {
    join_as(server, room, name, owner).await.0
}

async fn error_code(ws: &mut Ws) -> String {
    next_of(ws, "error").await["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn record(action: &str) -> String {
    json!({"type":"record","action":action}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderator_records_where_the_room_allows_it_and_each_track_gets_a_file() {
    let server = TestServer::start().await;
    let room = server.create_room("Assembly").await;
    let mut mo = join(&server, &room, "Mo", true).await;
    let mut guest = join(&server, &room, "Gus", false).await;

    // A participant may not; nor may a moderator where the room does not allow recording.
    send(&mut guest, record("start")).await;
    assert_eq!(error_code(&mut guest).await, "forbidden");
    send(&mut mo, record("start")).await;
    assert_eq!(error_code(&mut mo).await, "forbidden");

    let store = &server.running.as_ref().unwrap().state.store;
    let r = store.get_room(&room).await.unwrap().unwrap();
    let mut settings = plenary_meeting::room_settings::RoomSettings::parse(&r.settings);
    settings.recording_allowed = true;
    assert!(
        store
            .set_room_settings(&room, &settings.to_json())
            .await
            .unwrap()
    );

    let peer = Peer::join(PeerOptions {
        http_addr: server.http.clone(),
        room: room.clone(),
        name: "Val".into(),
        publish: Publish::AUDIO_VIDEO,
        local_ip: None,
        token: None,
    })
    .await
    .unwrap();
    eventually(Duration::from_secs(10), "the peer's media flows", || {
        server.running.as_ref().is_some_and(|r| {
            r.state
                .engine
                .counters
                .packets_received
                .load(std::sync::atomic::Ordering::Relaxed)
                > 100
        })
    })
    .await;

    send(&mut mo, record("start")).await;
    let m = next_of(&mut guest, "recording").await;
    assert_eq!(
        (m["state"].as_str(), m["by"].as_str()),
        (Some("recording"), Some("Mo"))
    );
    // Someone joining is told in `joined`.
    let token = server.join_token(&room, "Late").await;
    let mut late = connect(&server).await;
    send(
        &mut late,
        json!({"type":"join","v":2,"room":room,"name":"Late","token":token}).to_string(),
    )
    .await;
    assert_eq!(next_of(&mut late, "joined").await["recording"], "recording");

    tokio::time::sleep(Duration::from_secs(2)).await;
    send(&mut mo, record("pause")).await;
    assert_eq!(next_of(&mut guest, "recording").await["state"], "paused");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    send(&mut mo, record("resume")).await;
    assert_eq!(next_of(&mut guest, "recording").await["state"], "recording");
    // A poll asked and answered while recording goes into the recording's timeline.
    send(
        &mut mo,
        json!({"type":"poll_open","poll":{"question":"Adjourn?","kind":"yes_no"}}).to_string(),
    )
    .await;
    let poll = next_of(&mut guest, "poll").await["poll"].clone();
    send(
        &mut guest,
        json!({"type":"poll_vote","id":poll["id"],"choices":[0]}).to_string(),
    )
    .await;
    next_of(&mut guest, "poll_voted").await;
    // So do the minutes written while recording.
    send(&mut guest, notes_insert(9, "Adjourned at noon.")).await;
    next_of(&mut guest, "notes_saved").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    send(&mut mo, record("stop")).await;
    assert_eq!(next_of(&mut guest, "recording").await["state"], "off");

    // The peer's microphone, in its own file, once the recorder has finished it.
    let base = server.dir.join("recordings").join(room.as_str());
    let file = format!("p{}-microphone.webm", peer.id.0);
    let mut path = None;
    eventually(Duration::from_secs(10), "the microphone's file", || {
        let found = std::fs::read_dir(&base)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.path().join(&file))
            .filter(|p| p.exists());
        let done = found
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .is_some_and(|b| plenary_record::webm::read_frames(&b).len() > 100);
        path = found;
        done
    })
    .await;
    let path = path.unwrap();
    let frames = plenary_record::webm::read_frames(&std::fs::read(&path).unwrap());
    // About 4 s of 20 ms frames around a 1.5 s gap.
    let gap = frames
        .windows(2)
        .map(|w| w[1].at_ms - w[0].at_ms)
        .max()
        .unwrap();
    assert!((1000..2500).contains(&gap), "the pause's gap: {gap} ms");
    // ffprobe reads the container: one Opus track. (The headless peer's payloads are
    // synthetic, not Opus, so ffprobe's Opus parser rejects each packet: counting packets
    // is for real media, in the browser test and in the record crate's own tests.)
    let probe = |args: &[&str]| {
        let out = std::process::Command::new("ffprobe")
            .args(["-v", "error"])
            .args(args)
            .arg(&path)
            .output()
            .expect("ffprobe (Debian's ffmpeg; the test command installs it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let codec = probe(&["-show_entries", "stream=codec_name", "-of", "csv=p=0"]);
    assert_eq!(codec.trim(), "opus");

    // The recording is stored, playable at once (its timeline and remuxed tracks beside the
    // files), then composed.
    let recordings = &server.running.as_ref().unwrap().state.recordings;
    let mut row = None;
    for _ in 0..100 {
        let rows = store.recordings_of_room(&room).await.unwrap();
        assert_eq!(rows.len(), 1);
        if rows[0].status != plenary_store::RecordingStatus::Recording {
            row = Some(rows[0].clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let row = row.expect("the recording leaves the recording state");
    assert_eq!(
        row.id,
        plenary_recordings::record_id(room.as_str(), row.started_ms)
    );
    assert_eq!(row.name, "Assembly");
    assert!(
        (5_000..9_000).contains(&row.length_ms),
        "length {}",
        row.length_ms
    );
    let t = recordings.timeline(&row).await.unwrap();
    let names: Vec<&str> = t.people.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Mo", "Gus", "Val", "Late"]);
    use plenary_recordings::timeline::Event;
    assert!(
        t.events
            .iter()
            .any(|e| matches!(e, Event::Paused { at_ms } if (1_500..3_500).contains(at_ms)))
    );
    assert!(t.events.iter().any(|e| matches!(e, Event::Resumed { .. })));
    assert!(
        t.events.iter().any(
            |e| matches!(e, Event::Poll { question, counts, fixed: true, .. }
            if question == "Adjourn?" && counts.as_deref() == Some(&[1, 0, 0][..]))
        ),
        "the poll and its result: {:?}",
        t.events
    );
    assert!(
        t.events
            .iter()
            .any(|e| matches!(e, Event::Notes { text, .. } if text == "Adjourned at noon.")),
        "the minutes: {:?}",
        t.events
    );
    assert!(
        t.events
            .iter()
            .any(|e| matches!(e, Event::Joined { at_ms, .. } if *at_ms > 0)),
        "Late joined during it"
    );
    let mic = t
        .tracks
        .iter()
        .find(|tr| tr.file == file)
        .expect("the microphone's track");
    assert_eq!((mic.kind.as_str(), mic.participant), ("audio", peer.id.0));
    assert!(recordings.dir(&row).join("play").join(&file).exists());
    let mut last = row.clone();
    for _ in 0..300 {
        last = store.get_recording(&row.id).await.unwrap().unwrap();
        if matches!(
            last.status,
            plenary_store::RecordingStatus::Ready | plenary_store::RecordingStatus::Failed
        ) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The headless peer's payloads are synthetic (not Opus): ffmpeg cannot compose them, and
    // the queue tries again before failing for good, with ffmpeg's words. (Real media is
    // composed in the recordings crate's test and the browser test.)
    assert_eq!(
        last.status,
        plenary_store::RecordingStatus::Failed,
        "{last:?}"
    );
    assert_eq!(last.attempts, plenary_recordings::worker::ATTEMPTS);
    assert!(
        last.error.as_deref().is_some_and(|e| e.contains("ffmpeg")),
        "{last:?}"
    );
    // The camera's track too (the headless peer's keyframes carry a VP8 keyframe header).
    let camera = t
        .tracks
        .iter()
        .find(|tr| tr.source == "camera")
        .expect("the camera's track");
    assert_eq!(
        (camera.kind.as_str(), camera.participant),
        ("video", peer.id.0)
    );
    peer.leave().await.unwrap();
    server.stop().await;
}
