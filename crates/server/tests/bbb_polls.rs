//! Polls and shared notes in a BigBlueButton API meeting: `disabledFeatures=polls` keeps
//! moderators from asking any (enforced by the server, not only hidden), and a registered
//! webhook hears `poll-started` (question and answers) and `poll-responded` (who, and what
//! unless the poll is secret), as bbb-webhooks sends them; `disabledFeatures=sharedNotes`
//! keeps everyone out of the minutes and `lockSettingsDisableNotes` locks them for viewers.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use common::bbb::*;
use common::ws::{Ws, expect_error, next, notes_insert, notes_refused, send};
use serde_json::{Value, json};

/// A join link for `meeting` as `name` with `role` and `user_id`, on a raw WebSocket.
async fn join(
    server: &common::TestServer,
    meeting: &str,
    name: &str,
    role: &str,
    user_id: &str,
) -> Ws {
    let url = get(
        server,
        &signed(
            "join",
            &format!(
                "meetingID={meeting}&fullName={name}&role={role}&userID={user_id}&redirect=false"
            ),
        ),
    )
    .await
    .one("/response/url");
    ws_join_link(server, &url, name).await.0
}

/// The next `poll` message on `ws`.
async fn poll_message(ws: &mut Ws) -> Value {
    loop {
        let m = next(ws).await;
        if m["type"] == "poll" {
            return m["poll"].clone();
        }
        assert_ne!(m["type"], "error", "{m}");
    }
}

/// The delivered webhook events with `id`, in order.
fn events(rx: &Receiver, id: &str) -> Vec<Value> {
    rx.requests()
        .into_iter()
        .filter(|(m, _, _)| m == "POST")
        .filter_map(|(_, _, body)| {
            let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
            let event = &form.iter().find(|(k, _)| k == "event")?.1;
            let v: Value = serde_json::from_str(event).ok()?;
            (v[0]["data"]["id"] == id).then(|| v[0]["data"]["attributes"].clone())
        })
        .collect()
}

#[tokio::test]
async fn disabled_polls_are_refused_and_webhooks_hear_polls_asked_and_answered() {
    let server = bbb_server().await;
    create(
        &server,
        "name=No+polls&meetingID=nopolls-1&disabledFeatures=chat,polls",
    )
    .await;
    let mut chair = join(&server, "nopolls-1", "Chair", "MODERATOR", "c-1").await;
    send(
        &mut chair,
        json!({"type":"poll_open","poll":{"question":"Lunch?","kind":"yes_no"}}).to_string(),
    )
    .await;
    let why = expect_error(&mut chair, "forbidden", false).await;
    assert!(why.contains("polls"), "{why}");
    // Excluded again: allowed.
    create(
        &server,
        "name=Polls&meetingID=polls-1&disabledFeatures=polls&disabledFeaturesExclude=polls",
    )
    .await;

    let (rx, base) = Receiver::start(0).await;
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let hook = get(
        &server,
        &signed(
            "hooks/create",
            &format!("callbackURL={}", enc(&format!("{base}/hook"))),
        ),
    )
    .await;
    assert_eq!(hook.code(), "SUCCESS", "{}", hook.body);
    let mut mo = join(&server, "polls-1", "Mo", "MODERATOR", "mo-1").await;
    let mut vi = join(&server, "polls-1", "Vi", "VIEWER", "vi-7").await;
    send(
        &mut mo,
        json!({"type":"poll_open","poll":{"question":"Which room?","kind":"single","options":["Red","Blue"]}})
            .to_string(),
    )
    .await;
    let named = poll_message(&mut vi).await;
    send(
        &mut vi,
        json!({"type":"poll_vote","id":named["id"],"choices":[1]}).to_string(),
    )
    .await;
    send(
        &mut mo,
        json!({"type":"poll_open","poll":{"question":"Secret?","kind":"yes_no","secret":true}})
            .to_string(),
    )
    .await;
    let secret = loop {
        let p = poll_message(&mut vi).await;
        if p["spec"]["question"] == "Secret?" {
            break p;
        }
    };
    send(
        &mut vi,
        json!({"type":"poll_vote","id":secret["id"],"choices":[0]}).to_string(),
    )
    .await;

    eventually("the poll webhooks", || async {
        events(&rx, "poll-started").len() == 2 && events(&rx, "poll-responded").len() == 2
    })
    .await;
    let started = events(&rx, "poll-started");
    assert_eq!(started[0]["meeting"]["external-meeting-id"], "polls-1");
    assert_eq!(started[0]["user"]["external-user-id"], "mo-1");
    assert_eq!(started[0]["poll"]["question"], "Which room?");
    assert_eq!(
        started[0]["poll"]["answers"],
        json!([{"id":0,"key":"Red"},{"id":1,"key":"Blue"}])
    );
    assert_eq!(started[1]["poll"]["answers"][2]["key"], "abstain");
    let responded = events(&rx, "poll-responded");
    assert_eq!(responded[0]["user"]["external-user-id"], "vi-7");
    assert_eq!(responded[0]["poll"]["id"], named["id"].to_string());
    assert_eq!(responded[0]["poll"]["answerIds"], json!([1]));
    assert_eq!(responded[1]["user"]["external-user-id"], "vi-7");
    assert!(
        responded[1]["poll"].get("answerIds").is_none(),
        "a secret vote's choice is not sent: {}",
        responded[1]
    );
    server.stop().await;
}

#[tokio::test]
async fn shared_notes_turned_off_or_locked_by_create() {
    let server = bbb_server().await;
    create(
        &server,
        "name=No+notes&meetingID=nonotes-1&disabledFeatures=sharedNotes",
    )
    .await;
    let mut chair = join(&server, "nonotes-1", "Chair", "MODERATOR", "c-1").await;
    send(&mut chair, json!({"type":"notes_sync"}).to_string()).await;
    let why = expect_error(&mut chair, "forbidden", false).await;
    assert!(why.contains("shared notes"), "{why}");
    send(&mut chair, notes_insert(1, "Not here")).await;
    assert_eq!(notes_refused(&mut chair).await, "forbidden");

    create(
        &server,
        "name=Locked+notes&meetingID=locked-notes-1&lockSettingsDisableNotes=true",
    )
    .await;
    let mut mo = join(&server, "locked-notes-1", "Mo", "MODERATOR", "mo-1").await;
    let url = get(
        &server,
        &signed(
            "join",
            "meetingID=locked-notes-1&fullName=Vi&role=VIEWER&userID=vi-1&redirect=false",
        ),
    )
    .await
    .one("/response/url");
    let (mut vi, joined) = ws_join_link(&server, &url, "Vi").await;
    assert_eq!(joined["locks"]["notes"], true, "{joined}");
    send(&mut vi, notes_insert(2, "Viewer's line")).await;
    assert_eq!(notes_refused(&mut vi).await, "locked");
    send(&mut mo, notes_insert(3, "Chair's line")).await;
    loop {
        let m = next(&mut mo).await;
        assert_ne!(m["type"], "error", "{m}");
        if m["type"] == "notes_saved" {
            break;
        }
    }
    server.stop().await;
}
