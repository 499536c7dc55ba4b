//! kill -9 during a recording: what the recorder had written (synced every 2 s) is there,
//! and the restarted server finishes it — its files cut back to whole clusters, a timeline
//! made from them, on to composition — so a recording still results.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use plenary_bbb::checksum::Algorithm;
use plenary_peer::{Peer, PeerOptions, Publish};
use plenary_proto::RoomId;

const SECRET: &str = "kill9-recording-secret-0123456789";

fn serve(dir: &Path) -> (Child, String) {
    let mut command = common::process::command(dir);
    command.env("PLENARY_BBB_SECRETS", SECRET);
    let (child, http, lines) = common::process::serve(command);
    std::thread::spawn(move || for _ in lines {});
    (child, http)
}

async fn bbb(http: &str, call: &str, qs: &str) -> String {
    let path = common::bbb_signed(Algorithm::Sha1, SECRET, call, qs);
    reqwest::get(format!("http://{http}/bigbluebutton/api/{path}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn between<'a>(s: &'a str, a: &str, b: &str) -> Option<&'a str> {
    s.split(a).nth(1)?.split(b).next()
}

/// The one recording folder under `dir`'s recordings.
fn folder(dir: &Path) -> PathBuf {
    let rooms = dir.join("recordings");
    let room = std::fs::read_dir(&rooms)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::read_dir(room)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_killed_mid_way_is_finished_at_the_restart() {
    let dir = std::env::temp_dir().join(format!("plenary-rec-kill9-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (mut child, http) = serve(&dir);
    let created = bbb(
        &http,
        "create",
        "name=Assembly&meetingID=k9&record=true&autoStartRecording=true",
    )
    .await;
    assert!(created.contains("SUCCESS"), "{created}");
    let joined = bbb(
        &http,
        "join",
        "meetingID=k9&fullName=Val&role=MODERATOR&redirect=false",
    )
    .await;
    let url = between(&joined, "<url>", "</url>").unwrap().to_owned();
    let (path, token) = url.split_once("#join=").unwrap();
    let peer = Peer::join(PeerOptions {
        http_addr: http.clone(),
        room: RoomId::parse(path.rsplit('/').next().unwrap()).unwrap(),
        name: "Val".into(),
        publish: Publish::AUDIO_VIDEO,
        local_ip: None,
        token: Some(token.to_owned()),
    })
    .await
    .unwrap();
    // Recording from the first join; media flows for a few seconds (synced every 2 s).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rec = folder(&dir);
    let mic = rec.join(format!("p{}-microphone.webm", peer.id.0));
    let before = plenary_record::webm::read_frames(&std::fs::read(&mic).unwrap()).len();
    assert!(before > 100, "written while recording: {before} frames");
    assert!(
        Command::new("kill")
            .args(["-9", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    child.wait().unwrap();
    drop(peer);

    // What the disk holds after the kill: at least what was there a moment before.
    let kept = plenary_record::webm::read_frames(&std::fs::read(&mic).unwrap()).len();
    assert!(kept >= before, "{kept} < {before}");

    // The restart finishes it: listed by the BBB API, with its timeline and playable tracks.
    let (mut child, http) = serve(&dir);
    let mut listed = String::new();
    for _ in 0..200 {
        listed = bbb(&http, "getRecordings", "meetingID=k9&state=any").await;
        if listed.contains("<recordID>") && !listed.contains("<state>processing</state>") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(listed.contains("<recordID>"), "{listed}");
    let timeline: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rec.join("timeline.json")).unwrap()).unwrap();
    let length = timeline["length_ms"].as_u64().unwrap();
    assert!(
        (3_000..7_000).contains(&length),
        "the recording's length: {length} ms"
    );
    let tracks = timeline["tracks"].as_array().unwrap();
    assert!(tracks.iter().any(|t| t["source"] == "microphone"));
    assert!(tracks.iter().any(|t| t["source"] == "camera"));
    assert!(
        rec.join("play")
            .join(format!("p{}-microphone.webm", peer_id(&timeline)))
            .exists()
    );
    // The headless peer's payloads are synthetic: composition then fails for good (the real
    // media path is the browser test's); what matters here is that it was attempted.
    assert!(
        listed.contains("<state>failed</state>") || listed.contains("<state>published</state>"),
        "{listed}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

fn peer_id(timeline: &serde_json::Value) -> u64 {
    timeline["tracks"][0]["participant"].as_u64().unwrap()
}
