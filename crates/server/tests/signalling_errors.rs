//! Malformed signalling gets a clear error and never takes the server or other participants
//! down: bad JSON, unknown messages, wrong order, oversized and binary frames, bad tokens, bad
//! SDP, and a client that never stops sending garbage.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::ws::{assert_alive, assert_closed, connect, expect_error, next, send};
use common::{TestServer, eventually};
use futures_util::{SinkExt, StreamExt};
use plenary_meeting::JoinClaims;
use plenary_peer::{Peer, PeerOptions, Publish};
use plenary_proto::{MediaKind, PROTOCOL_VERSION, Role, RoomId};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

async fn join_msg(server: &TestServer, room: &RoomId) -> String {
    let token = server.join_token(room, "Tester").await;
    json!({"type":"join","v":PROTOCOL_VERSION,"room":room,"name":"Tester","token":token})
        .to_string()
}

#[tokio::test]
async fn garbage_before_join_gets_clear_errors_and_the_connection_survives() {
    let server = TestServer::start().await;
    let mut ws = connect(&server).await;

    send(&mut ws, "{this is not json").await;
    let m = expect_error(&mut ws, "bad_json", false).await;
    assert!(m.contains("JSON"), "{m}");
    send(&mut ws, "[1,2,3]").await;
    expect_error(&mut ws, "bad_json", false).await;
    send(&mut ws, r#"{"type":"launch_missiles"}"#).await;
    let m = expect_error(&mut ws, "unknown_message", false).await;
    assert!(m.contains("launch_missiles"), "{m}");
    send(&mut ws, r#"{"type":"join","v":1}"#).await;
    expect_error(&mut ws, "bad_message", false).await;
    send(&mut ws, r#"{"type":"offer","sdp":"v=0"}"#).await;
    let m = expect_error(&mut ws, "wrong_order", false).await;
    assert!(m.contains("join first"), "{m}");
    send(&mut ws, r#"{"type":"answer","sdp":"v=0"}"#).await;
    expect_error(&mut ws, "wrong_order", false).await;
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    expect_error(&mut ws, "bad_message", false).await;

    // Over the protocol limit but under the transport limit: an error, and the connection lives.
    let big = json!({"type":"offer","sdp":"a".repeat(300 * 1024)}).to_string();
    send(&mut ws, big).await;
    expect_error(&mut ws, "too_large", false).await;
    assert_alive(&mut ws).await;

    // Far over the limit: the WebSocket layer closes with 1009 (message too big).
    send(&mut ws, "x".repeat(3 * 1024 * 1024)).await;
    let code = assert_closed(&mut ws).await;
    assert!(matches!(code, None | Some(CloseCode::Size)), "{code:?}");

    // The server is fine.
    let mut again = connect(&server).await;
    assert_alive(&mut again).await;
    server.stop().await;
}

#[tokio::test]
async fn bad_joins_are_refused_and_closed() {
    let server = TestServer::start().await;
    let room = server.create_room("Joins").await;
    let token = server.join_token(&room, "T").await;

    let cases = [
        (
            json!({"type":"join","v":99,"room":room,"name":"T","token":token}),
            "unsupported_version",
        ),
        (
            json!({"type":"join","v":2,"room":room,"name":"T","token":"forged.token"}),
            "invalid_token",
        ),
        (
            json!({"type":"join","v":2,"room":room,"name":"T","token":""}),
            "invalid_token",
        ),
        (
            json!({"type":"join","v":2,"room":"other-room","name":"T","token":token}),
            "invalid_token",
        ),
    ];
    for (msg, code) in cases {
        let mut ws = connect(&server).await;
        send(&mut ws, msg.to_string()).await;
        expect_error(&mut ws, code, true).await;
        assert_closed(&mut ws).await;
    }

    // A correctly signed token for a room that does not exist.
    let ghost = RoomId::parse("ghost-room").unwrap();
    let claims = JoinClaims::new(ghost.clone(), None, Role::Participant, u64::MAX);
    let forged = common::forge(&claims);
    let mut ws = connect(&server).await;
    send(
        &mut ws,
        json!({"type":"join","v":2,"room":ghost,"name":"T","token":forged}).to_string(),
    )
    .await;
    expect_error(&mut ws, "room_not_found", true).await;

    // An expired token.
    let claims = JoinClaims::new(room.clone(), None, Role::Participant, 1);
    let expired = common::forge(&claims);
    let mut ws = connect(&server).await;
    send(
        &mut ws,
        json!({"type":"join","v":2,"room":room,"name":"T","token":expired}).to_string(),
    )
    .await;
    let m = expect_error(&mut ws, "invalid_token", true).await;
    assert!(m.contains("expired"), "{m}");

    // A correctly signed token that admission never issued: no seat, nobody admitted.
    let mut claims = JoinClaims::new(
        room.clone(),
        Some("Mallory".into()),
        Role::Moderator,
        u64::MAX,
    );
    claims.seat = "made-up".into();
    let mut ws = connect(&server).await;
    send(
        &mut ws,
        json!({"type":"join","v":2,"room":room,"name":"M","token":common::forge(&claims)})
            .to_string(),
    )
    .await;
    let m = expect_error(&mut ws, "invalid_token", true).await;
    assert!(m.contains("admits nobody"), "{m}");

    // A name the token does not fix, and that is blank.
    let claims = JoinClaims::new(room.clone(), None, Role::Participant, u64::MAX);
    let unnamed = common::forge(&claims);
    let mut ws = connect(&server).await;
    send(
        &mut ws,
        json!({"type":"join","v":2,"room":room,"name":"   ","token":unnamed}).to_string(),
    )
    .await;
    expect_error(&mut ws, "bad_message", true).await;
    server.stop().await;
}

#[tokio::test]
async fn wrong_messages_after_join_are_refused_without_harm() {
    let server = TestServer::start().await;
    let room = server.create_room("After join").await;
    let mut ws = connect(&server).await;
    send(&mut ws, join_msg(&server, &room).await).await;
    assert_eq!(next(&mut ws).await["type"], "joined");

    send(&mut ws, join_msg(&server, &room).await).await;
    expect_error(&mut ws, "wrong_order", false).await;
    send(&mut ws, r#"{"type":"offer","sdp":"this is not SDP"}"#).await;
    expect_error(&mut ws, "bad_sdp", false).await;
    send(&mut ws, r#"{"type":"answer","sdp":"v=0"}"#).await;
    expect_error(&mut ws, "wrong_order", false).await;
    send(
        &mut ws,
        r#"{"type":"media_state","audio":"loud","video":true}"#,
    )
    .await;
    expect_error(&mut ws, "bad_message", false).await;
    assert_alive(&mut ws).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_flood_is_cut_off_and_others_keep_their_media() {
    let server = TestServer::start().await;
    let room = server.create_room("Flood").await;
    let opts = |name: &str, publish| PeerOptions {
        http_addr: server.http.clone(),
        room: room.clone(),
        name: name.into(),
        publish,
        local_ip: None,
        token: None,
    };
    let alice = Peer::join(opts("Alice", Publish::AUDIO_VIDEO))
        .await
        .unwrap();
    let bob = Peer::join(opts("Bob", Publish::NOTHING)).await.unwrap();
    let video = |p: &Peer| {
        p.snapshot()
            .frames
            .get(&(alice.id, MediaKind::Video))
            .copied()
            .unwrap_or(0)
    };
    eventually(Duration::from_secs(10), "Bob receives video", || {
        video(&bob) > 5
    })
    .await;

    // A third client in the same room sends nothing but garbage.
    let mut ws = connect(&server).await;
    send(&mut ws, join_msg(&server, &room).await).await;
    assert_eq!(next(&mut ws).await["type"], "joined");
    let mut fatal_seen = false;
    for i in 0..60 {
        if ws
            .send(Message::text(format!("garbage {i}")))
            .await
            .is_err()
        {
            break;
        }
    }
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        if let Message::Text(t) = frame {
            let m: Value = serde_json::from_str(t.as_str()).unwrap();
            if m["type"] == "error" && m["fatal"] == true {
                fatal_seen = true;
            }
        }
    }
    assert!(fatal_seen, "the flooding client was never cut off");

    let before = video(&bob);
    eventually(Duration::from_secs(5), "Bob's video keeps flowing", || {
        video(&bob) > before + 10
    })
    .await;
    assert!(!alice.is_finished() && !bob.is_finished());
    // The flooder left the meeting when it was cut off.
    eventually(Duration::from_secs(5), "the flooder is gone", || {
        bob.snapshot().participants.len() == 1
    })
    .await;
    alice.leave().await.unwrap();
    bob.leave().await.unwrap();
    server.stop().await;
}
