//! Security headers on every kind of answer, and the language switcher's `next` redirect only
//! to paths on this site.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use common::TestServer;
use plenary_accounts::Secret;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_page_kind_carries_the_security_headers() {
    let server = TestServer::start_with(|s| {
        s.bbb_secrets = vec![Secret("headers-bbb-secret-0123456789".into())];
        s.embed_origins = vec!["https://moodle.example.coop".into()];
    })
    .await;
    let room = server.create_room("Headers").await;
    let pages = [
        "/",
        "/signin",
        "/signup",
        "/rooms",
        "/admin/users",
        "/static/js/room.js",
        "/static/css/plenary.css",
        "/api/health",
        "/api/rooms/no-such-room",
        "/bigbluebutton/api/",
        "/i18n/messages.json",
        "/metrics",
        "/nope",
    ];
    for path in pages {
        let r = client()
            .get(format!("http://{}{path}", server.http))
            .send()
            .await
            .unwrap();
        let h = r.headers();
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"))
            .to_str()
            .unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("script-src 'self';"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.ends_with("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert_eq!(
            h["permissions-policy"], "camera=(), microphone=(), display-capture=()",
            "{path}"
        );
    }
    // The meeting page may use the camera, and be embedded by the sites named.
    let r = client()
        .get(format!("http://{}/r/{room}", server.http))
        .send()
        .await
        .unwrap();
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.ends_with("frame-ancestors 'self' https://moodle.example.coop"),
        "{csp}"
    );
    assert!(h.get("x-frame-options").is_none());
    let allow = h["permissions-policy"].to_str().unwrap();
    assert!(
        allow.starts_with("camera=(self \"https://moodle.example.coop\")"),
        "{allow}"
    );
    assert!(allow.contains("display-capture=(self"), "{allow}");
    server.stop().await;
}

#[tokio::test]
async fn the_language_switch_goes_back_only_to_this_site() {
    let server = TestServer::start().await;
    let location = |next: &'static str| {
        let url = format!("http://{}/lang/fr?next={next}", server.http);
        async move {
            let r = client().get(url).send().await.unwrap();
            assert_eq!(r.status(), 303);
            r.headers()["location"].to_str().unwrap().to_owned()
        }
    };
    assert_eq!(location("/signin").await, "/signin");
    for evil in [
        "/%09/evil.example",
        "/%0a/evil.example",
        "//evil.example",
        "/%2F/evil.example",
        "/%5Cevil.example",
        "https://evil.example",
        "https:evil.example",
    ] {
        assert_eq!(location(evil).await, "/rooms", "{evil}");
    }
    server.stop().await;
}
