//! The node's health through every surface: admission by capacity (someone new is refused
//! with a clear message, the meetings running are untouched, their moderators are warned), the
//! metrics, the public status page and its feed, the incidents admins post, and the operators'
//! view only for platform admins.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::TestServer;
use common::browser::{Browser, first_admin};
use common::ws::{self, join_as, next_of};
use plenary_accounts::SignupPolicy;

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|v| v.parse().ok())
}

/// A guest asks the API to join `room`: (status, body).
async fn guest_join(
    server: &TestServer,
    room: &plenary_proto::RoomId,
    name: &str,
) -> (u16, serde_json::Value) {
    let body = serde_json::json!({ "name": name });
    let path = format!("/api/rooms/{room}/join");
    server.call_as("POST", &path, Some(&body), None).await
}

#[tokio::test]
async fn a_full_node_refuses_newcomers_and_leaves_its_meetings_alone() {
    let server = TestServer::start_with(|s| s.capacity = Some(3)).await;
    let a = server.create_room("Board").await;
    let b = server.create_room("Garden group").await;
    let (mut moderator, _) = join_as(&server, &a, "Ada", true).await;
    let (mut guest, _) = join_as(&server, &a, "Ben", false).await;
    // Dan's token is minted while there is room; Cleo fills the node before he uses it.
    let dan = server.join_token(&b, "Dan").await;
    let (mut other, _) = join_as(&server, &b, "Cleo", false).await;
    // The third made the node near its capacity (90 % of 3): the moderator is told.
    let notice = next_of(&mut moderator, "notice").await;
    assert_eq!(notice["code"], "near_capacity");

    // A fourth, in either room or a new one: refused, with the reason.
    for room in [&a, &b] {
        let (status, body) = guest_join(&server, room, "Dan").await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"]["code"], "server_busy");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("capacity (3 participants)"), "{message}");
    }
    // Dan's token no longer gets him in: the node filled since.
    let mut late = ws::connect(&server).await;
    let hello = serde_json::json!({"type":"join","v":2,"room":b,"name":"Dan","token":dan});
    ws::send(&mut late, hello.to_string()).await;
    ws::expect_error(&mut late, "server_busy", true).await;
    // The meetings go on.
    for w in [&mut moderator, &mut guest, &mut other] {
        ws::send(w, r#"{"type":"ping"}"#).await;
        next_of(w, "pong").await;
    }
    let state = &server.running.as_ref().unwrap().state;
    assert_eq!(state.meeting.live.total(), 3);

    let metrics = reqwest::get(format!("http://{}/metrics", server.http))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        metric(&metrics, "plenary_admission_refused_capacity_total"),
        Some(3.0)
    );
    assert_eq!(metric(&metrics, "plenary_capacity_participants"), Some(3.0));
    assert_eq!(metric(&metrics, "plenary_participants"), Some(3.0));
    assert_eq!(metric(&metrics, "plenary_meetings"), Some(2.0));
    assert_eq!(metric(&metrics, "plenary_near_capacity"), Some(1.0));
    assert!(metric(&metrics, "plenary_start_time_seconds").is_some());
    // Every metric the documentation and the example dashboard name is served.
    let docs = std::fs::read_to_string("../../docs/operations.md").unwrap()
        + &std::fs::read_to_string("../../docs/grafana-dashboard.json").unwrap();
    let named: std::collections::BTreeSet<&str> = docs
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("plenary_") && w.len() > "plenary_".len())
        .collect();
    assert!(named.len() >= 15, "{named:?}");
    for name in named {
        assert!(
            metrics.contains(&format!("# TYPE {name} ")),
            "{name} is documented but not served"
        );
    }

    // Someone leaves: there is room again.
    ws::send(&mut other, r#"{"type":"leave"}"#).await;
    drop(other);
    common::eventually(Duration::from_secs(5), "Cleo left", || {
        state.meeting.live.total() == 2
    })
    .await;
    let (status, body) = guest_join(&server, &b, "Dan").await;
    assert_eq!(status, 200, "{body}");
    server.stop().await;
}

/// The cell of the row `data-region="<region>"` that says its state.
fn region_state(body: &str, region: &str) -> String {
    let row = &body[body
        .find(&format!("data-region=\"{region}\""))
        .unwrap_or_else(|| panic!("no region {region} in {body}"))..];
    common::browser::value_after(row, "data-state=\"")
}

