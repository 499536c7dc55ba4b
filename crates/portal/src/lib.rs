//! The rooms portal: accounts (sign-up, sign-in, sign-out), "my rooms", and the interface
//! language. Server-rendered pages (minijinja templates in `templates/`, built into the
//! binary), every text through Fluent (`i18n.rs`, `locales/`), every form CSRF-protected.
//! Decisions are the accounts' and meeting services'; this crate shows and asks.

mod admin;
pub mod auth;
pub mod i18n;
mod invites;
mod orgs;
pub mod sharing;
pub mod site;
pub mod sso;

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
    /// Failed sign-ins per account.
    per_account: auth::RateLimiter,
    /// Access code attempts per room.
    pub code_attempts: auth::RateLimiter,
    /// Single sign-on providers.
    pub sso: sso::Sso,
    /// Single sign-on starts per client address (each stores a login in progress; generous,
    /// as a whole co-op office may sign in through one address).
    pub sso_starts: auth::RateLimiter,
}

const TEMPLATES: [(&str, &str); 14] = [
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
    pub fn new(providers: Vec<plenary_accounts::SsoProvider>) -> Result<Self, String> {
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
            per_account: auth::RateLimiter::new(Duration::from_secs(15 * 60), 10),
            code_attempts: auth::RateLimiter::new(Duration::from_secs(15 * 60), 20),
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
}

/// What every page needs to know about the request.
struct Ctx {
    lang: &'static str,
    /// The site settings in effect.
    site: site::Site,
    user: Option<User>,
    /// The token this request's forms carry: the session's when signed in, else the
    /// anonymous CSRF cookie's (set when missing).
    csrf: String,
    new_csrf_cookie: bool,
    secure: bool,
}

impl axum::extract::FromRequestParts<PortalState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &PortalState,
    ) -> Result<Self, Response> {
        Self::of(app, &parts.headers).await
    }
}

impl Ctx {
    async fn of(app: &PortalState, headers: &HeaderMap) -> Result<Self, Response> {
        let site = site::Site::load(app).await.map_err(unavailable)?;
        let lang = request_lang(headers, site.default_lang);
        let secure = app.settings.public.secure();
        let (user, csrf) = match session_of(app, headers).await {
            Ok(Some((u, c))) => (Some(u), Some(c)),
            Ok(None) => (None, None),
            Err(e) => return Err(unavailable(e)),
        };
        let (csrf, new_csrf_cookie) = match csrf {
            Some(c) => (c, false),
            None => match auth::cookie(headers, CSRF_COOKIE) {
                Some(c) if c.len() >= 32 => (c.to_owned(), false),
                _ => (auth::random_token(), true),
            },
        };
        Ok(Self {
            lang,
            site,
            user,
            csrf,
            new_csrf_cookie,
            secure,
        })
    }

    fn t(&self, portal: &Portal, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        portal.i18n.t(self.lang, key, args)
    }

    fn base(&self, path: &str) -> minijinja::Value {
        let langs: Vec<minijinja::Value> = i18n::LANGS
            .iter()
            .map(|&code| context! { code, name => code_name(code) })
            .collect();
        context! {
            lang => self.lang,
            langs,
            user => self.user.as_ref().map(|u| context! { name => u.name, email => u.email, is_admin => u.is_admin }),
            csrf => self.csrf,
            path,
            site_name => self.site.name,
        }
    }

    /// Renders `template` with `c` as a page with `status`.
    fn show(
        &self,
        app: &PortalState,
        template: &str,
        status: StatusCode,
        c: minijinja::Value,
    ) -> Response {
        match app.portal.render(template, c) {
            Ok(html) => self.page(status, html),
            Err(e) => e.into_response(),
        }
    }

    /// An HTML page, with the anonymous CSRF cookie if it was just made.
    fn page(&self, status: StatusCode, html: String) -> Response {
        let mut r = (status, axum::response::Html(html)).into_response();
        if self.new_csrf_cookie {
            add_cookie(
                &mut r,
                &auth::set_cookie(CSRF_COOKIE, &self.csrf, 24 * 3600, self.secure),
            );
        }
        r
    }

