//! Polls over real signalling: only moderators ask and close; only the people a poll is for
//! vote, once each (a second device of the same account is refused); a secret poll's stored
//! rows hold no link between a person and a choice (the database file is read directly);
//! hidden results stay hidden until the poll closes; quorum; a late joiner sees the polls
//! and what they voted in; a poll's timer closes it.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::TestServer;
use common::ws::{Ws, connect, error_code, next, next_ok, send};
use plenary_proto::RoomId;
use serde_json::{Value, json};

/// Joins `room` as `name` with `bearer`'s account (the room's owner joins as moderator), or
/// as a guest.
async fn join(server: &TestServer, room: &RoomId, name: &str, bearer: Option<&str>) -> Ws {
    let token = server.join_token_as(room, name, bearer).await;
    let mut ws = connect(server).await;
    send(
        &mut ws,
        json!({"type":"join","v":2,"room":room,"name":name,"token":token}).to_string(),
    )
    .await;
    next_ok(&mut ws, "joined").await;
    ws
}

/// A signed-in account (`member`: of an organisation the first admin belongs to) and its
/// API token.
async fn account(server: &TestServer, email: &str, org: Option<i64>) -> String {
    let store = &server.running.as_ref().unwrap().state.store;
    let user = store
        .create_user(&plenary_store::NewUser {
            email: email.into(),
            name: email.into(),
            password_hash: Some(
                plenary_accounts::password::hash_password("poll-pass-123").unwrap(),
            ),
            is_admin: false,
            status: plenary_store::UserStatus::Active,
            created_at: 1,
        })
        .await
        .unwrap();
    if let Some(org) = org {
        store.set_org_member(org, user.id, false).await.unwrap();
    }
    plenary_accounts::create_api_token(&**store, user.id, "tests")
        .await
        .unwrap()
        .0
}

/// An organisation the first admin (the rooms' owner) belongs to.
async fn owners_org(server: &TestServer) -> i64 {
    let store = &server.running.as_ref().unwrap().state.store;
    let admin = store
        .user_by_email("admin@localhost")
        .await
        .unwrap()
        .unwrap();
    let org = store
        .create_org(&plenary_store::NewOrganisation {
            name: "Co-op".into(),
            max_rooms_per_member: None,
            max_participants: None,
            max_meeting_minutes: None,
            created_at: 1,
        })
        .await
        .unwrap();
    store.set_org_member(org.id, admin.id, true).await.unwrap();
    org.id
}

/// The next `poll` message whose poll passes `cond`, skipping others.
async fn poll_until(ws: &mut Ws, cond: impl Fn(&Value) -> bool) -> Value {
    loop {
        let p = next_ok(ws, "poll").await["poll"].clone();
        if cond(&p) {
            return p;
        }
    }
}

/// Asks `poll` and returns it as shown.
async fn open(ws: &mut Ws, poll: Value) -> Value {
    let question = poll["question"].clone();
    send(ws, json!({"type":"poll_open","poll":poll}).to_string()).await;
    poll_until(ws, |p| p["spec"]["question"] == question).await
}

async fn vote(ws: &mut Ws, id: u64, choices: &[u32]) {
    send(
        ws,
        json!({"type":"poll_vote","id":id,"choices":choices}).to_string(),
    )
    .await;
}

