//! Admission through every entrance gives the same answer: the native API (and the meeting
//! page through it), BigBlueButton join links, and raw signalling with forged, replayed or
//! foreign tokens. Guest policy, maxParticipants, organisation limits, access codes, the
//! waiting room, members-only rooms; a token is one seat, a reload of the same seat works.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use common::TestServer;
use common::ws::{Ws, assert_closed, connect, expect_error, next, send};
use plenary_accounts::Secret;
use plenary_bbb::checksum::Algorithm;
use plenary_meeting::JoinClaims;
use plenary_proto::{Role, RoomId};
use serde_json::{Value, json};

const BBB_SECRET: &str = "bbb-admission-secret-0123456789";

/// Connects and joins with `token`; returns the socket and the first answer.
async fn join(server: &TestServer, room: &RoomId, token: &str) -> (Ws, Value) {
    let mut ws = connect(server).await;
    send(
        &mut ws,
        json!({"type":"join","v":2,"room":room,"name":"x","token":token}).to_string(),
    )
    .await;
    let first = next(&mut ws).await;
    (ws, first)
}

/// What a native API join answers: the token, or the error code.
async fn api_join(
    server: &TestServer,
    room: &RoomId,
    body: Value,
    bearer: Option<&str>,
) -> Result<String, String> {
    let (status, v) = server
        .call_as(
            "POST",
            &format!("/api/rooms/{room}/join"),
            Some(&body),
            bearer,
        )
        .await;
    match status {
        200 => Ok(v["token"].as_str().unwrap().to_owned()),
        _ => Err(v["error"]["code"].as_str().unwrap().to_owned()),
    }
}

fn live(server: &TestServer, room: &RoomId) -> usize {
    server
        .running
        .as_ref()
        .unwrap()
        .state
        .meeting
        .live
        .count(room)
}

async fn set_settings(server: &TestServer, room: &RoomId, json: &str) {
    let store = &server.running.as_ref().unwrap().state.store;
    assert!(store.set_room_settings(room, json).await.unwrap());
}

/// A BBB join: `Ok(join URL)` or `Err(messageKey)`.
async fn bbb_join(server: &TestServer, qs: &str) -> Result<String, String> {
    let url = format!(
        "http://{}/bigbluebutton/api/{}",
        server.http,
        common::bbb_signed(
            Algorithm::Sha1,
            BBB_SECRET,
            "join",
            &format!("{qs}&redirect=false")
        )
    );
    let body = reqwest::get(url).await.unwrap().text().await.unwrap();
    let pick = |tag: &str| {
        body.split(&format!("<{tag}>"))
            .nth(1)
            .and_then(|r| r.split(&format!("</{tag}>")).next())
            .map(|v| v.replace("&amp;", "&"))
    };
    match pick("returncode").as_deref() {
        Some("SUCCESS") => Ok(pick("url").unwrap()),
        _ => Err(pick("messageKey").unwrap_or(body)),
    }
}

fn token_of(join_url: &str) -> (RoomId, String) {
    let (path, token) = join_url.split_once("#join=").unwrap();
    (
        RoomId::parse(path.rsplit('/').next().unwrap()).unwrap(),
        token.to_owned(),
    )
}

