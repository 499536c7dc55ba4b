//! The rooms portal over real HTTP: accounts (sign-up policies, sign-in, sign-out), CSRF,
//! session fixation, brute force, no user enumeration, rooms owned by an account (the owner
//! joins as moderator), and every page in all four languages.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use common::browser::*;

use base64::Engine as _;
use common::TestServer;
use plenary_accounts::SignupPolicy;

/// The claims a join token carries (its part before the signature).
fn token_claims(token: &str) -> serde_json::Value {
    let body = token.split('.').next().unwrap();
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .unwrap();
    serde_json::from_slice(&json).unwrap()
}

/// `POST /api/rooms/{room}/join` as `b` (its cookies), named `name`, with an access code if
/// given: the status and the JSON answer.
async fn api_join(
    server: &TestServer,
    room: &str,
    b: &Browser,
    name: &str,
    code: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut body = serde_json::json!({ "name": name });
    if let Some(c) = code {
        body["access_code"] = c.into();
    }
    let r = client()
        .post(format!("http://{}/api/rooms/{room}/join", server.http))
        .header("content-type", "application/json")
        .header("cookie", b.header())
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_str(&r.text().await.unwrap()).unwrap(),
    )
}

/// A listen-only peer in `room`, joined with `token` (from the join API) or none.
async fn peer_in(
    server: &TestServer,
    room: &str,
    name: &str,
    token: Option<&serde_json::Value>,
) -> plenary_peer::Peer {
    plenary_peer::Peer::join(plenary_peer::PeerOptions {
        http_addr: server.http.clone(),
        room: plenary_proto::RoomId::parse(room).unwrap(),
        name: name.into(),
        publish: plenary_peer::Publish::NOTHING,
        local_ip: None,
        token: token.map(|t| t.as_str().unwrap().to_owned()),
    })
    .await
    .unwrap()
}

async fn server_with(policy: SignupPolicy) -> TestServer {
    TestServer::start_with(|s| s.signup = policy).await
}

#[tokio::test]
async fn the_first_start_makes_an_admin_whose_password_works() {
    let server = TestServer::start().await;
    let (email, password) = first_admin(&server);
    assert_eq!(email, "admin@localhost");
    let mut b = Browser::default();
    let p = b.sign_in(&server, &email, &password).await;
    assert_eq!((p.status, p.location.as_deref()), (303, Some("/rooms")));
    let rooms = b.get(&server, "/rooms").await;
    assert!(rooms.body.contains("Administrator"), "{}", rooms.body);
    server.stop().await;
}

#[tokio::test]
async fn open_sign_up_rooms_and_the_owner_moderates() {
    let server = server_with(SignupPolicy::Open).await;
    let mut ada = Browser::default();
    let p = ada
        .sign_up(
            &server,
            "Ada Lovelace",
            "Ada@Example.coop",
            "analytical-engine",
        )
        .await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/rooms")),
        "{}",
        p.body
    );
    let rooms = ada.get(&server, "/rooms").await;
    assert!(rooms.body.contains("Signed in as Ada Lovelace"));
    assert!(rooms.body.contains("id=\"rooms-empty\""));
    let csrf = ada.csrf(&server, "/rooms").await;
    let p = ada
        .post(
            &server,
            "/rooms",
            &[("csrf", &csrf), ("name", "Board <meeting>")],
        )
        .await;
    assert_eq!(p.status, 303);
    let rooms = ada.get(&server, "/rooms").await;
    assert!(
        rooms.body.contains("Board &lt;meeting&gt;"),
        "names are escaped: {}",
        rooms.body
    );
    let room = value_after(&rooms.body, "data-room=\"");

    // The owner, signed in, joins as moderator; anyone else with the link as participant.
    let role = |v: serde_json::Value| token_claims(v["token"].as_str().unwrap())["role"].clone();
    assert_eq!(
        role(api_join(&server, &room, &ada, "X", None).await.1),
        "moderator"
    );
    let anyone = Browser::default();
    assert_eq!(
        role(api_join(&server, &room, &anyone, "X", None).await.1),
        "participant"
    );

    // The same email again (any case): no new account, and the same answer as a sign-up that
    // made one, so that nobody learns which addresses have accounts.
    let mut other = Browser::default();
    let csrf = other.csrf(&server, "/signup").await;
    let signup = |email: &'static str, password: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("name", "Impostor".into()),
            ("email", email.into()),
            ("password", password.into()),
        ]
    };
    let taken = other
        .post_owned(
            &server,
            "/signup",
            &signup("ada@example.COOP", "another-password"),
        )
        .await;
    let fresh = other
        .post_owned(
            &server,
            "/signup",
            &signup("new@example.coop", "another-password"),
        )
        .await;
    assert_eq!((taken.status, fresh.status), (200, 200));
    let notice = |p: &Page| value_after(&p.body, "id=\"form-notice\">");
    assert_eq!(notice(&taken), notice(&fresh));
    assert_eq!(
        other
            .sign_in(&server, "ada@example.coop", "another-password")
            .await
            .status,
        401,
        "the impostor's password is no password of Ada's"
    );

    // Signing out ends the session for good.
    let session = ada.cookie("plenary_session").unwrap();
    let csrf = ada.csrf(&server, "/rooms").await;
    let p = ada.post(&server, "/signout", &[("csrf", &csrf)]).await;
    assert_eq!(p.location.as_deref(), Some("/signin"));
    let mut replay = Browser::default();
    replay.set("plenary_session", &session);
    assert_eq!(
        replay.get(&server, "/rooms").await.location.as_deref(),
        Some("/signin")
    );
    server.stop().await;
}

#[tokio::test]
async fn approval_and_invite_policies() {
    let server = server_with(SignupPolicy::Approval).await;
    let mut b = Browser::default();
    let p = b
        .sign_up(&server, "Bo", "bo@example.coop", "long-enough-pw")
        .await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("approval"), "{}", p.body);
    let p = b
        .sign_in(&server, "bo@example.coop", "long-enough-pw")
        .await;
    assert_eq!(p.status, 403);
    assert!(
        p.body.contains("waiting for an administrator"),
        "{}",
        p.body
    );
    server.stop().await;

    let server = server_with(SignupPolicy::Invite).await;
    let mut b = Browser::default();
    let p = b.get(&server, "/signup").await;
    assert!(p.body.contains("invitation"));
    let p = b
        .sign_up(&server, "Cy", "cy@example.coop", "long-enough-pw")
        .await;
    assert_eq!(p.status, 403);
    server.stop().await;
}

#[tokio::test]
async fn sign_up_validation() {
    let server = server_with(SignupPolicy::Open).await;
    let mut b = Browser::default();
    for (name, email, pw, want) in [
        ("", "a@b.co", "long-enough-pw", "Please enter your name"),
        ("A", "not-an-email", "long-enough-pw", "valid email"),
        ("A", "a@b.co", "short", "at least 10"),
    ] {
        let p = b.sign_up(&server, name, email, pw).await;
        assert_eq!(p.status, 422, "{email}");
        assert!(p.body.contains(want), "{want}: {}", p.body);
    }
    server.stop().await;
}

#[tokio::test]
async fn csrf_fixation_brute_force_and_enumeration() {
    let server = server_with(SignupPolicy::Open).await;
    let mut ada = Browser::default();
    ada.sign_up(&server, "Ada", "ada@example.coop", "analytical-engine")
        .await;

    // CSRF: a form post without the token, or with another browser's token, is refused.
    let mut attacker = Browser::default();
    let theirs = attacker.csrf(&server, "/signin").await;
    let mut victim = Browser::default();
    victim.csrf(&server, "/signin").await; // the victim has a CSRF cookie of their own
    let p = victim
        .post(
            &server,
            "/signin",
            &[
                ("csrf", &theirs),
                ("email", "ada@example.coop"),
                ("password", "analytical-engine"),
            ],
        )
        .await;
    assert_eq!(p.status, 403);
    let p = victim
        .post(
            &server,
            "/signin",
            &[
                ("email", "ada@example.coop"),
                ("password", "analytical-engine"),
            ],
        )
        .await;
    assert_eq!(p.status, 403);
    let csrf = ada.csrf(&server, "/rooms").await;
    let p = ada.post(&server, "/rooms", &[("name", "No token")]).await;
    assert_eq!(p.status, 403);
    let p = ada
        .post(
            &server,
            "/rooms",
            &[("csrf", &theirs), ("name", "Wrong token")],
        )
        .await;
    assert_eq!(p.status, 403);
    let p = ada
        .post(
            &server,
            "/rooms",
            &[("csrf", &csrf), ("name", "Right token")],
        )
        .await;
    assert_eq!(p.status, 303);

    // Session fixation: a session id planted before sign-in is never the one signed in.
    let mut fixed = Browser::default();
    fixed.set(
        "plenary_session",
        "planted-by-an-attacker-000000000000000000000",
    );
    let p = fixed
        .sign_in(&server, "ada@example.coop", "analytical-engine")
        .await;
    assert_eq!(p.status, 303);
    assert_ne!(
        fixed.cookie("plenary_session").unwrap(),
        "planted-by-an-attacker-000000000000000000000"
    );
    let mut planted = Browser::default();
    planted.set(
        "plenary_session",
        "planted-by-an-attacker-000000000000000000000",
    );
    assert_eq!(
        planted.get(&server, "/rooms").await.location.as_deref(),
        Some("/signin")
    );

    // No user enumeration: an unknown account and a wrong password answer alike.
    let mut b = Browser::default();
    let unknown = b
        .sign_in(&server, "nobody@example.coop", "whatever-password")
        .await;
    let wrong = b
        .sign_in(&server, "ada@example.coop", "wrong-password")
        .await;
    assert_eq!((unknown.status, wrong.status), (401, 401));
    let msg = |p: &Page| {
        let at = p.body.find("id=\"form-error\">").unwrap();
        p.body[at..at + 60].to_owned()
    };
    assert_eq!(msg(&unknown), msg(&wrong));

    // Brute force: after 10 failures that client is refused for a while, even with the right
    // password; other accounts are not affected; Ada's own browser still signs in.
    for _ in 0..9 {
        assert_eq!(
            b.sign_in(&server, "ada@example.coop", "guess").await.status,
            401
        );
    }
    let p = b
        .sign_in(&server, "ada@example.coop", "analytical-engine")
        .await;
    assert_eq!(p.status, 429, "{}", p.body);
    assert!(p.body.contains("Too many attempts"));
    let p = b.sign_in(&server, "admin@localhost", "wrong").await;
    assert_eq!(p.status, 401);
    // (Her browser keeps its device cookie; its session is let go to sign in anew.)
    let mut own = ada.clone();
    own.set("plenary_session", "");
    let p = own
        .sign_in(&server, "ada@example.coop", "analytical-engine")
        .await;
    assert_eq!(p.status, 303, "the member is not locked out");
    server.stop().await;
}