    /// The plain refusal of a form without this request's CSRF token.
    fn csrf_refused(&self, portal: &Portal) -> Response {
        (StatusCode::FORBIDDEN, self.t(portal, "error-csrf", None)).into_response()
    }

    /// "Too many attempts: wait N minutes", for a rate limiter's `wait`.
    fn too_many(&self, portal: &Portal, wait: Duration) -> String {
        let mut a = FluentArgs::new();
        a.set("minutes", wait.as_secs().div_ceil(60).max(1) as i64);
        self.t(portal, "error-too-many", Some(&a))
    }

    /// Whether a submitted form carries this request's CSRF token.
    fn csrf_ok(&self, form: &Form) -> bool {
        !self.new_csrf_cookie && auth::same_token(&self.csrf, form.get("csrf"))
    }
}

/// The language a request asks for (the language cookie, then Accept-Language).
fn request_lang(headers: &HeaderMap, fallback: &'static str) -> &'static str {
    i18n::negotiate(
        auth::cookie(headers, LANG_COOKIE),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
        fallback,
    )
}

fn code_name(code: &str) -> &'static str {
    match code {
        "fr" => "Français",
        "de" => "Deutsch",
        "es" => "Español",
        _ => "English",
    }
}

fn add_cookie(r: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn unavailable(e: StoreError) -> Response {
    tracing::error!(error = %e, "portal storage failure");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "The server cannot read its database right now.",
    )
        .into_response()
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A submitted `application/x-www-form-urlencoded` body.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &Bytes) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// The front page: members go to their rooms; a visitor learns how to get into a meeting they
/// were invited to, and where to sign in (and, on an open instance, may make a quick room).
async fn landing(State(app): State<PortalState>, ctx: Ctx) -> Response {
    if ctx.user.is_some() {
        return redirect("/rooms");
    }
    let anyone_creates =
        app.meeting.settings.room_creation == plenary_meeting::RoomCreation::Anyone;
    let c = context! {
        welcome => ctx.site.welcome,
        signup_open => ctx.site.signup != SignupPolicy::Invite,
        anyone_creates,
        ..ctx.base("/")
    };
    ctx.show(&app, "landing.html", StatusCode::OK, c)
}

async fn signin_page(State(app): State<PortalState>, ctx: Ctx) -> Response {
    if ctx.user.is_some() {
        return redirect("/rooms");
    }
    show_signin(&app, &ctx, StatusCode::OK, "", None, None)
}

fn show_signin(
    app: &PortalState,
    ctx: &Ctx,
    status: StatusCode,
    email: &str,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let providers: Vec<minijinja::Value> = app
        .portal
        .sso
        .buttons()
        .into_iter()
        .map(|(id, name)| context! { id, name })
        .collect();
    let mut c = ctx.base("/signin");
    let welcome = &ctx.site.welcome;
    c = context! { email, error, notice, providers, welcome, ..c };
    ctx.show(app, "signin.html", status, c)
}

async fn signin(State(app): State<PortalState>, ctx: Ctx, body: Bytes) -> Response {
    let p = &app.portal;
    let form = Form::parse(&body);
    let email = form.get("email").trim().to_lowercase();
    if !ctx.csrf_ok(&form) {
        let e = ctx.t(p, "error-csrf", None);
        return show_signin(&app, &ctx, StatusCode::FORBIDDEN, &email, Some(e), None);
    }
    if let Err(wait) = p.per_account.check(&email, Instant::now()) {
        let e = ctx.too_many(p, wait);
        return show_signin(
            &app,
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            &email,
            Some(e),
            None,
        );
    }
    let user = match app.store.user_by_email(&email).await {
        Ok(u) => u,
        Err(e) => return unavailable(e),
    };
    let password = form.get("password").to_owned();
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    // argon2 takes tens of milliseconds: off the async threads.
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, hash.as_deref()))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        // The same answer whether the account exists or not.
        let e = ctx.t(p, "error-credentials", None);
        return show_signin(&app, &ctx, StatusCode::UNAUTHORIZED, &email, Some(e), None);
    };
    match user.status {
        UserStatus::Active => {}
        UserStatus::Pending => {
            let e = ctx.t(p, "error-pending", None);
            return show_signin(&app, &ctx, StatusCode::FORBIDDEN, &email, Some(e), None);
        }
        UserStatus::Disabled => {
            let e = ctx.t(p, "error-disabled", None);
            return show_signin(&app, &ctx, StatusCode::FORBIDDEN, &email, Some(e), None);
        }
    }
    p.per_account.clear(&email);
    start_session(&app, &ctx, &user, "/rooms").await
}

