//! Starts a real Plenary server for a test: HTTP on port 0, media on an ephemeral UDP port,
//! SQLite in a fresh temporary folder.
#![allow(dead_code, clippy::unwrap_used)]

pub mod bbb;
pub mod browser;
pub mod process;
pub mod ws;

use std::path::PathBuf;
use std::time::Duration;

use plenary_accounts::Secret;
use plenary_proto::RoomId;
use plenary_server::Settings;
use tokio::sync::oneshot;

/// The join-token key every test server uses.
pub const SECRET: &[u8] = b"test-secret-test-secret";

/// Signs claims with the test servers' key, as only admission does on a server: a token that
/// is correctly signed but was never issued (no seat was recorded for it), as a leaked key or
/// a forger would make one.
pub fn forge(claims: &plenary_meeting::JoinClaims) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let body = b64.encode(serde_json::to_vec(claims).unwrap());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(body.as_bytes());
    format!("{body}.{}", b64.encode(mac.finalize().into_bytes()))
}

/// A BigBlueButton API call `call?qs&checksum=…` signed with `secret` and `alg`.
pub fn bbb_signed(
    alg: plenary_bbb::checksum::Algorithm,
    secret: &str,
    call: &str,
    qs: &str,
) -> String {
    let c = alg.hex(&[call.as_bytes(), qs.as_bytes(), secret.as_bytes()]);
    if qs.is_empty() {
        format!("{call}?checksum={c}")
    } else {
        format!("{call}?{qs}&checksum={c}")
    }
}

pub struct TestServer {
    pub http: String,
    /// An API token of the first admin (`Authorization: Bearer …`), for creating rooms.
    pub api_token: String,
    pub running: Option<plenary_server::Running>,
    stop: Option<oneshot::Sender<()>>,
    pub dir: PathBuf,
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
        let store = running.state.store.clone();
        // The first admin (on a restart, the one made at the first start).
        let email = running.first_admin.as_ref().map_or_else(
            || running.state.settings.admin_email.clone(),
            |(e, _)| e.clone(),
        );
        let admin = store
            .user_by_email(&email)
            .await
            .unwrap()
            .expect("the first admin");
        let (api_token, _) = plenary_accounts::create_api_token(&*store, admin.id, "tests")
            .await
            .unwrap();
        TestServer {
            api_token,
            http: running.http_addr.to_string(),
            running: Some(running),
            stop: Some(stop),
            dir,
        }
    }

    /// A room owned by the first admin (made with its API token).
    pub async fn create_room(&self, name: &str) -> RoomId {
        let body = serde_json::json!({ "name": name });
        let (status, room) = self
            .call_as("POST", "/api/rooms", Some(&body), Some(&self.api_token))
            .await;
        assert_eq!(status, 201, "{room}");
        RoomId::parse(room["id"].as_str().unwrap()).unwrap()
    }

    /// A guest's join token.
    pub async fn join_token(&self, room: &RoomId, name: &str) -> String {
        self.join_token_as(room, name, None).await
    }

    /// A join token for `bearer`'s account (the room's owner joins as moderator), or a guest's.
    pub async fn join_token_as(&self, room: &RoomId, name: &str, bearer: Option<&str>) -> String {
        let body = serde_json::json!({ "name": name });
        let path = format!("/api/rooms/{room}/join");
        let (status, grant) = self.call_as("POST", &path, Some(&body), bearer).await;
        assert_eq!(status, 200, "{grant}");
        grant["token"].as_str().unwrap().to_owned()
    }

    /// A JSON call, with an API token if given: (status, body).
    pub async fn call_as(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
        bearer: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let url = format!("http://{}{path}", self.http);
        let client = reqwest::Client::new();
        let mut req = client.request(method.parse().unwrap(), url);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(serde_json::to_vec(b).unwrap());
        }
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
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