/// The audit's holes: ten wrong passwords from a stranger locked the owner out for 15
/// minutes, and one address could try ~1,400 accounts a minute; sign-up had no limit.
#[tokio::test]
async fn a_stranger_cannot_lock_a_member_out_nor_try_many_accounts() {
    let server = TestServer::start_with(|s| {
        s.signup = SignupPolicy::Open;
        // Loopback is the trusted proxy: each browser's forwarded address counts.
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let mut owner = Browser {
        from: Some("203.0.113.5"),
        ..Default::default()
    };
    assert_eq!(
        owner
            .sign_up(&server, "Ada", "ada@example.coop", "analytical-engine")
            .await
            .status,
        303
    );
    let mut stranger = Browser {
        from: Some("198.51.100.7"),
        ..Default::default()
    };
    for _ in 0..10 {
        let p = stranger.sign_in(&server, "ada@example.coop", "guess").await;
        assert_eq!(p.status, 401);
    }
    // The stranger is refused now, even with the right password, and so is anyone unknown…
    let p = stranger
        .sign_in(&server, "ada@example.coop", "analytical-engine")
        .await;
    assert_eq!(p.status, 429);
    let mut elsewhere = Browser {
        from: Some("192.0.2.200"),
        ..Default::default()
    };
    let p = elsewhere
        .sign_in(&server, "ada@example.coop", "analytical-engine")
        .await;
    assert_eq!(p.status, 429);
    // …but the owner signs in from their browser (its device cookie kept, its session let
    // go), and from a new one at their own address.
    owner.set("plenary_session", "");
    let p = owner
        .sign_in(&server, "ada@example.coop", "analytical-engine")
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let mut home = Browser {
        from: Some("203.0.113.5"),
        ..Default::default()
    };
    let p = home
        .sign_in(&server, "ada@example.coop", "analytical-engine")
        .await;
    assert_eq!(p.status, 303, "{}", p.body);

    // One address trying many accounts is stopped after 30 failures, whichever accounts.
    let mut sprayer = Browser {
        from: Some("198.51.100.99"),
        ..Default::default()
    };
    for i in 0..30 {
        let email = format!("user{i}@example.coop");
        assert_eq!(sprayer.sign_in(&server, &email, "guess").await.status, 401);
    }
    assert_eq!(
        sprayer
            .sign_in(&server, "fresh@example.coop", "guess")
            .await
            .status,
        429
    );

    // Sign-up: ten an hour per address.
    let farm = Browser {
        from: Some("198.51.100.50"),
        ..Default::default()
    };
    for i in 0..10 {
        let p = farm
            .clone()
            .sign_up(
                &server,
                "Bot",
                &format!("bot{i}@example.coop"),
                "long-enough-pw",
            )
            .await;
        assert_ne!(p.status, 429, "sign-up {i}");
    }
    let p = farm
        .clone()
        .sign_up(&server, "Bot", "bot-more@example.coop", "long-enough-pw")
        .await;
    assert_eq!(p.status, 429);
    server.stop().await;
}

#[tokio::test]
async fn every_page_in_four_languages() {
    let server = server_with(SignupPolicy::Open).await;
    let mut b = Browser::default();
    b.sign_up(&server, "Dana", "dana@example.coop", "long-enough-pw")
        .await;
    let expect = [
        ("en", "My rooms"),
        ("fr", "Mes salles"),
        ("de", "Meine Räume"),
        ("es", "Mis salas"),
    ];
    for (lang, rooms_title) in expect {
        let mut signed_out = Browser {
            lang: Some(lang),
            ..Default::default()
        };
        for path in ["/signin", "/signup"] {
            let p = signed_out.get(&server, path).await;
            assert_eq!(p.status, 200, "{lang} {path}");
            assert!(
                p.body.contains(&format!("<html lang=\"{lang}\">")),
                "{lang} {path}"
            );
        }
        b.lang = Some(lang);
        let p = b.get(&server, "/rooms").await;
        assert!(p.body.contains(rooms_title), "{lang}: {}", p.body);
    }
    // The switcher's choice beats Accept-Language and is remembered.
    let mut c = Browser {
        lang: Some("de-DE,de;q=0.9"),
        ..Default::default()
    };
    assert!(c.get(&server, "/signin").await.body.contains("Anmelden"));
    let p = c.get(&server, "/lang/es?next=/signin").await;
    assert_eq!(p.location.as_deref(), Some("/signin"));
    assert!(
        c.get(&server, "/signin")
            .await
            .body
            .contains("Iniciar sesión")
    );
    // Only local paths as `next`.
    let p = c.get(&server, "/lang/fr?next=//evil.example").await;
    assert_eq!(p.location.as_deref(), Some("/rooms"));
    server.stop().await;
}

#[tokio::test]
async fn an_admin_approves_disables_and_promotes() {
    let server = server_with(SignupPolicy::Approval).await;
    let (admin_email, admin_pw) = first_admin(&server);
    let mut bo = Browser::default();
    bo.sign_up(&server, "Bo", "bo@example.coop", "long-enough-pw")
        .await;
    assert_eq!(
        bo.sign_in(&server, "bo@example.coop", "long-enough-pw")
            .await
            .status,
        403
    );

    let mut admin = Browser::default();
    admin.sign_in(&server, &admin_email, &admin_pw).await;
    let list = admin.get(&server, "/admin/users?q=bo%40").await;
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains("data-user=\"bo@example.coop\""),
        "{}",
        list.body
    );
    assert!(
        !list.body.contains("data-user=\"admin@localhost\""),
        "the search filters"
    );
    assert!(list.body.contains("waiting for approval"));
    let path = format!(
        "/admin/users/{}",
        value_after(&list.body, "action=\"/admin/users/")
    );
    let csrf = admin.csrf(&server, "/admin/users").await;
    // Without the token: refused.
    assert_eq!(
        admin
            .post(&server, &path, &[("action", "approve")])
            .await
            .status,
        403
    );
    let p = admin
        .post(&server, &path, &[("csrf", &csrf), ("action", "approve")])
        .await;
    assert_eq!(p.status, 303);
    assert_eq!(
        bo.sign_in(&server, "bo@example.coop", "long-enough-pw")
            .await
            .status,
        303
    );

    // Bo is no admin: the page is closed to him.
    assert_eq!(bo.get(&server, "/admin/users").await.status, 403);
    admin
        .post(&server, &path, &[("csrf", &csrf), ("action", "make-admin")])
        .await;
    assert_eq!(bo.get(&server, "/admin/users").await.status, 200);

    // Disabling ends Bo's access at once, session included.
    admin
        .post(&server, &path, &[("csrf", &csrf), ("action", "disable")])
        .await;
    assert_eq!(
        bo.get(&server, "/rooms").await.location.as_deref(),
        Some("/signin")
    );
    assert_eq!(
        bo.sign_in(&server, "bo@example.coop", "long-enough-pw")
            .await
            .status,
        403
    );

    // An admin cannot lock themselves out.
    let list = admin.get(&server, "/admin/users?q=admin%40").await;
    let me = value_after(&list.body, "action=\"/admin/users/");
    let p = admin
        .post(
            &server,
            &format!("/admin/users/{me}"),
            &[("csrf", &csrf), ("action", "disable")],
        )
        .await;
    assert_eq!(p.status, 409);
    assert!(p.body.contains("cannot disable yourself"));
    server.stop().await;
}

#[tokio::test]
async fn room_settings_access_codes_and_the_waiting_room() {
    let server = server_with(SignupPolicy::Open).await;
    let mut owner = Browser::default();
    owner
        .sign_up(&server, "Olga", "olga@example.coop", "long-enough-pw")
        .await;
    let csrf = owner.csrf(&server, "/rooms").await;
    let room = owner.new_room(&server, &csrf, "Council").await;
    let settings = format!("/rooms/{room}/settings");

    // Only the owner changes settings; codes have 4 to 64 characters.
    let mut other = Browser::default();
    other
        .sign_up(&server, "Otto", "otto@example.coop", "long-enough-pw")
        .await;
    let other_csrf = other.csrf(&server, "/rooms").await;
    let p = other
        .post(
            &server,
            &settings,
            &[("csrf", &other_csrf), ("viewer_code", "hijack")],
        )
        .await;
    assert_eq!(p.status, 403);
    let p = owner
        .post(
            &server,
            &settings,
            &[("csrf", &csrf), ("viewer_code", "abc")],
        )
        .await;
    assert_eq!(p.status, 422);
    let p = owner
        .post(
            &server,
            &settings,
            &[
                ("csrf", &csrf),
                ("waiting_room", "on"),
                ("mute_on_join", "on"),
                ("anyone_may_start", "on"),
                ("guests_allowed", "on"),
                ("viewer_code", "view-2026"),
                ("moderator_code", "mod-2026"),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("value=\"view-2026\""));

    let info: serde_json::Value = serde_json::from_str(
        &Browser::default()
            .get(&server, &format!("/api/rooms/{room}"))
            .await
            .body,
    )
    .unwrap();
    assert_eq!(info["access_code"], true);

    // Joining through the API with and without codes.
    let claims = |v: &serde_json::Value| token_claims(v["token"].as_str().unwrap());
    let guest = Browser::default();
    let (s, v) = api_join(&server, &room, &guest, "Guest", None).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("access_code_required"))
    );
    let (s, v) = api_join(&server, &room, &guest, "Guest", Some("guess")).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("wrong_access_code"))
    );
    let (s, v) = api_join(&server, &room, &guest, "Guest", Some("view-2026")).await;
    assert_eq!(s, 200);
    let c = claims(&v);
    assert_eq!(
        (
            c["role"].as_str(),
            c["wait_for_moderator"].as_bool(),
            c["start_muted"].as_bool()
        ),
        (Some("participant"), Some(true), Some(true))
    );
    let (_, v) = api_join(&server, &room, &guest, "Guest", Some("mod-2026")).await;
    let c = claims(&v);
    assert_eq!(
        (c["role"].as_str(), c.get("wait_for_moderator")),
        (Some("moderator"), None)
    );
    let (_, v) = api_join(&server, &room, &owner, "Guest", None).await;
    assert_eq!(
        claims(&v)["role"],
        "moderator",
        "the owner needs no code and does not wait"
    );

    // Guessing is limited: after 20 wrong codes even the right one waits.
    for _ in 0..19 {
        assert_eq!(
            api_join(&server, &room, &guest, "Guest", Some("guess"))
                .await
                .0,
            403
        );
    }
    let (s, v) = api_join(&server, &room, &guest, "Guest", Some("view-2026")).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (429, Some("too_many_attempts"))
    );
    server.stop().await;
}

