//! An organisation's recording rules, enforced by the server: an organisation that forbids
//! recording, or whose recordings fill its quota (its own, else the site's), has its members'
//! rooms refused a recording; retention deletes recordings older than the organisation (else
//! the site) keeps them, files and all, at a fixed clock.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use common::TestServer;
use common::ws::{join_as, next_of, send};
use plenary_proto::RoomId;
use plenary_recordings::NewRecording;
use plenary_store::{NewOrganisation, RecordingPolicy, RecordingStatus};
use serde_json::json;

const DAY_MS: i64 = 24 * 3600 * 1000;

async fn start_refused(server: &TestServer, room: &RoomId) -> String {
    let (mut mo, _) = join_as(server, room, "Mo", true).await;
    send(
        &mut mo,
        json!({"type":"record","action":"start"}).to_string(),
    )
    .await;
    let m = next_of(&mut mo, "error").await;
    assert_eq!(m["code"], "forbidden", "{m}");
    m["message"].as_str().unwrap().to_owned()
}

/// A finished recording of `room` that ended `days_ago`, `bytes` big, with a file on disk.
async fn recording(
    server: &TestServer,
    room: &RoomId,
    days_ago: i64,
    bytes: i64,
) -> plenary_store::RecordingRow {
    let row = being_composed(server, room, room.as_str(), days_ago, bytes).await;
    composed(server, &row, bytes).await
}

/// A recording of `room` (made by `meeting_id`: the room's own, or an integration's) that
/// ended `days_ago` and waits for its composition.
async fn being_composed(
    server: &TestServer,
    room: &RoomId,
    meeting_id: &str,
    days_ago: i64,
    bytes: i64,
) -> plenary_store::RecordingRow {
    let state = &server.running.as_ref().unwrap().state;
    let ended = plenary_proto::clock::unix_millis() as i64 - days_ago * DAY_MS;
    let (row, dir) = state
        .recordings
        .begin(&NewRecording {
            room: room.clone(),
            meeting_id: meeting_id.to_owned(),
            meeting_ms: ended - 60_000,
            name: "Old".into(),
            started_ms: ended - 60_000 - days_ago, // distinct ids
            meta: "{}".into(),
        })
        .await
        .unwrap();
    std::fs::write(dir.join("recording.mp4"), vec![0u8; 10]).unwrap();
    let store = &state.store;
    assert!(
        store
            .recording_ended(&row.id, ended, 60_000, bytes)
            .await
            .unwrap()
    );
    store.get_recording(&row.id).await.unwrap().unwrap()
}