/// Every row of the poll tables, read from the database file itself.
async fn stored_rows(server: &TestServer, table: &str) -> Vec<Vec<Option<String>>> {
    use sqlx::{Column as _, Row as _};
    let url = format!(
        "sqlite://{}?mode=ro",
        server.dir.join("plenary.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
        .fetch_all(&pool)
        .await
        .unwrap();
    let out = rows
        .iter()
        .map(|r| {
            (0..r.columns().len())
                .map(|i| {
                    let col = r.columns()[i].name().to_owned();
                    r.try_get::<Option<String>, _>(i)
                        .or_else(|_| {
                            r.try_get::<Option<i64>, _>(i)
                                .map(|v| v.map(|v| v.to_string()))
                        })
                        .map(|v| v.map(|v| format!("{col}={v}")))
                        .unwrap()
                })
                .collect()
        })
        .collect();
    pool.close().await;
    out
}

#[tokio::test]
async fn only_moderators_ask_and_close_and_bad_polls_are_refused() {
    let server = TestServer::start().await;
    let room = server.create_room("Polls").await;
    let mut mo = join(&server, &room, "Mo", Some(&server.api_token)).await;
    let mut val = join(&server, &room, "Val", None).await;
    let yes_no = json!({"question":"Adopt the budget?","kind":"yes_no"});
    send(
        &mut val,
        json!({"type":"poll_open","poll":yes_no}).to_string(),
    )
    .await;
    assert_eq!(error_code(&mut val).await, "forbidden");

    for bad in [
        json!({"question":"  ","kind":"yes_no"}),
        json!({"question":"Which?","kind":"single","options":["A"]}),
        json!({"question":"Which?","kind":"single","options":["A","A"]}),
        json!({"question":"Ok?","kind":"consent","options":["x","y"]}),
        json!({"question":"Ok?","kind":"yes_no","duration_s":1}),
        json!({"question":"Ok?","kind":"yes_no","quorum":0}),
        json!({"question":"Ok?","kind":"yes_no","secrett":true}),
    ] {
        send(&mut mo, json!({"type":"poll_open","poll":bad}).to_string()).await;
        assert_eq!(error_code(&mut mo).await, "bad_message", "{bad}");
    }

    let poll = open(&mut mo, yes_no).await;
    assert_eq!(next_ok(&mut val, "poll").await["poll"], poll);
    let id = poll["id"].as_u64().unwrap();
    assert_eq!(poll["spec"]["question"], "Adopt the budget?");
    assert_eq!(poll["by"], "Mo");
    assert_eq!(poll["counts"], json!([0, 0, 0]));

    send(&mut val, json!({"type":"poll_close","id":id}).to_string()).await;
    assert_eq!(error_code(&mut val).await, "forbidden");
    vote(&mut val, id, &[3]).await;
    assert_eq!(error_code(&mut val).await, "bad_choice");
    vote(&mut val, id, &[0, 1]).await;
    assert_eq!(error_code(&mut val).await, "bad_choice");
    vote(&mut val, 99, &[0]).await;
    assert_eq!(error_code(&mut val).await, "unknown_poll");

    send(&mut mo, json!({"type":"poll_close","id":id}).to_string()).await;
    poll_until(&mut val, |p| p["closed_ms"].is_i64()).await;
    vote(&mut val, id, &[0]).await;
    assert_eq!(error_code(&mut val).await, "poll_closed");
    send(&mut mo, json!({"type":"poll_close","id":id}).to_string()).await;
    assert_eq!(error_code(&mut mo).await, "poll_closed");
    server.stop().await;
}

#[tokio::test]
async fn members_vote_once_from_any_device_and_a_secret_vote_links_nobody_to_a_choice() {
    let server = TestServer::start().await;
    let org = owners_org(&server).await;
    let ann_token = account(&server, "ann@example.org", Some(org)).await;
    let oz_token = account(&server, "oz@example.org", None).await;
    let room = server.create_room("Votes").await;
    let mut mo = join(&server, &room, "Mo", Some(&server.api_token)).await;
    let mut ann = join(&server, &room, "Ann", Some(&ann_token)).await;
    let mut ann_phone = join(&server, &room, "Ann (phone)", Some(&ann_token)).await;
    let mut oz = join(&server, &room, "Oz", Some(&oz_token)).await;
    let mut gus = join(&server, &room, "Gus", None).await;

    let poll = open(
        &mut mo,
        json!({"question":"Do we consent to the proposal?","kind":"consent","voters":"members","secret":true,"quorum":2}),
    )
    .await;
    let id = poll["id"].as_u64().unwrap();
    for ws in [&mut ann, &mut ann_phone, &mut oz, &mut gus] {
        next_ok(ws, "poll").await;
    }
    // Neither a guest nor a signed-in person outside the organisation may vote.
    vote(&mut gus, id, &[0]).await;
    assert_eq!(error_code(&mut gus).await, "not_eligible");
    vote(&mut oz, id, &[2]).await;
    assert_eq!(error_code(&mut oz).await, "not_eligible");

    // Ann votes on both devices at once: one vote counts, the other is refused; both of
    // hers hear it counted. A secret poll's counts stay hidden while it is open (live counts
    // moving as people click would tell who chose what), from moderators too.
    vote(&mut ann, id, &[1]).await;
    vote(&mut ann_phone, id, &[1]).await;
    let seen = next_ok(&mut mo, "poll").await["poll"].clone();
    assert_eq!(seen["votes"], 1);
    assert!(
        seen.get("counts").is_none() && seen.get("names").is_none(),
        "a secret poll shows no counts while open, and names nobody: {seen}"
    );
    let mut refused = 0;
    for ws in [&mut ann, &mut ann_phone] {
        loop {
            let m = next(ws).await;
            if m["type"] == "error" {
                assert_eq!(m["code"], "already_voted", "{m}");
                refused += 1;
            }
            if m["type"] == "poll_voted" {
                assert_eq!(m["choices"], json!([1]));
                break;
            }
        }
    }
    assert_eq!(refused, 1, "one of the two votes refused");
    vote(&mut ann_phone, id, &[2]).await;
    assert_eq!(error_code(&mut ann_phone).await, "already_voted");

    // The owner votes (an owner may vote in a members' poll); the quorum of two is met.
    vote(&mut mo, id, &[2]).await;
    let seen = next_ok(&mut mo, "poll").await["poll"].clone();
    assert_eq!(seen["votes"], 2);
    send(&mut mo, json!({"type":"poll_close","id":id}).to_string()).await;
    let closed = poll_until(&mut gus, |p| p["closed_ms"].is_i64()).await;
    assert_eq!(closed["counts"], json!([0, 1, 1]));

    // A named poll for comparison: its stored votes say who chose what.
    let named = open(
        &mut mo,
        json!({"question":"Lunch?","kind":"single","options":["Soup","Salad"],"voters":"signed_in"}),
    )
    .await;
    let named_id = named["id"].as_u64().unwrap();
    vote(&mut gus, named_id, &[0]).await;
    assert_eq!(error_code(&mut gus).await, "not_eligible");
    vote(&mut oz, named_id, &[1]).await;
    assert_eq!(next_ok(&mut oz, "poll_voted").await["id"], named_id);
    let seen = poll_until(&mut mo, |p| p["id"] == named_id && p["votes"] == 1).await;
    assert_eq!(seen["names"], json!([[], ["Oz"]]));

    // What the store holds, read from the database file.
    let votes = stored_rows(&server, "poll_votes").await;
    let secret: Vec<_> = votes
        .iter()
        .filter(|r| r.contains(&Some(format!("poll_id={id}"))))
        .collect();
    assert_eq!(secret.len(), 2, "{votes:?}");
    for r in &secret {
        assert!(
            r.iter().flatten().all(|c| !c.starts_with("choices=")),
            "a secret vote is stored without its choice: {r:?}"
        );
    }
    assert!(
        votes
            .iter()
            .any(|r| r.contains(&Some(format!("poll_id={named_id}")))
                && r.contains(&Some("choices=1".into()))),
        "a named vote keeps its choice: {votes:?}"
    );
    let counts = stored_rows(&server, "poll_counts").await;
    let secret_counts: Vec<_> = counts
        .iter()
        .filter(|r| r.contains(&Some(format!("poll_id={id}"))))
        .collect();
    assert_eq!(secret_counts.len(), 3, "a row per option: {counts:?}");
    for r in &secret_counts {
        let columns: Vec<&str> = r
            .iter()
            .flatten()
            .map(|c| c.split('=').next().unwrap())
            .collect();
        assert_eq!(
            columns,
            ["room_id", "meeting_ms", "poll_id", "choice", "votes"],
            "counts carry nothing of who: {r:?}"
        );
    }
    let polls = stored_rows(&server, "polls").await;
    assert_eq!(polls.len(), 2);
    assert!(
        polls[0]
            .iter()
            .flatten()
            .any(|c| c.starts_with("closed_ms="))
    );

    // The room's managers export the results; nobody else does.
    let (email, password) = common::browser::first_admin(&server);
    let mut owner = common::browser::Browser::default();
    owner.sign_in(&server, &email, &password).await;
    let csv = owner
        .get(&server, &format!("/rooms/{room}/polls.csv"))
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert!(
        lines[0].starts_with("meeting_ms,poll,question,kind,secret"),
        "{}",
        csv.body
    );
    let rows: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("Do we consent"))
        .collect();
    assert_eq!(rows.len(), 3, "{}", csv.body);
    assert!(rows[1].contains(",concern,1,"), "{}", csv.body);
    assert!(
        rows.iter().all(|r| r.ends_with(',')),
        "a secret poll names nobody: {}",
        csv.body
    );
    assert!(csv.body.contains(",Salad,1,Oz"), "{}", csv.body);
    let json = owner
        .get(&server, &format!("/rooms/{room}/polls.json"))
        .await;
    let json: Value = serde_json::from_str(&json.body).unwrap();
    let secret = json
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["poll"]["id"] == id)
        .unwrap();
    assert_eq!(secret["poll"]["counts"], json!([0, 1, 1]));
    assert!(secret["poll"].get("names").is_none(), "{secret}");
    assert_eq!(secret["voters"].as_array().unwrap().len(), 2);
    let page = owner.get(&server, &format!("/rooms/{room}/polls")).await;
    assert!(
        page.body.contains("Do we consent to the proposal?"),
        "{}",
        page.body
    );

    let mut outsider = common::browser::Browser::default();
    outsider
        .sign_in(&server, "oz@example.org", "poll-pass-123")
        .await;
    for path in ["polls", "polls.csv", "polls.json"] {
        let p = outsider
            .get(&server, &format!("/rooms/{room}/{path}"))
            .await;
        assert_eq!(p.status, 403, "{path}: {}", p.body);
        assert!(!p.body.contains("Do we consent"), "{path}");
    }
    let anonymous = common::browser::Browser::default()
        .get(&server, &format!("/rooms/{room}/polls.csv"))
        .await;
    assert_eq!(anonymous.location.as_deref(), Some("/signin"));
    server.stop().await;
}