/// A fresh session (a new secret at every sign-in, so a planted cookie is never promoted:
/// no session fixation) and a redirect.
async fn start_session(app: &PortalState, ctx: &Ctx, user: &User, to: &str) -> Response {
    let secret = auth::random_token();
    let expires = unix_secs() + auth::SESSION_DAYS * 86_400;
    if let Err(e) = app
        .store
        .create_session(
            &auth::session_hash(&secret),
            user.id,
            &auth::random_token(),
            expires,
        )
        .await
    {
        return unavailable(e);
    }
    tracing::info!(user = user.id, "signed in");
    let mut r = redirect(to);
    add_cookie(
        &mut r,
        &auth::set_cookie(
            SESSION_COOKIE,
            &secret,
            auth::SESSION_DAYS * 86_400,
            ctx.secure,
        ),
    );
    r
}

async fn signup_page(State(app): State<PortalState>, ctx: Ctx) -> Response {
    show_signup(&app, &ctx, StatusCode::OK, "", "", None)
}

fn show_signup(
    app: &PortalState,
    ctx: &Ctx,
    status: StatusCode,
    name: &str,
    email: &str,
    error: Option<String>,
) -> Response {
    let p = &app.portal;
    let error = error.or_else(|| {
        (ctx.site.signup == SignupPolicy::Invite).then(|| ctx.t(p, "error-sign-up-closed", None))
    });
    let mut c = ctx.base("/signup");
    c = context! { name, email, error, min_password => auth::MIN_PASSWORD, action => "/signup", ..c };
    ctx.show(app, "signup.html", status, c)
}

/// What is wrong with a new account's name or password, translated (`None`: nothing).
fn new_account_error(ctx: &Ctx, p: &Portal, name: &str, password: &str) -> Option<String> {
    if plenary_meeting::names::clean_display_name(name).is_err() {
        return Some(ctx.t(p, "error-name", None));
    }
    if password.chars().count() < auth::MIN_PASSWORD {
        let mut a = FluentArgs::new();
        a.set("min", auth::MIN_PASSWORD as i64);
        return Some(ctx.t(p, "error-password-short", Some(&a)));
    }
    None
}

/// argon2id off the async threads; `None` if hashing failed (logged).
async fn hash_off_thread(password: String) -> Option<String> {
    match tokio::task::spawn_blocking(move || auth::hash_password(&password)).await {
        Ok(Ok(h)) => Some(h),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "password hashing failed");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "password hashing task failed");
            None
        }
    }
}

async fn signup(State(app): State<PortalState>, ctx: Ctx, body: Bytes) -> Response {
    let p = &app.portal;
    let form = Form::parse(&body);
    let name = form.get("name").trim().to_owned();
    let email = form.get("email").trim().to_lowercase();
    let password = form.get("password").to_owned();
    let refuse = |status, key: &str, args: Option<&FluentArgs<'_>>| {
        let e = ctx.t(p, key, args);
        show_signup(&app, &ctx, status, &name, &email, Some(e))
    };
    if !ctx.csrf_ok(&form) {
        return refuse(StatusCode::FORBIDDEN, "error-csrf", None);
    }
    if ctx.site.signup == SignupPolicy::Invite {
        return refuse(StatusCode::FORBIDDEN, "error-sign-up-closed", None);
    }
    if !plausible_email(&email) {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "error-email", None);
    }
    if let Some(e) = new_account_error(&ctx, p, &name, &password) {
        return show_signup(
            &app,
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            &name,
            &email,
            Some(e),
        );
    }
    let Some(hash) = hash_off_thread(password).await else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Could not store the password.",
        )
            .into_response();
    };
    let status = match ctx.site.signup {
        SignupPolicy::Open => UserStatus::Active,
        _ => UserStatus::Pending,
    };
    let new = NewUser {
        email: email.clone(),
        name: name.clone(),
        password_hash: Some(hash),
        is_admin: false,
        status,
        created_at: unix_secs(),
    };
    let user = match app.store.create_user(&new).await {
        Ok(u) => u,
        Err(StoreError::Conflict(_)) => {
            return refuse(StatusCode::CONFLICT, "error-email-taken", None);
        }
        Err(e) => return unavailable(e),
    };
    tracing::info!(user = user.id, ?status, "account created");
    if status == UserStatus::Active {
        return start_session(&app, &ctx, &user, "/rooms").await;
    }
    let notice = ctx.t(p, "notice-pending", None);
    show_signin(&app, &ctx, StatusCode::OK, &email, None, Some(notice))
}

