//! The BigBlueButton-compatible API, call by call, through real HTTP against a real server,
//! answers asserted element by element (XPath-like paths), with real peers joining through
//! the join links. Cases follow Scalelite's request specs (bbb-api.md §2.3).
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use common::bbb::*;

use common::TestServer;
use plenary_accounts::Secret;
use plenary_bbb::checksum::Algorithm;
use plenary_peer::Publish;

#[tokio::test]
async fn api_is_off_without_a_secret() {
    let server = TestServer::start().await;
    let a = get(&server, "").await;
    a.failed("apiNotEnabled");
    refused(&server, "getMeetings", "", "apiNotEnabled").await;
    server.stop().await;
}

#[tokio::test]
async fn index_and_checksums() {
    let server = bbb_server().await;
    for path in ["", "?checksum=whatever"] {
        let url = format!("http://{}/bigbluebutton/api{path}", server.http);
        let a = answer(client().get(url).send().await.unwrap()).await;
        assert_eq!(a.code(), "SUCCESS");
        assert_eq!(a.one("/response/version"), "2.0");
    }
    let a = get(&server, "").await;
    assert_eq!(a.one("/response/apiVersion"), "2.0");

    // Every algorithm by length; checksum first; a leading `&`.
    for alg in Algorithm::ALL {
        let a = get(&server, &signed_with(alg, "getMeetings", "")).await;
        assert_eq!(a.code(), "SUCCESS", "{alg:?}: {}", a.body);
    }
    let c = Algorithm::Sha1.hex(&[b"isMeetingRunning", b"meetingID=x1", SECRET.as_bytes()]);
    let a = get(
        &server,
        &format!("isMeetingRunning?checksum={c}&meetingID=x1"),
    )
    .await;
    assert_eq!(a.code(), "SUCCESS");
    let c = Algorithm::Sha1.hex(&[b"getMeetings", b"", SECRET.as_bytes()]);
    let a = get(&server, &format!("getMeetings?&checksum={c}")).await;
    assert_eq!(a.code(), "SUCCESS", "{}", a.body);

    // Missing, wrong, wrong length, signed for another call: checksumError, HTTP 200.
    get(&server, "getMeetings").await.failed("checksumError");
    get(&server, "getMeetings?checksum=")
        .await
        .failed("checksumError");
    get(&server, &format!("getMeetings?checksum={}", "0".repeat(40)))
        .await
        .failed("checksumError");
    get(&server, "getMeetings?checksum=abc")
        .await
        .failed("checksumError");
    let other =
        signed("isMeetingRunning", "meetingID=x1").replace("isMeetingRunning", "getMeetingInfo");
    get(&server, &other).await.failed("checksumError");
    // The checksum is checked before the parameters.
    get(&server, "create?name=x").await.failed("checksumError");
    // Unknown calls.
    refused(&server, "getDefaultConfigXML", "", "unsupportedRequest").await;
    server.stop().await;

    // Only SHA-256 allowed: SHA-1 refused, SHA-256 accepted.
    let server = TestServer::start_with(|s| {
        s.bbb_secrets = vec![Secret("first-secret-xyz".into()), Secret(SECRET.into())];
        s.bbb_checksum_algorithms = vec!["sha256".into()];
    })
    .await;
    refused(&server, "getMeetings", "", "checksumError").await;
    let a = get(&server, &signed_with(Algorithm::Sha256, "getMeetings", "")).await;
    assert_eq!(a.code(), "SUCCESS", "the second secret is accepted too");
    server.stop().await;
}