#[tokio::test]
async fn hidden_results_show_when_closed_and_a_late_joiner_sees_what_they_voted() {
    let server = TestServer::start().await;
    let room = server.create_room("Hidden").await;
    let mut mo = join(&server, &room, "Mo", Some(&server.api_token)).await;
    let mut ann = join(&server, &room, "Ann", None).await;
    let poll = open(
        &mut mo,
        json!({"question":"Which day?","kind":"multiple","options":["Mon","Tue","Wed"],"hide_results":true,"quorum":3}),
    )
    .await;
    let id = poll["id"].as_u64().unwrap();
    assert!(poll.get("counts").is_none(), "{poll}");
    vote(&mut ann, id, &[0, 2]).await;
    next_ok(&mut ann, "poll_voted").await;
    let seen = next_ok(&mut mo, "poll").await["poll"].clone();
    assert_eq!(seen["votes"], 1);
    assert!(
        seen.get("counts").is_none() && seen.get("names").is_none(),
        "hidden from moderators too: {seen}"
    );
    // And from the room's export while the poll is open.
    let (email, password) = common::browser::first_admin(&server);
    let mut owner = common::browser::Browser::default();
    owner.sign_in(&server, &email, &password).await;
    let export = owner
        .get(&server, &format!("/rooms/{room}/polls.json"))
        .await;
    let export: Value = serde_json::from_str(&export.body).unwrap();
    assert!(
        export[0]["poll"].get("counts").is_none() && export[0]["poll"].get("names").is_none(),
        "{export}"
    );
    assert_eq!(export[0]["voters"], json!(["Ann"]));
    let csv = owner
        .get(&server, &format!("/rooms/{room}/polls.csv"))
        .await;
    assert!(
        csv.body.contains(",Mon,,\r\n"),
        "no count while hidden: {}",
        csv.body
    );

    // A newcomer sees the poll (its counts still hidden) and that they did not vote.
    let (mut lee, joined) = common::ws::join_as(&server, &room, "Lee", false).await;
    assert_eq!(joined["polls"][0]["id"], id);
    assert!(joined["polls"][0].get("counts").is_none());
    assert!(joined.get("voted").is_none(), "{joined}");

    send(&mut mo, json!({"type":"poll_close","id":id}).to_string()).await;
    let closed = poll_until(&mut lee, |p| p["closed_ms"].is_i64()).await;
    assert_eq!(closed["counts"], json!([1, 0, 1]));
    let export = owner
        .get(&server, &format!("/rooms/{room}/polls.json"))
        .await;
    let export: Value = serde_json::from_str(&export.body).unwrap();
    assert_eq!(
        export[0]["poll"]["counts"],
        json!([1, 0, 1]),
        "shown once closed"
    );
    assert_eq!(closed["names"], json!([["Ann"], [], ["Ann"]]));
    assert_eq!(closed["votes"], 1);
    server.stop().await;
}