async fn signout(
    State(app): State<PortalState>,
    headers: HeaderMap,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    if ctx.user.is_some() && !ctx.csrf_ok(&form) {
        return ctx.csrf_refused(&app.portal);
    }
    if let Some(secret) = auth::cookie(&headers, SESSION_COOKIE)
        && let Err(e) = app.store.delete_session(&auth::session_hash(secret)).await
    {
        return unavailable(e);
    }
    let mut r = redirect("/signin");
    add_cookie(&mut r, &auth::set_cookie(SESSION_COOKIE, "", 0, ctx.secure));
    r
}

async fn rooms_page(State(app): State<PortalState>, headers: HeaderMap, ctx: Ctx) -> Response {
    show_rooms(&app, &ctx, &headers, StatusCode::OK, None).await
}

async fn show_rooms(
    app: &PortalState,
    ctx: &Ctx,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    show_rooms_with(app, ctx, headers, status, error, None).await
}

async fn show_rooms_with(
    app: &PortalState,
    ctx: &Ctx,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let Some(user) = &ctx.user else {
        return redirect("/signin");
    };
    let (owned, shared) = match (
        app.store.rooms_of(user.id).await,
        app.store.rooms_shared_with(user.id).await,
    ) {
        (Ok(o), Ok(s)) => (o, s),
        (Err(e), _) | (_, Err(e)) => return unavailable(e),
    };
    let mut rooms = Vec::with_capacity(owned.len());
    for r in &owned {
        let co_owners = match app.store.co_owners(&r.id).await {
            Ok(c) => c,
            Err(e) => return unavailable(e),
        };
        let co_owners: Vec<minijinja::Value> = co_owners
            .iter()
            .map(|u| context! { id => u.id, name => u.name, email => u.email })
            .collect();
        rooms.push(room_view(r, Some(co_owners)));
    }
    let shared: Vec<minijinja::Value> = shared.iter().map(|r| room_view(r, None)).collect();
    let base = app
        .settings
        .base_url(headers.get(header::HOST).and_then(|h| h.to_str().ok()));
    let memberships = match app.store.orgs_of(user.id).await {
        Ok(ms) => ms,
        Err(e) => return unavailable(e),
    };
    let memberships: Vec<minijinja::Value> = memberships
        .iter()
        .map(|m| {
            context! {
                org => m.org.name, org_id => m.org.id,
                role => orgs::role(m.is_admin),
                manage => m.is_admin || user.is_admin,
            }
        })
        .collect();
    let requests = match app.store.membership_requests(None, Some(user.id)).await {
        Ok(r) => r,
        Err(e) => return unavailable(e),
    };
    let requests: Vec<minijinja::Value> = requests
        .iter()
        .map(|r| context! { org => r.org.name, org_id => r.org.id, role => orgs::role(r.is_admin), by => r.invited_by })
        .collect();
    let mut c = ctx.base("/rooms");
    c = context! { rooms, shared, base, error, notice, memberships, requests, ..c };
    ctx.show(app, "rooms.html", status, c)
}

/// A room for the rooms page; `co_owners` only for the owner's own rooms.
fn room_view(
    r: &plenary_store::Room,
    co_owners: Option<Vec<minijinja::Value>>,
) -> minijinja::Value {
    let s = plenary_meeting::room_settings::RoomSettings::parse(&r.settings);
    context! {
        id => r.id.as_str(), name => r.name, waiting_room => s.waiting_room,
        mute_on_join => s.mute_on_join, anyone_may_start => s.anyone_may_start,
        guests_allowed => s.guests_allowed, recording_allowed => s.recording_allowed,
        viewer_code => s.viewer_code.unwrap_or_default(),
        moderator_code => s.moderator_code.unwrap_or_default(),
        co_owners,
    }
}

