//! Usage reports through every surface: an organisation's admin sees her organisation's
//! numbers and no other's (page, exports, the platform's ranking refused); the CSV is the
//! page's table; the platform's admins rank every organisation; a usage token reads its own
//! organisation's report over the API and nothing else, until it is revoked.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use common::TestServer;
use common::browser::{Browser, add_member, first_admin, make_org, value_after};
use plenary_accounts::SignupPolicy;
use plenary_store::{UsageEvent, UsageKind};

/// A closed meeting of `minutes` in `room` (of organisation `org`) on 10 November 2026 with
/// `people` in it for its whole length.
fn meeting(room: &str, org: i64, start_min: i64, minutes: i64, people: &[i64]) -> Vec<UsageEvent> {
    let from = 1_794_268_800_000 + start_min * 60_000; // 2026-11-10T00:00Z + start_min
    let to = from + minutes * 60_000;
    let mut m = UsageEvent::new(UsageKind::MeetingEnded, to, room, from);
    m.since_ms = Some(from);
    m.room_orgs = vec![org];
    let mut out = vec![m.clone()];
    for p in people {
        let mut e = m.clone();
        e.kind = UsageKind::Left;
        e.person = Some(*p);
        out.push(e);
    }
    out
}

/// The cells of the table with `id` on a page, row by row (its body only).
fn table(body: &str, id: &str) -> Vec<Vec<String>> {
    let start = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    let rest = &body[start..];
    let tbody = &rest[rest.find("<tbody>").unwrap() + 7..rest.find("</tbody>").unwrap()];
    tbody
        .split("<tr>")
        .skip(1)
        .map(|row| {
            row.split(['<'])
                .filter_map(|part| {
                    let (tag, text) = part.split_once('>')?;
                    (tag.starts_with("td") || tag.starts_with("th"))
                        .then(|| text.replace("&#x2f;", "/"))
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn reports_stay_within_their_organisation() {
    let server = TestServer::start_with(|s| s.signup = SignupPolicy::Open).await;
    let store = server.running.as_ref().unwrap().state.store.clone();
    let (email, password) = first_admin(&server);
    let mut admin = Browser::default();
    admin.sign_in(&server, &email, &password).await;
    let a: i64 = make_org(&server, &mut admin, "Radical Routes")
        .await
        .parse()
        .unwrap();
    let b: i64 = make_org(&server, &mut admin, "social.coop")
        .await
        .parse()
        .unwrap();
    let mut olga = Browser::default();
    olga.sign_up(
        &server,
        "Olga",
        "olga@example.org",
        "a long enough password",
    )
    .await;
    add_member(
        &server,
        &mut admin,
        &a.to_string(),
        "olga@example.org",
        true,
    )
    .await;

    let mut events = meeting("aaa-aaaa-aaa", a, 600, 60, &[1, 2, 3]);
    events.extend(meeting("bbb-bbbb-bbb", b, 630, 30, &[4, 5]));
    store.usage_import(&events).await.unwrap();

    // Her organisation's page: its numbers only.
    let page = olga
        .get(&server, &format!("/orgs/{a}/usage?period=2026-11"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<svg class=\"chart\""),
        "a chart drawn on the server"
    );
    let rows = table(&page.body, "usage-table");
    assert_eq!(rows.len(), 31, "30 days and the month");
    assert_eq!(rows[30][..6], ["2026-11", "1", "60.0", "180.0", "3", "3"]);
    assert!(page.body.contains("All times are UTC"));
    // The CSV is that table.
    let csv = olga
        .get(&server, &format!("/orgs/{a}/usage/export?period=2026-11"))
        .await;
    assert_eq!(csv.status, 200);
    let csv_rows: Vec<Vec<String>> = csv
        .body
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    assert_eq!(csv_rows, rows);
    // …and the JSON the same numbers.
    let json = olga
        .get(
            &server,
            &format!("/orgs/{a}/usage/export?period=2026-11&format=json"),
        )
        .await;
    let json: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(json["report"]["totals"]["participant_minutes"], 180.0);
    assert_eq!(json["organisation"]["name"], "Radical Routes");

    // Not another organisation's, nor the platform's.
    for path in [
        format!("/orgs/{b}/usage?period=2026-11"),
        format!("/orgs/{b}/usage/export?period=2026-11"),
        "/admin/usage?period=2026-11".into(),
        "/admin/usage/export?period=2026-11&table=organisations".into(),
    ] {
        let p = olga.get(&server, &path).await;
        assert_eq!(p.status, 403, "{path}: {}", p.body);
    }
    // A bad period is a clear error.
    let bad = olga
        .get(&server, &format!("/orgs/{a}/usage?period=2026-13"))
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("ISO week"), "{}", bad.body);

    // The platform's admins rank every organisation.
    let page = admin.get(&server, "/admin/usage?period=2026-11").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let ranked = table(&page.body, "usage-orgs");
    let names: Vec<&str> = ranked.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        names,
        ["Radical Routes", "social.coop"],
        "180 then 60 participant-minutes"
    );
    let all = table(&page.body, "usage-table");
    assert_eq!(all[30][..4], ["2026-11", "2", "90.0", "240.0"]);

    // A usage token reads its organisation's report, and only that.
    let csrf = olga.csrf(&server, &format!("/orgs/{a}/usage")).await;
    let made = olga
        .post(
            &server,
            &format!("/orgs/{a}/usage/tokens"),
            &[("csrf", &csrf), ("name", "board")],
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let secret = value_after(
        &made.body,
        "id=\"token-secret\" aria-label=\"Read-only API tokens\" value=\"",
    );
    assert!(secret.starts_with("plu_"));
    let api = |token: String, query: &'static str| {
        let url = format!("http://{}/api/usage?{query}", server.http);
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };
    let (status, body) = api(secret.clone(), "period=2026-11").await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["organisation"]["id"], a.to_string());
    assert_eq!(v["report"]["totals"]["meetings"], 1);
    // Its rooms by name, never by id: a room's id is its join link.
    assert!(v["rooms"][0].get("id").is_none(), "{v}");
    assert!(!body.contains("aaa-aaaa-aaa"), "{body}");
    // Another organisation's room through this token: nothing of it.
    let (_, body) = api(secret.clone(), "period=2026-11&room=bbb-bbbb-bbb").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["report"]["totals"]["meetings"], 0);
    let (status, csv) = api(secret.clone(), "period=2026-11&format=csv").await;
    assert_eq!(status, 200);
    assert!(csv.contains("\r\n2026-11,1,60.0,180.0,3,3,"), "{csv}");
    // An admin's API token is not a usage token; nor is nothing, nor a guess.
    for t in [server.api_token.clone(), String::new(), "plu_guess".into()] {
        assert_eq!(api(t, "period=2026-11").await.0, 401);
    }
    let (status, body) = api(secret.clone(), "period=November").await;
    assert_eq!(status, 400, "{body}");
    // Revoked, it reads nothing.
    let page = olga.get(&server, &format!("/orgs/{a}/usage")).await;
    let id = value_after(&page.body, &format!("action=\"/orgs/{a}/usage/tokens/"));
    let id = id.trim_end_matches("/revoke").to_owned();
    let csrf = value_after(&page.body, "name=\"csrf\" value=\"");
    let revoked = olga
        .post(
            &server,
            &format!("/orgs/{a}/usage/tokens/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, 303);
    assert_eq!(api(secret, "period=2026-11").await.0, 401);

    // Forms: none without the session's CSRF token, none for another organisation.
    let p = olga
        .post(
            &server,
            &format!("/orgs/{a}/usage/tokens"),
            &[("name", "x")],
        )
        .await;
    assert_eq!(p.status, 403, "no CSRF token");
    let csrf = olga.csrf(&server, &format!("/orgs/{a}/usage")).await;
    for path in [
        format!("/orgs/{b}/usage/attendance"),
        format!("/orgs/{b}/usage/tokens"),
    ] {
        let p = olga
            .post(
                &server,
                &path,
                &[("csrf", &csrf), ("keep", "on"), ("name", "x")],
            )
            .await;
        assert_eq!(p.status, 403, "{path}");
    }
    // Another organisation's token is not revoked through her own organisation's path.
    let admin_csrf = admin.csrf(&server, &format!("/orgs/{b}/usage")).await;
    let made = admin
        .post(
            &server,
            &format!("/orgs/{b}/usage/tokens"),
            &[("csrf", &admin_csrf), ("name", "funder")],
        )
        .await;
    let b_secret = value_after(
        &made.body,
        "id=\"token-secret\" aria-label=\"Read-only API tokens\" value=\"",
    );
    let b_page = admin.get(&server, &format!("/orgs/{b}/usage")).await;
    let b_id = value_after(&b_page.body, &format!("action=\"/orgs/{b}/usage/tokens/"));
    let b_id = b_id.trim_end_matches("/revoke").to_owned();
    let p = olga
        .post(
            &server,
            &format!("/orgs/{a}/usage/tokens/{b_id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(p.status, 404);
    let (status, body) = api(b_secret, "period=2026-11").await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (
            v["organisation"]["name"].as_str(),
            v["report"]["totals"]["participant_minutes"].as_f64()
        ),
        (Some("social.coop"), Some(60.0))
    );

    // Attendance is the organisation's own admins' business: the platform's admin neither
    // sets it nor reads the names.
    let p = admin
        .post(
            &server,
            &format!("/orgs/{a}/usage/attendance"),
            &[("csrf", &admin_csrf), ("keep", "on")],
        )
        .await;
    assert_eq!(p.status, 403);
    let p = olga
        .post(
            &server,
            &format!("/orgs/{a}/usage/attendance"),
            &[("csrf", &csrf), ("keep", "on")],
        )
        .await;
    assert_eq!(p.status, 303);
    assert!(store.keeps_attendance(a).await.unwrap());
    let p = admin
        .get(
            &server,
            &format!("/orgs/{a}/usage/export?period=2026-11&table=attendance"),
        )
        .await;
    assert_eq!(p.status, 403);
    let p = admin.get(&server, &format!("/orgs/{a}/usage")).await;
    assert!(
        p.body.contains("id=\"attendance-state\"") && !p.body.contains("id=\"attendance-option\"")
    );
    let p = olga
        .get(
            &server,
            &format!("/orgs/{a}/usage/export?period=2026-11&table=attendance"),
        )
        .await;
    assert_eq!(p.status, 200);
    server.stop().await;
}