#[tokio::test]
async fn a_reloaded_page_knows_it_voted_and_a_timer_closes_the_poll() {
    let server = TestServer::start().await;
    let room = server.create_room("Timer").await;
    let mut mo = join(&server, &room, "Mo", Some(&server.api_token)).await;
    let token = server.join_token(&room, "Ann").await;
    let join_with = |token: String| {
        let server = &server;
        let room = room.clone();
        async move {
            let mut ws = connect(server).await;
            send(
                &mut ws,
                json!({"type":"join","v":2,"room":room,"name":"Ann","token":token}).to_string(),
            )
            .await;
            let joined = next_ok(&mut ws, "joined").await;
            (ws, joined)
        }
    };
    let (mut ann, _) = join_with(token.clone()).await;
    let poll = open(
        &mut mo,
        json!({"question":"Break now?","kind":"yes_no","duration_s":10}),
    )
    .await;
    let id = poll["id"].as_u64().unwrap();
    let closes = poll["closes_ms"].as_i64().unwrap();
    assert!(closes >= poll["opened_ms"].as_i64().unwrap() + 10_000);
    vote(&mut ann, id, &[0]).await;
    next_ok(&mut ann, "poll_voted").await;
    // The same token again (a reload takes the seat over): it voted already.
    let (mut again, joined) = join_with(token).await;
    assert_eq!(joined["voted"], json!([id]), "{joined}");
    vote(&mut again, id, &[1]).await;
    assert_eq!(error_code(&mut again).await, "already_voted");

    tokio::time::sleep(Duration::from_millis(10_500)).await;
    let closed = poll_until(&mut mo, |p| p["closed_ms"].is_i64()).await;
    assert_eq!(closed["counts"], json!([1, 0, 0]));
    assert!(closed["closed_ms"].as_i64().unwrap() >= closes);
    drop(ann);
    server.stop().await;
}

