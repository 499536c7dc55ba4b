//! Getting back in after a drop: a lost connection's place is held (the others see
//! "reconnecting", never a leave), a resume with the key takes it again with role, hand and
//! chat; a resume while the old connection is still open replaces it; a wrong key, a leave, a
//! removal or the hold running out leave nothing to resume.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use common::TestServer;
use common::ws::{Ws, assert_closed, connect, expect_error, next, send};
use plenary_proto::RoomId;
use serde_json::{Value, json};

/// Joins `room` as `name`: the owner (moderator) with the server's API token, else a guest.
async fn join(server: &TestServer, room: &RoomId, name: &str, owner: bool) -> (Ws, Value) {
    let bearer = owner.then_some(server.api_token.as_str());
    let token = server.join_token_as(room, name, bearer).await;
    let mut ws = connect(server).await;
    send(
        &mut ws,
        json!({"type":"join","v":2,"room":room,"name":name,"token":token}).to_string(),
    )
    .await;
    let m = next_of(&mut ws, "joined", &[]).await;
    (ws, m)
}

/// The next message of `kind`; fails on an error or on any of `never`.
async fn next_of(ws: &mut Ws, kind: &str, never: &[&str]) -> Value {
    loop {
        let m = next(ws).await;
        if m["type"] == kind {
            return m;
        }
        assert_ne!(m["type"], "error", "waiting for {kind}: {m}");
        assert!(
            !never.contains(&m["type"].as_str().unwrap()),
            "waiting for {kind}: {m}"
        );
    }
}

async fn resume(server: &TestServer, room: &RoomId, id: &Value, key: &str) -> Ws {
    let mut ws = connect(server).await;
    send(
        &mut ws,
        json!({"type":"resume","v":2,"room":room,"participant_id":id,"key":key}).to_string(),
    )
    .await;
    ws
}

fn count(server: &TestServer, room: &RoomId) -> usize {
    server
        .running
        .as_ref()
        .unwrap()
        .state
        .meeting
        .live
        .count(room)
}

#[tokio::test]
async fn a_dropped_participant_gets_back_in_with_role_hand_and_chat() {
    let server = TestServer::start().await;
    let room = server.create_room("Flaky wifi").await;
    let (mut mo, _) = join(&server, &room, "Mo", true).await;
    let (mut val, joined) = join(&server, &room, "Val", false).await;
    let val_id = joined["you"].clone();
    let key = joined["resume_key"].as_str().unwrap().to_owned();
    assert!(key.len() >= 20, "{joined}");
    send(&mut val, json!({"type":"hand","raised":true}).to_string()).await;
    next_of(&mut mo, "hands", &[]).await;
    send(
        &mut mo,
        json!({"type":"moderate","participant_id":val_id,"action":"promote"}).to_string(),
    )
    .await;
    next_of(&mut val, "role_changed", &[]).await;
    send(
        &mut mo,
        json!({"type":"chat","to":"everyone","text":"item 1"}).to_string(),
    )
    .await;
    next_of(&mut val, "chat", &[]).await;

    // The connection is cut (no close frame, no leave): the place is held.
    drop(val);
    let m = next_of(&mut mo, "participant_reconnecting", &["participant_left"]).await;
    assert_eq!(m["participant_id"], val_id);
    assert_eq!(count(&server, &room), 2);

    // A wrong key gets nothing.
    let mut wrong = resume(&server, &room, &val_id, "not-the-key").await;
    expect_error(&mut wrong, "cannot_resume", true).await;

    // The key takes the place again: same id, role, hand, chat.
    let mut back = resume(&server, &room, &val_id, &key).await;
    let j = next_of(&mut back, "joined", &[]).await;
    assert_eq!(j["you"], val_id);
    assert_eq!(j["role"], "moderator");
    assert_eq!(j["hands"], json!([val_id]));
    assert_eq!(j["chat"][0]["text"], "item 1");
    assert_eq!(j["participants"].as_array().unwrap().len(), 1);
    let m = next_of(&mut mo, "participant_reconnected", &["participant_left"]).await;
    assert_eq!(m["participant_id"], val_id);
    // In the meeting as before: she chats, Mo reads it.
    send(
        &mut back,
        json!({"type":"chat","to":"everyone","text":"back"}).to_string(),
    )
    .await;
    assert_eq!(
        next_of(&mut mo, "chat", &["participant_left"]).await["message"]["text"],
        "back"
    );

    // A resume while that connection is still open (the server had not noticed a drop yet):
    // the newer connection has the place, the older one is closed; nobody sees a leave.
    let mut again = resume(&server, &room, &val_id, &key).await;
    next_of(&mut again, "joined", &[]).await;
    assert_closed(&mut back).await;
    send(
        &mut again,
        json!({"type":"hand","raised":false}).to_string(),
    )
    .await;
    let hands = next_of(&mut mo, "hands", &["participant_left"]).await;
    assert_eq!(hands["queue"], json!([]));
    assert_eq!(count(&server, &room), 2);

    // Leaving on purpose leaves at once, and nothing is left to resume.
    send(&mut again, json!({"type":"leave"}).to_string()).await;
    let m = next_of(&mut mo, "participant_left", &[]).await;
    assert_eq!(m["participant_id"], val_id);
    let mut late = resume(&server, &room, &val_id, &key).await;
    expect_error(&mut late, "cannot_resume", true).await;
    server.stop().await;
}