#[tokio::test]
async fn create_is_idempotent_and_validates() {
    let server = bbb_server().await;
    let a = create(
        &server,
        "name=Members%27+assembly&meetingID=assembly-1&record=true&duration=90&meta_bbb-origin=Moodle&meta_bad_key=x&attendees=junk&createTime=0",
    )
    .await;
    assert_eq!(a.one("/response/meetingID"), "assembly-1");
    let internal = a.one("/response/internalMeetingID");
    let create_time = a.one("/response/createTime");
    // internalMeetingID = sha1(meetingID)-createTime.
    let sha = Algorithm::Sha1.hex(&[b"assembly-1"]);
    assert_eq!(internal, format!("{sha}-{create_time}"));
    assert_eq!(a.one("/response/parentMeetingID"), "bbb-none");
    let attendee_pw = a.one("/response/attendeePW");
    let moderator_pw = a.one("/response/moderatorPW");
    assert_eq!((attendee_pw.len(), moderator_pw.len()), (8, 8));
    assert_ne!(attendee_pw, moderator_pw);
    let bridge = a.one("/response/voiceBridge");
    assert!(
        bridge.len() == 5 && bridge.bytes().all(|b| b.is_ascii_digit()),
        "{bridge}"
    );
    assert!(a.one("/response/createDate").ends_with(&format!(
        " UTC {}",
        1970 + create_time.parse::<i64>().unwrap() / 31_556_952_000
    )));
    assert_eq!(a.one("/response/hasUserJoined"), "false");
    assert_eq!(a.one("/response/duration"), "90");
    assert_eq!(a.one("/response/messageKey"), "");

    // The same meetingID again: the existing meeting, with duplicateWarning.
    let again = create(&server, "name=Other+name&meetingID=assembly-1").await;
    assert_eq!(again.one("/response/messageKey"), "duplicateWarning");
    assert_eq!(again.one("/response/internalMeetingID"), internal);
    assert_eq!(again.one("/response/moderatorPW"), moderator_pw);
    // …unless it names other passwords.
    refused(
        &server,
        "create",
        "name=x&meetingID=assembly-1&moderatorPW=zzz",
        "idNotUnique",
    )
    .await;
    // Same passwords are fine.
    let same = create(
        &server,
        &format!("name=x&meetingID=assembly-1&moderatorPW={moderator_pw}"),
    )
    .await;
    assert_eq!(same.one("/response/messageKey"), "duplicateWarning");

    // Metadata: lower-cased, invalid names dropped.
    let info = get(&server, &signed("getMeetingInfo", "meetingID=assembly-1")).await;
    assert_eq!(info.one("/response/metadata/bbb-origin"), "Moodle");
    assert!(info.all("/response/metadata/bad_key").is_empty());
    assert_eq!(info.one("/response/recording"), "true");
    assert_eq!(info.one("/response/meetingName"), "Members' assembly");

    // Validation.
    refused(&server, "create", "name=x", "missingParamMeetingID").await;
    refused(
        &server,
        "create",
        "name=x&meetingID=",
        "missingParamMeetingID",
    )
    .await;
    refused(
        &server,
        "create",
        "name=x&meetingID=a%2Cb",
        "validationError",
    )
    .await;
    refused(&server, "create", "name=x&meetingID=a", "validationError").await;
    refused(
        &server,
        "create",
        "name=x&meetingID=ok-id&record=maybe",
        "validationError",
    )
    .await;
    refused(
        &server,
        "create",
        "name=x&meetingID=ok-id&duration=-5",
        "validationError",
    )
    .await;
    refused(
        &server,
        "create",
        "name=x&meetingID=ok-id&guestPolicy=SOMETIMES",
        "validationError",
    )
    .await;
    refused(
        &server,
        "create",
        "name=x&meetingID=ok-id&voiceBridge=12a",
        "validationError",
    )
    .await;
    // A voice bridge in use.
    create(&server, "name=x&meetingID=vb-1&voiceBridge=71000").await;
    refused(
        &server,
        "create",
        "name=x&meetingID=vb-2&voiceBridge=71000",
        "nonUniqueVoiceBridge",
    )
    .await;

    // POST with the parameters in a form body and the checksum over the empty URL query
    // (BBB 3.0, Scalelite): the body is not signed.
    let c = Algorithm::Sha1.hex(&[b"create", b"", SECRET.as_bytes()]);
    let a = post(
        &server,
        "create",
        Some((
            "application/x-www-form-urlencoded",
            format!("meetingID=posted-1&name=Posted&checksum={c}"),
        )),
    )
    .await;
    assert_eq!(a.code(), "SUCCESS", "{}", a.body);
    assert_eq!(a.one("/response/meetingID"), "posted-1");
    // Older clients (bbb-web 2.4–2.6 semantics) signed the form body itself: as sent, or
    // re-encoded with sorted names.
    for (body_signed, id) in [
        ("name=Old+style&meetingID=posted-2".to_owned(), "posted-2"),
        ("meetingID=posted-3&name=Old+style".to_owned(), "posted-3"),
    ] {
        let sorted = format!("meetingID={id}&name=Old+style");
        let c = Algorithm::Sha1.hex(&[b"create", sorted.as_bytes(), SECRET.as_bytes()]);
        let raw = Algorithm::Sha1.hex(&[b"create", body_signed.as_bytes(), SECRET.as_bytes()]);
        for checksum in [c, raw] {
            let a = post(
                &server,
                "create",
                Some((
                    "application/x-www-form-urlencoded",
                    format!("{body_signed}&checksum={checksum}"),
                )),
            )
            .await;
            assert_eq!(a.code(), "SUCCESS", "{body_signed}: {}", a.body);
        }
    }
    // A body signed for other parameters is refused.
    let c = Algorithm::Sha1.hex(&[b"create", b"meetingID=other&name=x", SECRET.as_bytes()]);
    let a = post(
        &server,
        "create",
        Some((
            "application/x-www-form-urlencoded",
            format!("meetingID=posted-4&name=x&checksum={c}"),
        )),
    )
    .await;
    a.failed("checksumError");
    // POST with the signed query in the URL and an empty body.
    let a = post(
        &server,
        &signed("getMeetingInfo", "meetingID=posted-1"),
        None,
    )
    .await;
    assert_eq!(a.one("/response/meetingName"), "Posted");
    // A body of another type.
    let a = post(
        &server,
        &signed("getMeetings", ""),
        Some(("application/json", "{}".into())),
    )
    .await;
    a.failed("unsupportedContentType");
    // Pre-upload slides: XML body, parameters signed in the URL.
    let modules = r#"<modules><module name="presentation"><document url="https://files.example/agenda.pdf" filename="agenda.pdf"/></module></modules>"#;
    let a = post(
        &server,
        &signed("create", "meetingID=slides-1&name=Slides"),
        Some(("application/xml", modules.into())),
    )
    .await;
    assert_eq!(a.code(), "SUCCESS", "{}", a.body);
    let a = post(
        &server,
        &signed("create", "meetingID=slides-2&name=Slides"),
        Some(("text/xml", "<modules><module".into())),
    )
    .await;
    a.failed("validationError");

    // getMeetings lists them all.
    let all = get(&server, &signed("getMeetings", "")).await;
    let mut ids = all.all("/response/meetings/meeting/meetingID");
    ids.sort();
    assert_eq!(
        ids,
        [
            "assembly-1",
            "posted-1",
            "posted-2",
            "posted-3",
            "slides-1",
            "vb-1"
        ]
    );
    server.stop().await;
}

