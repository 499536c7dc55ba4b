//! The waiting room: a guest whose token asks for a moderator waits outside the meeting until
//! a moderator lets them in or turns them away; only moderators see and decide.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use common::TestServer;
use common::ws::{Ws, assert_closed, connect, expect_error, next, send};
use plenary_proto::{Role, RoomId};
use serde_json::{Value, json};

/// Turns the room's waiting room on (as its owner would on the rooms page).
async fn waiting_room_on(server: &TestServer, room: &RoomId) {
    let store = &server.running.as_ref().unwrap().state.store;
    assert!(
        store
            .set_room_settings(room, r#"{"waiting_room":true}"#)
            .await
            .unwrap()
    );
}

/// Joins through the room's link: the owner (a moderator) or a guest (who waits once the
/// waiting room is on).
async fn join(server: &TestServer, room: &RoomId, name: &str, role: Role) -> (Ws, Value) {
    let bearer = (role == Role::Moderator).then_some(server.api_token.as_str());
    let t = server.join_token_as(room, name, bearer).await;
    join_with(server, room, name, &t).await
}

async fn join_with(server: &TestServer, room: &RoomId, name: &str, t: &str) -> (Ws, Value) {
    let mut ws = connect(server).await;
    send(
        &mut ws,
        json!({"type":"join","v":2,"room":room,"name":name,"token":t}).to_string(),
    )
    .await;
    let first = next(&mut ws).await;
    (ws, first)
}

/// The next error, skipping presence chatter; asserts its code and whether it is fatal.
async fn error_of(ws: &mut Ws, code: &str, fatal: bool) {
    loop {
        let m = next(ws).await;
        if m["type"] == "error" {
            assert_eq!(
                (m["code"].as_str(), m["fatal"].as_bool()),
                (Some(code), Some(fatal)),
                "{m}"
            );
            return;
        }
    }
}

/// The next message of `kind`, skipping presence chatter.
async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let m = next(ws).await;
        if m["type"] == kind {
            return m;
        }
        assert_ne!(m["type"], "error", "{m}");
    }
}

#[tokio::test]
async fn guests_wait_until_a_moderator_decides() {
    let server = TestServer::start().await;
    let room = server.create_room("Lobby").await;
    // Pat's link was opened before the owner turned the waiting room on: Pat goes straight in.
    let pat = server.join_token(&room, "Pat").await;
    waiting_room_on(&server, &room).await;

    // A guest who comes before any moderator waits.
    let (mut early, m) = join(&server, &room, "Early guest", Role::Participant).await;
    assert_eq!(m["type"], "waiting", "{m}");
    assert_eq!(m["name"], "Early guest");
    let early_id = m["you"].clone();

    // A moderator joining sees who waits; a participant does not.
    let (mut mod_ws, joined) = join(&server, &room, "Mo", Role::Moderator).await;
    assert_eq!(joined["type"], "joined");
    assert_eq!(joined["role"], "moderator");
    assert_eq!(joined["lobby"][0]["name"], "Early guest");
    let (mut member, joined) = join_with(&server, &room, "Pat", &pat).await;
    assert_eq!(joined["type"], "joined");
    assert!(joined.get("lobby").is_none(), "{joined}");
    // The waiting guest is not in the meeting.
    let names: Vec<&str> = joined["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Mo"]);

    // A participant cannot let anyone in; a moderator can.
    send(
        &mut member,
        json!({"type":"admit","participant_id":early_id}).to_string(),
    )
    .await;
    expect_error(&mut member, "forbidden", false).await;
    // While waiting, the guest can do nothing but wait.
    send(&mut early, json!({"type":"offer","sdp":"v=0"}).to_string()).await;
    expect_error(&mut early, "wrong_order", false).await;

    send(
        &mut mod_ws,
        json!({"type":"admit","participant_id":early_id}).to_string(),
    )
    .await;
    let left = next_of(&mut mod_ws, "lobby_left").await;
    assert_eq!(left["participant_id"], early_id);
    let joined = next_of(&mut early, "joined").await;
    assert_eq!(joined["you"], early_id);
    assert_eq!(joined["name"], "Early guest");
    assert_eq!(
        next_of(&mut member, "participant_joined").await["participant"]["name"],
        "Early guest"
    );
    // Admitting again: no longer waiting.
    send(
        &mut mod_ws,
        json!({"type":"admit","participant_id":early_id}).to_string(),
    )
    .await;
    error_of(&mut mod_ws, "unknown_participant", false).await;

    // A guest who comes while a moderator is there: the moderator is told, and denies.
    let (mut late, m) = join(&server, &room, "Late guest", Role::Participant).await;
    assert_eq!(m["type"], "waiting");
    let late_id = m["you"].clone();
    let w = next_of(&mut mod_ws, "guest_waiting").await;
    assert_eq!(
        (
            w["participant"]["id"].clone(),
            w["participant"]["name"].as_str()
        ),
        (late_id.clone(), Some("Late guest"))
    );
    send(
        &mut mod_ws,
        json!({"type":"deny","participant_id":late_id}).to_string(),
    )
    .await;
    expect_error(&mut late, "guest_denied", true).await;
    assert_closed(&mut late).await;
    assert_eq!(
        next_of(&mut mod_ws, "lobby_left").await["participant_id"],
        late_id
    );

    // A guest who gives up: the moderator's list is updated.
    let (mut quitter, m) = join(&server, &room, "Quitter", Role::Participant).await;
    let quitter_id = m["you"].clone();
    next_of(&mut mod_ws, "guest_waiting").await;
    send(&mut quitter, r#"{"type":"leave"}"#).await;
    assert_eq!(
        next_of(&mut mod_ws, "lobby_left").await["participant_id"],
        quitter_id
    );
    server.stop().await;
}

#[tokio::test]
async fn ending_a_meeting_also_sends_waiting_guests_away() {
    let server = TestServer::start().await;
    let room = server.create_room("Ends").await;
    waiting_room_on(&server, &room).await;
    let (mut guest, m) = join(&server, &room, "G", Role::Participant).await;
    assert_eq!(m["type"], "waiting");
    server
        .running
        .as_ref()
        .unwrap()
        .state
        .meeting
        .live
        .end(&room, "The meeting was ended.");
    let ended = next_of(&mut guest, "ended").await;
    assert_eq!(ended["reason"], "The meeting was ended.");
    assert_closed(&mut guest).await;
    // Nobody is admitted any more: admission refuses before any token is made.
    let path = format!("/api/rooms/{room}/join");
    let (status, body) = server
        .call_as("POST", &path, Some(&json!({"name": "G2"})), None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (410, Some("meeting_ended"))
    );
    server.stop().await;
}