#[tokio::test]
async fn the_place_is_let_go_when_nobody_comes_back_and_a_removal_is_final() {
    let server = TestServer::start_with(|s| s.reconnect_hold_secs = 1).await;
    let room = server.create_room("Gone").await;
    let (mut mo, _) = join(&server, &room, "Mo", true).await;
    let (val, joined) = join(&server, &room, "Val", false).await;
    let (val_id, key) = (joined["you"].clone(), joined["resume_key"].clone());
    drop(val);
    next_of(&mut mo, "participant_reconnecting", &["participant_left"]).await;
    // After the hold (1 s here) she leaves, and her seat is free.
    let m = next_of(&mut mo, "participant_left", &[]).await;
    assert_eq!(m["participant_id"], val_id);
    assert_eq!(count(&server, &room), 1);
    let mut late = resume(&server, &room, &val_id, key.as_str().unwrap()).await;
    expect_error(&mut late, "cannot_resume", true).await;

    // Removed by a moderator while held: no way back with the key either.
    let (wes, joined) = join(&server, &room, "Wes", false).await;
    let (wes_id, key) = (joined["you"].clone(), joined["resume_key"].clone());
    drop(wes);
    next_of(&mut mo, "participant_reconnecting", &["participant_left"]).await;
    send(
        &mut mo,
        json!({"type":"moderate","participant_id":wes_id,"action":"remove"}).to_string(),
    )
    .await;
    next_of(&mut mo, "participant_left", &[]).await;
    let mut late = resume(&server, &room, &wes_id, key.as_str().unwrap()).await;
    expect_error(&mut late, "cannot_resume", true).await;
    server.stop().await;
}

#[tokio::test]
async fn ending_for_all_ends_the_places_held_too() {
    let server = TestServer::start().await;
    let room = server.create_room("Ended while away").await;
    let (mut mo, _) = join(&server, &room, "Mo", true).await;
    let (val, joined) = join(&server, &room, "Val", false).await;
    let (val_id, key) = (joined["you"].clone(), joined["resume_key"].clone());
    send(
        &mut mo,
        json!({"type":"chat","to":"everyone","text":"the old meeting's motion"}).to_string(),
    )
    .await;
    next_of(&mut mo, "chat", &[]).await;
    // Val's connection drops; her place is held when Mo ends the meeting for everyone.
    drop(val);
    next_of(&mut mo, "participant_reconnecting", &["participant_left"]).await;
    send(&mut mo, json!({"type":"end_meeting"}).to_string()).await;
    next_of(&mut mo, "ended", &[]).await;
    assert_eq!(
        count(&server, &room),
        0,
        "nobody is left in the ended meeting"
    );
    // Her client comes back with its key: there is no place to come back to.
    let mut late = resume(&server, &room, &val_id, key.as_str().unwrap()).await;
    expect_error(&mut late, "cannot_resume", true).await;
    // The room's link makes a new meeting, with nothing of the old one.
    let (_ann, joined) = join(&server, &room, "Ann", true).await;
    assert_eq!(joined["chat"], json!([]), "{joined}");
    assert_eq!(joined["participants"], json!([]), "{joined}");
    server.stop().await;
}

#[tokio::test]
async fn what_a_moderator_turned_off_during_a_drop_stays_off_after_it() {
    let server = TestServer::start().await;
    let room = server.create_room("Muted while away").await;
    let (mut mo, _) = join(&server, &room, "Mo", true).await;
    let (mut val, joined) = join(&server, &room, "Val", false).await;
    let (val_id, key) = (joined["you"].clone(), joined["resume_key"].clone());
    send(
        &mut val,
        json!({"type":"media_state","audio":true,"video":true}).to_string(),
    )
    .await;
    next_of(&mut mo, "media_state", &[]).await;
    drop(val);
    next_of(&mut mo, "participant_reconnecting", &["participant_left"]).await;
    // Mo mutes her while she is away; the request cannot reach her.
    send(
        &mut mo,
        json!({"type":"moderate","participant_id":val_id,"action":"mute"}).to_string(),
    )
    .await;
    next_of(&mut mo, "media_state", &[]).await;
    // Back in: `joined` says what the meeting has her on, so her client keeps the mute.
    let mut back = resume(&server, &room, &val_id, key.as_str().unwrap()).await;
    let j = next_of(&mut back, "joined", &[]).await;
    assert_eq!(
        j["media"],
        json!({"audio":false,"video":true,"screen":false}),
        "{j}"
    );
    server.stop().await;
}
