//! The BBB API's recordings, as Greenlight and Moodle use them: `record` and
//! `autoStartRecording` start a recording at the first join; when it is ready the
//! recording-ready callback arrives (a JWT signed with the shared secret), `getRecordings`
//! lists it with its name, length and playback formats (the MP4 and the playback page), and
//! publish, update (`meta_*`, `protect`) and delete round-trip; the end callback says whether
//! a recording was made. Only the API's own recordings are its to see.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::TestServer;
use common::bbb::*;
use plenary_accounts::Secret;

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Verifies an HS256 JWT with `secret` and returns its claims.
fn verify_jwt(token: &str, secret: &str) -> serde_json::Value {
    use base64::Engine as _;
    use hmac::Mac as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = token.split('.');
    let (h, p, sig) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let header: serde_json::Value = serde_json::from_slice(&b64.decode(h).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS256");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{h}.{p}").as_bytes());
    mac.verify_slice(&b64.decode(sig).unwrap())
        .expect("signed with the shared secret");
    serde_json::from_slice(&b64.decode(p).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_through_the_bbb_api() {
    let (rx, base) = Receiver::start(1).await; // the first callback attempt fails: it is retried
    let server = TestServer::start_with(|s| s.bbb_secrets = vec![Secret(SECRET.into())]).await;
    let ready_url = format!("{base}/ready");
    let end_url = format!("{base}/ended");
    create(
        &server,
        &format!(
            "name=Assembly&meetingID=rec-1&record=true&autoStartRecording=true&meta_gl-listed=true&meta_bbb-recording-ready-url={}&meta_endCallbackUrl={}",
            enc(&ready_url),
            enc(&end_url)
        ),
    )
    .await;
    // A meeting that may not be recorded: its moderator cannot start one.
    create(&server, "name=Plain&meetingID=plain-1").await;
    let url = get(
        &server,
        &signed(
            "join",
            "meetingID=plain-1&fullName=Pia&role=MODERATOR&redirect=false",
        ),
    )
    .await
    .one("/response/url");
    let (mut pia, joined) = ws_join_link(&server, &url, "Pia").await;
    assert!(joined.get("recording").is_none());
    common::ws::send(
        &mut pia,
        serde_json::json!({"type":"record","action":"start"}).to_string(),
    )
    .await;
    assert_eq!(
        common::ws::next_of(&mut pia, "error").await["code"],
        "forbidden"
    );

    // autoStartRecording: the first join starts it; everyone is told.
    let url = get(
        &server,
        &signed(
            "join",
            "meetingID=rec-1&fullName=Mo&role=MODERATOR&redirect=false",
        ),
    )
    .await
    .one("/response/url");
    let (mut mo, _) = ws_join_link(&server, &url, "Mo").await;
    assert_eq!(
        common::ws::next_of(&mut mo, "recording").await["state"],
        "recording"
    );
    let state = &server.running.as_ref().unwrap().state;
    let store = &state.store;
    let mut row = None;
    for _ in 0..200 {
        row = store
            .recordings_of_meeting("rec-1")
            .await
            .unwrap()
            .into_iter()
            .next();
        if row.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let row = row.expect("the recording is stored");
    assert_eq!(
        row.id,
        plenary_recordings::record_id("rec-1", row.started_ms)
    );
    let dir = state.recordings.dir(&row);
    // The meeting ends: the recording stops with it.
    let ended = get(&server, &signed("end", "meetingID=rec-1")).await;
    assert_eq!(ended.code(), "SUCCESS", "{}", ended.body);

    // The end callback: a recording was made.
    eventually("the end callback", || async {
        rx.requests()
            .iter()
            .any(|(m, u, _)| m == "GET" && u == "/ended?recordingmarks=true&meetingID=rec-1")
    })
    .await;
    // The recording-ready callback, retried after its first failure, signed with the secret.
    let mut tokens = Vec::new();
    for _ in 0..600 {
        tokens = rx
            .requests()
            .into_iter()
            .filter(|(m, u, _)| m == "POST" && u == "/ready")
            .map(|(_, _, body)| {
                let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
                    .into_owned()
                    .collect();
                form.into_iter()
                    .find(|(k, _)| k == "signed_parameters")
                    .unwrap()
                    .1
            })
            .collect();
        if tokens.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(tokens.len(), 2, "one failed attempt, then the delivery");
    let claims = verify_jwt(&tokens[1], SECRET);
    assert_eq!(
        claims,
        serde_json::json!({"meeting_id": "rec-1", "record_id": row.id})
    );

    // Greenlight's listing: after the callback, getRecordings by meetingID.
    let list = get(&server, &signed("getRecordings", "meetingID=rec-1")).await;
    assert_eq!(list.code(), "SUCCESS", "{}", list.body);
    assert_eq!(
        list.all("/response/recordings/recording/recordID"),
        [row.id.as_str()]
    );
    assert_eq!(list.one("/response/recordings/recording/name"), "Assembly");
    assert_eq!(
        list.one("/response/recordings/recording/state"),
        "published"
    );
    assert_eq!(list.one("/response/recordings/recording/published"), "true");
    assert_eq!(
        list.one("/response/recordings/recording/metadata/gl-listed"),
        "true"
    );
    assert_eq!(
        list.all("/response/recordings/recording/playback/format/type"),
        ["presentation", "video"]
    );
    assert_eq!(
        list.all("/response/recordings/recording/playback/format/length"),
        ["1", "1"]
    );
    let urls = list.all("/response/recordings/recording/playback/format/url");
    // The MP4 link plays for anyone holding it (an LMS shows it to its own people).
    let mp4 = reqwest::get(&urls[1]).await.unwrap();
    assert_eq!(mp4.status(), 200);
    assert_eq!(mp4.headers()["content-type"], "video/mp4");
    assert!(mp4.bytes().await.unwrap().len() > 1000);
    // By record id prefix (Moodle), and not at all by another meeting's id.
    let by_prefix = get(
        &server,
        &signed("getRecordings", &format!("recordID={}", &row.id[..20])),
    )
    .await;
    assert_eq!(
        by_prefix.all("/response/recordings/recording/recordID"),
        [row.id.as_str()]
    );
    let other = get(&server, &signed("getRecordings", "meetingID=plain-1")).await;
    assert_eq!(other.one("/response/messageKey"), "noRecordings");

    // Unpublished: gone from the default listing, there for state=unpublished.
    let p = get(
        &server,
        &signed(
            "publishRecordings",
            &format!("recordID={}&publish=false", row.id),
        ),
    )
    .await;
    assert_eq!(p.one("/response/published"), "false");
    let list = get(
        &server,
        &signed("getRecordings", "meetingID=rec-1&state=published"),
    )
    .await;
    assert_eq!(list.one("/response/messageKey"), "noRecordings");
    let list = get(
        &server,
        &signed("getRecordings", "meetingID=rec-1&state=unpublished"),
    )
    .await;
    assert_eq!(
        list.one("/response/recordings/recording/published"),
        "false"
    );
    get(
        &server,
        &signed(
            "publishRecordings",
            &format!("recordID={}&publish=true", row.id),
        ),
    )
    .await;

    // updateRecordings: Greenlight renames, unlists and protects.
    let u = get(
        &server,
        &signed(
            "updateRecordings",
            &format!(
                "recordID={}&meta_name=Renamed&meta_gl-listed=&protect=true",
                row.id
            ),
        ),
    )
    .await;
    assert_eq!(u.one("/response/updated"), "true");
    let list = get(
        &server,
        &signed("getRecordings", "meetingID=rec-1&meta_name=Renamed"),
    )
    .await;
    assert_eq!(list.one("/response/recordings/recording/name"), "Renamed");
    assert_eq!(list.one("/response/recordings/recording/protected"), "true");
    assert!(
        list.all("/response/recordings/recording/metadata/gl-listed")
            .is_empty()
    );
    // Protected: the link alone no longer opens it; the listing's fresh links do (for
    // 12 hours, as Scalelite's), and one past its time does not.
    assert_eq!(reqwest::get(&urls[1]).await.unwrap().status(), 403);
    let fresh = list.all("/response/recordings/recording/playback/format/url");
    assert_ne!(fresh, urls);
    for url in &fresh {
        assert_eq!(reqwest::get(url).await.unwrap().status(), 200, "{url}");
    }
    let until = |url: &str| -> i64 {
        let k = url.split("k=").nth(1).unwrap();
        k.split('-').next().unwrap().parse().unwrap()
    };
    let now = plenary_proto::clock::unix_millis() as i64;
    assert!((until(&fresh[1]) - now - 12 * 3600 * 1000).abs() < 60_000);
    let state = &server.running.as_ref().unwrap().state;
    let stale = state.recordings.timed_key(&row.id, now - 1);
    let stale_url = format!("{}?k={stale}", urls[1].split('?').next().unwrap());
    assert_eq!(reqwest::get(&stale_url).await.unwrap().status(), 403);
    let forged = format!(
        "{}?k={}-{}",
        urls[1].split('?').next().unwrap(),
        now + 3_600_000,
        &stale[stale.find('-').unwrap() + 1..]
    );
    assert_eq!(reqwest::get(&forged).await.unwrap().status(), 403);
    let tracks = get(
        &server,
        &signed("getRecordingTextTracks", &format!("recordID={}", row.id)),
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&tracks.body).unwrap();
    assert_eq!(v["response"]["returncode"], "SUCCESS");

    // deleteRecordings: the files go with it.
    assert!(dir.exists());
    let d = get(
        &server,
        &signed("deleteRecordings", &format!("recordID={}", row.id)),
    )
    .await;
    assert_eq!(d.one("/response/deleted"), "true");
    assert!(!dir.exists());
    let list = get(
        &server,
        &signed("getRecordings", "meetingID=rec-1&state=any"),
    )
    .await;
    assert_eq!(list.one("/response/messageKey"), "noRecordings");
    refused(
        &server,
        "deleteRecordings",
        &format!("recordID={}", row.id),
        "notFound",
    )
    .await;
    server.stop().await;
}

/// A ready callback a restart interrupted is sent at the next start, and only until it is
/// delivered: the store keeps which are owed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ready_callback_owed_at_a_restart_is_sent_then_and_only_once() {
    let (rx, base) = Receiver::start(0).await;
    let dir = std::env::temp_dir().join(format!("plenary-ready-owed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let settings = |s: &mut plenary_server::Settings| {
        s.bbb_secrets = vec![Secret(SECRET.into())];
        s.data_dir = dir.clone();
        s.recording_workers = 0;
    };
    let server = TestServer::start_with(settings).await;
    let room = server.create_room("Held by an integration").await;
    let state = &server.running.as_ref().unwrap().state;
    // A recording that became ready just as the server stopped (made here without the worker,
    // so no callback went out).
    let (row, _) = state
        .recordings
        .begin(&plenary_recordings::NewRecording {
            room: room.clone(),
            meeting_id: "rec-owed".into(),
            meeting_ms: 1_700_000_000_000,
            name: "Owed".into(),
            started_ms: 1_700_000_000_000,
            meta: serde_json::json!({"bbb-recording-ready-url": format!("{base}/ready")})
                .to_string(),
        })
        .await
        .unwrap();
    let store = state.store.clone();
    assert!(
        store
            .recording_ended(&row.id, 1_700_000_060_000, 60_000, 10)
            .await
            .unwrap()
    );
    let job = store
        .claim_recording_job(i64::MAX / 2, 1)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .recording_composed(&row.id, job.attempts, 10)
            .await
            .unwrap()
    );
    server.stop().await;
    let posts = || {
        rx.requests()
            .iter()
            .filter(|(m, u, _)| m == "POST" && u == "/ready")
            .count()
    };
    assert_eq!(posts(), 0);

    let server = TestServer::start_with(settings).await;
    eventually("the owed callback", || async { posts() == 1 }).await;
    let store = server.running.as_ref().unwrap().state.store.clone();
    eventually("the callback recorded as delivered", || async {
        store.recordings_to_notify().await.unwrap().is_empty()
    })
    .await;
    server.stop().await;

    let server = TestServer::start_with(settings).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(posts(), 1, "a delivered callback is not sent again");
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
