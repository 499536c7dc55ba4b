//! The real server on port 0; headless str0m peers join over the real WebSocket and UDP on
//! loopback. One publishes synthetic audio and video, the others receive it.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::{TestServer, eventually};
use plenary_peer::{Peer, PeerOptions, Publish};
use plenary_proto::MediaKind;

fn opts(
    server: &TestServer,
    room: &plenary_proto::RoomId,
    name: &str,
    publish: Publish,
) -> PeerOptions {
    PeerOptions {
        http_addr: server.http.clone(),
        room: room.clone(),
        name: name.into(),
        publish,
        local_ip: None,
        token: None,
    }
}

/// A publisher (audio and video) and a viewer (nothing) joined to `room`.
async fn publisher_and_viewer(
    server: &TestServer,
    room: &plenary_proto::RoomId,
    names: (&str, &str),
) -> (Peer, Peer) {
    let publisher = Peer::join(opts(server, room, names.0, Publish::AUDIO_VIDEO))
        .await
        .unwrap();
    let viewer = Peer::join(opts(server, room, names.1, Publish::NOTHING))
        .await
        .unwrap();
    (publisher, viewer)
}

/// Frames of `kind` `peer` received from `from` so far.
fn frames_from(peer: &Peer, from: plenary_proto::ParticipantId, kind: MediaKind) -> u64 {
    peer.snapshot()
        .frames
        .get(&(from, kind))
        .copied()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_stream_reaches_another_peer() {
    let server = TestServer::start().await;
    let room = server.create_room("Integration").await;

    let (alice, bob) = publisher_and_viewer(&server, &room, ("Alice", "Bob")).await;

    eventually(
        Duration::from_secs(10),
        "Bob receives Alice's audio and video",
        || {
            frames_from(&bob, alice.id, MediaKind::Audio) > 20
                && frames_from(&bob, alice.id, MediaKind::Video) > 10
        },
    )
    .await;

    let b = bob.snapshot();
    let a = alice.snapshot();
    assert!(a.connected && b.connected);
    // Every counted frame carried Alice's id in its payload: the SFU routed it to the track
    // it announced as Alice's.
    let total: u64 = b.frames.values().sum();
    assert_eq!(b.frames_matching_owner, total);
    // Presence: each sees the other, with Alice's media state.
    assert!(a.participants.contains_key(&bob.id));
    let alice_seen = &b.participants[&alice.id];
    assert_eq!(alice_seen.name, "Alice");
    assert!(alice_seen.audio && alice_seen.video);
    assert!(b.errors.is_empty(), "{:?}", b.errors);

    // The operators' metrics count the forwarded traffic and the participants.
    let (status, text) = plenary_peer::http::call_raw(&server.http, "GET", "/metrics", None)
        .await
        .unwrap();
    let text = String::from_utf8(text).unwrap();
    assert_eq!(status, 200);
    let value = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing in {text}"))
    };
    assert!(value("plenary_media_packets_sent_total") > 30);
    assert!(value("plenary_media_bytes_received_total") > 30_000);
    assert_eq!(value("plenary_media_participants"), 2);

    // Alice mutes; Bob sees it.
    alice.set_media_state(false, true);
    eventually(Duration::from_secs(5), "Bob sees Alice muted", || {
        !bob.snapshot().participants[&alice.id].audio
    })
    .await;

    // Server-side statistics agree that media flowed.
    let engine = &server.running.as_ref().unwrap().state.engine;
    let stats = engine.stats(alice.id).await.unwrap();
    assert!(stats.connected && stats.packets_in > 30, "{stats:?}");

    // Alice leaves: Bob is told, and the server forgets her.
    let alice_id = alice.id;
    alice.leave().await.unwrap();
    eventually(Duration::from_secs(5), "Bob sees Alice leave", || {
        !bob.snapshot().participants.contains_key(&alice_id)
    })
    .await;
    assert!(engine.stats(alice_id).await.is_none());
    bob.leave().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_peers_in_two_rooms_only_hear_their_own_room() {
    let server = TestServer::start().await;
    let room_a = server.create_room("A").await;
    let room_b = server.create_room("B").await;

    let a1 = Peer::join(opts(&server, &room_a, "a1", Publish::AUDIO_VIDEO))
        .await
        .unwrap();
    let a2 = Peer::join(opts(&server, &room_a, "a2", Publish::AUDIO_VIDEO))
        .await
        .unwrap();
    let b1 = Peer::join(opts(&server, &room_b, "b1", Publish::AUDIO_VIDEO))
        .await
        .unwrap();

    eventually(Duration::from_secs(10), "a1 and a2 hear each other", || {
        let s1 = a1.snapshot();
        let s2 = a2.snapshot();
        s1.frames
            .get(&(a2.id, MediaKind::Video))
            .is_some_and(|n| *n > 10)
            && s2
                .frames
                .get(&(a1.id, MediaKind::Video))
                .is_some_and(|n| *n > 10)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let s = b1.snapshot();
    assert!(s.connected);
    assert!(
        s.frames.is_empty(),
        "b1 received media from another room: {:?}",
        s.frames
    );
    assert!(s.participants.is_empty());
    for p in [a1, a2, b1] {
        p.leave().await.unwrap();
    }
    server.stop().await;
}

/// Waits until `who` received `more` further audio frames from `from`: time passed with
/// media flowing, whatever the machine's speed.
async fn audio_moves_on(who: &Peer, from: plenary_proto::ParticipantId, more: u64) {
    let start = frames_from(who, from, MediaKind::Audio);
    eventually(Duration::from_secs(10), "audio keeps flowing", || {
        frames_from(who, from, MediaKind::Audio) >= start + more
    })
    .await;
}

/// Waits until `who` stops receiving `kind` from `from` (the same count over 300 ms, at most
/// 10 s); returns that count.
async fn stops(who: &Peer, from: plenary_proto::ParticipantId, kind: MediaKind) -> u64 {
    for _ in 0..33 {
        let before = frames_from(who, from, kind);
        tokio::time::sleep(Duration::from_millis(300)).await;
        if frames_from(who, from, kind) == before {
            return before;
        }
    }
    panic!("{kind:?} from {from} kept coming");
}

/// `who` stops getting `from`'s audio while `from`'s video keeps coming (so the audio was
/// held back, not the whole connection).
async fn audio_stops_video_goes_on(who: &Peer, from: plenary_proto::ParticipantId) {
    let audio = stops(who, from, MediaKind::Audio).await;
    let video = frames_from(who, from, MediaKind::Video);
    eventually(Duration::from_secs(10), "the video moves on", || {
        frames_from(who, from, MediaKind::Video) > video + 30
    })
    .await;
    assert_eq!(frames_from(who, from, MediaKind::Audio), audio);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sfu_forwards_nothing_that_is_locked_or_off_whatever_the_client_sends() {
    use common::ws::{connect, next, send};
    let server = TestServer::start().await;
    let room = server.create_room("Locked").await;
    // The chair locks from a plain WebSocket; the peers below ignore every request, like a
    // client that skips the UI and keeps sending.
    let token = server
        .join_token_as(&room, "Chair", Some(&server.api_token))
        .await;
    let mut chair = connect(&server).await;
    send(
        &mut chair,
        serde_json::json!({"type":"join","v":2,"room":room,"name":"Chair","token":token})
            .to_string(),
    )
    .await;
    assert_eq!(next(&mut chair).await["type"], "joined");
    let val = Peer::join(opts(&server, &room, "Val", Publish::AUDIO_VIDEO))
        .await
        .unwrap();
    let bob = Peer::join(opts(&server, &room, "Bob", Publish::NOTHING))
        .await
        .unwrap();
    let mut mo_opts = opts(&server, &room, "Mo", Publish::NOTHING);
    mo_opts.token = Some(
        server
            .join_token_as(&room, "Mo", Some(&server.api_token))
            .await,
    );
    let mo = Peer::join(mo_opts).await.unwrap();
    eventually(Duration::from_secs(10), "Bob and Mo see Val", || {
        frames_from(&bob, val.id, MediaKind::Video) > 10
            && frames_from(&mo, val.id, MediaKind::Video) > 10
    })
    .await;
    let lock =
        |locks: serde_json::Value| serde_json::json!({"type":"lock","locks":locks}).to_string();
    // The chair's own copy of a lock change: the meeting has applied it.
    async fn applied(chair: &mut common::ws::Ws, flag: &str, on: bool) {
        loop {
            let m = next(chair).await;
            if m["type"] == "locks" && m["locks"][flag] == on {
                return;
            }
        }
    }

    // Cameras locked: nobody gets Val's video any more, her audio still flows.
    send(&mut chair, lock(serde_json::json!({"cameras":true}))).await;
    let bob_before = stops(&bob, val.id, MediaKind::Video).await;
    let mo_before = stops(&mo, val.id, MediaKind::Video).await;
    audio_moves_on(&bob, val.id, 40).await;
    assert_eq!(frames_from(&bob, val.id, MediaKind::Video), bob_before);
    assert_eq!(frames_from(&mo, val.id, MediaKind::Video), mo_before);

    // Viewers see only moderators' cameras: once Val turns her camera back on (the lock had
    // turned it off), Mo gets her video again, Bob does not.
    send(
        &mut chair,
        lock(serde_json::json!({"hide_viewer_cameras":true})),
    )
    .await;
    applied(&mut chair, "hide_viewer_cameras", true).await;
    assert!(!mo.snapshot().participants[&val.id].video);
    val.set_media_state(true, true);
    eventually(Duration::from_secs(10), "Mo sees Val again", || {
        frames_from(&mo, val.id, MediaKind::Video) > mo_before + 10
    })
    .await;
    audio_moves_on(&bob, val.id, 40).await;
    assert_eq!(frames_from(&bob, val.id, MediaKind::Video), bob_before);

    // Microphones locked: her audio stops too.
    send(&mut chair, lock(serde_json::json!({"microphones":true}))).await;
    audio_stops_video_goes_on(&mo, val.id).await;

    // All open again: Bob gets her video back (and her audio once she unmutes).
    send(&mut chair, lock(serde_json::json!({}))).await;
    applied(&mut chair, "microphones", false).await;
    eventually(Duration::from_secs(10), "Bob sees Val again", || {
        frames_from(&bob, val.id, MediaKind::Video) > bob_before + 10
    })
    .await;
    val.set_media_state(true, true);
    audio_moves_on(&bob, val.id, 40).await;

    // Muted is muted: Val says she is muted but her client keeps sending sound; nothing of it
    // is forwarded (people see a muted microphone, they must not hear it).
    val.set_media_state(false, true);
    audio_stops_video_goes_on(&bob, val.id).await;
    // And a moderator's mute holds the same way, whatever the client does with the request.
    val.set_media_state(true, true);
    audio_moves_on(&bob, val.id, 40).await;
    send(
        &mut chair,
        serde_json::json!({"type":"moderate","participant_id":val.id,"action":"mute"}).to_string(),
    )
    .await;
    audio_stops_video_goes_on(&bob, val.id).await;
    for p in [val, bob, mo] {
        p.leave().await.unwrap();
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_on_two_media_threads_each_carry_their_own_meeting() {
    let server = TestServer::start_with(|s| s.media_threads = 2).await;
    let engine = server.running.as_ref().unwrap().state.engine.clone();
    assert_eq!(
        engine.local_addrs().len(),
        2,
        "two media threads, two ports"
    );
    // Two rooms pinned to different threads.
    let first = server.create_room("Thread room 0").await;
    let mut second = server.create_room("Thread room 1").await;
    for i in 2..40 {
        if engine.shard_of_room(&second) != engine.shard_of_room(&first) {
            break;
        }
        second = server.create_room(&format!("Thread room {i}")).await;
    }
    assert_ne!(engine.shard_of_room(&first), engine.shard_of_room(&second));

    let mut pairs = Vec::new();
    for (i, room) in [&first, &second].into_iter().enumerate() {
        let names = (format!("Pub {i}"), format!("View {i}"));
        pairs.push(publisher_and_viewer(&server, room, (&names.0, &names.1)).await);
    }
    for (publisher, viewer) in &pairs {
        eventually(
            Duration::from_secs(10),
            "each viewer gets its room's video",
            || frames_from(viewer, publisher.id, MediaKind::Video) > 10,
        )
        .await;
    }
    // Nothing crosses between the rooms (nor between the threads).
    for (i, (_, viewer)) in pairs.iter().enumerate() {
        let other = &pairs[1 - i].0;
        let s = viewer.snapshot();
        assert!(
            !s.frames.keys().any(|(p, _)| *p == other.id),
            "{:?}",
            s.frames
        );
        assert_eq!(s.frames_matching_owner, s.frames.values().sum::<u64>());
    }
    // The metrics add both threads' participants.
    let (_, text) = plenary_peer::http::call_raw(&server.http, "GET", "/metrics", None)
        .await
        .unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.lines().any(|l| l == "plenary_media_participants 4"),
        "{text}"
    );
    for (p, v) in pairs {
        p.leave().await.unwrap();
        v.leave().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_beyond_ten_a_second_are_refused_without_ending_the_session() {
    let server = TestServer::start().await;
    let room = server.create_room("Views").await;
    let (alice, bob) = publisher_and_viewer(&server, &room, ("Alice", "Bob")).await;
    let tile = plenary_proto::TileReport {
        participant_id: alice.id,
        source: plenary_proto::TrackSource::Camera,
        width: 320,
        height: 180,
        visible: true,
    };
    for _ in 0..12 {
        bob.set_view(vec![tile]);
    }
    eventually(Duration::from_secs(5), "the eleventh view refused", || {
        bob.snapshot()
            .errors
            .iter()
            .any(|(code, _)| *code == plenary_proto::ErrorCode::TooFast)
    })
    .await;
    // Not counted against the connection: Bob still receives Alice.
    let before = frames_from(&bob, alice.id, MediaKind::Video);
    eventually(Duration::from_secs(10), "Bob still receives video", || {
        frames_from(&bob, alice.id, MediaKind::Video) > before + 10
    })
    .await;
    assert!(!bob.is_finished());
    alice.leave().await.unwrap();
    bob.leave().await.unwrap();
}
