//! Starts a real Plenary server for a test: HTTP on port 0, media on an ephemeral UDP port,
//! SQLite in a fresh temporary folder.
#![allow(dead_code, clippy::unwrap_used)]

pub mod ws;

use std::path::PathBuf;
use std::time::Duration;

use plenary_accounts::Secret;
use plenary_proto::RoomId;
use plenary_server::Settings;
use tokio::sync::oneshot;

pub struct TestServer {
    pub http: String,
    pub running: Option<plenary_server::Running>,
    stop: Option<oneshot::Sender<()>>,
    dir: PathBuf,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Settings)) -> Self {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("plenary-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut settings = Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.clone(),
            media_port: 0,
            secret: Some(Secret("test-secret-test-secret".into())),
            ..Settings::default()
        };
        tweak(&mut settings);
        let (stop, stopped) = oneshot::channel::<()>();
        let running = plenary_server::start(settings, async {
            let _ = stopped.await;
        })
        .await
        .expect("server starts");
        TestServer {
            http: running.http_addr.to_string(),
            running: Some(running),
            stop: Some(stop),
            dir,
        }
    }

    pub async fn create_room(&self, name: &str) -> RoomId {
        let body = serde_json::json!({ "name": name });
        let (status, room): (u16, serde_json::Value) =
            plenary_peer::http::call(&self.http, "POST", "/api/rooms", Some(&body))
                .await
                .unwrap();
        assert_eq!(status, 201, "{room}");
        RoomId::parse(room["id"].as_str().unwrap()).unwrap()
    }

    pub async fn join_token(&self, room: &RoomId, name: &str) -> String {
        let body = serde_json::json!({ "name": name });
        let path = format!("/api/rooms/{room}/join");
        let (status, grant): (u16, serde_json::Value) =
            plenary_peer::http::call(&self.http, "POST", &path, Some(&body))
                .await
                .unwrap();
        assert_eq!(status, 200, "{grant}");
        grant["token"].as_str().unwrap().to_owned()
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(r) = self.running.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), r.wait()).await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `cond` every 50 ms until it holds or `limit` passes (then fails with `what`).
pub async fn eventually(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