#[tokio::test]
async fn an_operator_sets_a_lost_password() {
    let server = TestServer::start().await;
    let store = server.running.as_ref().unwrap().state.store.clone();
    use plenary_accounts::{PasswordSet, set_password};
    assert!(
        set_password(&*store, "admin@localhost", "short")
            .await
            .is_err()
    );
    assert_eq!(
        set_password(&*store, "Admin@Localhost", "a-brand-new-password")
            .await
            .unwrap(),
        PasswordSet::Updated
    );
    assert_eq!(
        set_password(&*store, "ops@example.coop", "another-new-password")
            .await
            .unwrap(),
        PasswordSet::CreatedAdmin
    );
    let mut b = Browser::default();
    assert_eq!(
        b.sign_in(&server, "admin@localhost", "a-brand-new-password")
            .await
            .status,
        303
    );
    let mut c = Browser::default();
    assert_eq!(
        c.sign_in(&server, "ops@example.coop", "another-new-password")
            .await
            .status,
        303
    );
    assert_eq!(
        c.get(&server, "/admin/users").await.status,
        200,
        "the created account is an admin"
    );
    // A new password ends the account's sessions: whoever knew the old one is signed out.
    assert_eq!(b.get(&server, "/rooms").await.status, 200);
    set_password(&*store, "admin@localhost", "yet-another-password")
        .await
        .unwrap();
    assert_eq!(
        b.get(&server, "/rooms").await.location.as_deref(),
        Some("/signin")
    );
    server.stop().await;
}