#[tokio::test]
async fn a_meeting_that_ends_closes_the_polls_it_left_open() {
    let server = TestServer::start().await;
    let room = server.create_room("Ends").await;
    let mut mo = join(&server, &room, "Mo", Some(&server.api_token)).await;
    open(&mut mo, json!({"question":"Still open?","kind":"yes_no"})).await;
    send(&mut mo, r#"{"type":"leave"}"#).await;
    let store = &server.running.as_ref().unwrap().state.store;
    let mut closed = None;
    for _ in 0..50 {
        closed = store.polls_of(&room, None).await.unwrap()[0].closed_ms;
        if closed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        closed.is_some(),
        "the ended meeting's poll is closed in the store"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_node_that_stopped_with_a_poll_open_closes_it_when_it_starts_again() {
    let dir = std::env::temp_dir().join(format!("plenary-polls-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let settings = |s: &mut plenary_server::Settings| s.data_dir = dir.clone();
    let server = TestServer::start_with(settings).await;
    let room = server.create_room("Restart").await;
    let mut mo = join(&server, &room, "Mo", Some(&server.api_token)).await;
    open(
        &mut mo,
        json!({"question":"Open at the stop?","kind":"yes_no"}),
    )
    .await;
    server.stop().await;
    drop(mo);
    let server = TestServer::start_with(settings).await;
    let polls = server
        .running
        .as_ref()
        .unwrap()
        .state
        .store
        .polls_of(&room, None)
        .await
        .unwrap();
    assert!(polls[0].closed_ms.is_some(), "{polls:?}");
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