/// Composes `row` (as a worker would, without the media).
async fn composed(
    server: &TestServer,
    row: &plenary_store::RecordingRow,
    bytes: i64,
) -> plenary_store::RecordingRow {
    let store = &server.running.as_ref().unwrap().state.store;
    let job = store
        .claim_recording_job(i64::MAX / 2, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.id, row.id, "the only job waiting");
    assert!(
        store
            .recording_composed(&row.id, job.attempts, bytes)
            .await
            .unwrap()
    );
    store.get_recording(&row.id).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisations_forbid_limit_and_expire_recordings() {
    let server = TestServer::start_with(|s| {
        s.recording_quota_mb = Some(5);
        s.recording_retention_days = Some(90);
        // No worker: the test's recordings are not real media.
        s.recording_workers = 0;
    })
    .await;
    let state = &server.running.as_ref().unwrap().state;
    let store = state.store.clone();
    let room = server.create_room("Assembly").await;
    let mut settings = plenary_meeting::RoomSettings::parse(
        &store.get_room(&room).await.unwrap().unwrap().settings,
    );
    settings.recording_allowed = true;
    store
        .set_room_settings(&room, &settings.to_json())
        .await
        .unwrap();
    let owner = store
        .get_room(&room)
        .await
        .unwrap()
        .unwrap()
        .owner_id
        .unwrap();
    let org = store
        .create_org(&NewOrganisation {
            name: "social.coop".into(),
            max_rooms_per_member: None,
            max_participants: None,
            max_meeting_minutes: None,
            created_at: 1,
        })
        .await
        .unwrap();
    store.set_org_member(org.id, owner, false).await.unwrap();

    // The organisation forbids it: refused, whatever the room says.
    store
        .set_recording_policy(
            org.id,
            &RecordingPolicy {
                allowed: false,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    start_refused(&server, &room).await;

    // Allowed, but its recordings fill the site's quota (5 MB).
    store
        .set_recording_policy(org.id, &RecordingPolicy::default())
        .await
        .unwrap();
    let big = recording(&server, &room, 1, 6_000_000).await;
    let why = start_refused(&server, &room).await;
    assert!(why.contains("storage"), "{why}");
    // Its own, larger quota lets it record.
    let roomy = RecordingPolicy {
        quota_bytes: Some(50_000_000),
        ..Default::default()
    };
    store.set_recording_policy(org.id, &roomy).await.unwrap();
    let (mut mo, _) = join_as(&server, &room, "Mo", true).await;
    send(
        &mut mo,
        json!({"type":"record","action":"start"}).to_string(),
    )
    .await;
    assert_eq!(next_of(&mut mo, "recording").await["state"], "recording");
    send(
        &mut mo,
        json!({"type":"record","action":"stop"}).to_string(),
    )
    .await;
    assert_eq!(next_of(&mut mo, "recording").await["state"], "off");

    // The organisation's page lists its rooms' recordings with their states and sizes (no
    // links that would open them).
    let (email, password) = common::browser::first_admin(&server);
    let mut admin = common::browser::Browser::default();
    admin.sign_in(&server, &email, &password).await;
    let page = admin.get(&server, &format!("/orgs/{}", org.id)).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(r#"id="org-recordings""#),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&format!(
            r#"data-recording="{}" data-state="ready""#,
            big.id
        )),
        "{}",
        page.body
    );
    assert!(page.body.contains("6.0 MB"), "its size");
    assert!(!page.body.contains("?k="), "no recording links");

    // Retention at a fixed clock: the site keeps 90 days; the organisation, once it says
    // so, 30.
    let old = recording(&server, &room, 40, 1_000).await;
    let now = plenary_proto::clock::unix_millis() as i64;
    assert_eq!(state.recordings.sweep(now, Some(90)).await.unwrap(), 0);
    let thirty = RecordingPolicy {
        retention_days: Some(30),
        ..roomy
    };
    store.set_recording_policy(org.id, &thirty).await.unwrap();
    assert_eq!(state.recordings.sweep(now, Some(90)).await.unwrap(), 1);
    assert!(store.get_recording(&old.id).await.unwrap().is_none());
    assert!(!state.recordings.dir(&old).exists(), "its files are gone");
    // The recent one stays, until the clock passes its day.
    assert!(store.get_recording(&big.id).await.unwrap().is_some());
    assert!(state.recordings.dir(&big).join("recording.mp4").exists());
    assert_eq!(
        state
            .recordings
            .sweep(now + 28 * DAY_MS, Some(90))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        state
            .recordings
            .sweep(now + 30 * DAY_MS, Some(90))
            .await
            .unwrap(),
        1
    );
    assert!(store.get_recording(&big.id).await.unwrap().is_none());
    // Recordings being made or composed are never swept.
    let rows = store.recordings_of_room(&room).await.unwrap();
    assert!(rows.iter().all(|r| r.status != RecordingStatus::Ready));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_room_takes_its_recordings_with_it_but_not_an_integrations() {
    let server = TestServer::start_with(|s| s.recording_workers = 0).await;
    let state = &server.running.as_ref().unwrap().state;
    let store = state.store.clone();
    let room = server.create_room("Assembly").await;
    let ready = recording(&server, &room, 1, 1_000).await;
    let bbb = being_composed(&server, &room, "bbb-meeting", 1, 1_000).await;
    let bbb = composed(&server, &bbb, 1_000).await;
    let pending = being_composed(&server, &room, room.as_str(), 2, 1_000).await;
    assert_eq!(pending.status, RecordingStatus::Processing);
    assert!(state.recordings.dir(&pending).exists());

    assert!(
        state
            .recordings
            .delete_room(&state.meeting, &room, "room_deleted")
            .await
            .unwrap()
    );
    assert!(store.get_room(&room).await.unwrap().is_none());
    // Its recordings went, files and all, the one still being composed too.
    for r in [&ready, &pending] {
        assert!(store.get_recording(&r.id).await.unwrap().is_none());
        assert!(!state.recordings.dir(r).exists());
    }
    // An integration's recording outlives the room (the integration deletes it).
    assert!(store.get_recording(&bbb.id).await.unwrap().is_some());
    assert!(state.recordings.dir(&bbb).join("recording.mp4").exists());
    server.stop().await;
}
