//! The agenda and the speakers' list over real signalling: only moderators set the agenda,
//! move through it and give the floor; the agenda is kept with the room, so its next meeting
//! starts with it; the floor goes to the first raised hand, whose hand is lowered; a
//! progressive list puts people who have not spoken yet first; the speaker (or a moderator)
//! ends their turn; a speaker who leaves has the floor no more.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use common::TestServer;
use common::ws::{Ws, error_code, join_as, next_ok, send};
use plenary_proto::RoomId;
use serde_json::{Value, json};

/// The next `speakers` state whose passes `cond`.
async fn speakers_until(ws: &mut Ws, cond: impl Fn(&Value) -> bool) -> Value {
    loop {
        let s = next_ok(ws, "speakers").await["speakers"].clone();
        if cond(&s) {
            return s;
        }
    }
}

#[tokio::test]
async fn the_agenda_is_the_moderators_and_stays_with_the_room() {
    let server = TestServer::start().await;
    let room = server.create_room("Agenda").await;
    let (mut mo, joined) = join_as(&server, &room, "Mo", true).await;
    assert_eq!(joined["agenda"]["items"], json!([]));
    let (mut val, _) = join_as(&server, &room, "Val", false).await;
    let items =
        json!([{"title":" Welcome ","minutes":5},{"title":"Budget","minutes":20},{"title":"AOB"}]);
    send(
        &mut val,
        json!({"type":"agenda_set","items":items}).to_string(),
    )
    .await;
    assert_eq!(error_code(&mut val).await, "forbidden");
    send(&mut val, json!({"type":"agenda_go","index":0}).to_string()).await;
    assert_eq!(error_code(&mut val).await, "forbidden");
    send(
        &mut mo,
        json!({"type":"agenda_set","items":[{"title":"x","minutes":0}]}).to_string(),
    )
    .await;
    assert_eq!(error_code(&mut mo).await, "bad_message");

    send(
        &mut mo,
        json!({"type":"agenda_set","items":items}).to_string(),
    )
    .await;
    let agenda = next_ok(&mut val, "agenda").await["agenda"].clone();
    assert_eq!(agenda["items"][0], json!({"title":"Welcome","minutes":5}));
    assert_eq!(agenda["items"][2], json!({"title":"AOB"}));
    assert!(agenda.get("current").is_none());
    send(&mut mo, json!({"type":"agenda_go","index":3}).to_string()).await;
    assert_eq!(error_code(&mut mo).await, "bad_message");
    send(&mut mo, json!({"type":"agenda_go","index":1}).to_string()).await;
    let agenda = next_ok(&mut val, "agenda").await["agenda"].clone();
    assert_eq!(agenda["current"], 1);
    assert!(agenda["since_ms"].as_i64().unwrap() > 0);

    // Kept with the room: the next meeting starts with the items, at none of them.
    let stored = stored_settings(&server, &room).await;
    assert!(stored.contains("Budget"), "{stored}");
    drop(mo);
    drop(val);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    send_leave_all(&server, &room).await;
    let (_again, joined) = join_as(&server, &room, "Mo", true).await;
    assert_eq!(joined["agenda"]["items"][1]["title"], "Budget");
    assert!(joined["agenda"].get("current").is_none(), "{joined}");
    server.stop().await;
}

/// The room's settings as stored.
async fn stored_settings(server: &TestServer, room: &RoomId) -> String {
    let store = &server.running.as_ref().unwrap().state.store;
    store.get_room(room).await.unwrap().unwrap().settings
}