#[tokio::test]
async fn the_status_page_shows_regions_and_the_notices_admins_post() {
    let server = TestServer::start_with(|s| {
        s.signup = SignupPolicy::Open;
        s.region = "eu".into();
    })
    .await;
    let room = server.create_room("Board").await;
    let (_ada, _) = join_as(&server, &room, "Ada", true).await;

    // Anyone, without signing in.
    let mut anyone = Browser::default();
    let page = anyone.get(&server, "/status").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(region_state(&page.body, "eu"), "up");
    assert_eq!(
        common::browser::value_after(&page.body, "id=\"status-participants\" data-count=\""),
        "1"
    );
    assert!(page.body.contains("id=\"status-no-notices\""));
    // …but not the operators' view, nor its forms.
    let refused = anyone.get(&server, "/admin/status").await;
    assert_eq!(
        (refused.status, refused.location.as_deref()),
        (303, Some("/signin"))
    );
    let mut member = Browser::default();
    member
        .sign_up(
            &server,
            "Olga",
            "olga@example.org",
            "a long enough password",
        )
        .await;
    assert_eq!(member.get(&server, "/admin/status").await.status, 403);
    let csrf = member.csrf(&server, "/rooms").await;
    let posted = member
        .post(
            &server,
            "/admin/status/notices",
            &[
                ("csrf", &csrf),
                ("kind", "incident"),
                ("severity", "down"),
                ("title", "Olga's"),
            ],
        )
        .await;
    assert_eq!(posted.status, 403);

    // A platform admin sees the node and posts an incident.
    let (email, password) = first_admin(&server);
    let mut admin = Browser::default();
    admin.sign_in(&server, &email, &password).await;
    let view = admin.get(&server, "/admin/status").await;
    assert_eq!(view.status, 200, "{}", view.body);
    for id in ["status-live", "status-hours", "status-runs", "post-notice"] {
        assert!(view.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(view.body.contains("<svg class=\"chart\""));
    assert!(
        view.body.contains(">running<"),
        "this run is listed as running"
    );
    let no_csrf = admin
        .post(
            &server,
            "/admin/status/notices",
            &[("kind", "incident"), ("severity", "down"), ("title", "x")],
        )
        .await;
    assert_eq!(no_csrf.status, 403);
    let csrf = value_of_csrf(&view.body);
    let bad = admin
        .post(
            &server,
            "/admin/status/notices",
            &[
                ("csrf", &csrf),
                ("kind", "incident"),
                ("severity", "down"),
                ("title", "Backwards"),
                ("starts", "2026-12-07T10:00"),
                ("ends", "2026-12-07T09:00"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("the end must come after the start"));
    let ok = admin
        .post(
            &server,
            "/admin/status/notices",
            &[
                ("csrf", &csrf),
                ("kind", "incident"),
                ("severity", "down"),
                ("region", "eu"),
                ("title", "Media relay failure"),
                ("body", "We are on it <b>now</b>."),
            ],
        )
        .await;
    assert_eq!(
        (ok.status, ok.location.as_deref()),
        (303, Some("/admin/status"))
    );

    let page = anyone.get(&server, "/status").await;
    assert_eq!(region_state(&page.body, "eu"), "down");
    assert!(page.body.contains("Media relay failure"));
    assert!(
        page.body.contains("&lt;b&gt;now&lt;&#x2f;b&gt;") && !page.body.contains("<b>now"),
        "the text is escaped"
    );
    assert!(!page.body.contains(&email), "who posted it is not public");
    assert!(page.body.contains("data-state=\"current\""));

    // The feed: well-formed Atom with the notice.
    let feed = anyone.get(&server, "/status/feed.atom").await;
    assert_eq!(feed.status, 200);
    let mut reader = quick_xml::Reader::from_str(&feed.body);
    let mut entries = Vec::new();
    let mut in_title = false;
    let mut depth_entry = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) if e.name().as_ref() == "entry" => {
                depth_entry = true
            }
            quick_xml::events::Event::Start(e) if e.name().as_ref() == "title" => in_title = true,
            quick_xml::events::Event::Text(t) if in_title && depth_entry => {
                entries.push(t.xml10_content().into_owned())
            }
            quick_xml::events::Event::End(e) if e.name().as_ref() == "title" => in_title = false,
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(entries, ["Incident: Media relay failure (Down)"]);

    // Ended: the region is up again, the notice stays listed as over.
    let id = common::browser::value_after(&page.body, "id=\"notice-");
    let ended = admin
        .post(
            &server,
            &format!("/admin/status/notices/{id}/end"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(ended.status, 303);
    let page = anyone.get(&server, "/status").await;
    assert_eq!(region_state(&page.body, "eu"), "up");
    assert!(page.body.contains("data-state=\"over\""));
    // A platform admin may delete it; nobody else.
    let csrf_member = member.csrf(&server, "/rooms").await;
    let refused = member
        .post(
            &server,
            &format!("/admin/status/notices/{id}/delete"),
            &[("csrf", &csrf_member)],
        )
        .await;
    assert_eq!(refused.status, 403);
    admin
        .post(
            &server,
            &format!("/admin/status/notices/{id}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    let page = anyone.get(&server, "/status").await;
    assert!(page.body.contains("id=\"status-no-notices\""));
    server.stop().await;
}

fn value_of_csrf(body: &str) -> String {
    common::browser::value_after(body, "name=\"csrf\" value=\"")
}

#[tokio::test]
async fn call_quality_reports_reach_the_meeting_report_of_its_moderators_only() {
    let server = TestServer::start_with(|s| s.signup = SignupPolicy::Open).await;
    let state = server.running.as_ref().unwrap().state.clone();
    let room = server.create_room("Board").await;
    let (mut ada, _) = join_as(&server, &room, "Ada", true).await;
    let (mut ben, joined) = join_as(&server, &room, "Ben", false).await;
    let ben_id = joined["you"].as_i64().unwrap();
    let meeting = state.meeting.live.meeting_started(&room).unwrap();

    // Figures no browser measures are refused; a report is kept (within a second).
    ws::send(
        &mut ben,
        r#"{"type":"quality_report","report":{"loss_out":3.0}}"#,
    )
    .await;
    ws::expect_error(&mut ben, "bad_message", false).await;
    ws::send(
        &mut ben,
        r#"{"type":"quality_report","report":{"loss_out":0.12,"rtt_ms":45.5,"candidate":"host","protocol":"udp","reconnects":0}}"#,
    )
    .await;
    let mut kept = Vec::new();
    for _ in 0..60 {
        kept = state
            .store
            .quality_of(room.as_str(), meeting)
            .await
            .unwrap();
        if !kept.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(kept.len(), 1, "kept once");
    let k = &kept[0];
    assert_eq!(
        (
            k.participant,
            k.name.as_str(),
            k.loss_out,
            k.rtt_ms,
            k.protocol.as_deref()
        ),
        (ben_id, "Ben", Some(120), Some(46), Some("udp"))
    );
    // Two more of Ben's, ten seconds apart (as a client sends them), straight into the store.
    let more: Vec<_> = [10_000, 20_000]
        .iter()
        .map(|d| plenary_store::QualityRow {
            at_ms: k.at_ms + d,
            ..k.clone()
        })
        .collect();
    state.store.save_quality(&more).await.unwrap();

    // A problem report: answered once it is kept; a second at once is too soon.
    ws::send(
        &mut ada,
        r#"{"type":"problem_report","note":"Ben keeps freezing","report":{"loss_in":0.01}}"#,
    )
    .await;
    assert_eq!(
        next_of(&mut ada, "notice").await["code"],
        "problem_reported"
    );
    ws::send(&mut ada, r#"{"type":"problem_report","note":"again"}"#).await;
    ws::expect_error(&mut ada, "too_fast", false).await;

    // The meeting report, for the room's owner (the first admin's room).
    let (email, password) = first_admin(&server);
    let mut owner = Browser::default();
    owner.sign_in(&server, &email, &password).await;
    let list = owner.get(&server, &format!("/rooms/{room}/quality")).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        list.body
            .contains(&format!("/rooms/{room}/quality/{meeting}"))
    );
    let page = owner
        .get(&server, &format!("/rooms/{room}/quality/{meeting}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Ben&#x27;s uplink lost 12 % for 30 s"),
        "{}",
        &page.body[page.body.find("quality-problems").unwrap_or(0)..][..600]
    );
    assert!(page.body.contains("Ben keeps freezing"));
    assert!(page.body.contains("class=\"strip\""));
    assert_eq!(
        page.body.matches("data-state=\"poor\"").count(),
        3,
        "12 % loss is poor"
    );
    // The operators' view lists the problem report.
    let view = owner.get(&server, "/admin/status").await;
    assert!(view.body.contains("Ben keeps freezing"));
    // Nobody else.
    let mut olga = Browser::default();
    olga.sign_up(
        &server,
        "Olga",
        "olga@example.org",
        "a long enough password",
    )
    .await;
    for path in [
        format!("/rooms/{room}/quality"),
        format!("/rooms/{room}/quality/{meeting}"),
    ] {
        assert_eq!(olga.get(&server, &path).await.status, 403, "{path}");
        let anyone = Browser::default().get(&server, &path).await;
        assert_eq!(anyone.status, 303, "{path}: sign in first");
    }
    server.stop().await;
}

/// The messages of the English portal catalogue: (key, English text).
fn english() -> Vec<(String, String)> {
    std::fs::read_to_string("../portal/locales/en/portal.ftl")
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

#[tokio::test]
async fn the_new_pages_speak_four_languages() {
    let server = TestServer::start().await;
    let state = server.running.as_ref().unwrap().state.clone();
    let room = server.create_room("Board").await;
    let (_ada, _) = join_as(&server, &room, "Ada", true).await;
    let meeting = state.meeting.live.meeting_started(&room).unwrap();
    let mut row = plenary_status::quality::row_of(
        &plenary_proto::QualityReport {
            loss_out: Some(0.2),
            protocol: Some("tcp".into()),
            ..Default::default()
        },
        room.as_str(),
        meeting,
        1,
        "Ada",
        meeting + 10_000,
    );
    state.store.save_quality(&[row.clone()]).await.unwrap();
    row.at_ms += 10_000;
    state.store.save_quality(&[row]).await.unwrap();
    let (email, password) = first_admin(&server);
    let mut admin = Browser::default();
    admin.sign_in(&server, &email, &password).await;
    let english = english();
    // A title each page shows, per language.
    let titles = [
        (
            "de",
            "Dienststatus",
            "Serverstatus",
            "Verbindungsqualität in Board",
            "Uplink-Verbindung von Ada verlor 20 %",
            "Nutzung der Plattform",
        ),
        (
            "fr",
            "État du service",
            "État du serveur",
            "Qualité des appels dans Board",
            "La liaison montante de Ada a perdu 20 %",
            "Utilisation de la plateforme",
        ),
        (
            "es",
            "Estado del servicio",
            "Estado del servidor",
            "Calidad de las llamadas en Board",
            "El enlace de subida de Ada perdió el 20 %",
            "Uso de la plataforma",
        ),
        (
            "en",
            "Service status",
            "Server status",
            "Call quality in Board",
            "s uplink lost 20 %",
            "Usage of the platform",
        ),
    ];
    for (lang, status, admin_status, quality, problem, usage) in titles {
        admin.set("lang", lang);
        let pages = [
            ("/status".to_owned(), status),
            ("/admin/status".to_owned(), admin_status),
            (format!("/rooms/{room}/quality"), quality),
            (format!("/rooms/{room}/quality/{meeting}"), problem),
            ("/admin/usage".to_owned(), usage),
        ];
        for (path, expected) in pages {
            let page = admin.get(&server, &path).await;
            assert_eq!(page.status, 200, "{lang} {path}");
            let body = page.body.replace("&#x27;", "'");
            assert!(body.contains(expected), "{lang} {path}: no {expected:?}");
            for (key, text) in &english {
                // No message left as its key, and (but in English) none left in English.
                assert!(!body.contains(&format!(">{key}<")), "{lang} {path}: {key}");
                let long = text.len() > 25 && !text.contains('{');
                let ours = ["status-", "quality-", "usage-"]
                    .iter()
                    .any(|p| key.starts_with(p));
                if lang != "en" && long && ours {
                    assert!(
                        !body.contains(text.as_str()),
                        "{lang} {path}: {key} in English"
                    );
                }
            }
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn problem_notes_reach_the_admins_not_the_room_owner() {
    let server = TestServer::start_with(|s| s.signup = SignupPolicy::Open).await;
    let state = server.running.as_ref().unwrap().state.clone();
    let mut olga = Browser::default();
    olga.sign_up(
        &server,
        "Olga",
        "olga@example.org",
        "a long enough password",
    )
    .await;
    let csrf = olga.csrf(&server, "/rooms").await;
    let room = olga.new_room(&server, &csrf, "Garden group").await;
    let meeting = 1_796_000_000_000;
    let row = plenary_status::quality::row_of(
        &plenary_proto::QualityReport {
            loss_out: Some(0.2),
            ..Default::default()
        },
        &room,
        meeting,
        1,
        "Ben",
        meeting + 10_000,
    );
    state.store.save_quality(&[row]).await.unwrap();
    state
        .store
        .save_problem(&plenary_store::ProblemRow {
            room: room.clone(),
            meeting_ms: meeting,
            participant: 1,
            name: "Ben".into(),
            at_ms: meeting + 12_000,
            note: "Olga talks over everyone".into(),
            diagnostics: "{}".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let path = format!("/rooms/{room}/quality/{meeting}");
    let own = olga.get(&server, &path).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert!(
        own.body.contains("uplink lost 20 %"),
        "the owner sees the connection"
    );
    assert!(
        !own.body.contains("Olga talks over everyone"),
        "but not what people reported to the admins"
    );
    let (email, password) = first_admin(&server);
    let mut admin = Browser::default();
    admin.sign_in(&server, &email, &password).await;
    assert!(
        admin
            .get(&server, &path)
            .await
            .body
            .contains("Olga talks over everyone")
    );
    server.stop().await;
}
