//! Calling the BigBlueButton-compatible API as an integration does: signed calls, answers
//! read element by element (XPath-like paths), join links followed, callbacks received.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use plenary_accounts::Secret;
use plenary_bbb::checksum::Algorithm;
use plenary_peer::{Peer, PeerOptions, Publish};
use plenary_proto::RoomId;
use quick_xml::Reader;
use quick_xml::events::Event;

use super::TestServer;

pub const SECRET: &str = "bbb-test-secret-0123456789abcdef";

pub async fn bbb_server() -> TestServer {
    TestServer::start_with(|s| s.bbb_secrets = vec![Secret(SECRET.into())]).await
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `call?qs&checksum=…` signed with SHA-1.
pub fn signed(call: &str, qs: &str) -> String {
    signed_with(Algorithm::Sha1, call, qs)
}

pub fn signed_with(alg: Algorithm, call: &str, qs: &str) -> String {
    super::bbb_signed(alg, SECRET, call, qs)
}

pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: String,
    pub body: String,
}

impl Answer {
    /// Text of every element at `path` (`/response/attendees/attendee/role`).
    pub fn all(&self, path: &str) -> Vec<String> {
        xpath(&self.body, path)
    }

    pub fn one(&self, path: &str) -> String {
        let v = self.all(path);
        assert_eq!(v.len(), 1, "{path} in {}", self.body);
        v.into_iter().next().unwrap()
    }

    pub fn code(&self) -> String {
        assert_eq!(self.status, 200, "{}", self.body);
        assert!(
            self.content_type.starts_with("text/xml"),
            "{}",
            self.content_type
        );
        self.one("/response/returncode")
    }

    pub fn failed(&self, key: &str) {
        assert_eq!(self.code(), "FAILED", "{}", self.body);
        assert_eq!(self.one("/response/messageKey"), key, "{}", self.body);
        assert!(!self.one("/response/message").is_empty());
    }
}

/// A tiny XPath: element paths from the root, text of each match. Panics on malformed XML.
pub fn xpath(xml: &str, path: &str) -> Vec<String> {
    let want: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut r = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut text = String::new();
    loop {
        match r
            .read_event()
            .unwrap_or_else(|e| panic!("malformed XML ({e}): {xml}"))
        {
            Event::Start(e) => {
                stack.push(e.name().as_ref().to_owned());
                text.clear();
            }
            Event::Empty(e) => {
                stack.push(e.name().as_ref().to_owned());
                if stack == want {
                    out.push(String::new());
                }
                stack.pop();
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(g) => {
                let name = g.xml10_content();
                text.push_str(match name.as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("unexpected entity {other}"),
                });
            }
            Event::CData(c) => text.push_str(&c.xml10_content()),
            Event::End(_) => {
                if stack == want {
                    out.push(std::mem::take(&mut text));
                }
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements in {xml}");
    out
}

pub async fn get(server: &TestServer, path_and_query: &str) -> Answer {
    let url = format!("http://{}/bigbluebutton/api/{path_and_query}", server.http);
    answer(client().get(url).send().await.unwrap()).await
}

/// `POST /bigbluebutton/api/{path_and_query}`, with a body of the given content type if any.
pub async fn post(
    server: &TestServer,
    path_and_query: &str,
    body: Option<(&str, String)>,
) -> Answer {
    let mut r = client().post(format!(
        "http://{}/bigbluebutton/api/{path_and_query}",
        server.http
    ));
    if let Some((content_type, body)) = body {
        r = r.header("content-type", content_type).body(body);
    }
    answer(r.send().await.unwrap()).await
}

pub async fn answer(r: reqwest::Response) -> Answer {
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let content_type = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    Answer {
        status,
        location,
        content_type,
        body: r.text().await.unwrap(),
    }
}

/// A participant following a join link (`…/r/{room}#join=<token>`), as the meeting page does.
pub async fn join_link(server: &TestServer, url: &str, name: &str, publish: Publish) -> Peer {
    let (path, token) = url.split_once("#join=").unwrap();
    Peer::join(PeerOptions {
        http_addr: server.http.clone(),
        room: RoomId::parse(path.rsplit('/').next().unwrap()).unwrap(),
        name: name.into(),
        publish,
        local_ip: None,
        token: Some(token.to_owned()),
    })
    .await
    .unwrap()
}

/// `call?qs`, signed, must answer FAILED with `key`.
pub async fn refused(server: &TestServer, call: &str, qs: &str, key: &str) {
    get(server, &signed(call, qs)).await.failed(key);
}

pub async fn create(server: &TestServer, qs: &str) -> Answer {
    let a = get(server, &signed("create", qs)).await;
    assert_eq!(a.code(), "SUCCESS", "{}", a.body);
    a
}

/// Polls `cond` until it holds; the generous bound only stops a broken test from hanging.
pub async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

/// A local receiver for webhooks and end callbacks: records each request; answers 500 to the
/// first `fail_first` POSTs.
#[derive(Clone, Default)]
pub struct Receiver {
    pub got: Arc<Mutex<Vec<(String, String, String)>>>, // (method, path+query, body)
    pub fail_first: Arc<Mutex<usize>>,
}

impl Receiver {
    pub async fn start(fail_first: usize) -> (Self, String) {
        use axum::extract::{OriginalUri, State};
        let r = Receiver::default();
        *r.fail_first.lock().unwrap() = fail_first;
        async fn any(
            State(r): State<Receiver>,
            m: axum::http::Method,
            OriginalUri(u): OriginalUri,
            body: String,
        ) -> axum::http::StatusCode {
            r.got
                .lock()
                .unwrap()
                .push((m.to_string(), u.to_string(), body));
            let mut f = r.fail_first.lock().unwrap();
            if m == axum::http::Method::POST && *f > 0 {
                *f -= 1;
                return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
            }
            axum::http::StatusCode::OK
        }
        let app = axum::Router::new().fallback(any).with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, format!("http://{addr}"))
    }

    pub fn requests(&self) -> Vec<(String, String, String)> {
        self.got.lock().unwrap().clone()
    }

    /// The event ids delivered so far, in order (successful deliveries only counted once).
    pub fn event_ids(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for (m, _, body) in self.requests() {
            if m != "POST" {
                continue;
            }
            let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
            let event = &form.iter().find(|(k, _)| k == "event").unwrap().1;
            let v: serde_json::Value = serde_json::from_str(event).unwrap();
            seen.push(v[0]["data"]["id"].as_str().unwrap().to_owned());
        }
        seen
    }
}

/// Joins through a BBB join link on a raw WebSocket; returns the socket and `joined`.
pub async fn ws_join_link(
    server: &TestServer,
    url: &str,
    name: &str,
) -> (super::ws::Ws, serde_json::Value) {
    let (path, token) = url.split_once("#join=").unwrap();
    let room = path.rsplit('/').next().unwrap().to_owned();
    let mut ws = super::ws::connect(server).await;
    super::ws::send(
        &mut ws,
        serde_json::json!({"type":"join","v":2,"room":room,"name":name,"token":token}).to_string(),
    )
    .await;
    let joined = super::ws::next(&mut ws).await;
    assert_eq!(joined["type"], "joined", "{joined}");
    (ws, joined)
}
