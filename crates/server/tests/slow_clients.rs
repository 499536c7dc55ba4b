//! Slow and idle clients cannot pile connections up (bounded waits on loopback): half-sent
//! headers and idle keep-alive connections are closed, a body sent byte by byte gets 408, one
//! address holds at most its share of connections, and a WebSocket that never joins is closed.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes (or `limit` passes: then fails); returns what it sent.
async fn read_until_closed(s: &mut TcpStream, limit: Duration, what: &str) -> String {
    let mut got = Vec::new();
    let read = tokio::time::timeout(limit, s.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "{what}: still open after {limit:?}");
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn slow_and_idle_connections_are_closed() {
    let server = TestServer::start_with(|s| {
        s.http_header_timeout_secs = 1;
        s.http_request_timeout_secs = 2;
    })
    .await;
    let limit = Duration::from_secs(10);

    // Half-sent headers.
    let mut half = TcpStream::connect(&server.http).await.unwrap();
    half.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let got = read_until_closed(&mut half, limit, "half-sent headers").await;
    assert!(!got.contains("200 OK"), "{got}");

    // Nothing sent at all.
    let mut silent = TcpStream::connect(&server.http).await.unwrap();
    read_until_closed(&mut silent, limit, "a silent connection").await;

    // An idle keep-alive connection after a request was answered.
    let mut idle = TcpStream::connect(&server.http).await.unwrap();
    idle.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let got = read_until_closed(&mut idle, limit, "an idle keep-alive connection").await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");

    // A body sent byte by byte.
    let mut slow = TcpStream::connect(&server.http).await.unwrap();
    slow.write_all(
        b"POST /signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nemail=a",
    )
    .await
    .unwrap();
    let got = read_until_closed(&mut slow, limit, "a slow body").await;
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");

    // An Upgrade header does not exempt a form post from the deadline.
    let mut sly = TcpStream::connect(&server.http).await.unwrap();
    sly.write_all(
        b"POST /signin HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nemail=a",
    )
    .await
    .unwrap();
    let got = read_until_closed(&mut sly, limit, "a slow body with an Upgrade header").await;
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    server.stop().await;
}

#[tokio::test]
async fn one_address_holds_only_its_share_of_connections() {
    let server = TestServer::start_with(|s| s.max_connections_per_address = 5).await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(TcpStream::connect(&server.http).await.unwrap());
    }
    // Past the share: accepted by the kernel, then closed without an answer.
    let mut extra = TcpStream::connect(&server.http).await.unwrap();
    let _ = extra
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let got = read_until_closed(&mut extra, Duration::from_secs(5), "a sixth connection").await;
    assert!(got.is_empty(), "{got}");
    // The five held are served.
    let first = &mut held[0];
    first
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let got = read_until_closed(first, Duration::from_secs(5), "a held connection").await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    // Closing them gives their places back.
    held.clear();
    let mut again = None;
    for _ in 0..50 {
        let mut s = TcpStream::connect(&server.http).await.unwrap();
        s.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let got = read_until_closed(&mut s, Duration::from_secs(5), "a new connection").await;
        if got.starts_with("HTTP/1.1 200") {
            again = Some(got);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "the places were never given back");
    server.stop().await;
}

#[tokio::test]
async fn a_websocket_that_never_joins_is_closed() {
    let server = TestServer::start().await;
    let mut ws = common::ws::connect(&server).await;
    // The join deadline is 10 s: wait for the error a little longer than that.
    let m = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) =
                futures_util::StreamExt::next(&mut ws).await
            {
                return serde_json::from_str::<serde_json::Value>(t.as_str()).unwrap();
            }
        }
    })
    .await
    .expect("an error before 20 s");
    assert_eq!(
        (m["code"].as_str(), m["fatal"].as_bool()),
        (Some("timeout"), Some(true)),
        "{m}"
    );
    common::ws::assert_closed(&mut ws).await;
    server.stop().await;
}
