//! The rooms portal: accounts (sign-up, sign-in, sign-out), "my rooms", and the interface
//! language. Server-rendered pages (minijinja templates in `templates/`, built into the
//! binary), every text through Fluent (`i18n.rs`, `locales/`), every form CSRF-protected.
//! Decisions are the accounts' and meeting services'; this crate shows and asks.

mod account;
mod admin;
pub mod auth;
mod charts;
mod ctx;
pub mod guard;
pub mod i18n;
mod invites;
mod minutes;
mod my_rooms;
mod orgs;
mod pdf;
mod pdf_metrics;
mod people;
mod polls;
mod quality;
mod recordings;
pub mod sharing;
pub mod site;
pub mod sso;
mod status;
#[cfg(test)]
mod tests;
mod tokens;
mod usage;

use account::*;
pub use ctx::session_user;
use ctx::*;
use my_rooms::*;
use people::*;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fluent_bundle::{FluentArgs, FluentValue};
use minijinja::value::Kwargs;
use minijinja::{Environment, State as TplState, context};
use plenary_store::{NewUser, StoreError, User, UserStatus};

use auth::{CSRF_COOKIE, LANG_COOKIE, SESSION_COOKIE};
pub use i18n::I18n;
use plenary_accounts::{mapping, plausible_email};
use plenary_http::PublicUrl;
use plenary_proto::clock::unix_secs;
use plenary_store::Store;

/// What the portal's handlers reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PortalState {
    pub settings: Arc<PortalSettings>,
    pub store: Arc<dyn Store>,
    /// Admission, room creation and the live meetings.
    pub meeting: Arc<plenary_meeting::Service>,
    /// Templates, messages, limiters and identity providers.
    pub portal: Arc<Portal>,
    /// Recordings: rows, files, who may watch.
    pub recordings: Arc<plenary_recordings::Recordings>,
    /// The node's load, runs and recent errors (the operators' view, the status page).
    pub status: Arc<plenary_status::Monitor>,
}

/// The portal's part of the settings.
#[derive(Debug, Clone)]
pub struct PortalSettings {
    pub public: PublicUrl,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The settings file's sign-up policy (the site settings may override it).
    pub signup: SignupPolicy,
}

impl PortalSettings {
    /// The address people reach this server at (see [`PublicUrl::base_url`]).
    pub fn base_url(&self, host: Option<&str>) -> String {
        self.public.base_url(host)
    }
}

pub use plenary_accounts::SignupPolicy;

/// The portal's shared parts.
#[derive(Debug)]
pub struct Portal {
    pub i18n: Arc<I18n>,
    env: Environment<'static>,
    /// Limits on guessing at sign-in and sign-up.
    pub guard: guard::Guard,
    /// Single sign-on providers.
    pub sso: sso::Sso,
    /// Single sign-on starts per client address (each stores a login in progress; generous,
    /// as a whole co-op office may sign in through one address).
    pub sso_starts: auth::RateLimiter,
}

const TEMPLATES: [(&str, &str); 23] = [
    (
        "recordings.html",
        include_str!("../templates/recordings.html"),
    ),
    ("playback.html", include_str!("../templates/playback.html")),
    (
        "admin_tokens.html",
        include_str!("../templates/admin_tokens.html"),
    ),
    ("landing.html", include_str!("../templates/landing.html")),
    (
        "admin_rooms.html",
        include_str!("../templates/admin_rooms.html"),
    ),
    (
        "admin_providers.html",
        include_str!("../templates/admin_providers.html"),
    ),
    (
        "admin_settings.html",
        include_str!("../templates/admin_settings.html"),
    ),
    (
        "admin_invitations.html",
        include_str!("../templates/admin_invitations.html"),
    ),
    (
        "invitations.html",
        include_str!("../templates/invitations.html"),
    ),
    (
        "admin_user.html",
        include_str!("../templates/admin_user.html"),
    ),
    ("org.html", include_str!("../templates/org.html")),
    ("usage.html", include_str!("../templates/usage.html")),
    ("status.html", include_str!("../templates/status.html")),
    ("quality.html", include_str!("../templates/quality.html")),
    ("polls.html", include_str!("../templates/polls.html")),
    ("minutes.html", include_str!("../templates/minutes.html")),
    (
        "admin_status.html",
        include_str!("../templates/admin_status.html"),
    ),
    (
        "admin_orgs.html",
        include_str!("../templates/admin_orgs.html"),
    ),
    (
        "admin_users.html",
        include_str!("../templates/admin_users.html"),
    ),
    ("base.html", include_str!("../templates/base.html")),
    ("signin.html", include_str!("../templates/signin.html")),
    ("signup.html", include_str!("../templates/signup.html")),
    ("rooms.html", include_str!("../templates/rooms.html")),
];

