//! A raw signalling WebSocket for tests that speak the protocol message by message.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::TestServer;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(server: &TestServer) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://{}/ws", server.http))
        .await
        .unwrap()
        .0
}

pub async fn send(ws: &mut Ws, text: impl Into<String>) {
    ws.send(Message::text(text.into())).await.unwrap();
}

/// The next text message, parsed; panics on close or after 5 s.
pub async fn next(ws: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s")
            .expect("connection still open")
            .unwrap();
        if let Message::Text(t) = frame {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

/// Asserts an error with `code`, and whether it is fatal.
pub async fn expect_error(ws: &mut Ws, code: &str, fatal: bool) -> String {
    let m = next(ws).await;
    assert_eq!(m["type"], "error", "{m}");
    assert_eq!(m["code"], code, "{m}");
    assert_eq!(m["fatal"], fatal, "{m}");
    let message = m["message"].as_str().unwrap().to_owned();
    assert!(!message.is_empty());
    message
}

/// The connection still answers.
pub async fn assert_alive(ws: &mut Ws) {
    send(ws, r#"{"type":"ping"}"#).await;
    assert_eq!(next(ws).await["type"], "pong");
}

/// The server closes the connection (a close frame or the end of the stream).
pub async fn assert_closed(ws: &mut Ws) -> Option<CloseCode> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("closed within 5 s")
        {
            None | Some(Err(_)) => return None,
            Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
            Some(Ok(_)) => {}
        }
    }
}

/// Joins `room` as `name` on a new connection: the owner (moderator) with the server's API
/// token, else a guest. Returns the connection and its `joined`.
pub async fn join_as(
    server: &TestServer,
    room: &plenary_proto::RoomId,
    name: &str,
    owner: bool,
) -> (Ws, Value) {
    let bearer = owner.then_some(server.api_token.as_str());
    let token = server.join_token_as(room, name, bearer).await;
    let mut ws = connect(server).await;
    let hello = serde_json::json!({"type":"join","v":2,"room":room,"name":name,"token":token});
    send(&mut ws, hello.to_string()).await;
    let joined = next_of(&mut ws, "joined").await;
    (ws, joined)
}

/// The next message of `kind`, skipping others.
pub async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let m = next(ws).await;
        if m["type"] == kind {
            return m;
        }
    }
}

/// The next message of `kind`, skipping others; fails on an error before it.
pub async fn next_ok(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let m = next(ws).await;
        if m["type"] == kind {
            return m;
        }
        assert_ne!(m["type"], "error", "waiting for {kind}: {m}");
    }
}

/// The code of the next error, skipping other messages; it must not be fatal.
pub async fn error_code(ws: &mut Ws) -> String {
    loop {
        let m = next(ws).await;
        if m["type"] == "error" {
            assert_eq!(m["fatal"], false, "{m}");
            return m["code"].as_str().unwrap_or_default().into();
        }
    }
}

/// A `notes_edit` that inserts `text` at the start of the shared minutes, written by the Yjs
/// client `client` on a document of its own (a first edit: it needs nothing before it).
pub fn notes_insert(client: u64, text: &str) -> String {
    use base64::Engine as _;
    use yrs::{ReadTxn, Text, Transact};
    let doc = yrs::Doc::with_client_id(client);
    let t = doc.get_or_insert_text("minutes");
    t.insert(&mut doc.transact_mut(), 0, text);
    let update = doc
        .transact()
        .encode_state_as_update_v1(&yrs::StateVector::default());
    let update = base64::engine::general_purpose::STANDARD.encode(update);
    serde_json::json!({"type":"notes_edit","update":update}).to_string()
}

/// The code of the next `notes_refused`, skipping other messages; fails on an error before it.
pub async fn notes_refused(ws: &mut Ws) -> String {
    let m = next_ok(ws, "notes_refused").await;
    m["code"].as_str().unwrap_or_default().into()
}