/// Every call that takes POST answers a form-body POST (checksum over the empty URL query)
/// exactly as it answers the GET.
#[tokio::test]
async fn post_with_a_form_body_answers_like_get() {
    let server = bbb_server().await;
    create(&server, "name=Both&meetingID=both-1").await;
    let post_form = |call: &'static str, params: &'static str| {
        let c = Algorithm::Sha1.hex(&[call.as_bytes(), b"", SECRET.as_bytes()]);
        let body = format!("{params}&checksum={c}");
        post(
            &server,
            call,
            Some(("application/x-www-form-urlencoded", body)),
        )
    };
    let cases: [(&str, &str, &str); 7] = [
        ("isMeetingRunning", "meetingID=both-1", "/response/running"),
        (
            "getMeetingInfo",
            "meetingID=both-1",
            "/response/meetingName",
        ),
        ("getMeetings", "", "/response/meetings/meeting/meetingID"),
        ("getRecordings", "meetingID=both-1", "/response/messageKey"),
        (
            "updateRecordings",
            "recordID=r1&meta_x=y",
            "/response/messageKey",
        ),
        ("getMeetingInfo", "meetingID=nope-2", "/response/messageKey"),
        ("end", "meetingID=both-1", "/response/messageKey"),
    ];
    for (call, params, path) in cases {
        let via_get = get(&server, &signed(call, params)).await;
        // `end` ends the meeting: compare its POST with a GET on a fresh meeting.
        if call == "end" {
            create(&server, "name=Both&meetingID=both-1").await;
        }
        let via_post = post_form(call, params).await;
        assert_eq!(via_post.code(), via_get.code(), "{call}: {}", via_post.body);
        assert_eq!(via_post.all(path), via_get.all(path), "{call}");
    }
    server.stop().await;
}

#[tokio::test]
async fn concurrent_creates_of_one_meeting_make_one_session() {
    let server = bbb_server().await;
    let path = signed("create", "name=Race&meetingID=race-1");
    let answers = futures_util::future::join_all((0..20).map(|_| get(&server, &path))).await;
    let mut internal: Vec<String> = answers
        .iter()
        .map(|a| a.one("/response/internalMeetingID"))
        .collect();
    internal.dedup();
    assert_eq!(internal.len(), 1, "one session: {internal:?}");
    let fresh = answers
        .iter()
        .filter(|a| a.one("/response/messageKey").is_empty())
        .count();
    assert_eq!(
        fresh, 1,
        "exactly one create is new, the others are duplicates"
    );
    // Bridges stay unique while creates of different meetings race.
    let paths: Vec<String> = (0..20)
        .map(|i| signed("create", &format!("name=R&meetingID=race-{}", i + 2)))
        .collect();
    let answers = futures_util::future::join_all(paths.iter().map(|p| get(&server, p))).await;
    let mut bridges: Vec<String> = answers
        .iter()
        .map(|a| a.one("/response/voiceBridge"))
        .collect();
    bridges.sort();
    bridges.dedup();
    assert_eq!(bridges.len(), 20);
    server.stop().await;
}