async fn create_room(
    State(app): State<PortalState>,
    headers: HeaderMap,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let Some(user) = &ctx.user else {
        return redirect("/signin");
    };
    let form = Form::parse(&body);
    if !ctx.csrf_ok(&form) {
        let e = ctx.t(&app.portal, "error-csrf", None);
        return show_rooms(&app, &ctx, &headers, StatusCode::FORBIDDEN, Some(e)).await;
    }
    let name = form.get("name");
    match app
        .meeting
        .create_room(name, plenary_meeting::Creator::Account(user.clone()))
        .await
    {
        Ok(_) => redirect("/rooms"),
        Err(plenary_meeting::CreateRefusal::RoomLimit { max }) => {
            let mut a = FluentArgs::new();
            a.set("n", max);
            let e = ctx.t(&app.portal, "error-room-limit", Some(&a));
            show_rooms(&app, &ctx, &headers, StatusCode::FORBIDDEN, Some(e)).await
        }
        Err(plenary_meeting::CreateRefusal::BadName(_)) => {
            let e = ctx.t(&app.portal, "error-room-name", None);
            show_rooms(
                &app,
                &ctx,
                &headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e),
            )
            .await
        }
        Err(plenary_meeting::CreateRefusal::SignInRequired) => redirect("/signin"),
        Err(plenary_meeting::CreateRefusal::Unavailable(e)) => unavailable(e),
    }
}

