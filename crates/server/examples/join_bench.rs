//! Join latency with the usage ledger on and off.
//!
//! `cargo run --release -p plenary-server --example join_bench [JOINS] [ROUNDS]`
//!
//! Starts an in-process server (SQLite in a fresh folder, as the embedded default) with the
//! ledger on, then off, alternating ROUNDS times (default 5). Each round: JOINS (default 200)
//! guests one after another ask for a join token (`POST /api/rooms/{id}/join`), connect to the
//! signalling WebSocket, send `join` and wait for `joined`, then leave, while one person stays
//! in the meeting (so every join and leave is a ledger write, the meeting's start and end
//! aside). Prints each side's median and 95th percentile.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// POSTs JSON; returns the JSON answer.
async fn post(url: String, bearer: Option<&str>, body: serde_json::Value) -> serde_json::Value {
    let mut r = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(b) = bearer {
        r = r.bearer_auth(b);
    }
    serde_json::from_str(&r.send().await.unwrap().text().await.unwrap()).unwrap()
}

async fn join(http: &str, room: &str) -> (Ws, Duration) {
    let started = Instant::now();
    let grant = post(
        format!("http://{http}/api/rooms/{room}/join"),
        None,
        serde_json::json!({"name": "Guest"}),
    )
    .await;
    let token = grant["token"].as_str().unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{http}/ws"))
        .await
        .unwrap();
    let hello = serde_json::json!({"type":"join","v":2,"room":room,"name":"Guest","token":token});
    ws.send(Message::text(hello.to_string())).await.unwrap();
    loop {
        let Some(Ok(Message::Text(t))) = ws.next().await else {
            panic!("the connection closed before joined");
        };
        let m: serde_json::Value = serde_json::from_str(&t).unwrap();
        if m["type"] == "joined" {
            return (ws, started.elapsed());
        }
        assert_ne!(m["type"], "error", "{m}");
    }
}

async fn leave(mut ws: Ws) {
    ws.send(Message::text(r#"{"type":"leave"}"#)).await.unwrap();
    let _ = ws.close(None).await;
}

/// One round: a fresh server, `joins` joins; their latencies in ms.
async fn round(ledger: bool, joins: usize) -> Vec<f64> {
    let dir = std::env::temp_dir().join(format!("plenary-join-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let settings = plenary_server::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.clone(),
        media_port: 0,
        secret: Some(plenary_accounts::Secret(
            "join-bench-secret-0123456789".into(),
        )),
        usage_ledger: ledger,
        log: "warn".into(),
        ..plenary_server::Settings::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = plenary_server::start(settings, async {
        let _ = stopped.await;
    })
    .await
    .unwrap();
    let http = running.http_addr.to_string();
    let store = running.state.store.clone();
    let admin = store
        .user_by_email(&running.state.settings.admin_email)
        .await
        .unwrap()
        .unwrap();
    let (api, _) = plenary_accounts::create_api_token(&*store, admin.id, "bench")
        .await
        .unwrap();
    let room = post(
        format!("http://{http}/api/rooms"),
        Some(&api),
        serde_json::json!({"name": "Bench"}),
    )
    .await;
    let room = room["id"].as_str().unwrap().to_owned();
    let (stayer, _) = join(&http, &room).await;
    let mut ms = Vec::with_capacity(joins);
    for _ in 0..joins {
        let (ws, took) = join(&http, &room).await;
        ms.push(took.as_secs_f64() * 1000.0);
        leave(ws).await;
    }
    leave(stayer).await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(15), running.wait()).await;
    let _ = std::fs::remove_dir_all(&dir);
    ms
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let joins: usize = args.next().map_or(200, |a| a.parse().unwrap());
    let rounds: usize = args.next().map_or(5, |a| a.parse().unwrap());
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        // Alternated, and which goes first alternates too.
        for ledger in if r % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        } {
            let v = round(ledger, joins).await;
            if ledger { on.extend(v) } else { off.extend(v) }
        }
    }
    println!(
        "join latency over {} joins each: ledger on  median {:.2} ms, p95 {:.2} ms",
        on.len(),
        pct(&mut on, 0.5),
        pct(&mut on, 0.95)
    );
    println!(
        "                                 ledger off median {:.2} ms, p95 {:.2} ms",
        pct(&mut off, 0.5),
        pct(&mut off, 0.95)
    );
}