#[tokio::test]
async fn organisations_and_their_limits() {
    let server = server_with(SignupPolicy::Open).await;
    let (admin_email, admin_pw) = first_admin(&server);
    let mut ada = Browser::default();
    ada.sign_up(&server, "Ada", "ada@example.coop", "analytical-engine")
        .await;
    let mut admin = Browser::default();
    admin.sign_in(&server, &admin_email, &admin_pw).await;

    // Only platform admins manage organisations.
    assert_eq!(ada.get(&server, "/admin/orgs").await.status, 403);
    let csrf = admin.csrf(&server, "/admin/orgs").await;
    let bad = admin
        .post(
            &server,
            "/admin/orgs",
            &[("csrf", &csrf), ("name", "x"), ("max_rooms", "0")],
        )
        .await;
    assert_eq!(bad.status, 422);
    let p = admin
        .post(
            &server,
            "/admin/orgs",
            &[
                ("csrf", &csrf),
                ("name", "social.coop"),
                ("max_rooms", "1"),
                ("max_participants", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, 303);
    let dup = admin
        .post(
            &server,
            "/admin/orgs",
            &[("csrf", &csrf), ("name", "social.coop")],
        )
        .await;
    assert_eq!(dup.status, 409);
    let page = admin.get(&server, "/admin/orgs").await;
    assert!(
        page.body.contains("1 rooms per member") && page.body.contains("1 per meeting"),
        "{}",
        page.body
    );
    let at = page.body.find("<option value=\"").unwrap();
    let rest = &page.body[at + 15..];
    let org = rest[..rest.find('"').unwrap()].to_owned();
    let p = admin
        .post(
            &server,
            "/admin/orgs/members",
            &[
                ("csrf", &csrf),
                ("org", &org),
                ("email", "nobody@example.coop"),
            ],
        )
        .await;
    assert_eq!(p.status, 422);
    let p = admin
        .post(
            &server,
            "/admin/orgs/members",
            &[
                ("csrf", &csrf),
                ("org", &org),
                ("email", "ada@example.coop"),
            ],
        )
        .await;
    assert_eq!(p.status, 303);

    // One room per member: the second is refused with the organisation's reason.
    let csrf_ada = ada.csrf(&server, "/rooms").await;
    assert_eq!(
        ada.post(&server, "/rooms", &[("csrf", &csrf_ada), ("name", "First")])
            .await
            .status,
        303
    );
    let p = ada
        .post(
            &server,
            "/rooms",
            &[("csrf", &csrf_ada), ("name", "Second")],
        )
        .await;
    assert_eq!(p.status, 403);
    assert!(p.body.contains("allows 1 rooms per member"), "{}", p.body);

    // One participant per meeting in Ada's rooms: the second join is refused, clearly.
    let rooms = ada.get(&server, "/rooms").await;
    let room = value_after(&rooms.body, "data-room=\"");
    let first = peer_in(&server, &room, "First", None).await;
    let (status, v) = api_join(&server, &room, &Browser::default(), "Second", None).await;
    assert_eq!(status, 403);
    assert_eq!(v["error"]["code"], "room_full");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allows 1 participants")
    );
    first.leave().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn organisations_manage_their_own_people_and_rooms_and_nobody_elses() {
    let server = server_with(SignupPolicy::Open).await;
    let (admin_email, admin_pw) = first_admin(&server);
    let mut admin = Browser::default();
    admin.sign_in(&server, &admin_email, &admin_pw).await;
    let mut people = Vec::new();
    let mut rooms = Vec::new();
    for (name, email) in [
        ("Ann", "ann@social.coop"),
        ("Sam", "sam@social.coop"),
        ("Rae", "rae@radicalroutes.org.uk"),
    ] {
        let mut b = Browser::default();
        assert_eq!(
            b.sign_up(&server, name, email, "long-enough-pw")
                .await
                .status,
            303
        );
        let csrf = b.csrf(&server, "/rooms").await;
        rooms.push(b.new_room(&server, &csrf, &format!("{name}'s room")).await);
        people.push(b);
    }
    let [mut ann, mut sam, mut rae] = <[Browser; 3]>::try_from(people).ok().unwrap();
    let social = make_org(&server, &mut admin, "social.coop").await;
    let routes = make_org(&server, &mut admin, "Radical Routes").await;
    add_member(&server, &mut admin, &social, "ann@social.coop", true).await;
    add_member(&server, &mut admin, &social, "sam@social.coop", false).await;
    add_member(
        &server,
        &mut admin,
        &routes,
        "rae@radicalroutes.org.uk",
        true,
    )
    .await;
    let [_, sam_room, rae_room] = <[String; 3]>::try_from(rooms).ok().unwrap();

    // Ann administers social.coop: she sees its people and its members' rooms, not others'.
    let page = ann.get(&server, &format!("/orgs/{social}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("sam@social.coop") && page.body.contains("Sam&#x27;s room"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("Rae") && !page.body.contains(&rae_room),
        "{}",
        page.body
    );
    // The other organisation's page, and a made-up one, are closed to her alike.
    assert_eq!(
        ann.get(&server, &format!("/orgs/{routes}")).await.status,
        403
    );
    assert_eq!(ann.get(&server, "/orgs/999999").await.status, 403);
    // A plain member cannot manage even their own organisation.
    assert_eq!(
        sam.get(&server, &format!("/orgs/{social}")).await.status,
        403
    );
    let csrf = sam.csrf(&server, "/rooms").await;
    let p = sam
        .post(
            &server,
            &format!("/orgs/{social}/members"),
            &[("csrf", &csrf), ("email", "rae@radicalroutes.org.uk")],
        )
        .await;
    assert_eq!(p.status, 403);

    // Ann cannot touch Rae's room: not through her organisation, not through Rae's, not
    // through the room's own settings.
    let csrf = ann.csrf(&server, "/rooms").await;
    let p = ann
        .post(
            &server,
            &format!("/orgs/{social}/rooms/{rae_room}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(p.status, 404);
    let p = ann
        .post(
            &server,
            &format!("/orgs/{routes}/rooms/{rae_room}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(p.status, 403);
    let p = ann
        .post(
            &server,
            &format!("/rooms/{rae_room}/settings"),
            &[("csrf", &csrf), ("waiting_room", "on")],
        )
        .await;
    assert_eq!(p.status, 403);
    assert!(rae.get(&server, "/rooms").await.body.contains(&rae_room));
    // Nor add herself to Rae's organisation, nor change its people.
    let p = ann
        .post(
            &server,
            &format!("/orgs/{routes}/members"),
            &[
                ("csrf", &csrf),
                ("email", "ann@social.coop"),
                ("org_admin", "on"),
            ],
        )
        .await;
    assert_eq!(p.status, 403);
    let rae_page = admin.get(&server, &format!("/orgs/{routes}")).await;
    let rae_id = value_after(&rae_page.body, &format!("action=\"/orgs/{routes}/members/"));
    let p = ann
        .post(
            &server,
            &format!("/orgs/{social}/members/{rae_id}"),
            &[("csrf", &csrf), ("action", "remove")],
        )
        .await;
    assert_eq!(p.status, 404, "not a member of social.coop");

    // Within her organisation she manages: a form without its token is refused; Sam becomes
    // admin and back; the last admin cannot step down; she deletes Sam's room.
    let p = ann
        .post(
            &server,
            &format!("/orgs/{social}/members"),
            &[("email", "rae@radicalroutes.org.uk")],
        )
        .await;
    assert_eq!(p.status, 403);
    let page = ann.get(&server, &format!("/orgs/{social}")).await.body;
    let sam_row = &page[page.find("data-member=\"sam@social.coop\"").unwrap()..];
    let sam_id = value_after(sam_row, &format!("action=\"/orgs/{social}/members/"));
    let ann_row = &page[page.find("data-member=\"ann@social.coop\"").unwrap()..];
    let ann_id = value_after(ann_row, &format!("action=\"/orgs/{social}/members/"));
    for (id, action, want) in [
        (&ann_id, "make-member", 409),
        (&ann_id, "remove", 409),
        (&sam_id, "make-admin", 303),
        (&sam_id, "bogus", 400),
        (&ann_id, "make-member", 303),
    ] {
        let p = ann
            .post(
                &server,
                &format!("/orgs/{social}/members/{id}"),
                &[("csrf", &csrf), ("action", action)],
            )
            .await;
        assert_eq!(p.status, want, "{action} on {id}: {}", p.body);
    }
    // Ann is a plain member now: the page is closed to her; Sam, admin, deletes his room.
    assert_eq!(
        ann.get(&server, &format!("/orgs/{social}")).await.status,
        403
    );
    let csrf = sam.csrf(&server, "/rooms").await;
    let p = sam
        .post(
            &server,
            &format!("/orgs/{social}/rooms/{sam_room}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(p.status, 303);
    assert!(!sam.get(&server, "/rooms").await.body.contains(&sam_room));
    server.stop().await;
}

#[tokio::test]
async fn members_only_rooms_and_rooms_only_a_moderator_opens() {
    let server = server_with(SignupPolicy::Open).await;
    let mut owner = Browser::default();
    owner
        .sign_up(&server, "Olga", "olga@example.coop", "long-enough-pw")
        .await;
    let mut member = Browser::default();
    member
        .sign_up(&server, "Mo", "mo@example.coop", "long-enough-pw")
        .await;
    let csrf = owner.csrf(&server, "/rooms").await;
    let room = owner.new_room(&server, &csrf, "Board").await;
    let settings = format!("/rooms/{room}/settings");
    // A new room: anyone may start it, guests may come, no recording.
    let page = owner.get(&server, "/rooms").await.body;
    assert!(
        page.contains("name=\"anyone_may_start\" value=\"on\" checked"),
        "{page}"
    );
    assert!(page.contains("name=\"guests_allowed\" value=\"on\" checked"));
    assert!(!page.contains("name=\"recording_allowed\" value=\"on\" checked"));

    // Members only: a guest is told to sign in, any signed-in account gets in.
    let p = owner
        .post(
            &server,
            &settings,
            &[("csrf", &csrf), ("anyone_may_start", "on")],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let (s, v) = api_join(&server, &room, &Browser::default(), "Guest", None).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("sign_in_required"))
    );
    let (s, _) = api_join(&server, &room, &member, "Mo", None).await;
    assert_eq!(s, 200);

    // Only a moderator opens it: before the owner is in, participants are turned away; once
    // the owner is in the meeting, they get in.
    let p = owner
        .post(
            &server,
            &settings,
            &[("csrf", &csrf), ("guests_allowed", "on")],
        )
        .await;
    assert_eq!(p.status, 200);
    let (s, v) = api_join(&server, &room, &member, "Mo", None).await;
    assert_eq!((s, v["error"]["code"].as_str()), (403, Some("not_started")));
    let (s, v) = api_join(&server, &room, &owner, "Olga", None).await;
    assert_eq!(s, 200, "the owner starts it");
    let olga = peer_in(&server, &room, "Olga", Some(&v["token"])).await;
    let (s, _) = api_join(&server, &room, &Browser::default(), "Guest", None).await;
    assert_eq!(s, 200);
    olga.leave().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_shared_room_is_co_owned() {
    let server = server_with(SignupPolicy::Open).await;
    let mut people = Vec::new();
    for (name, email) in [
        ("Olga", "olga@example.coop"),
        ("Bo", "bo@example.coop"),
        ("Eve", "eve@example.coop"),
    ] {
        let mut b = Browser::default();
        assert_eq!(
            b.sign_up(&server, name, email, "long-enough-pw")
                .await
                .status,
            303
        );
        people.push(b);
    }
    let [mut olga, mut bo, mut eve] = <[Browser; 3]>::try_from(people).ok().unwrap();
    let csrf = olga.csrf(&server, "/rooms").await;
    let room = olga.new_room(&server, &csrf, "Council").await;
    let role = |v: &serde_json::Value| token_claims(v["token"].as_str().unwrap())["role"].clone();
    assert_eq!(
        role(&api_join(&server, &room, &bo, "Bo", None).await.1),
        "participant"
    );

    // Only the owner shares; an unknown email is refused.
    let bo_csrf = bo.csrf(&server, "/rooms").await;
    let p = bo
        .post(
            &server,
            &format!("/rooms/{room}/share"),
            &[("csrf", &bo_csrf), ("email", "bo@example.coop")],
        )
        .await;
    assert_eq!(p.status, 403);
    let p = olga
        .post(
            &server,
            &format!("/rooms/{room}/share"),
            &[("csrf", &csrf), ("email", "nobody@example.coop")],
        )
        .await;
    assert_eq!(p.status, 422);
    let p = olga
        .post(
            &server,
            &format!("/rooms/{room}/share"),
            &[("email", "bo@example.coop")],
        )
        .await;
    assert_eq!(p.status, 403, "no CSRF token");
    let p = olga
        .post(
            &server,
            &format!("/rooms/{room}/share"),
            &[("csrf", &csrf), ("email", "Bo@Example.coop")],
        )
        .await;
    assert_eq!(p.status, 303);
    assert!(
        olga.get(&server, "/rooms")
            .await
            .body
            .contains("data-co-owner=\"bo@example.coop\"")
    );

    // Bo co-owns it: it is in his list, he moderates and changes its settings; Eve does not.
    let page = bo.get(&server, "/rooms").await.body;
    assert!(
        page.contains("id=\"shared-rooms\"") && page.contains(&room),
        "{page}"
    );
    assert!(
        !page.contains("/unshare"),
        "co-owners do not manage sharing"
    );
    assert_eq!(
        role(&api_join(&server, &room, &bo, "Bo", None).await.1),
        "moderator"
    );
    assert_eq!(
        role(&api_join(&server, &room, &eve, "Eve", None).await.1),
        "participant"
    );
    let p = bo
        .post(
            &server,
            &format!("/rooms/{room}/settings"),
            &[
                ("csrf", &bo_csrf),
                ("waiting_room", "on"),
                ("guests_allowed", "on"),
                ("anyone_may_start", "on"),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let eve_csrf = eve.csrf(&server, "/rooms").await;
    let p = eve
        .post(
            &server,
            &format!("/rooms/{room}/settings"),
            &[("csrf", &eve_csrf)],
        )
        .await;
    assert_eq!(p.status, 403);
    let (_, v) = api_join(&server, &room, &eve, "Eve", None).await;
    assert_eq!(
        token_claims(v["token"].as_str().unwrap())["wait_for_moderator"],
        true
    );

    // Unshared: Bo is a participant again.
    let page = olga.get(&server, "/rooms").await.body;
    let bo_row = &page[page.find("data-co-owner=\"bo@example.coop\"").unwrap()..];
    let bo_id = value_after(bo_row, "name=\"user\" value=\"");
    let p = olga
        .post(
            &server,
            &format!("/rooms/{room}/unshare"),
            &[("csrf", &csrf), ("user", &bo_id)],
        )
        .await;
    assert_eq!(p.status, 303);
    assert_eq!(
        role(&api_join(&server, &room, &bo, "Bo", None).await.1),
        "participant"
    );
    assert!(
        !bo.get(&server, "/rooms")
            .await
            .body
            .contains("shared-rooms")
    );
    server.stop().await;
}

/// The meeting-length limit ends a meeting after the organisation's minutes (one minute here:
/// this test waits that minute) and leaves the room open for the next meeting.
#[tokio::test]
async fn an_organisations_meeting_length_limit_ends_the_meeting() {
    let server = server_with(SignupPolicy::Open).await;
    let (admin_email, admin_pw) = first_admin(&server);
    let mut admin = Browser::default();
    admin.sign_in(&server, &admin_email, &admin_pw).await;
    let mut ada = Browser::default();
    ada.sign_up(&server, "Ada", "ada@example.coop", "long-enough-pw")
        .await;
    let csrf = admin.csrf(&server, "/admin/orgs").await;
    let p = admin
        .post(
            &server,
            "/admin/orgs",
            &[("csrf", &csrf), ("name", "Brief"), ("max_minutes", "0")],
        )
        .await;
    assert_eq!(p.status, 422, "at least one minute");
    let p = admin
        .post(
            &server,
            "/admin/orgs",
            &[("csrf", &csrf), ("name", "Brief"), ("max_minutes", "1")],
        )
        .await;
    assert_eq!(p.status, 303);
    assert!(
        admin
            .get(&server, "/admin/orgs")
            .await
            .body
            .contains("1 minutes per meeting")
    );
    let org = value_after(
        &admin.get(&server, "/admin/orgs").await.body,
        "<tr data-org=\"Brief\"><td><a href=\"/orgs/",
    );
    add_member(&server, &mut admin, &org, "ada@example.coop", false).await;
    let csrf = ada.csrf(&server, "/rooms").await;
    let room = ada.new_room(&server, &csrf, "Stand-up").await;

    let started = std::time::Instant::now();
    let (_, v) = api_join(&server, &room, &ada, "Ada", None).await;
    let peer = peer_in(&server, &room, "Ada", Some(&v["token"])).await;
    common::eventually(
        std::time::Duration::from_secs(120),
        "the meeting to be ended by its time limit",
        || peer.snapshot().ended.is_some(),
    )
    .await;
    assert_eq!(peer.snapshot().ended.as_deref(), Some("time_limit"));
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(59),
        "not before the minute"
    );
    // The room stays: a new meeting starts in it.
    let (s, _) = api_join(&server, &room, &ada, "Ada", None).await;
    assert_eq!(s, 200);
    server.stop().await;
}

/// Access-code guessing is limited per client address; behind a trusted proxy, the address it
/// forwards counts, and a forwarded address from anyone else is ignored.
#[tokio::test]
async fn code_guessing_is_limited_per_client_behind_a_trusted_proxy() {
    async fn guesses(trust_loopback: bool) -> (u16, u16) {
        let server = TestServer::start_with(|s| {
            s.signup = SignupPolicy::Open;
            if trust_loopback {
                s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
            }
        })
        .await;
        let mut owner = Browser::default();
        owner
            .sign_up(&server, "Olga", "olga@example.coop", "long-enough-pw")
            .await;
        let csrf = owner.csrf(&server, "/rooms").await;
        let room = owner.new_room(&server, &csrf, "Vault").await;
        owner
            .post(
                &server,
                &format!("/rooms/{room}/settings"),
                &[
                    ("csrf", &csrf),
                    ("viewer_code", "right-code"),
                    ("guests_allowed", "on"),
                    ("anyone_may_start", "on"),
                ],
            )
            .await;
        let guess = |from: &'static str| {
            client()
                .post(format!("http://{}/api/rooms/{room}/join", server.http))
                .header("content-type", "application/json")
                .header("x-forwarded-for", from)
                .body(r#"{"name":"G","access_code":"wrong"}"#)
                .send()
        };
        for _ in 0..20 {
            assert_eq!(guess("198.51.100.1").await.unwrap().status(), 403);
        }
        let same = guess("198.51.100.1").await.unwrap().status().as_u16();
        let other = guess("198.51.100.2").await.unwrap().status().as_u16();
        server.stop().await;
        (same, other)
    }
    assert_eq!(
        guesses(true).await,
        (429, 403),
        "each forwarded client has its own budget"
    );
    assert_eq!(
        guesses(false).await,
        (429, 429),
        "an untrusted header changes nothing"
    );
}

/// The invitation link an invitations page just showed.
fn invite_link(body: &str) -> String {
    value_after(body, "id=\"invite-link\" readonly value=\"").replace("&#x2f;", "/")
}

/// The path of an invitation link (`/invite/<secret>`).
fn invite_path(link: &str) -> String {
    link[link.find("/invite/").unwrap()..].to_owned()
}

/// Accepts an invitation in a fresh browser as `name`; the answer and the browser.
async fn accept_invite(
    server: &TestServer,
    path: &str,
    name: &str,
    email: &str,
) -> (Page, Browser) {
    let mut b = Browser::default();
    // (The signed-out CSRF token is the browser's, whichever page gave it: a link that no
    // longer works shows no form.)
    let csrf = b.csrf(server, "/signin").await;
    let p = b
        .post(
            server,
            path,
            &[
                ("csrf", &csrf),
                ("name", name),
                ("email", email),
                ("password", "long-enough-pw"),
            ],
        )
        .await;
    (p, b)
}

#[tokio::test]
async fn invitations_let_one_person_in_once_into_their_organisation() {
    let server = TestServer::start_with(|s| {
        s.signup = SignupPolicy::Invite;
        s.admin_email = "root@example.coop".into();
    })
    .await;
    let (email, password) = first_admin(&server);
    let mut admin = Browser::default();
    admin.sign_in(&server, &email, &password).await;
    let org = make_org(&server, &mut admin, "social.coop").await;

    // The platform admin invites Ada as social.coop's admin; the link is shown once.
    let csrf = admin.csrf(&server, "/admin/invitations").await;
    let p = admin
        .post(
            &server,
            "/admin/invitations",
            &[
                ("csrf", &csrf),
                ("email", "Ada@Example.coop "),
                ("org", &org),
                ("org_admin", "on"),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let link = invite_link(&p.body);
    assert!(
        link.starts_with("http") && link.contains("/invite/"),
        "{link}"
    );
    let ada_path = invite_path(&link);
    let listed = admin.get(&server, "/admin/invitations").await.body;
    assert!(listed.contains("data-invitation=\"ada@example.coop\""));
    let secret = ada_path.rsplit('/').next().unwrap();
    assert!(
        listed.contains("data-invitation") && !listed.contains(secret),
        "the link is shown only once"
    );
    // Bad input: no CSRF, an implausible address, an organisation that does not exist (an
    // address that has an account: below, from an organisation's page).
    for (form, status) in [
        (vec![("email", "x@example.coop")], 403),
        (
            vec![("csrf", csrf.as_str()), ("email", "not-an-email")],
            422,
        ),
        (
            vec![
                ("csrf", csrf.as_str()),
                ("email", "x@example.coop"),
                ("org", "999"),
            ],
            422,
        ),
        (
            vec![
                ("csrf", csrf.as_str()),
                ("email", "x@example.coop"),
                ("org", "abc"),
            ],
            422,
        ),
    ] {
        let p = admin.post(&server, "/admin/invitations", &form).await;
        assert_eq!(p.status, status, "{form:?}: {}", p.body);
        assert!(!p.body.contains("id=\"invite-link\""), "{form:?}");
    }

    // The link: the address is the invitation's; the form's email is ignored.
    let mut peek = Browser::default();
    let page = peek.get(&server, &ada_path).await;
    assert_eq!(page.status, 200);
    let r = client()
        .get(format!("http://{}{ada_path}", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["referrer-policy"],
        "no-referrer",
        "the link is a secret"
    );
    assert!(
        page.body.contains("invited to join social.coop"),
        "{}",
        page.body
    );
    assert!(page.body.contains("value=\"ada@example.coop\" readonly"));
    // Without the form's CSRF token, or with a short password: refused, link still good.
    let p = peek
        .post(
            &server,
            &ada_path,
            &[("name", "Ada"), ("password", "long-enough-pw")],
        )
        .await;
    assert_eq!(p.status, 403);
    let csrf = peek.csrf(&server, &ada_path).await;
    let p = peek
        .post(
            &server,
            &ada_path,
            &[("csrf", &csrf), ("name", "Ada"), ("password", "short")],
        )
        .await;
    assert_eq!(p.status, 422);
    let (p, mut ada) = accept_invite(&server, &ada_path, "Ada", "evil@example.coop").await;
    assert_eq!((p.status, p.location.as_deref()), (303, Some("/rooms")));
    let rooms = ada.get(&server, "/rooms").await.body;
    assert!(rooms.contains(&format!("href=\"/orgs/{org}\"")), "{rooms}");
    // Used once: the link is gone, and nobody made an account with the form's address.
    let (p, _) = accept_invite(&server, &ada_path, "Eve", "eve@example.coop").await;
    assert_eq!(p.status, 410, "{}", p.body);
    assert_eq!(Browser::default().get(&server, &ada_path).await.status, 410);
    let users = admin.get(&server, "/admin/users?q=example.coop").await.body;
    assert!(users.contains("ada@example.coop"));
    assert!(!users.contains("evil@") && !users.contains("eve@"));
    // Invitation only: the plain sign-up still refuses.
    let p = Browser::default()
        .sign_up(&server, "Zed", "zed@example.coop", "long-enough-pw")
        .await;
    assert_eq!(p.status, 403);

    // Ada, social.coop's admin, invites Bo into her organisation from its page.
    let org_page = format!("/orgs/{org}");
    let csrf = ada.csrf(&server, &org_page).await;
    let p = ada
        .post(
            &server,
            &format!("/orgs/{org}/invitations"),
            &[("csrf", &csrf), ("email", "bo@example.coop")],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let bo_path = invite_path(&invite_link(&p.body));
    // An address with an account is invited alike (the answer tells nobody it has one); its
    // owner accepts signed in, nobody else can.
    let p = ada
        .post(
            &server,
            &format!("/orgs/{org}/invitations"),
            &[("csrf", &csrf), ("email", "root@example.coop")],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let admin_path = invite_path(&invite_link(&p.body));
    let page = Browser::default().get(&server, &admin_path).await;
    assert!(page.body.contains("id=\"sign-in-first\""), "{}", page.body);
    assert_eq!(
        join_invitation(&mut ada, &server, &admin_path).await.status,
        410,
        "another account's invitation"
    );
    let page = admin.get(&server, &admin_path).await;
    assert!(page.body.contains("id=\"join-org\""), "{}", page.body);
    assert_eq!(
        join_invitation(&mut admin, &server, &admin_path)
            .await
            .status,
        303
    );
    assert!(
        admin
            .get(&server, "/rooms")
            .await
            .body
            .contains("data-org=\"social.coop\""),
        "the admin joined by accepting"
    );
    assert_eq!(
        join_invitation(&mut admin, &server, &admin_path)
            .await
            .status,
        410,
        "used once"
    );
    // An invitation to withdraw, and one from the platform admin outside her organisation.
    let p = ada
        .post(
            &server,
            &format!("/orgs/{org}/invitations"),
            &[("csrf", &csrf), ("email", "cy@example.coop")],
        )
        .await;
    let cy_path = invite_path(&invite_link(&p.body));
    let other_org = make_org(&server, &mut admin, "Radical Routes").await;
    let acsrf = admin.csrf(&server, "/admin/invitations").await;
    let p = admin
        .post(
            &server,
            "/admin/invitations",
            &[
                ("csrf", &acsrf),
                ("email", "di@example.coop"),
                ("org", &other_org),
            ],
        )
        .await;
    assert_eq!(p.status, 200);
    let all = admin.get(&server, "/admin/invitations").await.body;
    let id_of = |email: &str| {
        let row = format!("data-invitation=\"{email}\"");
        let at = all.find(&row).unwrap();
        value_after(&all[at..], "data-id=\"")
    };
    let (cy_id, di_id) = (id_of("cy@example.coop"), id_of("di@example.coop"));
    let withdraw = |id: &str| format!("/orgs/{org}/invitations/{id}/withdraw");
    let p = ada
        .post(&server, &withdraw(&di_id), &[("csrf", &csrf)])
        .await;
    assert_eq!(p.status, 404, "another organisation's invitation");
    let p = ada
        .post(
            &server,
            &format!("/orgs/{other_org}/invitations/{di_id}/withdraw"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(p.status, 403, "not her organisation");
    assert!(
        admin
            .get(&server, "/admin/invitations")
            .await
            .body
            .contains("data-invitation=\"di@example.coop\"")
    );
    let p = ada.post(&server, &withdraw(&cy_id), &[]).await;
    assert_eq!(p.status, 403, "no CSRF token");
    let p = ada
        .post(&server, &withdraw(&cy_id), &[("csrf", &csrf)])
        .await;
    assert_eq!(p.status, 303);
    assert_eq!(Browser::default().get(&server, &cy_path).await.status, 410);
    let org_body = ada.get(&server, &org_page).await.body;
    assert!(org_body.contains("data-invitation=\"bo@example.coop\""));
    // The pages' withdraw buttons post where the handlers are.
    let bo_id = value_after(
        &org_body[org_body.find("data-invitation=\"bo@").unwrap()..],
        "data-id=\"",
    );
    assert!(org_body.replace("&#x2f;", "/").contains(&format!(
        "action=\"/orgs/{org}/invitations/{bo_id}/withdraw\""
    )));
    assert!(
        admin
            .get(&server, "/admin/invitations")
            .await
            .body
            .replace("&#x2f;", "/")
            .contains(&format!("action=\"/admin/invitations/{di_id}/withdraw\""))
    );
    assert!(!org_body.contains("cy@example.coop"));
    assert!(
        !org_body.contains("di@example.coop"),
        "another's invitation shown"
    );
    // A plain member cannot invite.
    let (p, mut bo) = accept_invite(&server, &bo_path, "Bo", "").await;
    assert_eq!(p.status, 303);
    let bcsrf = bo.csrf(&server, "/rooms").await;
    let p = bo
        .post(
            &server,
            &format!("/orgs/{org}/invitations"),
            &[("csrf", &bcsrf), ("email", "x@example.coop")],
        )
        .await;
    assert_eq!(p.status, 403);
    let members = ada.get(&server, &org_page).await.body;
    assert!(members.contains("data-member=\"bo@example.coop\""));
    // Bo joined as a member, Ada as admin.
    let row = |email: &str| {
        let at = members.find(&format!("data-member=\"{email}\"")).unwrap();
        let rest = &members[at..];
        rest[..rest.find("</tr>").unwrap()].to_owned()
    };
    assert!(row("bo@example.coop").contains("class=\"role\">member</td>"));
    assert!(row("ada@example.coop").contains("class=\"role\">admin</td>"));
    server.stop().await;
}

/// The site settings form with a name and a welcome text (markup in it, to be shown as text).
fn form(csrf: &str, signup: &str, lang: &str) -> Vec<(String, String)> {
    [
        ("csrf", csrf),
        ("name", "meet.coop"),
        (
            "welcome",
            "Members: sign in with your co-op account.\r\n<script>alert(1)</script>",
        ),
        ("signup", signup),
        ("default_lang", lang),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

async fn post_settings(server: &TestServer, b: &mut Browser, form: Vec<(String, String)>) -> Page {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post(server, "/admin/settings", &pairs).await
}

#[tokio::test]
async fn site_settings_name_welcome_policy_and_language() {
    let server = server_with(SignupPolicy::Approval).await;
    let (email, password) = first_admin(&server);
    let mut admin = Browser::default();
    admin.sign_in(&server, &email, &password).await;
    let page = admin.get(&server, "/admin/settings").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("value=\"approval\" checked"),
        "the file's policy"
    );

    // Only platform admins, only with the form's token, only valid values.
    let mut bo = Browser::default();
    assert_eq!(bo.get(&server, "/admin/settings").await.status, 303);
    let csrf = admin.csrf(&server, "/admin/settings").await;
    let p = post_settings(&server, &mut admin, form("nope", "open", "fr")).await;
    assert_eq!(p.status, 403);
    let p = post_settings(&server, &mut admin, form(&csrf, "everyone", "fr")).await;
    assert_eq!(p.status, 422);
    let p = post_settings(&server, &mut admin, form(&csrf, "open", "xx")).await;
    assert_eq!(p.status, 422);
    let mut long = form(&csrf, "open", "fr");
    long[1].1 = "x".repeat(61);
    assert_eq!(post_settings(&server, &mut admin, long).await.status, 422);
    // Nothing was changed by the refused forms.
    assert!(
        Browser::default()
            .get(&server, "/signin")
            .await
            .body
            .contains("· Plenary</title>")
    );

    bo.sign_up(&server, "Bo", "bo@example.coop", "long-enough-pw")
        .await;
    let p = post_settings(&server, &mut admin, form(&csrf, "open", "fr")).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("id=\"form-notice\""));

    // A browser that asks for none of our languages gets the site's, with its name and
    // welcome text (as text, not markup).
    let mut visitor = Browser {
        lang: Some("ja"),
        ..Default::default()
    };
    let signin = visitor.get(&server, "/signin").await.body;
    assert!(signin.contains("<html lang=\"fr\">"), "{signin}");
    assert!(signin.contains("· meet.coop</title>"));
    assert!(signin.contains("Members: sign in with your co-op account."));
    assert!(signin.contains("&lt;script&gt;") && !signin.contains("<script>alert"));
    // The meeting client's texts follow too.
    let r = client()
        .get(format!("http://{}/i18n/messages.json", server.http))
        .header("accept-language", "ja")
        .send()
        .await
        .unwrap();
    let j: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(j["lang"], "fr");
    // Sign-up is open now: an account works at once.
    let p = visitor
        .sign_up(&server, "Cy", "cy@example.coop", "long-enough-pw")
        .await;
    assert_eq!((p.status, p.location.as_deref()), (303, Some("/rooms")));

    // Invitation only: sign-up refuses.
    let p = post_settings(&server, &mut admin, form(&csrf, "invite", "en")).await;
    assert_eq!(p.status, 200);
    let p = Browser::default()
        .sign_up(&server, "Di", "di@example.coop", "long-enough-pw")
        .await;
    assert_eq!(p.status, 403);
    // A signed-in non-admin may not change anything.
    let mut cy = Browser::default();
    cy.sign_in(&server, "cy@example.coop", "long-enough-pw")
        .await;
    assert_eq!(cy.get(&server, "/admin/settings").await.status, 403);
    let ccsrf = cy.csrf(&server, "/rooms").await;
    let p = post_settings(&server, &mut cy, form(&ccsrf, "open", "en")).await;
    assert_eq!(p.status, 403);
    // …and nothing changed: sign-up is still by invitation only.
    let p = Browser::default()
        .sign_up(&server, "Di", "di@example.coop", "long-enough-pw")
        .await;
    assert_eq!(p.status, 403);
    server.stop().await;
}

#[tokio::test]
async fn admins_see_every_room_and_the_identity_providers() {
    // A provider nobody answers for (a closed port), with a rule for a missing organisation.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}/realms/coop", dead.local_addr().unwrap());
    drop(dead);
    let toml = format!(
        "[[sso]]\nid = \"coop-id\"\nname = \"social.coop account\"\nissuer = \"{issuer}\"\n\
         client_id = \"plenary\"\nadmin_groups = [\"/ops\"]\n\
         [[sso.rules]]\ngroup = \"/nowhere\"\norg = \"Nowhere Co-op\"\n"
    );
    let parsed = plenary_server::settings::Settings::from_toml(&toml).unwrap();
    let server = TestServer::start_with(|s| {
        s.signup = SignupPolicy::Open;
        s.sso = parsed.sso;
    })
    .await;
    let (email, password) = first_admin(&server);
    let mut admin = Browser::default();
    admin.sign_in(&server, &email, &password).await;
    let mut ada = Browser::default();
    ada.sign_up(&server, "Ada", "ada@example.coop", "long-enough-pw")
        .await;
    let csrf = ada.csrf(&server, "/rooms").await;
    let room = ada
        .new_room(&server, &csrf, "Assembly of 100% members")
        .await;
    let other = ada.new_room(&server, &csrf, "Board").await;
    for path in ["/admin/rooms", "/admin/providers", "/admin/invitations"] {
        assert_eq!(ada.get(&server, path).await.status, 403, "{path}");
    }

    // Every room, with its owner and who is in it now; found by name or link.
    let token = api_join(&server, &room, &ada, "Ada", None).await.1;
    let peer = peer_in(&server, &room, "Ada", Some(&token["token"])).await;
    let page = admin.get(&server, "/admin/rooms").await.body;
    let row = &page[page.find(&format!("data-room=\"{room}\"")).unwrap()..];
    assert!(row.contains("Assembly of 100% members") && row.contains(">Ada</a>"));
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("class=\"live\">1 person</td>"), "{row}");
    let found = admin.get(&server, "/admin/rooms?q=100%25").await.body;
    assert!(
        found.contains(&room) && !found.contains(&other),
        "{room} {other}: {}",
        &found[found.find("<table").unwrap_or(0)..]
    );
    let found = admin
        .get(&server, &format!("/admin/rooms?q={}", &other[..8]))
        .await
        .body;
    assert!(found.contains(&other) && !found.contains(&room));
    // Deleting ends the meeting and the room.
    let acsrf = admin.csrf(&server, "/admin/rooms").await;
    let p = admin
        .post(&server, &format!("/admin/rooms/{room}/delete"), &[])
        .await;
    assert_eq!(p.status, 403, "no CSRF token");
    let p = admin
        .post(
            &server,
            &format!("/admin/rooms/{room}/delete"),
            &[("csrf", &acsrf), ("q", "")],
        )
        .await;
    assert_eq!(p.status, 303);
    let p = admin
        .post(
            &server,
            &format!("/admin/rooms/{room}/delete"),
            &[("csrf", &acsrf)],
        )
        .await;
    assert_eq!(p.status, 404);
    let p = admin
        .post(
            &server,
            "/admin/rooms/..%2F..%2Fetc/delete",
            &[("csrf", &acsrf)],
        )
        .await;
    assert_eq!(p.status, 404);
    assert!(
        !admin
            .get(&server, "/admin/rooms")
            .await
            .body
            .contains(&room)
    );
    assert!(!ada.get(&server, "/rooms").await.body.contains(&room));
    drop(peer);

    // The providers page: what to register at the provider, the rule that gives nothing,
    // and a check that says the provider cannot be reached.
    let page = admin.get(&server, "/admin/providers").await.body;
    // (minijinja writes `/` as `&#x2f;` in HTML.)
    let page = page.replace("&#x2f;", "/");
    assert!(
        page.contains(&format!(
            "value=\"http://{}/auth/sso/coop-id/callback\"",
            server.http
        )),
        "{page}"
    );
    assert!(page.contains(&issuer));
    assert!(page.contains("There is no organisation named Nowhere Co-op"));
    assert!(page.contains("<code>/ops</code>"));
    let pcsrf = admin.csrf(&server, "/admin/providers").await;
    let p = admin
        .post(
            &server,
            "/admin/providers/coop-id/check",
            &[("csrf", &pcsrf)],
        )
        .await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("id=\"check-coop-id\""), "{}", p.body);
    assert!(p.body.contains("cannot be used"), "{}", p.body);
    let p = admin
        .post(&server, "/admin/providers/nope/check", &[("csrf", &pcsrf)])
        .await;
    assert_eq!(p.status, 404);
    let p = admin
        .post(&server, "/admin/providers/coop-id/check", &[])
        .await;
    assert_eq!(p.status, 403);

    // Mapping rules added here: checked, shown, removed.
    assert!(
        !page.contains("id=\"add-rule-coop-id\""),
        "no organisation to map to yet"
    );
    make_org(&server, &mut admin, "Radical Routes").await;
    let pcsrf = admin.csrf(&server, "/admin/providers").await;
    let rules = "/admin/providers/coop-id/rules";
    let good = [
        ("csrf", pcsrf.as_str()),
        ("kind", "email_domain"),
        ("value", " @RR.org "),
        ("org", "Radical Routes"),
        ("role", "admin"),
    ];
    let with = |k: &str, v: &'static str| {
        good.iter()
            .map(|&(gk, gv)| if gk == k { (gk, v) } else { (gk, gv) })
            .collect::<Vec<_>>()
    };
    for (form, status) in [
        (with("csrf", ""), 403),
        (with("kind", "everyone"), 422),
        (with("value", "not a domain"), 422),
        (with("org", "Nowhere Co-op"), 422),
        (with("role", "owner"), 422),
    ] {
        let p = admin.post(&server, rules, &form).await;
        assert_eq!(p.status, status, "{form:?}");
    }
    let p = admin.post(&server, &format!("{rules}x"), &good).await;
    assert_eq!(p.status, 404);
    let p = admin
        .post(&server, "/admin/providers/nope/rules", &good)
        .await;
    assert_eq!(p.status, 404);
    let p = ada.post(&server, rules, &good).await;
    assert_eq!(p.status, 403);
    let p = admin.post(&server, rules, &with("kind", "group")).await;
    assert_eq!(p.status, 303, "a group may be any text: {}", p.body);
    let p = admin.post(&server, rules, &good).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let page = admin.get(&server, "/admin/providers").await.body;
    let added: Vec<String> = page
        .split("data-rule=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect();
    assert_eq!(added.len(), 2, "{page}");
    assert!(
        page.contains("Verified address at rr.org → admin of Radical Routes"),
        "{page}"
    );
    assert!(
        page.contains("Group @RR.org → admin of Radical Routes"),
        "{page}"
    );
    // Removing: with the token, and only the provider's own rule.
    let delete =
        |provider: &str, rule: &str| format!("/admin/providers/{provider}/rules/{rule}/delete");
    let p = admin
        .post(&server, &delete("coop-id", &added[1]), &[])
        .await;
    assert_eq!(p.status, 403);
    let p = admin
        .post(&server, &delete("other", &added[1]), &[("csrf", &pcsrf)])
        .await;
    assert_eq!(p.status, 404);
    let p = admin
        .post(&server, &delete("coop-id", &added[1]), &[("csrf", &pcsrf)])
        .await;
    assert_eq!(p.status, 303);
    let page = admin.get(&server, "/admin/providers").await.body;
    assert!(!page.contains("Verified address at rr.org"));
    assert!(page.contains("Group @RR.org"));
    server.stop().await;
}

/// Accepts an invitation as the signed-in account of `b`.
async fn join_invitation(b: &mut Browser, server: &TestServer, path: &str) -> Page {
    let csrf = b.csrf(server, path).await;
    b.post(server, path, &[("csrf", &csrf), ("join", "1")])
        .await
}

/// The audit's hole: an organisation's admin added any account to her organisation without
/// its consent, then saw its email, applied her limits to it and deleted its rooms. Now she
/// only asks; the account accepts or declines; the answer tells nobody who has an account.
#[tokio::test]
async fn an_organisation_admin_adds_people_only_with_their_consent() {
    let server = server_with(SignupPolicy::Open).await;
    let (admin_email, admin_pw) = first_admin(&server);
    let mut admin = Browser::default();
    admin.sign_in(&server, &admin_email, &admin_pw).await;
    let mut ann = Browser::default();
    ann.sign_up(&server, "Ann", "ann@social.coop", "long-enough-pw")
        .await;
    let mut zed = Browser::default();
    zed.sign_up(&server, "Zed", "zed@elsewhere.org", "long-enough-pw")
        .await;
    let csrf = zed.csrf(&server, "/rooms").await;
    let zed_room = zed.new_room(&server, &csrf, "Zed's own").await;
    // social.coop allows one room per member; Ann is its admin.
    let csrf = admin.csrf(&server, "/admin/orgs").await;
    let p = admin
        .post(
            &server,
            "/admin/orgs",
            &[("csrf", &csrf), ("name", "social.coop"), ("max_rooms", "1")],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let page = admin.get(&server, "/admin/orgs").await;
    let org = value_after(
        &page.body,
        "<tr data-org=\"social.coop\"><td><a href=\"/orgs/",
    );
    add_member(&server, &mut admin, &org, "ann@social.coop", true).await;

    // Ann asks for Zed, and for an address nobody has: the same answer.
    let csrf = ann.csrf(&server, &format!("/orgs/{org}")).await;
    let members = format!("/orgs/{org}/members");
    let asked = ann
        .post(
            &server,
            &members,
            &[("csrf", &csrf), ("email", "zed@elsewhere.org")],
        )
        .await;
    let nobody = ann
        .post(
            &server,
            &members,
            &[("csrf", &csrf), ("email", "nobody@elsewhere.org")],
        )
        .await;
    assert_eq!((asked.status, nobody.status), (200, 200));
    let notice = |b: &str| value_after(b, "id=\"form-notice\">");
    assert_eq!(notice(&asked.body), notice(&nobody.body));
    assert!(!asked.body.contains("No account"), "{}", asked.body);

    // Not a member yet: not listed, its room neither seen nor deleted, her limits not applied.
    let page = ann.get(&server, &format!("/orgs/{org}")).await.body;
    assert!(
        !page.contains("data-member=\"zed@elsewhere.org\""),
        "{page}"
    );
    assert!(!page.contains(&zed_room), "{page}");
    let p = ann
        .post(
            &server,
            &format!("/orgs/{org}/rooms/{zed_room}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(p.status, 404);
    let zcsrf = zed.csrf(&server, "/rooms").await;
    let second = zed.new_room(&server, &zcsrf, "Zed's second").await;

    // Zed sees the request and declines: nothing changes.
    let rooms = zed.get(&server, "/rooms").await.body;
    assert!(rooms.contains("id=\"requests\""), "{rooms}");
    let answer = format!("/orgs/{org}/answer");
    let decline = [("csrf", zcsrf.as_str()), ("action", "decline")];
    let accept = [("csrf", zcsrf.as_str()), ("action", "accept")];
    assert_eq!(zed.post(&server, &answer, &decline).await.status, 303);
    assert_eq!(
        zed.post(&server, &answer, &accept).await.status,
        404,
        "declined already"
    );
    let page = ann.get(&server, &format!("/orgs/{org}")).await.body;
    assert!(
        !page.contains("data-member=\"zed@elsewhere.org\""),
        "{page}"
    );

    // Asked again, Zed accepts: now a member, with the organisation's limits and rooms its
    // admin manages.
    let again = ann
        .post(
            &server,
            &members,
            &[("csrf", &csrf), ("email", "zed@elsewhere.org")],
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(zed.post(&server, &answer, &accept).await.status, 303);
    let page = ann.get(&server, &format!("/orgs/{org}")).await.body;
    assert!(page.contains("data-member=\"zed@elsewhere.org\""), "{page}");
    assert!(page.contains(&zed_room), "{page}");
    let p = zed
        .post(&server, "/rooms", &[("csrf", &zcsrf), ("name", "Third")])
        .await;
    assert_eq!(
        p.status, 403,
        "the organisation's one-room limit applies now"
    );

    // Removed from the organisation, Zed keeps its rooms.
    let zed_id = value_after(
        &page[page.find("data-member=\"zed@elsewhere.org\"").unwrap()..],
        &format!("action=\"/orgs/{org}/members/"),
    );
    let p = ann
        .post(
            &server,
            &format!("/orgs/{org}/members/{zed_id}"),
            &[("csrf", &csrf), ("action", "remove")],
        )
        .await;
    assert_eq!(p.status, 303);
    let rooms = zed.get(&server, "/rooms").await.body;
    assert!(
        rooms.contains(&zed_room) && rooms.contains(&second),
        "{rooms}"
    );
    server.stop().await;
}

/// API tokens: a platform admin makes one on /admin/tokens (its secret shown once), a script
/// creates rooms with it as the admin's account, and once revoked it opens nothing.
#[tokio::test]
async fn api_tokens_are_made_shown_once_and_revoked() {
    let server = server_with(SignupPolicy::Open).await;
    let (email, password) = first_admin(&server);
    let mut admin = Browser::default();
    admin.sign_in(&server, &email, &password).await;
    let csrf = admin.csrf(&server, "/admin/tokens").await;
    let p = admin
        .post(
            &server,
            "/admin/tokens",
            &[("csrf", &csrf), ("name", "board scripts")],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let secret = value_after(
        &p.body,
        "id=\"token-secret\" aria-label=\"API tokens\" value=\"",
    );
    assert!(secret.starts_with("plt_"), "{secret}");
    let listed = admin.get(&server, "/admin/tokens").await.body;
    assert!(listed.contains("data-token=\"board scripts\""));
    assert!(!listed.contains(&secret), "the secret is shown only once");

    let (status, room) = server
        .call_as(
            "POST",
            "/api/rooms",
            Some(&serde_json::json!({})),
            Some(&secret),
        )
        .await;
    assert_eq!(
        (status, room["name"].as_str()),
        (201, Some("Administrator"))
    );

    // Nobody else sees or makes tokens.
    let mut member = Browser::default();
    member
        .sign_up(&server, "Mo", "mo@example.coop", "long-enough-pw")
        .await;
    assert_eq!(member.get(&server, "/admin/tokens").await.status, 403);
    let mcsrf = member.csrf(&server, "/rooms").await;
    let p = member
        .post(
            &server,
            "/admin/tokens",
            &[("csrf", &mcsrf), ("name", "mine")],
        )
        .await;
    assert_eq!(p.status, 403);

    let id = value_after(&listed, "action=\"/admin/tokens/");
    let id = id.split('/').next().unwrap();
    let p = admin
        .post(
            &server,
            &format!("/admin/tokens/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(p.status, 303);
    let (status, _) = server
        .call_as(
            "POST",
            "/api/rooms",
            Some(&serde_json::json!({})),
            Some(&secret),
        )
        .await;
    assert_eq!(status, 401, "a revoked token opens nothing");
    server.stop().await;
}

/// Forty wrong passwords at once: the limit holds (each attempt is counted before its password
/// is checked), so at most ten are even tried.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_do_not_pass_the_limit() {
    let server = server_with(SignupPolicy::Open).await;
    let mut ada = Browser::default();
    ada.sign_up(&server, "Ada", "ada@example.coop", "analytical-engine")
        .await;
    let mut stranger = Browser::default();
    let csrf = stranger.csrf(&server, "/signin").await;
    let guesses: Vec<_> = (0..40)
        .map(|i| {
            let mut b = stranger.clone();
            let (csrf, http) = (csrf.clone(), server.http.clone());
            tokio::spawn(async move {
                let body = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs([
                        ("csrf", csrf.as_str()),
                        ("email", "ada@example.coop"),
                        ("password", &format!("guess-{i}")),
                    ])
                    .finish();
                b.send(
                    client()
                        .post(format!("http://{http}/signin"))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body),
                )
                .await
                .status
            })
        })
        .collect();
    let mut tried = 0;
    for g in guesses {
        match g.await.unwrap() {
            401 => tried += 1,
            429 => {}
            other => panic!("{other}"),
        }
    }
    assert!(
        tried <= 10,
        "{tried} guesses were checked, past a limit of 10"
    );
    server.stop().await;
}