#[tokio::test]
async fn join_meeting_info_and_end_with_real_participants() {
    let server = bbb_server().await;
    get(&server, &signed("getMeetings", ""))
        .await
        .failed_or_empty();
    let created = create(
        &server,
        "name=Board&meetingID=board-7&muteOnStart=true&logoutURL=https%3A%2F%2Flms.example%2Fdone",
    )
    .await;
    let create_time = created.one("/response/createTime");
    let not_running = get(&server, &signed("isMeetingRunning", "meetingID=board-7")).await;
    assert_eq!(not_running.one("/response/running"), "false");
    // Greenlight's health check.
    let health = get(&server, &signed("isMeetingRunning", "meetingID=0")).await;
    assert_eq!(
        (health.code(), health.one("/response/running")),
        ("SUCCESS".into(), "false".into())
    );

    // redirect=false: XML with the URL.
    let a = get(&server, &signed("join", &format!("meetingID=board-7&fullName=Ada+L%C3%B6velace&role=moderator&userID=ada-1&createTime={create_time}&userdata-bbb_skip_check_audio=true&redirect=false"))).await;
    assert_eq!(a.code(), "SUCCESS", "{}", a.body);
    assert_eq!(a.one("/response/messageKey"), "successfullyJoined");
    assert_eq!(a.one("/response/guestStatus"), "ALLOW");
    assert_eq!(a.one("/response/user_id"), "ada-1");
    assert_eq!(
        a.one("/response/meeting_id"),
        created.one("/response/internalMeetingID")
    );
    let ada_url = a.one("/response/url");
    // The default: a 302 into the meeting page, Greenlight-style (role in any case, empty password).
    let a = get(
        &server,
        &signed(
            "join",
            "meetingID=board-7&fullName=Bo&password=&role=Viewer&userID=bo-2",
        ),
    )
    .await;
    assert_eq!(a.status, 302, "{}", a.body);
    let bo_url = a.location.clone().unwrap();
    assert!(
        bo_url.contains("/r/bbb-") && bo_url.contains("#join="),
        "{bo_url}"
    );

    // Ada listens only; Bo speaks.
    let ada = join_link(
        &server,
        &ada_url,
        "ignored: the token names her",
        Publish::NOTHING,
    )
    .await;
    let bo = join_link(&server, &bo_url, "Bo", Publish::AUDIO).await;
    bo.set_media_state(true, false);

    let info_of = || async { get(&server, &signed("getMeetingInfo", "meetingID=board-7")).await };
    eventually("both attendees listed, Bo's microphone on", || async {
        let i = info_of().await;
        i.all("/response/attendees/attendee").len() == 2
            && i.one("/response/voiceParticipantCount") == "1"
    })
    .await;
    let info = info_of().await;
    assert_eq!(info.one("/response/running"), "true");
    assert_eq!(info.one("/response/hasUserJoined"), "true");
    assert_eq!(info.one("/response/participantCount"), "2");
    assert_eq!(info.one("/response/moderatorCount"), "1");
    assert_eq!(info.one("/response/listenerCount"), "1");
    assert_eq!(
        info.all("/response/attendees/attendee/userID"),
        ["ada-1", "bo-2"]
    );
    assert_eq!(
        info.all("/response/attendees/attendee/fullName"),
        ["Ada Lövelace", "Bo"]
    );
    assert_eq!(
        info.all("/response/attendees/attendee/role"),
        ["MODERATOR", "VIEWER"]
    );
    assert_eq!(
        info.all("/response/attendees/attendee/hasJoinedVoice"),
        ["false", "true"]
    );
    assert_eq!(
        info.all("/response/attendees/attendee/isListeningOnly"),
        ["true", "false"]
    );
    assert_eq!(
        info.all("/response/attendees/attendee/customdata/bbb_skip_check_audio"),
        ["true"]
    );
    assert!(info.one("/response/startTime").parse::<i64>().unwrap() > 0);
    let running = get(&server, &signed("isMeetingRunning", "meetingID=board-7")).await;
    assert_eq!(running.one("/response/running"), "true");

    // Join errors: XML when redirect=false, a redirect with errors= otherwise.
    refused(
        &server,
        "join",
        "meetingID=board-7&fullName=X&role=VIEWER&createTime=1&redirect=false",
        "mismatchCreateTimeParam",
    )
    .await;
    refused(
        &server,
        "join",
        "meetingID=board-7&fullName=X&password=nope&redirect=false",
        "invalidPassword",
    )
    .await;
    refused(
        &server,
        "join",
        "meetingID=board-7&role=VIEWER&redirect=false",
        "missingParamFullName",
    )
    .await;
    refused(
        &server,
        "join",
        "meetingID=nope-9&fullName=X&role=VIEWER&redirect=false",
        "notFound",
    )
    .await;
    let a = get(
        &server,
        &signed("join", "meetingID=board-7&fullName=X&password=nope"),
    )
    .await;
    assert_eq!(a.status, 302);
    let loc = a.location.unwrap();
    assert!(loc.starts_with("https://lms.example/done?errors="), "{loc}");
    assert!(loc.contains("invalidPassword"), "{loc}");
    // Joining by password.
    let a = get(
        &server,
        &signed(
            "join",
            &format!(
                "meetingID=board-7&fullName=Cy&password={}&redirect=false",
                created.one("/response/moderatorPW")
            ),
        ),
    )
    .await;
    assert_eq!(a.code(), "SUCCESS");
    // join is GET only (POST removed in 3.0).
    let a = post(
        &server,
        &signed("join", "meetingID=board-7&fullName=Z&role=VIEWER"),
        None,
    )
    .await;
    a.failed("unsupportedRequest");

    // end: asynchronous; everyone is told; later joins see meetingForciblyEnded.
    let a = get(&server, &signed("end", "meetingID=board-7&password=")).await;
    assert_eq!(a.code(), "SUCCESS");
    assert_eq!(a.one("/response/messageKey"), "sentEndMeetingRequest");
    eventually("both peers told the meeting ended", || async {
        ada.snapshot().ended.is_some() && bo.snapshot().ended.is_some()
    })
    .await;
    assert!(ada.snapshot().ended.unwrap().contains("ended"));
    info_of().await.failed("notFound");
    refused(&server, "end", "meetingID=board-7", "notFound").await;
    refused(
        &server,
        "join",
        "meetingID=board-7&fullName=Late&role=VIEWER&redirect=false",
        "meetingForciblyEnded",
    )
    .await;
    let running = get(&server, &signed("isMeetingRunning", "meetingID=board-7")).await;
    assert_eq!(running.one("/response/running"), "false");
    // The same meetingID starts a new session.
    let again = create(&server, "name=Board&meetingID=board-7").await;
    assert_ne!(again.one("/response/createTime"), create_time);
    assert_eq!(again.one("/response/messageKey"), "");
    server.stop().await;
}

