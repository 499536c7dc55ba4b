//! Every page renders in every language, with nothing but text in its title and unique ids.

use super::*;

#[test]
fn every_page_renders_in_every_language() {
    let p = Portal::new(Vec::new(), [0; 32]).unwrap();
    for lang in i18n::LANGS {
        let base = context! {
            lang, langs => Vec::<minijinja::Value>::new(), csrf => "x", path => "/",
            user => context! { name => "Ada", email => "ada@example.coop", is_admin => true },
        };
        let rec = |state: &str| {
            context! { id => "abc-1", room => "abc-defg-hij", name => "Assembly", state, started => "2026-12-07 10:00 UTC",
            length => "12:00", percent => 40, error => "ffmpeg exited", published => state != "failed", protected => false,
            mb => "1.5", link => "/recordings/abc-1?k=x" }
        };
        let pages = [
            (
                "recordings.html",
                context! {
                    room => context! { id => "abc-defg-hij", name => "Assembly" },
                    recordings => ["recording", "processing", "ready", "failed"].map(rec).to_vec(),
                    storage_mb => "4.5", admin => true, ..base.clone()
                },
            ),
            (
                "recordings.html",
                context! { room => context! { id => "abc-defg-hij", name => "A" }, recordings => Vec::<minijinja::Value>::new(), storage_mb => "0.0", ..base.clone() },
            ),
            (
                "playback.html",
                context! {
                    rec => rec("processing"), key => "k", manage => true, playable => true,
                    speakers => vec![context! { name => "Ada", from => 0, label => "0:00–0:10" }],
                    chat => vec![context! { at => 5, clock => "0:05", name => "Bo", text => "hi" }], ..base.clone()
                },
            ),
            (
                "playback.html",
                context! { rec => rec("ready"), key => "", playable => true, speakers => Vec::<minijinja::Value>::new(), chat => Vec::<minijinja::Value>::new(), ..base.clone() },
            ),
            (
                "playback.html",
                context! { rec => rec("failed"), playable => true, ..base.clone() },
            ),
            (
                "playback.html",
                context! { rec => rec("recording"), playable => false, ..base.clone() },
            ),
            (
                "admin_tokens.html",
                context! {
                    tokens => vec![
                        context! { id => 1, name => "loadgen", account => "a@b.co", created => "2026-12-06 10:00", used => "2026-12-06 11:00" },
                        context! { id => 2, name => "backup", account => "a@b.co", created => "2026-12-06 10:00", used => () },
                    ],
                    made => context! { name => "loadgen", secret => "plt_x" }, error => "e", path => "/admin/tokens",
                    ..base.clone()
                },
            ),
            (
                "admin_tokens.html",
                context! { tokens => Vec::<minijinja::Value>::new(), path => "/admin/tokens", ..base.clone() },
            ),
            (
                "landing.html",
                context! { welcome => "Hello", signup_open => true, anyone_creates => true, ..base.clone() },
            ),
            (
                "rooms.html",
                context! { rooms => Vec::<minijinja::Value>::new(), base => "http://x", requests => vec![
                    context! { org => "social.coop", org_id => 1, role => "admin", by => "Ada" },
                    context! { org => "Guests", org_id => 2, role => "member", by => () },
                ], ..base.clone() },
            ),
            (
                "org.html",
                context! {
                    org => context! { id => 1, name => "x", max_rooms => (), max_participants => () },
                    recordings => context! { used_mb => "1.0", allowed => false, days => 30, quota_mb => 100, may_set => true },
                    members => Vec::<minijinja::Value>::new(), rooms => Vec::<minijinja::Value>::new(),
                    notice => "n", asked => vec![context! { email => "bo@b.co", role => "member" }],
                    ..base.clone()
                },
            ),
            (
                "landing.html",
                context! { signup_open => false, anyone_creates => false, ..base.clone() },
            ),
            (
                "signup.html",
                context! { name => "", email => "a@b.co", action => "/invite/t", min_password => 10, invitation => context! { org => "x" }, existing => context! { email => "a@b.co", signed_in => true }, ..base.clone() },
            ),
            (
                "signup.html",
                context! { name => "", email => "a@b.co", action => "/invite/t", min_password => 10, invitation => context! { org => () }, existing => context! { email => "a@b.co", signed_in => false }, ..base.clone() },
            ),
            (
                "signin.html",
                context! { email => "", error => "e", notice => "n", ..base.clone() },
            ),
            (
                "signup.html",
                context! { name => "", email => "", error => "e", min_password => 10, ..base.clone() },
            ),
            (
                "rooms.html",
                context! { rooms => vec![context! { id => "abc-defg-hij", name => "R", waiting_room => true, mute_on_join => false, anyone_may_start => true, guests_allowed => false, recording_allowed => true, viewer_code => "1234", moderator_code => "", recordings => 2, latest => "failed", percent => 0, reason => "x", recordings_audience => "members" }], base => "http://x", error => "e", notice => "n", ..base.clone() },
            ),
            (
                "rooms.html",
                context! { rooms => Vec::<minijinja::Value>::new(), base => "http://x", ..base.clone() },
            ),
            (
                "admin_users.html",
                context! { q => "x", error => "e", users => vec![
                    context! { id => 1, name => "A", email => "a@b.co", status => "pending", is_admin => false },
                    context! { id => 2, name => "B", email => "b@b.co", status => "active", is_admin => true },
                    context! { id => 3, name => "C", email => "c@b.co", status => "disabled", is_admin => false },
                ], ..base.clone() },
            ),
            (
                "admin_users.html",
                context! { q => "", users => Vec::<minijinja::Value>::new(), ..base.clone() },
            ),
            (
                "admin_orgs.html",
                context! { error => "e", orgs => vec![
                    context! { id => 1, name => "social.coop", max_rooms => 2, max_participants => 50, max_minutes => 90 },
                    context! { id => 2, name => "Radical Routes", max_rooms => (), max_participants => () },
                ], ..base.clone() },
            ),
            (
                "admin_orgs.html",
                context! { orgs => Vec::<minijinja::Value>::new(), ..base.clone() },
            ),
            (
                "signin.html",
                context! { email => "", providers => vec![context! { id => "coop-id", name => "social.coop" }], ..base.clone() },
            ),
            (
                "rooms.html",
                context! {
                    rooms => vec![context! { id => "abc-defg-hij", name => "R", co_owners => vec![context! { id => 2, name => "Bo", email => "b@b.co" }] }],
                    shared => vec![context! { id => "abc-defg-xyz", name => "S", co_owners => () }],
                    base => "http://x", ..base.clone()
                },
            ),
            (
                "rooms.html",
                context! { rooms => Vec::<minijinja::Value>::new(), base => "http://x", memberships => vec![
                    context! { org => "social.coop", org_id => 1, role => "admin", manage => true },
                    context! { org => "Guests", org_id => 2, role => "member", manage => false },
                ], ..base.clone() },
            ),
            (
                "admin_user.html",
                context! {
                    account => context! { name => "Ada", email => "a@b.co", status => "active", is_admin => false },
                    memberships => vec![
                        context! { org => "social.coop", org_id => 1, role => "admin", provider => "social.coop" },
                        context! { org => "Guests", org_id => 2, role => "member", provider => () },
                    ],
                    identities => vec![context! {
                        provider_id => "coop-id", provider => "social.coop", when => "2026-11-22 10:00",
                        email => "a@b.co", verified => true, groups => vec!["/social.coop"],
                        rules => [
                            "group-present", "group-absent", "domain-matches", "domain-differs",
                            "email-unverified", "no-email", "default-applies", "default-skipped",
                            "unknown-org",
                        ].iter().map(|reason| context! { condition => "group \"/x\"", org => "X", role => "member", applied => true, reason }).collect::<Vec<_>>(),
                    }],
                    ..base.clone()
                },
            ),
            (
                "admin_user.html",
                context! {
                    account => context! { name => "Bo", email => "b@b.co", status => "pending", is_admin => true },
                    memberships => Vec::<minijinja::Value>::new(),
                    identities => Vec::<minijinja::Value>::new(),
                    ..base.clone()
                },
            ),
            (
                "org.html",
                context! {
                    org => context! { id => 1, name => "social.coop", max_rooms => 2, max_participants => (), max_minutes => 45 },
                    recordings => context! { used_mb => "0.0", allowed => true, days => (), quota_mb => (), may_set => false },
                    members => vec![
                        context! { id => 1, name => "Ada", email => "a@b.co", role => "admin", provider => () },
                        context! { id => 2, name => "Bo", email => "b@b.co", role => "member", provider => "social.coop" },
                    ],
                    rooms => vec![context! { id => "abc-defg-hij", name => "R", owner => "Ada" }],
                    error => "e",
                    ..base.clone()
                },
            ),
            (
                "org.html",
                context! {
                    org => context! { id => 1, name => "x", max_rooms => (), max_participants => () },
                    recordings => context! { used_mb => "1.0", allowed => false, days => 30, quota_mb => 100, may_set => true },
                    members => Vec::<minijinja::Value>::new(),
                    rooms => Vec::<minijinja::Value>::new(),
                    ..base.clone()
                },
            ),
            (
                "admin_rooms.html",
                context! {
                    q => "x", full => true, path => "/admin/rooms",
                    rooms => vec![
                        context! { id => "abc-defg-hij", name => "R", created => "2026-11-22 10:00", live => 3, owner => context! { id => 1, name => "Ada", email => "a@b.co" } },
                        context! { id => "abc-defg-xyz", name => "S", created => "2026-11-22 10:00", live => 1, owner => () },
                        context! { id => "abc-defg-zzz", name => "T", created => "2026-11-22 10:00", live => 0, owner => () },
                    ],
                    ..base.clone()
                },
            ),
            (
                "admin_rooms.html",
                context! { q => "", rooms => Vec::<minijinja::Value>::new(), ..base.clone() },
            ),
            (
                "admin_providers.html",
                context! {
                    providers => vec![
                        context! {
                            id => "coop-id", name => "social.coop", issuer => "https://id", client_id => "plenary",
                            public_client => true, scopes => "email profile", groups_claim => "groups",
                            admin_groups => vec!["/ops"], callback => "http://x/auth/sso/coop-id/callback", accounts => 2,
                            rules => ["group", "email-domain", "default"].iter().map(|kind| context! { kind, value => "v", org => "O", role => "admin", org_exists => *kind != "default" }).collect::<Vec<_>>(),
                            check => context! { ok => false, error => "cannot reach" },
                            added => vec![context! { id => 7, kind => "email-domain", value => "x.org", org => "O", role => "member", org_exists => false }],
                            error => "e",
                        },
                        context! {
                            id => "other", name => "Other", issuer => "https://o", client_id => "p", public_client => false,
                            scopes => "", groups_claim => "groups", admin_groups => Vec::<String>::new(),
                            callback => "http://x/auth/sso/other/callback", accounts => 0, rules => Vec::<minijinja::Value>::new(),
                            check => context! { ok => true },
                        },
                    ],
                    orgs => vec![context! { name => "O" }],
                    ..base.clone()
                },
            ),
            (
                "admin_providers.html",
                context! { providers => Vec::<minijinja::Value>::new(), ..base.clone() },
            ),
            (
                "admin_settings.html",
                context! {
                    form => context! { name => "meet.coop", welcome => "Hello", signup => "invite", default_lang => "fr", file_signup => "approval" },
                    error => "e", saved => true, policies => ["open", "approval", "invite"],
                    langs => vec![context! { code => "en", name => "English" }, context! { code => "fr", name => "Français" }],
                    max_name => 60, max_welcome => 500, site_name => "meet.coop",
                    ..base.clone()
                },
            ),
            (
                "admin_invitations.html",
                context! {
                    error => "e", days => 14,
                    invited => context! { email => "new@b.co", link => "http://x/invite/t" },
                    invitations => vec![
                        context! { id => 1, email => "new@b.co", org => "social.coop", role => "admin", expires => "2026-12-01 10:00", expired => false },
                        context! { id => 2, email => "old@b.co", org => (), role => "member", expires => "2026-11-01 10:00", expired => true },
                    ],
                    orgs => vec![context! { id => 1, name => "social.coop" }],
                    ..base.clone()
                },
            ),
            (
                "admin_invitations.html",
                context! { days => 14, invitations => Vec::<minijinja::Value>::new(), orgs => Vec::<minijinja::Value>::new(), ..base.clone() },
            ),
            (
                "signup.html",
                context! { name => "", email => "new@b.co", action => "/invite/t", min_password => 10, invitation => context! { org => "social.coop" }, ..base.clone() },
            ),
            (
                "signup.html",
                context! { name => "", email => "new@b.co", action => "/invite/t", min_password => 10, invitation => context! { org => () }, ..base.clone() },
            ),
            (
                "signup.html",
                context! { name => "", email => "", action => "", min_password => 10, gone => true, error => "e", ..base.clone() },
            ),
            (
                "signin.html",
                context! { email => "", welcome => "Welcome,\nmembers", site_name => "meet.coop", ..base.clone() },
            ),
            (
                "org.html",
                context! {
                    org => context! { id => 1, name => "x", max_rooms => (), max_participants => () },
                    recordings => context! { used_mb => "1.0", allowed => false, days => 30, quota_mb => 100, may_set => true },
                    members => Vec::<minijinja::Value>::new(), rooms => Vec::<minijinja::Value>::new(), days => 14,
                    invited => context! { email => "new@b.co", link => "http://x/invite/t" },
                    invitations => vec![context! { id => 1, email => "new@b.co", org => "x", role => "member", expires => "2026-12-01 10:00", expired => false }],
                    ..base.clone()
                },
            ),
            (
                "admin_user.html",
                context! {
                    account => context! { name => "Bo", email => "b@b.co", status => "active", is_admin => true, admin_provider => "social.coop" },
                    memberships => Vec::<minijinja::Value>::new(),
                    identities => vec![
                        context! { provider_id => "a", provider => "A", when => "", email => "", verified => false, groups => vec!["/ops"], rules => Vec::<minijinja::Value>::new(), admin_groups => vec!["/ops"], platform_admin => "/ops" },
                        context! { provider_id => "b", provider => "B", when => "", email => "", verified => false, groups => Vec::<String>::new(), rules => Vec::<minijinja::Value>::new(), admin_groups => vec!["/ops", "/board"], platform_admin => () },
                    ],
                    ..base.clone()
                },
            ),
        ];
        for (name, ctx) in pages {
            let html = p
                .env
                .get_template(name)
                .and_then(|t| t.render(ctx))
                .unwrap_or_else(|e| panic!("{name} in {lang} failed to render: {e:#}"));
            assert!(html.contains(&format!("lang=\"{lang}\"")), "{name} {lang}");
            // Nothing but text in the title; every id once.
            let title = &html[html.find("<title>").unwrap()..html.find("</title>").unwrap()];
            assert!(
                !title[7..].contains('<'),
                "{name}: markup in the title: {title}"
            );
            for (at, _) in html.match_indices(" id=\"") {
                let id = &html[at + 5..at + 5 + html[at + 5..].find('"').unwrap()];
                assert_eq!(
                    html.matches(&format!(" id=\"{id}\"")).count(),
                    1,
                    "{name}: id {id} twice"
                );
            }
        }
    }
}
