//! In-meeting actions over real signalling: every moderator action is refused for a viewer;
//! chat reaches only whom it is for, late joiners get the history; locks are enforced by the
//! server; hands queue in order; remove-and-bar keeps someone out with a fresh token; a
//! promoted participant moderates; end for all disconnects everyone and their links admit
//! nobody after.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::TestServer;
use common::ws::{Ws, assert_closed, connect, next, send};
use plenary_proto::RoomId;
use serde_json::{Value, json};

/// Joins `room` as `name`: the owner (moderator) with the server's API token, else a guest.
async fn join(server: &TestServer, room: &RoomId, name: &str, owner: bool) -> (Ws, u64) {
    let bearer = owner.then_some(server.api_token.as_str());
    let token = server.join_token_as(room, name, bearer).await;
    let mut ws = connect(server).await;
    send(
        &mut ws,
        json!({"type":"join","v":2,"room":room,"name":name,"token":token}).to_string(),
    )
    .await;
    let m = next_of(&mut ws, "joined").await;
    (ws, m["you"].as_u64().unwrap())
}

/// The next message of `kind`, skipping others; fails on an error.
async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let m = next(ws).await;
        if m["type"] == kind {
            return m;
        }
        assert_ne!(m["type"], "error", "waiting for {kind}: {m}");
    }
}

/// The next error (skipping other messages): `(code, fatal)`.
async fn error_of(ws: &mut Ws) -> (String, bool) {
    loop {
        let m = next(ws).await;
        if m["type"] == "error" {
            return (
                m["code"].as_str().unwrap().into(),
                m["fatal"].as_bool().unwrap(),
            );
        }
    }
}

