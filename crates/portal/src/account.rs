//! The front page and accounts: sign-in (with limits that keep a stranger from locking a member
//! out), sign-up (limited per address, telling nobody which addresses have accounts),
//! sign-out, sessions, and the interface language.

#[allow(unused_imports)]
use super::*;

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;

/// The front page: members go to their rooms; a visitor learns how to get into a meeting they
/// were invited to, and where to sign in (and, on an open instance, may make a quick room).
pub(crate) async fn landing(State(app): State<PortalState>, ctx: Ctx) -> Response {
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

pub(crate) async fn signin_page(State(app): State<PortalState>, ctx: Ctx) -> Response {
    if ctx.user.is_some() {
        return redirect("/rooms");
    }
    show_signin(&app, &ctx, StatusCode::OK, "", None, None)
}

pub(crate) fn show_signin(
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

/// The address a request comes from (behind trusted proxies, the one they forward).
pub(crate) fn client_of(app: &PortalState, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    plenary_http::client_addr::of_request(peer, headers, &app.settings.trusted_proxies)
}

pub(crate) async fn signin(
    State(app): State<PortalState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let p = &app.portal;
    let form = Form::parse(&body);
    let email = form.get("email").trim().to_lowercase();
    if !ctx.csrf_ok(&form) {
        let e = ctx.t(p, "error-csrf", None);
        return show_signin(&app, &ctx, StatusCode::FORBIDDEN, &email, Some(e), None);
    }
    let client = client_of(&app, peer, &headers);
    let now = Instant::now();
    let device = auth::cookie(&headers, guard::DEVICE_COOKIE);
    // Keyed by the address typed, account or not: the limits tell nobody which exist.
    let bucket = match p.guard.reserve(&email, device, client, now) {
        Ok(b) => b,
        Err(wait) => {
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
    };
    let user = match app.store.user_by_email(&email).await {
        Ok(u) => u,
        Err(e) => {
            p.guard.refund(&bucket, client);
            return unavailable(e);
        }
    };
    let password = form.get("password").to_owned();
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    // argon2 takes tens of milliseconds: off the async threads.
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, hash.as_deref()))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        // (The failure was counted when the attempt was reserved.)
        // The same answer whether the account exists or not.
        let e = ctx.t(p, "error-credentials", None);
        return show_signin(&app, &ctx, StatusCode::UNAUTHORIZED, &email, Some(e), None);
    };
    // The right password: not a guess, whatever the account's status.
    p.guard.succeeded(&bucket, &email, client);
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
    let mut r = start_session(&app, &ctx, &user, "/rooms").await;
    // This browser is known to the account from now on: a stranger's failures do not lock it.
    add_cookie(
        &mut r,
        &auth::set_cookie(
            guard::DEVICE_COOKIE,
            &p.guard.device_cookie(&email),
            guard::DEVICE_DAYS * 86_400,
            ctx.secure,
        ),
    );
    r
}

/// A fresh session (a new secret at every sign-in, so a planted cookie is never promoted:
/// no session fixation) and a redirect.
pub(crate) async fn start_session(app: &PortalState, ctx: &Ctx, user: &User, to: &str) -> Response {
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

pub(crate) async fn signup_page(State(app): State<PortalState>, ctx: Ctx) -> Response {
    show_signup(&app, &ctx, StatusCode::OK, "", "", None)
}

pub(crate) fn show_signup(
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
pub(crate) fn new_account_error(
    ctx: &Ctx,
    p: &Portal,
    name: &str,
    password: &str,
) -> Option<String> {
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
pub(crate) async fn hash_off_thread(password: String) -> Option<String> {
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

pub(crate) async fn signup(
    State(app): State<PortalState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ctx: Ctx,
    body: Bytes,
) -> Response {
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
    if let Err(wait) = p
        .guard
        .signup(client_of(&app, peer, &headers), Instant::now())
    {
        let e = ctx.too_many(p, wait);
        return show_signup(
            &app,
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            &name,
            &email,
            Some(e),
        );
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
    // The answer is the same whether the address had an account or not (a taken address is
    // not told): what happened is said without saying which.
    match app.store.create_user(&new).await {
        Ok(user) => tracing::info!(user = user.id, ?status, "account created"),
        Err(StoreError::Conflict(_)) => {
            tracing::info!("sign-up with an address that has an account (answered alike)")
        }
        Err(e) => return unavailable(e),
    }
    let key = match status {
        UserStatus::Active => "notice-signed-up",
        _ => "notice-pending",
    };
    let notice = ctx.t(p, key, None);
    show_signin(&app, &ctx, StatusCode::OK, &email, None, Some(notice))
}

pub(crate) async fn signout(
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

#[derive(Debug, serde::Deserialize)]
pub(crate) struct Next {
    next: Option<String>,
}

/// Whether `next` is a path on this site and nothing else: it starts with one `/`, and holds
/// no backslash, whitespace or control character (browsers drop tabs and newlines from URLs,
/// so `/\t/evil.example` would become `//evil.example`, another site).
pub(crate) fn same_site_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next
            .chars()
            .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
}

/// Remembers the chosen language and goes back (only to a path on this site).
pub(crate) async fn set_lang(
    State(app): State<PortalState>,
    Path(code): Path<String>,
    Query(q): Query<Next>,
) -> Response {
    let to = q
        .next
        .filter(|n| same_site_path(n))
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

/// The meeting client's texts in the request's language.
pub(crate) async fn client_messages(
    State(app): State<PortalState>,
    headers: HeaderMap,
) -> Response {
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

#[cfg(test)]
mod tests {
    use super::same_site_path;

    #[test]
    fn only_same_site_paths() {
        for ok in ["/rooms", "/r/abc-defg-hij", "/admin/users?q=a%20b", "/"] {
            assert!(same_site_path(ok), "{ok}");
        }
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\\evil.example",
            "/ /evil.example",
            "https://evil.example",
            "evil.example",
            "",
            "/\u{2028}/evil.example",
        ] {
            assert!(!same_site_path(bad), "{bad:?}");
        }
    }
}
