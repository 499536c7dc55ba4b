//! The ICE-TCP listener on the media port: strangers cannot hold it. One address gets at most
//! `MAX_PER_IP` connections; a frame larger than any WebRTC packet closes its connection.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::net::SocketAddr;
use std::time::Duration;

use plenary_engine::{Engine, MAX_TCP_PER_IP};
use plenary_media::SfuConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn engine() -> (Engine, SocketAddr) {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = udp.local_addr().unwrap();
    let tcp = std::net::TcpListener::bind(addr).unwrap();
    let engine = Engine::start(vec![(udp, Some(tcp))], SfuConfig::new(addr)).unwrap();
    (engine, addr)
}

/// Whether the server closed `stream` (EOF or reset) within a second.
async fn closed(stream: &mut TcpStream) -> bool {
    let mut b = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), stream.read(&mut b)).await,
        Ok(Ok(0) | Err(_))
    )
}

async fn open_count(engine: &Engine, want: u64) {
    for _ in 0..100 {
        if engine
            .counters
            .tcp_connections
            .load(std::sync::atomic::Ordering::Relaxed)
            == want
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("expected {want} open ICE-TCP connections");
}

#[tokio::test]
async fn one_address_gets_a_bounded_number_of_connections() {
    let (engine, addr) = engine().await;
    let mut kept = Vec::new();
    for _ in 0..MAX_TCP_PER_IP {
        kept.push(TcpStream::connect(addr).await.unwrap());
    }
    open_count(&engine, MAX_TCP_PER_IP as u64).await;
    let mut one_more = TcpStream::connect(addr).await.unwrap();
    assert!(
        closed(&mut one_more).await,
        "a connection beyond the limit stays open"
    );
    assert!(
        !closed(&mut kept[0]).await,
        "a connection within the limit was closed"
    );
    // Closing one frees its place.
    drop(kept.pop());
    open_count(&engine, MAX_TCP_PER_IP as u64 - 1).await;
    let mut again = TcpStream::connect(addr).await.unwrap();
    assert!(!closed(&mut again).await);
}

#[tokio::test]
async fn an_oversized_frame_closes_its_connection_only() {
    let (engine, addr) = engine().await;
    let mut good = TcpStream::connect(addr).await.unwrap();
    let mut bad = TcpStream::connect(addr).await.unwrap();
    open_count(&engine, 2).await;
    bad.write_all(&[0xff, 0xff]).await.unwrap();
    assert!(closed(&mut bad).await);
    open_count(&engine, 1).await;
    // A well-framed packet no session knows is only ignored.
    good.write_all(&[0, 4, 1, 2, 3, 4]).await.unwrap();
    assert!(!closed(&mut good).await);
}

#[tokio::test]
async fn a_connection_sending_only_what_no_session_takes_is_closed() {
    let (engine, addr) = engine().await;
    let mut stranger = TcpStream::connect(addr).await.unwrap();
    open_count(&engine, 1).await;
    // Well-framed garbage every half second: it keeps the socket busy, not open.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let closed_in_time = loop {
        if stranger.write_all(&[0, 4, 9, 9, 9, 9]).await.is_err() || closed(&mut stranger).await {
            break true;
        }
        if std::time::Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(closed_in_time, "garbage kept an ICE-TCP connection open");
    open_count(&engine, 0).await;
}
