//! The HTTP API answers malformed requests with clear JSON errors.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use common::TestServer;
use plenary_peer::http::{call, call_raw};
use serde_json::{Value, json};

/// `(status, error code)` of a call made with the test server's API token.
async fn error_code(
    server: &TestServer,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .request(
            method.parse().unwrap(),
            format!("http://{}{path}", server.http),
        )
        .bearer_auth(&server.api_token)
        .header("content-type", "application/json");
    if let Some(b) = body {
        req = req.body(b.to_vec());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    let v: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)));
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    (status, v["error"]["code"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn rooms_can_be_created_read_and_joined() {
    let server = TestServer::start().await;
    let (status, health): (u16, Value) = call::<(), _>(&server.http, "GET", "/api/health", None)
        .await
        .unwrap();
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    assert_eq!(health["database"], "sqlite");
    assert_eq!(health["checks"]["database"], "ok");

    // Closed by default: nobody signed in creates nothing.
    let (status, refused): (u16, Value) = call(
        &server.http,
        "POST",
        "/api/rooms",
        Some(&json!({"name": "Board"})),
    )
    .await
    .unwrap();
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (401, Some("sign_in_required"))
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("API token"),
        "{refused}"
    );
    // A wrong token is refused as such, not taken for nobody.
    let (status, bad) = server
        .call_as("POST", "/api/rooms", Some(&json!({})), Some("plt_nope"))
        .await;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (401, Some("invalid_api_token"))
    );

    // An admin's API token creates rooms, owned by its account.
    let token = Some(server.api_token.as_str());
    let (status, room) = server
        .call_as(
            "POST",
            "/api/rooms",
            Some(&json!({"name": "  Board  "})),
            token,
        )
        .await;
    assert_eq!(status, 201, "{room}");
    assert_eq!(room["name"], "Board");
    let id = room["id"].as_str().unwrap();
    assert_eq!(room["url"], format!("/r/{id}"));

    let (status, got): (u16, Value) =
        call::<(), _>(&server.http, "GET", &format!("/api/rooms/{id}"), None)
            .await
            .unwrap();
    assert_eq!((status, got["participants"].as_u64()), (200, Some(0)));
    // Nobody records an empty room (the join page tells joiners when a meeting is recorded).
    assert_eq!(got["recording"], "off");

    let (status, unnamed) = server
        .call_as("POST", "/api/rooms", Some(&json!({})), token)
        .await;
    // An account's room without a name is named after the account.
    assert_eq!(
        (status, unnamed["name"].as_str()),
        (201, Some("Administrator"))
    );

    // Guests still join by the link.
    let (status, grant): (u16, Value) = call(
        &server.http,
        "POST",
        &format!("/api/rooms/{id}/join"),
        Some(&json!({"name": "Ada"})),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert!(grant["token"].as_str().is_some_and(|t| t.contains('.')));
    assert_eq!(grant["ws_path"], "/ws");

    // A database that does not answer makes the node unhealthy, and says which part.
    server
        .running
        .as_ref()
        .unwrap()
        .state
        .store
        .close()
        .await
        .unwrap();
    let (status, health) = server.call_as("GET", "/api/health", None, None).await;
    assert_eq!(
        (
            status,
            health["status"].as_str(),
            health["checks"]["database"].as_str()
        ),
        (503, Some("degraded"), Some("unavailable"))
    );
    server.stop().await;
}

#[tokio::test]
async fn an_open_instance_lets_anyone_create_rooms_that_expire() {
    let server = TestServer::start_with(|s| {
        s.room_creation = plenary_meeting::RoomCreation::Anyone;
    })
    .await;
    let (status, room): (u16, Value) = call(
        &server.http,
        "POST",
        "/api/rooms",
        Some(&json!({"name": "Open"})),
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{room}");
    let id = plenary_proto::RoomId::parse(room["id"].as_str().unwrap()).unwrap();
    // Made without an account: an anonymous room, deleted once unused for the set days.
    let store = &server.running.as_ref().unwrap().state.store;
    assert!(
        store
            .get_room(&id)
            .await
            .unwrap()
            .unwrap()
            .owner_id
            .is_none()
    );
    let now = plenary_proto::clock::unix_secs();
    assert_eq!(
        store
            .delete_unused_anonymous_rooms(now - 7 * 86_400)
            .await
            .unwrap(),
        vec![],
        "used just now"
    );
    assert_eq!(
        store.delete_unused_anonymous_rooms(now + 1).await.unwrap(),
        vec![id]
    );
    server.stop().await;
}

#[tokio::test]
async fn malformed_requests_get_clear_errors() {
    let server = TestServer::start().await;
    let room = server.create_room("R").await;
    let join = format!("/api/rooms/{room}/join");

    assert_eq!(
        error_code(&server, "POST", "/api/rooms", Some(b"{nope")).await,
        (400, "bad_request".into())
    );
    assert_eq!(
        error_code(&server, "POST", "/api/rooms", Some(br#"{"name": 5}"#))
            .await
            .0,
        422
    );
    assert_eq!(
        error_code(&server, "POST", "/api/rooms", Some(br#"{"colour": "red"}"#))
            .await
            .0,
        422
    );
    let long = json!({"name": "x".repeat(101)}).to_string();
    assert_eq!(
        error_code(&server, "POST", "/api/rooms", Some(long.as_bytes())).await,
        (400, "bad_request".into())
    );
    assert_eq!(
        error_code(&server, "GET", "/api/rooms/no-such-room", None).await,
        (404, "not_found".into())
    );
    assert_eq!(
        error_code(&server, "GET", "/api/rooms/..%2F..%2Fetc", None).await,
        (404, "not_found".into())
    );
    assert_eq!(
        error_code(&server, "POST", &join, Some(br#"{"name": ""}"#)).await,
        (400, "bad_request".into())
    );
    assert_eq!(error_code(&server, "POST", &join, Some(b"")).await.0, 400);
    assert_eq!(
        error_code(
            &server,
            "POST",
            "/api/rooms/ghost-room/join",
            Some(br#"{"name": "A"}"#)
        )
        .await,
        (404, "not_found".into())
    );
    // Bodies over 64 KiB are refused before parsing.
    let huge = json!({"name": "x".repeat(100_000)}).to_string();
    let (status, _) = call_raw(&server.http, "POST", "/api/rooms", Some(huge.into_bytes()))
        .await
        .unwrap();
    assert_eq!(status, 413);
    server.stop().await;
}

#[tokio::test]
async fn the_web_client_is_served() {
    let server = TestServer::start().await;
    for path in [
        "/",
        "/r/abc-defg-hij",
        "/static/js/protocol.js",
        "/static/css/plenary.css",
    ] {
        let (status, body) = call_raw(&server.http, "GET", path, None).await.unwrap();
        assert_eq!(status, 200, "{path}");
        assert!(!body.is_empty(), "{path} is empty");
    }
    let (status, _) = call_raw(&server.http, "GET", "/static/../Cargo.toml", None)
        .await
        .unwrap();
    assert_eq!(status, 404);
    let (status, _) = call_raw(&server.http, "GET", "/static/js/nope.js", None)
        .await
        .unwrap();
    assert_eq!(status, 404);
    server.stop().await;
}