/// Waits until nobody is left in the room's meeting (dropped connections are held a while).
async fn send_leave_all(server: &TestServer, room: &RoomId) {
    let live = &server.running.as_ref().unwrap().state.meeting.live;
    live.end_meeting(room, "test");
    for _ in 0..50 {
        if live.count(room) == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the meeting did not end");
}

#[tokio::test]
async fn the_floor_goes_to_raised_hands_first_speakers_first_when_progressive() {
    let server = TestServer::start().await;
    let room = server.create_room("Floor").await;
    let (mut mo, _) = join_as(&server, &room, "Mo", true).await;
    let (mut ann, j) = join_as(&server, &room, "Ann", false).await;
    let ann_id = j["you"].as_u64().unwrap();
    let (mut bob, j) = join_as(&server, &room, "Bob", false).await;
    let bob_id = j["you"].as_u64().unwrap();

    send(&mut ann, r#"{"type":"speaker_next"}"#).await;
    assert_eq!(error_code(&mut ann).await, "forbidden");
    send(&mut ann, r#"{"type":"speakers_set","progressive":true}"#).await;
    assert_eq!(error_code(&mut ann).await, "forbidden");
    send(
        &mut mo,
        r#"{"type":"speakers_set","progressive":true,"limit_s":0}"#,
    )
    .await;
    assert_eq!(error_code(&mut mo).await, "bad_message");

    send(&mut ann, r#"{"type":"hand","raised":true}"#).await;
    speakers_until(&mut mo, |s| s["queue"] == json!([ann_id])).await;
    send(&mut mo, r#"{"type":"speaker_next"}"#).await;
    let s = speakers_until(&mut bob, |s| s["current"] == ann_id).await;
    assert_eq!(s["queue"], json!([]), "her hand is lowered: {s}");
    assert!(s["since_ms"].as_i64().unwrap() > 0);
    assert_eq!(next_ok(&mut bob, "hands").await["queue"], json!([]));

    // Ann asks again, then Bob: as raised, Ann first; progressive, Bob (who has not spoken).
    send(&mut ann, r#"{"type":"hand","raised":true}"#).await;
    speakers_until(&mut mo, |s| s["queue"] == json!([ann_id])).await;
    send(&mut bob, r#"{"type":"hand","raised":true}"#).await;
    speakers_until(&mut mo, |s| s["queue"] == json!([ann_id, bob_id])).await;
    send(
        &mut mo,
        r#"{"type":"speakers_set","progressive":true,"limit_s":120}"#,
    )
    .await;
    let s = speakers_until(&mut mo, |s| s["progressive"] == true).await;
    assert_eq!(s["queue"], json!([bob_id, ann_id]));
    assert_eq!(s["limit_s"], 120);

    // Only the speaker or a moderator ends a turn.
    send(&mut bob, r#"{"type":"speaker_done"}"#).await;
    assert_eq!(error_code(&mut bob).await, "forbidden");
    send(&mut mo, r#"{"type":"speaker_next"}"#).await;
    speakers_until(&mut ann, |s| s["current"] == bob_id).await;
    send(&mut bob, r#"{"type":"speaker_done"}"#).await;
    let s = speakers_until(&mut ann, |s| s.get("current").is_none()).await;
    assert_eq!(s["queue"], json!([ann_id]));

    // A speaker who leaves has the floor no more.
    send(&mut mo, r#"{"type":"speaker_next"}"#).await;
    speakers_until(&mut bob, |s| s["current"] == ann_id).await;
    send(&mut ann, r#"{"type":"leave"}"#).await;
    speakers_until(&mut bob, |s| s.get("current").is_none()).await;
    server.stop().await;
}

#[tokio::test]
async fn a_promoted_guest_changes_the_meetings_agenda_not_the_rooms_and_a_removed_speaker_loses_the_floor()
 {
    let server = TestServer::start().await;
    let room = server.create_room("Guests").await;
    let (mut mo, _) = join_as(&server, &room, "Mo", true).await;
    let (mut gia, j) = join_as(&server, &room, "Gia", false).await;
    let gia_id = j["you"].as_u64().unwrap();
    send(
        &mut mo,
        json!({"type":"moderate","participant_id":gia_id,"action":"promote"}).to_string(),
    )
    .await;
    next_ok(&mut gia, "role_changed").await;
    send(
        &mut gia,
        json!({"type":"agenda_set","items":[{"title":"Gia's item"}]}).to_string(),
    )
    .await;
    let agenda = next_ok(&mut mo, "agenda").await["agenda"].clone();
    assert_eq!(agenda["items"][0]["title"], "Gia's item");
    let stored = stored_settings(&server, &room).await;
    assert!(
        !stored.contains("Gia's item"),
        "only the room's owners keep an agenda with it: {stored}"
    );

    // Gia has the floor; removed, she has it no more, and everyone sees so.
    let (mut val, _) = join_as(&server, &room, "Val", false).await;
    send(
        &mut mo,
        json!({"type":"moderate","participant_id":gia_id,"action":"demote"}).to_string(),
    )
    .await;
    send(&mut gia, r#"{"type":"hand","raised":true}"#).await;
    speakers_until(&mut mo, |s| s["queue"] == json!([gia_id])).await;
    send(&mut mo, r#"{"type":"speaker_next"}"#).await;
    speakers_until(&mut val, |s| s["current"] == gia_id).await;
    send(
        &mut mo,
        json!({"type":"moderate","participant_id":gia_id,"action":"remove"}).to_string(),
    )
    .await;
    speakers_until(&mut val, |s| s.get("current").is_none()).await;
    server.stop().await;
}