/// Whether a message of `kind` arrives within a short while (a ping answered first proves
/// the connection read everything sent before it).
async fn gets(ws: &mut Ws, kind: &str) -> Option<Value> {
    send(ws, r#"{"type":"ping"}"#).await;
    loop {
        let m = next(ws).await;
        if m["type"] == kind {
            return Some(m);
        }
        if m["type"] == "pong" {
            return None;
        }
    }
}

#[tokio::test]
async fn viewers_get_the_same_refusals_whatever_their_client() {
    let server = TestServer::start().await;
    let room = server.create_room("Refusals").await;
    let (_mo, mo) = join(&server, &room, "Mo", true).await;
    let (mut viewer, _) = join(&server, &room, "Val", false).await;
    let attempts = [
        json!({"type":"moderate","participant_id":mo,"action":"mute"}),
        json!({"type":"moderate","participant_id":mo,"action":"remove_and_bar"}),
        json!({"type":"moderate","participant_id":mo,"action":"demote"}),
        json!({"type":"moderate","participant_id":mo,"action":"stop_screen"}),
        json!({"type":"mute_all"}),
        json!({"type":"lock","locks":{"public_chat":true}}),
        json!({"type":"lower_hand"}),
        json!({"type":"chat_delete","id":1}),
        json!({"type":"end_meeting"}),
    ];
    for a in attempts {
        send(&mut viewer, a.to_string()).await;
        assert_eq!(
            error_of(&mut viewer).await,
            ("forbidden".into(), false),
            "{a}"
        );
    }
    assert_eq!(
        server
            .running
            .as_ref()
            .unwrap()
            .state
            .meeting
            .live
            .count(&room),
        2
    );
    server.stop().await;
}

#[tokio::test]
async fn chat_reaches_only_whom_it_is_for_and_late_joiners_get_the_history() {
    let server = TestServer::start().await;
    let room = server.create_room("Chat").await;
    let (mut mo, mo_id) = join(&server, &room, "Mo", true).await;
    let (mut ann, ann_id) = join(&server, &room, "Ann", false).await;
    let (mut bob, bob_id) = join(&server, &room, "Bob", false).await;

    // Public: everyone, stamped by the server with the sender's name.
    send(&mut ann, json!({"type":"chat","to":"everyone","text":"  Motion: <b>adopt</b> https://x.example/a?b=1  "}).to_string()).await;
    for ws in [&mut mo, &mut ann, &mut bob] {
        let m = next_of(ws, "chat").await["message"].clone();
        assert_eq!(
            (m["name"].as_str(), m["from"].as_u64()),
            (Some("Ann"), Some(ann_id))
        );
        // Kept as text (the client shows it as text): no HTML is made or removed here.
        assert_eq!(m["text"], "Motion: <b>adopt</b> https://x.example/a?b=1");
        assert!(m["at_ms"].as_i64().unwrap() > 0);
    }
    // Private: the sender and the recipient only.
    send(
        &mut ann,
        json!({"type":"chat","to":"participant","participant_id":bob_id,"text":"psst"}).to_string(),
    )
    .await;
    assert_eq!(next_of(&mut bob, "chat").await["message"]["text"], "psst");
    assert_eq!(next_of(&mut ann, "chat").await["message"]["text"], "psst");
    assert!(
        gets(&mut mo, "chat").await.is_none(),
        "a third person gets nothing"
    );
    // To the moderators.
    send(
        &mut bob,
        json!({"type":"chat","to":"moderators","text":"help"}).to_string(),
    )
    .await;
    assert_eq!(next_of(&mut mo, "chat").await["message"]["text"], "help");
    assert!(gets(&mut ann, "chat").await.is_none());

    // Too long, or empty.
    send(
        &mut ann,
        json!({"type":"chat","to":"everyone","text":"x".repeat(2001)}).to_string(),
    )
    .await;
    assert_eq!(error_of(&mut ann).await, ("bad_message".into(), false));
    send(
        &mut ann,
        json!({"type":"chat","to":"everyone","text":"   "}).to_string(),
    )
    .await;
    assert_eq!(error_of(&mut ann).await, ("bad_message".into(), false));

    // A late joiner gets the public history, not others' private messages.
    let (mut cy, _) = {
        let token = server.join_token(&room, "Cy").await;
        let mut ws = connect(&server).await;
        send(
            &mut ws,
            json!({"type":"join","v":2,"room":room,"name":"Cy","token":token}).to_string(),
        )
        .await;
        let joined = next_of(&mut ws, "joined").await;
        let texts: Vec<&str> = joined["chat"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap())
            .collect();
        assert_eq!(texts, ["Motion: <b>adopt</b> https://x.example/a?b=1"]);
        (ws, ())
    };
    // The moderator deletes the motion: gone for everyone, and from the history.
    let first = 1;
    send(
        &mut mo,
        json!({"type":"chat_delete","id":first}).to_string(),
    )
    .await;
    assert_eq!(next_of(&mut cy, "chat_deleted").await["id"], first);
    let store = &server.running.as_ref().unwrap().state.store;
    let meeting_ms = server
        .running
        .as_ref()
        .unwrap()
        .state
        .meeting
        .live
        .started_ms(&room)
        .unwrap();
    let stored = store.chat_of(&room, meeting_ms).await.unwrap();
    assert_eq!(stored.len(), 3, "every message is stored");
    assert!(stored[0].deleted_ms.is_some());
    // What was deleted is not kept: only that a message was there.
    assert_eq!(stored[0].body, "");
    assert!(!stored[1].body.is_empty());

    // Too fast: twenty in ten seconds, then refused.
    for i in 0..20 {
        send(
            &mut bob,
            json!({"type":"chat","to":"moderators","text":format!("m{i}")}).to_string(),
        )
        .await;
    }
    send(
        &mut bob,
        json!({"type":"chat","to":"moderators","text":"one more"}).to_string(),
    )
    .await;
    assert_eq!(error_of(&mut bob).await, ("too_fast".into(), false));
    let _ = mo_id;
    server.stop().await;
}

#[tokio::test]
async fn locks_are_enforced_by_the_server() {
    let server = TestServer::start().await;
    let room = server.create_room("Locks").await;
    let (mut mo, mo_id) = join(&server, &room, "Mo", true).await;
    let (mut val, val_id) = join(&server, &room, "Val", false).await;
    let (mut wes, _) = join(&server, &room, "Wes", false).await;
    send(
        &mut mo,
        json!({"type":"lock","locks":{"public_chat":true,"private_chat":true,"microphones":true}})
            .to_string(),
    )
    .await;
    let locks = next_of(&mut val, "locks").await;
    assert_eq!(locks["locks"]["public_chat"], true);
    // Locked out of the microphone: muted, and turning it on is refused.
    assert_eq!(
        next_of(&mut val, "moderator_request").await["request"],
        "mute"
    );
    send(
        &mut val,
        json!({"type":"media_state","audio":true,"video":false}).to_string(),
    )
    .await;
    assert_eq!(error_of(&mut val).await, ("locked".into(), false));
    // Chat locked for viewers, public and private to another viewer; moderators still reachable.
    send(
        &mut val,
        json!({"type":"chat","to":"everyone","text":"hi"}).to_string(),
    )
    .await;
    assert_eq!(error_of(&mut val).await, ("locked".into(), false));
    send(
        &mut val,
        json!({"type":"chat","to":"moderators","text":"may I?"}).to_string(),
    )
    .await;
    assert_eq!(next_of(&mut mo, "chat").await["message"]["text"], "may I?");
    send(
        &mut val,
        json!({"type":"chat","to":"participant","participant_id":mo_id,"text":"to Mo"}).to_string(),
    )
    .await;
    assert_eq!(next_of(&mut mo, "chat").await["message"]["text"], "to Mo");
    assert!(gets(&mut wes, "chat").await.is_none());
    // A moderator is not locked.
    send(
        &mut mo,
        json!({"type":"chat","to":"everyone","text":"order"}).to_string(),
    )
    .await;
    assert_eq!(next_of(&mut wes, "chat").await["message"]["text"], "order");
    let _ = val_id;
    server.stop().await;
}

#[tokio::test]
async fn one_screen_share_at_a_time_stopped_by_moderators_and_locks() {
    let server = TestServer::start().await;
    let room = server.create_room("Screens").await;
    let (mut mo, mo_id) = join(&server, &room, "Mo", true).await;
    let (mut val, val_id) = join(&server, &room, "Val", false).await;
    let (mut wes, wes_id) = join(&server, &room, "Wes", false).await;
    let share = |on: bool| json!({"type":"media_state","audio":false,"video":false,"screen":on});
    send(&mut val, share(true).to_string()).await;
    let m = next_of(&mut mo, "media_state").await;
    assert_eq!(
        (m["participant_id"].as_u64(), m["screen"].as_bool()),
        (Some(val_id), Some(true))
    );
    let _ = next_of(&mut wes, "media_state").await;
    // Wes shares: his share takes over, Val is asked to stop and everyone sees hers stopped.
    send(&mut wes, share(true).to_string()).await;
    let asked = next_of(&mut val, "moderator_request").await;
    assert_eq!(
        (asked["request"].as_str(), asked["by"].as_str()),
        (Some("stop_screen"), Some("Wes"))
    );
    let mut seen = Vec::new();
    for _ in 0..2 {
        let m = next_of(&mut mo, "media_state").await;
        seen.push((
            m["participant_id"].as_u64().unwrap(),
            m["screen"].as_bool().unwrap(),
        ));
    }
    seen.sort_unstable();
    assert_eq!(seen, vec![(val_id, false), (wes_id, true)]);
    // A moderator stops it.
    send(
        &mut mo,
        json!({"type":"moderate","participant_id":wes_id,"action":"stop_screen"}).to_string(),
    )
    .await;
    assert_eq!(
        next_of(&mut wes, "moderator_request").await["request"],
        "stop_screen"
    );
    let m = loop {
        let m = next_of(&mut val, "media_state").await;
        if m["participant_id"] == wes_id && m["screen"] == false {
            break m;
        }
    };
    assert_eq!(m["participant_id"], wes_id);
    // Val shares again, then screen sharing is locked: her share is stopped, a new one refused.
    send(&mut val, share(true).to_string()).await;
    let _ = next_of(&mut mo, "media_state").await;
    send(
        &mut mo,
        json!({"type":"lock","locks":{"screen_share":true}}).to_string(),
    )
    .await;
    assert_eq!(
        next_of(&mut val, "moderator_request").await["request"],
        "stop_screen"
    );
    send(&mut val, share(true).to_string()).await;
    assert_eq!(error_of(&mut val).await, ("locked".into(), false));
    // Moderators still share.
    send(&mut mo, share(true).to_string()).await;
    let m = loop {
        let m = next_of(&mut wes, "media_state").await;
        if m["participant_id"] == mo_id {
            break m;
        }
    };
    assert_eq!(m["screen"], true);
    server.stop().await;
}

#[tokio::test]
async fn hands_queue_in_order_and_moderators_lower_them() {
    let server = TestServer::start().await;
    let room = server.create_room("Hands").await;
    let (mut mo, _) = join(&server, &room, "Mo", true).await;
    let (mut a, a_id) = join(&server, &room, "A", false).await;
    let (mut b, b_id) = join(&server, &room, "B", false).await;
    send(&mut b, r#"{"type":"hand","raised":true}"#).await;
    assert_eq!(next_of(&mut mo, "hands").await["queue"], json!([b_id]));
    send(&mut a, r#"{"type":"hand","raised":true}"#).await;
    assert_eq!(
        next_of(&mut mo, "hands").await["queue"],
        json!([b_id, a_id])
    );
    send(&mut b, r#"{"type":"hand","raised":true}"#).await; // again: no change
    send(
        &mut mo,
        json!({"type":"lower_hand","participant_id":b_id}).to_string(),
    )
    .await;
    for want in [json!([b_id]), json!([b_id, a_id]), json!([a_id])] {
        assert_eq!(next_of(&mut a, "hands").await["queue"], want);
    }
    // Late joiners see the queue; lowering all empties it.
    let (mut c, _) = join(&server, &room, "C", false).await;
    send(&mut mo, r#"{"type":"lower_hand"}"#).await;
    assert_eq!(next_of(&mut c, "hands").await["queue"], json!([]));
    // A reaction is seen by all.
    send(&mut a, r#"{"type":"react","reaction":"applause"}"#).await;
    let r = next_of(&mut b, "reaction").await;
    assert_eq!(
        (r["participant_id"].as_u64(), r["reaction"].as_str()),
        (Some(a_id), Some("applause"))
    );
    // A hand (or microphone) flipped over and over would flood everyone: raising is refused
    // after a while, and said to the one doing it; lowering is always taken.
    for i in 0..100 {
        send(
            &mut a,
            json!({"type":"hand","raised":i % 2 == 0}).to_string(),
        )
        .await;
    }
    // Everything up to a ping's answer: with her first hand, 51 raises of which 40 pass.
    send(&mut a, r#"{"type":"ping"}"#).await;
    let mut refused = 0;
    loop {
        let m = next(&mut a).await;
        match m["type"].as_str() {
            Some("pong") => break,
            Some("error") => {
                assert_eq!(m["code"], "too_fast", "{m}");
                refused += 1;
            }
            _ => {}
        }
    }
    assert_eq!(refused, 11);
    // The microphone's state draws on the same allowance.
    send(
        &mut a,
        json!({"type":"media_state","audio":true,"video":false}).to_string(),
    )
    .await;
    assert_eq!(error_of(&mut a).await, ("too_fast".into(), false));
    server.stop().await;
}

#[tokio::test]
async fn moderators_mute_remove_bar_promote_and_end_for_all() {
    let server = TestServer::start().await;
    let room = server.create_room("Powers").await;
    let (mut mo, _) = join(&server, &room, "Mo", true).await;
    let (mut pat, pat_id) = join(&server, &room, "Pat", false).await;
    let (mut troll, troll_id) = join(&server, &room, "Troll", false).await;

    // Mute one: the target is asked (and shown muted); asking to unmute only asks.
    send(
        &mut mo,
        json!({"type":"moderate","participant_id":pat_id,"action":"mute"}).to_string(),
    )
    .await;
    let r = next_of(&mut pat, "moderator_request").await;
    assert_eq!(
        (r["request"].as_str(), r["by"].as_str()),
        (Some("mute"), Some("Mo"))
    );
    send(
        &mut mo,
        json!({"type":"moderate","participant_id":pat_id,"action":"ask_unmute"}).to_string(),
    )
    .await;
    assert_eq!(
        next_of(&mut pat, "moderator_request").await["request"],
        "ask_unmute"
    );
    send(&mut mo, r#"{"type":"mute_all"}"#).await;
    assert_eq!(
        next_of(&mut troll, "moderator_request").await["request"],
        "mute"
    );

    // Remove and bar: gone, told, and a fresh token from the same guest is refused.
    send(
        &mut mo,
        json!({"type":"moderate","participant_id":troll_id,"action":"remove_and_bar"}).to_string(),
    )
    .await;
    assert_eq!(error_of(&mut troll).await, ("barred".into(), true));
    assert_closed(&mut troll).await;
    assert_eq!(
        next_of(&mut pat, "participant_left").await["participant_id"],
        troll_id
    );
    let (status, body) = server
        .call_as(
            "POST",
            &format!("/api/rooms/{room}/join"),
            Some(&json!({"name":"Troll again"})),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("barred"))
    );

    // Promote Pat, who then mutes someone.
    let (mut new, new_id) = join(&server, &room, "Newcomer", true).await;
    send(
        &mut mo,
        json!({"type":"moderate","participant_id":pat_id,"action":"promote"}).to_string(),
    )
    .await;
    let changed = next_of(&mut pat, "role_changed").await;
    assert_eq!(
        (changed["participant_id"].as_u64(), changed["role"].as_str()),
        (Some(pat_id), Some("moderator"))
    );
    send(
        &mut pat,
        json!({"type":"moderate","participant_id":new_id,"action":"camera_off"}).to_string(),
    )
    .await;
    assert_eq!(
        next_of(&mut new, "moderator_request").await["request"],
        "camera_off"
    );

    // End for all: everyone told and disconnected; the tokens of the meeting admit nobody.
    // (A guest's token now would be refused: guests are barred by their address, and all of
    // this test's guests come from loopback. The owner's account is not barred.)
    let token = server
        .join_token_as(&room, "Later", Some(&server.api_token))
        .await;
    send(&mut pat, r#"{"type":"end_meeting"}"#).await;
    for ws in [&mut mo, &mut pat, &mut new] {
        assert_eq!(next_of(ws, "ended").await["reason"], "ended_by_moderator");
        assert_closed(ws).await;
    }
    common::eventually(Duration::from_secs(5), "the meeting empty", || {
        server
            .running
            .as_ref()
            .unwrap()
            .state
            .meeting
            .live
            .count(&room)
            == 0
    })
    .await;
    let mut late = connect(&server).await;
    send(
        &mut late,
        json!({"type":"join","v":2,"room":room,"name":"Later","token":token}).to_string(),
    )
    .await;
    assert_eq!(error_of(&mut late).await, ("invalid_token".into(), true));
    // The room's link makes a new meeting.
    let (_again, _) = join(&server, &room, "Next week", false).await;
    server.stop().await;
}

#[tokio::test]
async fn a_demoted_moderator_who_reloads_stays_demoted() {
    let server = TestServer::start().await;
    let room = server.create_room("Demotion").await;
    let (mut mo, _) = join(&server, &room, "Mo", true).await;
    // Kim joins with a moderator's token (as a co-owner would).
    let token = server
        .join_token_as(&room, "Kim", Some(&server.api_token))
        .await;
    let connect_kim = || async {
        let mut ws = connect(&server).await;
        send(
            &mut ws,
            json!({"type":"join","v":2,"room":room,"name":"Kim","token":token}).to_string(),
        )
        .await;
        let m = next_of(&mut ws, "joined").await;
        (ws, m)
    };
    let (mut kim, joined) = connect_kim().await;
    assert_eq!(joined["role"], "moderator");
    let kim_id = joined["you"].clone();
    // Microphones are locked for viewers; Kim, a moderator, speaks.
    send(
        &mut mo,
        json!({"type":"lock","locks":{"microphones":true}}).to_string(),
    )
    .await;
    send(
        &mut kim,
        json!({"type":"media_state","audio":true,"video":false}).to_string(),
    )
    .await;
    let m = next_of(&mut mo, "media_state").await;
    assert_eq!(m["audio"], true);
    send(
        &mut mo,
        json!({"type":"moderate","participant_id":kim_id,"action":"demote"}).to_string(),
    )
    .await;
    next_of(&mut mo, "role_changed").await;
    // A viewer now: the microphone lock applies to her at once.
    assert_eq!(
        next_of(&mut kim, "moderator_request").await["request"],
        "mute"
    );
    let m = next_of(&mut mo, "media_state").await;
    assert_eq!(
        (m["participant_id"].clone(), m["audio"].clone()),
        (kim_id.clone(), json!(false))
    );
    drop(kim);
    // She reloads the page: the same token, a new connection. Still a participant, as the
    // others see her too.
    let (mut kim, joined) = connect_kim().await;
    assert_eq!(joined["role"], "participant", "{joined}");
    let m = next_of(&mut mo, "participant_joined").await;
    assert_eq!(m["participant"]["role"], "participant", "{m}");
    send(&mut kim, r#"{"type":"mute_all"}"#).await;
    assert_eq!(error_of(&mut kim).await, ("forbidden".into(), false));
    // A fresh link for the same person (the meeting page asks for a new token on a reload):
    // still a participant.
    let fresh = server
        .join_token_as(&room, "Kim", Some(&server.api_token))
        .await;
    let mut again = connect(&server).await;
    send(
        &mut again,
        json!({"type":"join","v":2,"room":room,"name":"Kim","token":fresh}).to_string(),
    )
    .await;
    assert_eq!(next_of(&mut again, "joined").await["role"], "participant");
    drop(kim);
    server.stop().await;
}