impl Portal {
    /// `device_key` signs the device cookies of sign-in's limits (keep it across restarts).
    pub fn new(
        providers: Vec<plenary_accounts::SsoProvider>,
        device_key: [u8; 32],
    ) -> Result<Self, String> {
        let i18n = Arc::new(I18n::load()?);
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source).map_err(|e| e.to_string())?;
        }
        let strings = i18n.clone();
        // `t("key", name=…)`: a missing message is an error, so a page with one fails to
        // render (and the tests that render every page in every language fail).
        env.add_function(
            "t",
            move |state: &TplState,
                  key: &str,
                  kwargs: Kwargs|
                  -> Result<String, minijinja::Error> {
                let lang = state
                    .lookup("lang")
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| i18n::LANGS[0].to_owned());
                let mut args = FluentArgs::new();
                for name in kwargs.args() {
                    let v: minijinja::Value = kwargs.get(name)?;
                    let fv = match v.as_i64() {
                        Some(n) => FluentValue::from(n),
                        None => FluentValue::from(v.to_string()),
                    };
                    args.set(name.to_owned(), fv);
                }
                strings.message(&lang, key, Some(&args)).map_err(|e| {
                    minijinja::Error::new(minijinja::ErrorKind::UndefinedError, e.to_string())
                })
            },
        );
        Ok(Self {
            i18n,
            env,
            guard: guard::Guard::new(device_key),
            sso: sso::Sso::new(providers),
            sso_starts: auth::RateLimiter::new(Duration::from_secs(10 * 60), 300),
        })
    }

    /// Renders a page; a template error is logged (the answer is a plain 500).
    fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, RenderFailed> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| {
                tracing::error!(template = name, error = %e, "page failed to render");
                RenderFailed
            })
    }
}

/// A page that could not be rendered (logged where it happened).
#[derive(Debug)]
struct RenderFailed;

impl IntoResponse for RenderFailed {
    fn into_response(self) -> Response {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "This page could not be shown.",
        )
            .into_response()
    }
}

pub fn router() -> Router<PortalState> {
    Router::new()
        .route("/", get(landing))
        .route("/signin", get(signin_page).post(signin))
        .route("/auth/sso/{id}", get(sso::start))
        .route("/auth/sso/{id}/callback", get(sso::callback))
        .route("/signup", get(signup_page).post(signup))
        .route("/signout", axum::routing::post(signout))
        .route("/rooms", get(rooms_page).post(create_room))
        .route("/rooms/{id}/settings", axum::routing::post(room_settings))
        .route("/lang/{code}", get(set_lang))
        .route("/i18n/messages.json", get(client_messages))
        .route("/admin/users", get(admin_users))
        .route("/admin/orgs", get(admin_orgs).post(create_org))
        .route("/admin/orgs/members", axum::routing::post(add_org_member))
        .route(
            "/admin/users/{id}",
            get(admin_user_page).post(admin_user_action),
        )
        .merge(orgs::router())
        .merge(sharing::router())
        .merge(admin::router())
        .merge(invites::router())
        .merge(tokens::router())
        .merge(usage::router())
        .merge(status::router())
        .merge(quality::router())
        .merge(polls::router())
        .merge(minutes::router())
        .merge(recordings::router())
}