#[tokio::test]
async fn max_participants_and_guest_policy() {
    let server = bbb_server().await;
    create(
        &server,
        "name=Small&meetingID=small-1&maxParticipants=1&guestPolicy=ALWAYS_DENY",
    )
    .await;
    let a = get(
        &server,
        &signed(
            "join",
            "meetingID=small-1&fullName=A&role=VIEWER&userID=a&redirect=false",
        ),
    )
    .await;
    let url = a.one("/response/url");
    let _a = join_link(&server, &url, "A", Publish::NOTHING).await;
    eventually("A is in", || async {
        get(&server, &signed("getMeetingInfo", "meetingID=small-1"))
            .await
            .one("/response/participantCount")
            == "1"
    })
    .await;
    refused(
        &server,
        "join",
        "meetingID=small-1&fullName=B&role=VIEWER&userID=b&redirect=false",
        "maxParticipantsReached",
    )
    .await;
    // The same user may come back (a second device, a reload).
    let again = get(
        &server,
        &signed(
            "join",
            "meetingID=small-1&fullName=A&role=VIEWER&userID=a&redirect=false",
        ),
    )
    .await;
    assert_eq!(again.code(), "SUCCESS");
    refused(
        &server,
        "join",
        "meetingID=small-1&fullName=G&role=VIEWER&guest=true&redirect=false",
        "guestDeniedAccess",
    )
    .await;
    // ASK_MODERATOR: a guest is let through to the waiting room (guestStatus WAIT); others join.
    create(
        &server,
        "name=Ask&meetingID=ask-1&guestPolicy=ASK_MODERATOR",
    )
    .await;
    let g = get(
        &server,
        &signed(
            "join",
            "meetingID=ask-1&fullName=G&role=VIEWER&guest=true&redirect=false",
        ),
    )
    .await;
    assert_eq!(g.code(), "SUCCESS", "{}", g.body);
    assert_eq!(g.one("/response/messageKey"), "guestWait");
    assert_eq!(g.one("/response/guestStatus"), "WAIT");
    let m = get(
        &server,
        &signed(
            "join",
            "meetingID=ask-1&fullName=M&role=MODERATOR&redirect=false",
        ),
    )
    .await;
    assert_eq!(m.one("/response/guestStatus"), "ALLOW");
    server.stop().await;
}

