//! The `plenary` binary as an operator runs it: SIGTERM stops it cleanly (meetings told, the
//! process exits 0), and after a kill -9 every write it acknowledged is there at the restart.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::process::{command, serve};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("plenary-process-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An admin account and an API token of it, made with the binary's own subcommands.
fn api_token(dir: &Path) -> String {
    let mut set = command(dir)
        .args(["set-password", "ops@example.coop"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    set.stdin
        .take()
        .unwrap()
        .write_all(b"a-long-enough-password\n")
        .unwrap();
    assert!(set.wait().unwrap().success());
    let out = command(dir)
        .args(["api-token", "ops@example.coop", "process-test"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn call(http: &str, method: &str, path: &str, body: Value, token: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .request(method.parse().unwrap(), format!("http://{http}{path}"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await;
    match resp {
        Ok(r) => {
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

fn signal(child: &Child, sig: &str) {
    assert!(
        Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
}

#[tokio::test]
async fn sigterm_tells_the_meetings_and_exits_cleanly() {
    let dir = data_dir("sigterm");
    let token = api_token(&dir);
    let (mut child, http, mut lines) = serve(command(&dir));
    let (status, room) = call(
        &http,
        "POST",
        "/api/rooms",
        json!({"name": "Stops"}),
        &token,
    )
    .await;
    assert_eq!(status, 201, "{room}");
    let id = room["id"].as_str().unwrap().to_owned();
    let (_, grant) = call(
        &http,
        "POST",
        &format!("/api/rooms/{id}/join"),
        json!({"name": "Ada"}),
        &token,
    )
    .await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{http}/ws"))
        .await
        .unwrap();
    let join = json!({"type":"join","v":2,"room":id,"name":"Ada","token":grant["token"]});
    ws.send(Message::text(join.to_string())).await.unwrap();
    let joined = ws.next().await.unwrap().unwrap();
    assert!(joined.to_text().unwrap().contains("\"joined\""), "{joined}");

    signal(&child, "-TERM");
    // The participant is told why, then the process exits on its own, successfully.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(Ok(Message::Text(t))) = ws.next().await {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["type"] == "ended" {
                    return v;
                }
            }
        }
    })
    .await
    .expect("told within 10 s");
    assert_eq!(ended["reason"], "server_stopping");
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit}");
    let rest: Vec<String> = lines.by_ref().map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|l| l.contains("Plenary stopped")),
        "{rest:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn after_kill_9_every_acknowledged_write_is_there() {
    let dir = data_dir("kill9");
    let token = api_token(&dir);
    let (mut child, http, _lines) = serve(command(&dir));
    // Four writers create rooms as fast as they can; the server is killed mid-stream.
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (http, token, acked) = (http.clone(), token.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let (status, room) = call(
                        &http,
                        "POST",
                        "/api/rooms",
                        json!({"name": format!("w{w}-{i}")}),
                        &token,
                    )
                    .await;
                    if status != 201 {
                        return;
                    }
                    acked
                        .lock()
                        .unwrap()
                        .push(room["id"].as_str().unwrap().to_owned());
                }
            })
        })
        .collect();
    common::eventually(Duration::from_secs(20), "50 acknowledged writes", || {
        acknowledged.lock().unwrap().len() >= 50
    })
    .await;
    signal(&child, "-KILL");
    child.wait().unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let acked = acknowledged.lock().unwrap().clone();
    assert!(acked.len() >= 50);

    let (mut child, http, _lines) = serve(command(&dir));
    for id in &acked {
        let (status, _) = call(
            &http,
            "GET",
            &format!("/api/rooms/{id}"),
            Value::Null,
            &token,
        )
        .await;
        assert_eq!(status, 200, "room {id} was acknowledged, then lost");
    }
    signal(&child, "-TERM");
    child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