#[tokio::test]
async fn one_token_is_one_seat_and_limits_count_seats() {
    let server = TestServer::start().await;
    let room = server.create_room("Two seats").await;
    // The owner's organisation allows two participants per meeting.
    let state = &server.running.as_ref().unwrap().state;
    let admin = state
        .store
        .user_by_email("admin@localhost")
        .await
        .unwrap()
        .unwrap();
    let org = state
        .store
        .create_org(&plenary_store::NewOrganisation {
            name: "Tiny co-op".into(),
            max_rooms_per_member: None,
            max_participants: Some(2),
            max_meeting_minutes: None,
            created_at: 1,
        })
        .await
        .unwrap();
    state
        .store
        .set_org_member(org.id, admin.id, true)
        .await
        .unwrap();

    // One token, six connections: never more than one participant; each newer connection
    // takes the seat over and the one before is told so and closed.
    let token = api_join(&server, &room, json!({"name": "Sharer"}), None)
        .await
        .unwrap();
    let (mut previous, m) = join(&server, &room, &token).await;
    assert_eq!(m["type"], "joined", "{m}");
    for _ in 0..5 {
        let (ws, m) = join(&server, &room, &token).await;
        assert_eq!(m["type"], "joined", "{m}");
        expect_error(&mut previous, "replaced", true).await;
        assert_closed(&mut previous).await;
        previous = ws;
    }
    common::eventually(std::time::Duration::from_secs(5), "one participant", || {
        live(&server, &room) == 1
    })
    .await;

    // A second person fills the meeting; a third is refused by the API already, and a
    // token minted before the meeting filled is refused when it tries to take its seat.
    let early = api_join(&server, &room, json!({"name": "Early"}), None)
        .await
        .unwrap();
    let second = api_join(&server, &room, json!({"name": "Bo"}), None)
        .await
        .unwrap();
    let (_bo, m) = join(&server, &room, &second).await;
    assert_eq!(m["type"], "joined", "{m}");
    assert_eq!(
        api_join(&server, &room, json!({"name": "Cy"}), None).await,
        Err("room_full".into())
    );
    let (mut late, m) = join(&server, &room, &early).await;
    assert_eq!(
        (m["type"].as_str(), m["code"].as_str()),
        (Some("error"), Some("room_full")),
        "{m}"
    );
    assert_closed(&mut late).await;
    assert_eq!(live(&server, &room), 2);

    // Someone leaving frees a seat (a dropped connection would hold it while it reconnects);
    // the same token's seat can be taken again.
    common::ws::send(&mut previous, r#"{"type":"leave"}"#).await;
    drop(previous);
    common::eventually(std::time::Duration::from_secs(5), "the seat freed", || {
        live(&server, &room) == 1
    })
    .await;
    let (_again, m) = join(&server, &room, &token).await;
    assert_eq!(m["type"], "joined", "{m}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_token_used_by_many_at_once_seats_one() {
    let server = TestServer::start_with(|s| s.max_participants = 1).await;
    let room = server.create_room("Crowd").await;
    let token = api_join(&server, &room, json!({"name": "Shared"}), None)
        .await
        .unwrap();
    // Forty connections with the same token, all at once.
    let joins: Vec<_> = (0..40)
        .map(|_| {
            let (http, room, token) = (server.http.clone(), room.clone(), token.clone());
            tokio::spawn(async move {
                let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{http}/ws"))
                    .await
                    .unwrap();
                let m = json!({"type":"join","v":2,"room":room,"name":"x","token":token});
                futures_util::SinkExt::send(
                    &mut ws,
                    tokio_tungstenite::tungstenite::Message::text(m.to_string()),
                )
                .await
                .unwrap();
                ws
            })
        })
        .collect();
    let mut sockets = Vec::new();
    for j in joins {
        sockets.push(j.await.unwrap());
    }
    // Each newer one takes the seat from the one before: one participant stays.
    common::eventually(
        std::time::Duration::from_secs(10),
        "one participant",
        || live(&server, &room) == 1,
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(live(&server, &room), 1);
    let store = &server.running.as_ref().unwrap().state.store;
    assert_eq!(store.held_seats(&room).await.unwrap(), 1);
    drop(sockets);
    server.stop().await;
}

#[tokio::test]
async fn room_rules_hold_for_the_api_and_for_forged_tokens() {
    let server = TestServer::start().await;
    let owner = Some(server.api_token.as_str());
    let room = server.create_room("Rules").await;
    let forged_guest = |room: &RoomId| {
        let mut c = JoinClaims::new(
            room.clone(),
            Some("Mallory".into()),
            Role::Moderator,
            u64::MAX,
        );
        c.seat = "guessed".into();
        common::forge(&c)
    };

    // Members only.
    set_settings(&server, &room, r#"{"guests_allowed":false}"#).await;
    assert_eq!(
        api_join(&server, &room, json!({"name": "G"}), None).await,
        Err("sign_in_required".into())
    );
    let (_, m) = join(&server, &room, &forged_guest(&room)).await;
    assert_eq!(m["code"], "invalid_token", "{m}");
    assert!(
        api_join(&server, &room, json!({"name": "Owner"}), owner)
            .await
            .is_ok()
    );

    // Access codes.
    set_settings(
        &server,
        &room,
        r#"{"viewer_code":"view-1234","moderator_code":"mod-5678"}"#,
    )
    .await;
    assert_eq!(
        api_join(&server, &room, json!({"name": "G"}), None).await,
        Err("access_code_required".into())
    );
    assert_eq!(
        api_join(
            &server,
            &room,
            json!({"name": "G", "access_code": "nope"}),
            None
        )
        .await,
        Err("wrong_access_code".into())
    );
    let t = api_join(
        &server,
        &room,
        json!({"name": "G", "access_code": "mod-5678"}),
        None,
    )
    .await
    .unwrap();
    let (_m, joined) = join(&server, &room, &t).await;
    assert_eq!(
        (joined["type"].as_str(), joined["role"].as_str()),
        (Some("joined"), Some("moderator"))
    );

    // Only a moderator may open it: a guest is refused until one is in.
    let closed = server.create_room("Closed").await;
    set_settings(&server, &closed, r#"{"anyone_may_start":false}"#).await;
    assert_eq!(
        api_join(&server, &closed, json!({"name": "G"}), None).await,
        Err("not_started".into())
    );
    let t = api_join(&server, &closed, json!({"name": "Owner"}), owner)
        .await
        .unwrap();
    let (_owner, m) = join(&server, &closed, &t).await;
    assert_eq!(m["role"], "moderator", "{m}");
    assert!(
        api_join(&server, &closed, json!({"name": "G"}), None)
            .await
            .is_ok()
    );

    // The waiting room: a guest's token puts them in the lobby, holding no seat.
    set_settings(&server, &closed, r#"{"waiting_room":true}"#).await;
    let t = api_join(&server, &closed, json!({"name": "Guest"}), None)
        .await
        .unwrap();
    let (_g, m) = join(&server, &closed, &t).await;
    assert_eq!(m["type"], "waiting", "{m}");

    // A real token of one room is refused in another.
    let (_, m) = join(&server, &room, &t).await;
    assert_eq!(m["code"], "invalid_token", "{m}");
    server.stop().await;
}

#[tokio::test]
async fn a_bbb_meeting_admits_only_through_its_links_and_by_its_rules() {
    let server = TestServer::start_with(|s| s.bbb_secrets = vec![Secret(BBB_SECRET.into())]).await;
    let create = |qs: &str| {
        format!(
            "http://{}/bigbluebutton/api/{}",
            server.http,
            common::bbb_signed(Algorithm::Sha1, BBB_SECRET, "create", qs)
        )
    };
    let r = reqwest::get(create(
        "meetingID=m1&name=One&maxParticipants=1&guestPolicy=ALWAYS_DENY",
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(r.contains("SUCCESS"), "{r}");

    // A guest is refused by the guest policy.
    assert_eq!(
        bbb_join(
            &server,
            "meetingID=m1&fullName=G&role=VIEWER&guest=true&userID=g"
        )
        .await,
        Err("guestDeniedAccess".into())
    );
    // A moderator's link admits one.
    let url = bbb_join(&server, "meetingID=m1&fullName=Mo&role=MODERATOR&userID=u1")
        .await
        .unwrap();
    let (room, token) = token_of(&url);
    let (mut first, m) = join(&server, &room, &token).await;
    assert_eq!(
        (m["type"].as_str(), m["role"].as_str()),
        (Some("joined"), Some("moderator")),
        "{m}"
    );

    // The meeting is full for anyone else: through BBB, through the native API (which never
    // admits to a BBB meeting), and with a forged token.
    assert_eq!(
        bbb_join(&server, "meetingID=m1&fullName=Bo&role=VIEWER&userID=u2").await,
        Err("maxParticipantsReached".into())
    );
    for _ in 0..7 {
        assert_eq!(
            api_join(&server, &room, json!({"name": "Outsider"}), None).await,
            Err("integration_only".into())
        );
        assert_eq!(
            api_join(
                &server,
                &room,
                json!({"name": "Admin"}),
                Some(&server.api_token)
            )
            .await,
            Err("integration_only".into())
        );
    }
    let mut c = JoinClaims::new(
        room.clone(),
        Some("Mallory".into()),
        Role::Moderator,
        u64::MAX,
    );
    c.seat = "guessed".into();
    let (_, m) = join(&server, &room, &common::forge(&c)).await;
    assert_eq!(m["code"], "invalid_token", "{m}");

    // The same user joining again (a second link, a reload) takes their seat over.
    let again = bbb_join(&server, "meetingID=m1&fullName=Mo&role=MODERATOR&userID=u1")
        .await
        .unwrap();
    let (_, token2) = token_of(&again);
    let (_second, m) = join(&server, &room, &token2).await;
    assert_eq!(m["type"], "joined", "{m}");
    expect_error(&mut first, "replaced", true).await;
    assert_eq!(live(&server, &room), 1);

    // ASK_MODERATOR: a guest waits for a moderator.
    let r = reqwest::get(create("meetingID=m2&name=Two&guestPolicy=ASK_MODERATOR"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(r.contains("SUCCESS"), "{r}");
    let url = bbb_join(
        &server,
        "meetingID=m2&fullName=G&role=VIEWER&guest=true&userID=g",
    )
    .await
    .unwrap();
    let (room2, token) = token_of(&url);
    let (_g, m) = join(&server, &room2, &token).await;
    assert_eq!(m["type"], "waiting", "{m}");
    server.stop().await;
}