#[tokio::test]
async fn recordings_chat_documents_and_text_tracks() {
    let server = bbb_server().await;
    // python bigbluebutton-api-python sends empty meetingID and recordID.
    let a = get(&server, &signed("getRecordings", "meetingID=&recordID=")).await;
    assert_eq!(a.code(), "SUCCESS");
    assert_eq!(a.all("/response/recordings"), [""]);
    assert_eq!(a.one("/response/messageKey"), "noRecordings");
    refused(
        &server,
        "publishRecordings",
        "publish=true",
        "missingParamRecordID",
    )
    .await;
    refused(
        &server,
        "publishRecordings",
        "recordID=abc",
        "missingParamPublish",
    )
    .await;
    refused(
        &server,
        "publishRecordings",
        "recordID=abc&publish=true",
        "notFound",
    )
    .await;
    refused(&server, "deleteRecordings", "recordID=abc,def", "notFound").await;
    refused(&server, "deleteRecordings", "", "missingParamRecordID").await;
    refused(
        &server,
        "updateRecordings",
        "recordID=abc&meta_name=x",
        "notFound",
    )
    .await;
    let tracks = get(&server, &signed("getRecordingTextTracks", "recordID=abc")).await;
    assert!(tracks.content_type.starts_with("application/json"));
    let v: serde_json::Value = serde_json::from_str(&tracks.body).unwrap();
    assert_eq!(v["response"]["returncode"], "FAILED");
    assert_eq!(v["response"]["messageKey"], "noRecordings");

    create(&server, "name=Chat&meetingID=chat-1").await;
    refused(
        &server,
        "sendChatMessage",
        "meetingID=chat-1",
        "validationError",
    )
    .await;
    refused(
        &server,
        "sendChatMessage",
        "meetingID=nope-1&message=hi",
        "notFound",
    )
    .await;
    // Nobody in it yet: not active.
    refused(
        &server,
        "sendChatMessage",
        "meetingID=chat-1&message=hi",
        "meetingNotFound",
    )
    .await;
    // With someone in it, the message is posted to its public chat, under userName.
    let url = get(
        &server,
        &signed(
            "join",
            "meetingID=chat-1&fullName=Reader&role=VIEWER&redirect=false",
        ),
    )
    .await
    .one("/response/url");
    let (path, token) = url.split_once("#join=").unwrap();
    let room = path.rsplit('/').next().unwrap().to_owned();
    let mut ws = common::ws::connect(&server).await;
    common::ws::send(
        &mut ws,
        serde_json::json!({"type":"join","v":2,"room":room,"name":"Reader","token":token})
            .to_string(),
    )
    .await;
    assert_eq!(common::ws::next(&mut ws).await["type"], "joined");
    let a = get(
        &server,
        &signed(
            "sendChatMessage",
            "meetingID=chat-1&message=The%20vote%20opens%20at%203&userName=Secretary",
        ),
    )
    .await;
    assert_eq!(a.code(), "SUCCESS", "{}", a.body);
    let chat = loop {
        let m = common::ws::next(&mut ws).await;
        if m["type"] == "chat" {
            break m["message"].clone();
        }
    };
    assert_eq!(
        (
            chat["name"].as_str(),
            chat["text"].as_str(),
            chat["to"].as_str()
        ),
        (
            Some("Secretary"),
            Some("The vote opens at 3"),
            Some("everyone")
        )
    );
    assert!(chat.get("from").is_none(), "posted by the integration");

    let srv = &server;
    let post_xml = |qs: &str, body: &'static str, ct: &'static str| {
        let path = signed("insertDocument", qs);
        async move { post(srv, &path, Some((ct, body.into()))).await }
    };
    let doc = r#"<modules><module name="presentation"><document url="https://x.example/a.pdf" filename="a.pdf"/></module></modules>"#;
    let a = post_xml("meetingID=chat-1", doc, "application/xml").await;
    assert_eq!(a.code(), "SUCCESS", "{}", a.body);
    post_xml("meetingID=nope-1", doc, "application/xml")
        .await
        .failed("notFound");
    post_xml(
        "meetingID=chat-1",
        "meetingID=x",
        "application/x-www-form-urlencoded",
    )
    .await
    .failed("unsupportedContentType");
    // insertDocument is POST only.
    refused(
        &server,
        "insertDocument",
        "meetingID=chat-1",
        "unsupportedRequest",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn webhooks_are_delivered_signed_retried_and_kept_across_restarts() {
    let (rx, base) = Receiver::start(1).await;
    let (end_rx, end_base) = Receiver::start(0).await;
    let dir = std::env::temp_dir().join(format!("plenary-bbb-hooks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let settings = |s: &mut plenary_server::Settings| {
        s.bbb_secrets = vec![Secret(SECRET.into())];
        s.data_dir = dir.clone();
    };
    let server = TestServer::start_with(settings).await;
    let hook_url = format!("{base}/hook?site=lms");
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    refused(&server, "hooks/create", "", "missingParamCallbackURL").await;
    let a = get(
        &server,
        &signed("hooks/create", &format!("callbackURL={}", enc(&hook_url))),
    )
    .await;
    assert_eq!(a.code(), "SUCCESS", "{}", a.body);
    let id = a.one("/response/hookID");
    assert_eq!(a.one("/response/permanentHook"), "false");
    assert_eq!(a.one("/response/rawData"), "false");
    let dup = get(
        &server,
        &signed("hooks/create", &format!("callbackURL={}", enc(&hook_url))),
    )
    .await;
    assert_eq!(dup.one("/response/messageKey"), "duplicateWarning");
    assert_eq!(dup.one("/response/hookID"), id);
    let scoped = get(
        &server,
        &signed(
            "hooks/create",
            &format!(
                "callbackURL={}&meetingID=other-1&eventID=meeting-ended",
                enc(&format!("{base}/scoped"))
            ),
        ),
    )
    .await;
    assert_eq!(scoped.code(), "SUCCESS");
    let list = get(&server, &signed("hooks/list", "")).await;
    assert_eq!(
        list.all("/response/hooks/hook/callbackURL"),
        [hook_url.clone(), format!("{base}/scoped")]
    );
    let list = get(&server, &signed("hooks/list", "meetingID=somewhere-else")).await;
    assert_eq!(
        list.all("/response/hooks/hook/hookID"),
        [id.as_str()],
        "global hooks only"
    );
    // Hooks' checksum message is bbb-webhooks' own.
    let bad = get(
        &server,
        "hooks/list?checksum=0000000000000000000000000000000000000000",
    )
    .await;
    bad.failed("checksumError");
    assert_eq!(
        bad.one("/response/message"),
        "You did not pass the checksum security check."
    );

    // Events of a meeting's life.
    create(
        &server,
        &format!(
            "name=Hooked&meetingID=hooked-1&meta_endCallbackUrl={}",
            enc(&format!("{end_base}/ended?x=1"))
        ),
    )
    .await;
    let a = get(
        &server,
        &signed(
            "join",
            "meetingID=hooked-1&fullName=Di&role=MODERATOR&userID=di-4&redirect=false",
        ),
    )
    .await;
    let url = a.one("/response/url");
    let di = join_link(&server, &url, "Di", Publish::AUDIO_VIDEO).await;
    di.set_media_state(true, true);
    eventually("joined and media events", || async {
        rx.event_ids().len() >= 4
    })
    .await;
    di.set_media_state(false, false);
    di.leave().await.unwrap();
    eventually("left", || async {
        rx.event_ids().contains(&"user-left".to_owned())
    })
    .await;
    get(&server, &signed("end", "meetingID=hooked-1")).await;
    eventually("meeting-ended and the end callback", || async {
        rx.event_ids().last().map(String::as_str) == Some("meeting-ended")
            && !end_rx.requests().is_empty()
    })
    .await;
    let ids = rx.event_ids();
    // The first delivery failed (500) and was retried: meeting-created appears twice.
    assert_eq!(
        ids,
        [
            "meeting-created",
            "meeting-created",
            "user-joined",
            "user-audio-unmuted",
            "user-cam-broadcast-start",
            "user-audio-muted",
            "user-cam-broadcast-end",
            "user-left",
            "meeting-ended"
        ]
    );
    // Each delivery is signed: checksum = sha1(callbackURL + body + secret), appended to the URL.
    for (_, uri, body) in rx.requests() {
        let (_, checksum) = uri.split_once("&checksum=").unwrap();
        assert_eq!(
            checksum,
            Algorithm::Sha1.hex(&[hook_url.as_bytes(), body.as_bytes(), SECRET.as_bytes()])
        );
        let keys: Vec<String> = form_urlencoded::parse(body.as_bytes())
            .map(|(k, _)| k.into_owned())
            .collect();
        assert_eq!(keys, ["domain", "event", "timestamp"]);
    }
    let joined: Vec<(String, String, String)> = rx
        .requests()
        .into_iter()
        .filter(|(_, _, b)| b.contains("user-joined"))
        .collect();
    let form: Vec<(String, String)> = form_urlencoded::parse(joined[0].2.as_bytes())
        .into_owned()
        .collect();
    let e: serde_json::Value = serde_json::from_str(&form[1].1).unwrap();
    assert_eq!(
        e[0]["data"]["attributes"]["user"]["external-user-id"],
        "di-4"
    );
    assert_eq!(e[0]["data"]["attributes"]["user"]["role"], "MODERATOR");
    assert_eq!(
        e[0]["data"]["attributes"]["meeting"]["external-meeting-id"],
        "hooked-1"
    );
    // The end callback: a GET with recordingmarks appended.
    let (m, uri, _) = end_rx.requests()[0].clone();
    assert_eq!(
        (m.as_str(), uri.as_str()),
        ("GET", "/ended?x=1&recordingmarks=false&meetingID=hooked-1")
    );
    // The scoped hook wanted another meeting's end only: nothing delivered there.
    assert!(
        rx.requests()
            .iter()
            .all(|(_, u, _)| !u.starts_with("/scoped"))
    );
    server.stop().await;

    // A restart keeps the registrations (the data folder is kept by this test).
    let server = TestServer::start_with(settings).await;
    let list = get(&server, &signed("hooks/list", "")).await;
    assert_eq!(list.all("/response/hooks/hook/hookID").len(), 2);
    let gone = get(&server, &signed("hooks/destroy", &format!("hookID={id}"))).await;
    assert_eq!(gone.one("/response/removed"), "true");
    refused(
        &server,
        "hooks/destroy",
        &format!("hookID={id}"),
        "destroyMissingHook",
    )
    .await;
    refused(&server, "hooks/destroy", "", "missingParamHookID").await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn meetings_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("plenary-bbb-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let settings = |s: &mut plenary_server::Settings| {
        s.bbb_secrets = vec![Secret(SECRET.into())];
        s.data_dir = dir.clone();
    };
    let server = TestServer::start_with(settings).await;
    let a = create(&server, "name=Kept&meetingID=kept-1").await;
    server.stop().await;
    let server = TestServer::start_with(settings).await;
    let info = get(&server, &signed("getMeetingInfo", "meetingID=kept-1")).await;
    assert_eq!(
        info.one("/response/internalMeetingID"),
        a.one("/response/internalMeetingID")
    );
    assert_eq!(
        info.one("/response/moderatorPW"),
        a.one("/response/moderatorPW")
    );
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn random_and_malformed_queries_always_get_well_formed_answers() {
    let server = bbb_server().await;
    create(&server, "name=Fuzz&meetingID=fuzz-1").await;
    let calls = [
        "create",
        "join",
        "end",
        "isMeetingRunning",
        "getMeetingInfo",
        "getMeetings",
        "getRecordings",
        "publishRecordings",
        "deleteRecordings",
        "updateRecordings",
        "sendChatMessage",
        "insertDocument",
        "hooks/create",
        "hooks/list",
        "hooks/destroy",
        "nope",
        "",
    ];
    let names = [
        "meetingID",
        "name",
        "fullName",
        "role",
        "password",
        "createTime",
        "redirect",
        "record",
        "duration",
        "maxParticipants",
        "meta_x",
        "userdata-a",
        "recordID",
        "publish",
        "hookID",
        "callbackURL",
        "message",
        "guest",
        "voiceBridge",
        "checksum",
    ];
    let values = [
        "",
        "fuzz-1",
        "%",
        "%ZZ",
        "%FF%FE",
        "true",
        "TRUE",
        "-1",
        "99999999999999999999",
        "a,b",
        "<x>&amp;",
        "%00",
        "%0A%0D",
        "MODERATOR",
        "💥",
        "+",
        "=",
    ];
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for i in 0..400 {
        let call = calls[next(calls.len())];
        let mut qs = String::new();
        for _ in 0..next(5) {
            if !qs.is_empty() {
                qs.push('&');
            }
            qs.push_str(names[next(names.len())]);
            qs.push('=');
            qs.push_str(values[next(values.len())]);
        }
        // Half signed correctly (reaching the calls' own validation), half not.
        let path = if i % 2 == 0 {
            signed(call, &qs)
        } else {
            format!("{call}?{qs}")
        };
        let a = get(&server, &path).await;
        if a.status == 302 {
            assert!(a.location.is_some());
            continue;
        }
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        if a.content_type.starts_with("application/json") {
            let _: serde_json::Value = serde_json::from_str(&a.body).unwrap();
            continue;
        }
        let code = a.one("/response/returncode");
        assert!(code == "SUCCESS" || code == "FAILED", "{path}: {}", a.body);
    }
    // Still healthy.
    let info = get(&server, &signed("getMeetingInfo", "meetingID=fuzz-1")).await;
    assert_eq!(info.code(), "SUCCESS", "{}", info.body);
    server.stop().await;
}

trait FailedOrEmpty {
    fn failed_or_empty(&self);
}

impl FailedOrEmpty for Answer {
    /// getMeetings with no meetings: SUCCESS, `<meetings/>`, noMeetings.
    fn failed_or_empty(&self) {
        assert_eq!(self.code(), "SUCCESS");
        assert_eq!(self.all("/response/meetings"), [""]);
        assert_eq!(self.one("/response/messageKey"), "noMeetings");
    }
}

#[tokio::test]
async fn create_lock_settings_lock_viewers_from_the_start() {
    let server = bbb_server().await;
    create(
        &server,
        "name=Locked&meetingID=locked-1&lockSettingsDisableMic=true&lockSettingsDisablePublicChat=true\
         &lockSettingsDisableCam=TRUE&webcamsOnlyForModerator=true",
    )
    .await;
    let link = |q: &str| signed("join", &format!("meetingID=locked-1&redirect=false&{q}"));
    let url = get(&server, &link("fullName=Viewer&role=VIEWER"))
        .await
        .one("/response/url");
    let (mut viewer, joined) = ws_join_link(&server, &url, "Viewer").await;
    let locks = &joined["locks"];
    assert_eq!(
        (
            locks["microphones"].as_bool(),
            locks["public_chat"].as_bool(),
            locks["cameras"].as_bool(),
            locks["hide_viewer_cameras"].as_bool(),
            locks["private_chat"].as_bool()
        ),
        (Some(true), Some(true), Some(true), Some(true), Some(false)),
        "{joined}"
    );
    // Enforced, not only shown.
    common::ws::send(
        &mut viewer,
        r#"{"type":"chat","to":"everyone","text":"hello"}"#,
    )
    .await;
    common::ws::expect_error(&mut viewer, "locked", false).await;
    common::ws::send(
        &mut viewer,
        r#"{"type":"media_state","audio":true,"video":false}"#,
    )
    .await;
    common::ws::expect_error(&mut viewer, "locked", false).await;
    // A moderator is not locked.
    let url = get(&server, &link("fullName=Chair&role=MODERATOR"))
        .await
        .one("/response/url");
    let (mut chair, _) = ws_join_link(&server, &url, "Chair").await;
    common::ws::send(
        &mut chair,
        r#"{"type":"chat","to":"everyone","text":"order"}"#,
    )
    .await;
    loop {
        let m = common::ws::next(&mut viewer).await;
        if m["type"] == "chat" {
            assert_eq!(m["message"]["text"], "order");
            break;
        }
    }

    // lockSettingsLockOnJoin=false: the locks are not applied on join (cameras only to
    // moderators still is).
    create(
        &server,
        "name=Open&meetingID=locked-2&lockSettingsDisableMic=true&lockSettingsLockOnJoin=false\
         &webcamsOnlyForModerator=true",
    )
    .await;
    let url = get(
        &server,
        &signed(
            "join",
            "meetingID=locked-2&redirect=false&fullName=Viewer&role=VIEWER",
        ),
    )
    .await
    .one("/response/url");
    let (_v, joined) = ws_join_link(&server, &url, "Viewer").await;
    assert_eq!(joined["locks"]["microphones"], false, "{joined}");
    assert_eq!(joined["locks"]["hide_viewer_cameras"], true, "{joined}");
    server.stop().await;
}