/// The meeting client's texts in the request's language.
async fn client_messages(State(app): State<PortalState>, headers: HeaderMap) -> Response {
    // The meeting works on without the database: the built-in default language then.
    let fallback = site::Site::load(&app)
        .await
        .map_or(i18n::LANGS[0], |s| s.default_lang);
    let lang = request_lang(&headers, fallback);
    let body =
        serde_json::json!({ "lang": lang, "messages": &app.portal.i18n.client_messages(lang) });
    let mut r = axum::Json(body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// The owner or a co-owner changes a room's settings.
async fn room_settings(
    State(app): State<PortalState>,
    headers: HeaderMap,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = &app.portal;
    let form = Form::parse(&body);
    let room = match sharing::room_to_change(
        &app,
        &ctx,
        &headers,
        &id,
        &form,
        sharing::Changer::OwnerOrCoOwner,
    )
    .await
    {
        Ok(r) => r,
        Err(r) => return r,
    };
    let code = |name: &str| Some(form.get(name).trim().to_owned()).filter(|c| !c.is_empty());
    let settings = plenary_meeting::room_settings::RoomSettings {
        waiting_room: form.get("waiting_room") == "on",
        mute_on_join: form.get("mute_on_join") == "on",
        viewer_code: code("viewer_code"),
        moderator_code: code("moderator_code"),
        anyone_may_start: form.get("anyone_may_start") == "on",
        guests_allowed: form.get("guests_allowed") == "on",
        recording_allowed: form.get("recording_allowed") == "on",
        // Only the room's own owners change this form; an integration's rules stay.
        integration: plenary_meeting::RoomSettings::parse(&room.settings).integration,
    };
    let bad_code = [&settings.viewer_code, &settings.moderator_code]
        .into_iter()
        .flatten()
        .any(|c| !(4..=64).contains(&c.chars().count()));
    if bad_code {
        let e = ctx.t(p, "error-code-length", None);
        return show_rooms(
            &app,
            &ctx,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(e),
        )
        .await;
    }
    if let Err(e) = app
        .store
        .set_room_settings(&room.id, &settings.to_json())
        .await
    {
        return unavailable(e);
    }
    let notice = ctx.t(p, "notice-saved", None);
    show_rooms_with(&app, &ctx, &headers, StatusCode::OK, None, Some(notice)).await
}

#[derive(Debug, Default, serde::Deserialize)]
struct Search {
    q: Option<String>,
}

async fn admin_users(
    State(app): State<PortalState>,
    ctx: Ctx,
    Query(q): Query<Search>,
) -> Response {
    show_admin_users(
        &app,
        &ctx,
        StatusCode::OK,
        q.q.unwrap_or_default().trim(),
        None,
    )
    .await
}

async fn show_admin_users(
    app: &PortalState,
    ctx: &Ctx,
    status: StatusCode,
    q: &str,
    error: Option<String>,
) -> Response {
    let Some(me) = &ctx.user else {
        return redirect("/signin");
    };
    if !me.is_admin {
        return (
            StatusCode::FORBIDDEN,
            ctx.t(&app.portal, "error-forbidden", None),
        )
            .into_response();
    }
    let users = match app.store.search_users(q, 200).await {
        Ok(u) => u,
        Err(e) => return unavailable(e),
    };
    let users: Vec<minijinja::Value> = users
        .iter()
        .map(|u| context! { id => u.id, name => u.name, email => u.email, status => u.status.as_str(), is_admin => u.is_admin })
        .collect();
    let c = context! { users, q, error, ..ctx.base("/admin/users") };
    ctx.show(app, "admin_users.html", status, c)
}

/// One account for a platform admin: its organisations (and where each membership comes
/// from) and, for each identity provider it signed in through, what the last sign-in said and
/// every mapping rule's outcome: why the account has its roles.
async fn admin_user_page(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Response {
    if let Some(r) = admin_only(&app, &ctx) {
        return r;
    }
    let user = match app.store.user_by_id(id).await {
        Ok(Some(u)) => u,
        Ok(None) => return (StatusCode::NOT_FOUND, "No such account.").into_response(),
        Err(e) => return unavailable(e),
    };
    let (memberships, identities) = match (
        app.store.orgs_of(id).await,
        app.store.identities_of(id).await,
    ) {
        (Ok(m), Ok(i)) => (m, i),
        (Err(e), _) | (_, Err(e)) => return unavailable(e),
    };
    let memberships: Vec<minijinja::Value> = memberships
        .iter()
        .map(|m| {
            context! {
                org => m.org.name, org_id => m.org.id,
                role => orgs::role(m.is_admin),
                provider => orgs::provider_name(&app, &m.source),
                accepted => m.source == plenary_store::SOURCE_ACCEPTED,
            }
        })
        .collect();
    let identities: Vec<minijinja::Value> = identities
        .iter()
        .map(|i| {
            let e = sso::explanation_of(i);
            let rules: Vec<minijinja::Value> = e
                .as_ref()
                .map(|e| {
                    e.rules
                        .iter()
                        .map(|r| {
                            context! {
                                condition => r.condition, org => r.org,
                                role => orgs::role(r.role == plenary_accounts::OrgRole::Admin),
                                applied => r.applied,
                                reason => serde_json::to_value(r.reason).ok().and_then(|v| v.as_str().map(str::to_owned)),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            let admin_groups = app
                .portal
                .sso
                .provider(&i.provider)
                .map(|p| p.admin_groups.clone())
                .unwrap_or_default();
            let platform_admin = e.as_ref().and_then(|e| e.platform_admin.clone());
            let seen = e.map(|e| e.seen).unwrap_or_default();
            context! {
                admin_groups, platform_admin,
                provider_id => i.provider,
                provider => orgs::provider_name(&app, &sso::source_of(&i.provider)),
                when => utc_minutes(i.last_signin_at),
                email => seen.email.unwrap_or_default(),
                verified => seen.email_verified,
                groups => seen.groups,
                rules,
            }
        })
        .collect();
    let admin_source = match app.store.admin_source(id).await {
        Ok(s) => s.and_then(|s| orgs::provider_name(&app, &s)),
        Err(e) => return unavailable(e),
    };
    let account = context! {
        name => user.name, email => user.email, status => user.status.as_str(), is_admin => user.is_admin,
        admin_provider => admin_source,
    };
    let c = context! { account, memberships, identities, ..ctx.base("/admin/users") };
    ctx.show(&app, "admin_user.html", StatusCode::OK, c)
}

/// `2026-11-22 14:05` for seconds since the epoch.
fn utc_minutes(secs: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(fmt).ok())
        .unwrap_or_default()
}

/// Approve, disable, enable, make or remove admin. An admin cannot lock themselves out.
async fn admin_user_action(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let q = form.get("q").to_owned();
    let Some(me) = ctx.user.clone() else {
        return redirect("/signin");
    };
    if !me.is_admin {
        return (
            StatusCode::FORBIDDEN,
            ctx.t(&app.portal, "error-forbidden", None),
        )
            .into_response();
    }
    if !ctx.csrf_ok(&form) {
        let e = ctx.t(&app.portal, "error-csrf", None);
        return show_admin_users(&app, &ctx, StatusCode::FORBIDDEN, &q, Some(e)).await;
    }
    let target = match app.store.user_by_id(id).await {
        Ok(Some(u)) => u,
        Ok(None) => return (StatusCode::NOT_FOUND, "No such account.").into_response(),
        Err(e) => return unavailable(e),
    };
    let (status, is_admin) = match form.get("action") {
        "approve" | "enable" => (UserStatus::Active, target.is_admin),
        "disable" => (UserStatus::Disabled, target.is_admin),
        "make-admin" => (target.status, true),
        "remove-admin" => (target.status, false),
        _ => return (StatusCode::BAD_REQUEST, "Unknown action.").into_response(),
    };
    if target.id == me.id && (status != UserStatus::Active || !is_admin) {
        let e = ctx.t(&app.portal, "error-self", None);
        return show_admin_users(&app, &ctx, StatusCode::CONFLICT, &q, Some(e)).await;
    }
    if let Err(e) = app.store.update_user(id, status, is_admin).await {
        return unavailable(e);
    }
    tracing::info!(
        admin = me.id,
        user = id,
        ?status,
        is_admin,
        "account changed"
    );
    let back = format!(
        "/admin/users?q={}",
        form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
    );
    redirect(&back)
}

#[derive(Debug, serde::Deserialize)]
struct Next {
    next: Option<String>,
}

/// Remembers the chosen language and goes back (only to a path on this site).
async fn set_lang(
    State(app): State<PortalState>,
    Path(code): Path<String>,
    Query(q): Query<Next>,
) -> Response {
    let to = q
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/rooms".into());
    let mut r = redirect(&to);
    if let Some(lang) = i18n::known(&code) {
        let secure = app.settings.public.secure();
        add_cookie(
            &mut r,
            &auth::set_cookie(LANG_COOKIE, lang, 365 * 86_400, secure),
        );
    }
    r
}

/// The active account a request's session cookie signs in, with the session's CSRF token.
async fn session_of(
    app: &PortalState,
    headers: &HeaderMap,
) -> Result<Option<(User, String)>, StoreError> {
    session_in(&*app.store, headers).await
}

async fn session_in(
    store: &dyn Store,
    headers: &HeaderMap,
) -> Result<Option<(User, String)>, StoreError> {
    let Some(secret) = auth::cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(store
        .session(&auth::session_hash(secret), unix_secs())
        .await?
        .filter(|(u, _)| u.status == UserStatus::Active))
}

/// The signed-in account of a request, if any (for the JSON API's join); a database error
/// counts as signed out.
pub async fn session_user(store: &dyn Store, headers: &HeaderMap) -> Option<User> {
    session_in(store, headers)
        .await
        .ok()
        .flatten()
        .map(|(u, _)| u)
}

async fn admin_orgs(State(app): State<PortalState>, ctx: Ctx) -> Response {
    show_orgs(&app, &ctx, StatusCode::OK, None).await
}

/// The admin's check for the organisation pages: a response when the request may not pass.
fn admin_only(app: &PortalState, ctx: &Ctx) -> Option<Response> {
    match &ctx.user {
        None => Some(redirect("/signin")),
        Some(u) if !u.is_admin => Some(
            (
                StatusCode::FORBIDDEN,
                ctx.t(&app.portal, "error-forbidden", None),
            )
                .into_response(),
        ),
        Some(_) => None,
    }
}

async fn show_orgs(
    app: &PortalState,
    ctx: &Ctx,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    if let Some(r) = admin_only(app, ctx) {
        return r;
    }
    let orgs = match app.store.list_orgs().await {
        Ok(o) => o,
        Err(e) => return unavailable(e),
    };
    let orgs: Vec<minijinja::Value> = orgs
        .iter()
        .map(|o| context! { id => o.id, name => o.name, max_rooms => o.max_rooms_per_member, max_participants => o.max_participants, max_minutes => o.max_meeting_minutes })
        .collect();
    let c = context! { orgs, error, ..ctx.base("/admin/orgs") };
    ctx.show(app, "admin_orgs.html", status, c)
}

/// A limit field: empty means none; otherwise a whole number ≥ 1.
fn limit_field(v: &str) -> Result<Option<i64>, ()> {
    match v.trim() {
        "" => Ok(None),
        n => n
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .map(Some)
            .ok_or(()),
    }
}

async fn create_org(State(app): State<PortalState>, ctx: Ctx, body: Bytes) -> Response {
    if let Some(r) = admin_only(&app, &ctx) {
        return r;
    }
    let p = &app.portal;
    let form = Form::parse(&body);
    let fail = |status, key: &str| {
        let e = ctx.t(p, key, None);
        show_orgs(&app, &ctx, status, Some(e))
    };
    if !ctx.csrf_ok(&form) {
        return fail(StatusCode::FORBIDDEN, "error-csrf").await;
    }
    let name: String = form.get("name").trim().chars().take(100).collect();
    if name.is_empty() {
        return fail(StatusCode::UNPROCESSABLE_ENTITY, "error-org-name").await;
    }
    let (Ok(max_rooms), Ok(max_participants), Ok(max_minutes)) = (
        limit_field(form.get("max_rooms")),
        limit_field(form.get("max_participants")),
        limit_field(form.get("max_minutes")),
    ) else {
        return fail(StatusCode::UNPROCESSABLE_ENTITY, "error-limit-number").await;
    };
    let new = plenary_store::NewOrganisation {
        name,
        max_rooms_per_member: max_rooms,
        max_participants,
        max_meeting_minutes: max_minutes,
        created_at: unix_secs(),
    };
    match app.store.create_org(&new).await {
        Ok(_) => redirect("/admin/orgs"),
        Err(StoreError::Conflict(_)) => fail(StatusCode::CONFLICT, "error-org-taken").await,
        Err(e) => unavailable(e),
    }
}

async fn add_org_member(State(app): State<PortalState>, ctx: Ctx, body: Bytes) -> Response {
    if let Some(r) = admin_only(&app, &ctx) {
        return r;
    }
    let p = &app.portal;
    let form = Form::parse(&body);
    if !ctx.csrf_ok(&form) {
        let e = ctx.t(p, "error-csrf", None);
        return show_orgs(&app, &ctx, StatusCode::FORBIDDEN, Some(e)).await;
    }
    let Ok(org) = form.get("org").parse::<i64>() else {
        return (StatusCode::BAD_REQUEST, "Unknown organisation.").into_response();
    };
    let user = match app
        .store
        .user_by_email(&form.get("email").trim().to_lowercase())
        .await
    {
        Ok(Some(u)) => u,
        Ok(None) => {
            let e = ctx.t(p, "error-no-such-user", None);
            return show_orgs(&app, &ctx, StatusCode::UNPROCESSABLE_ENTITY, Some(e)).await;
        }
        Err(e) => return unavailable(e),
    };
    match app
        .store
        .set_org_member(org, user.id, form.get("org_admin") == "on")
        .await
    {
        Ok(()) => redirect("/admin/orgs"),
        // A foreign-key failure: the organisation does not exist.
        Err(StoreError::Database(_)) => {
            (StatusCode::BAD_REQUEST, "Unknown organisation.").into_response()
        }
        Err(e) => unavailable(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_renders_in_every_language() {
        let p = Portal::new(Vec::new()).unwrap();
        for lang in i18n::LANGS {
            let base = context! {
                lang, langs => Vec::<minijinja::Value>::new(), csrf => "x", path => "/",
                user => context! { name => "Ada", email => "ada@example.coop", is_admin => true },
            };
            let pages = [
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
                    context! { rooms => vec![context! { id => "abc-defg-hij", name => "R", waiting_room => true, mute_on_join => false, anyone_may_start => true, guests_allowed => false, recording_allowed => true, viewer_code => "1234", moderator_code => "" }], base => "http://x", error => "e", notice => "n", ..base.clone() },
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
}
