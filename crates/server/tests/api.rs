//! The HTTP API answers malformed requests with clear JSON errors.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use common::TestServer;
use plenary_peer::http::{call, call_raw};
use serde_json::{Value, json};

async fn error_code(
    server: &TestServer,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> (u16, String) {
    let (status, bytes) = call_raw(&server.http, method, path, body.map(<[u8]>::to_vec))
        .await
        .unwrap();
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

    let (status, room): (u16, Value) = call(
        &server.http,
        "POST",
        "/api/rooms",
        Some(&json!({"name": "  Board  "})),
    )
    .await
    .unwrap();
    assert_eq!(status, 201);
    assert_eq!(room["name"], "Board");
    let id = room["id"].as_str().unwrap();
    assert_eq!(room["url"], format!("/r/{id}"));

    let (status, got): (u16, Value) =
        call::<(), _>(&server.http, "GET", &format!("/api/rooms/{id}"), None)
            .await
            .unwrap();
    assert_eq!((status, got["participants"].as_u64()), (200, Some(0)));

    let (status, unnamed): (u16, Value) =
        call(&server.http, "POST", "/api/rooms", Some(&json!({})))
            .await
            .unwrap();
    assert_eq!((status, unnamed["name"].as_str()), (201, Some("Meeting")));

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
