//! What every portal page needs: the request's language, site settings, signed-in account
//! and CSRF token ([`Ctx`]), submitted forms, and the plain answers (redirect, unavailable).

#[allow(unused_imports)]
use super::*;

/// What every page needs to know about the request.
pub(crate) struct Ctx {
    pub(crate) lang: &'static str,
    /// The site settings in effect.
    pub(crate) site: site::Site,
    pub(crate) user: Option<User>,
    /// The token this request's forms carry: the session's when signed in, else the
    /// anonymous CSRF cookie's (set when missing).
    pub(crate) csrf: String,
    pub(crate) new_csrf_cookie: bool,
    pub(crate) secure: bool,
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

/// A signed-in platform admin (extractor): anyone else is sent to sign in, or refused (403).
pub(crate) struct Admin {
    pub(crate) ctx: Ctx,
    pub(crate) user: User,
}

impl axum::extract::FromRequestParts<PortalState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &PortalState,
    ) -> Result<Self, Response> {
        let ctx = Ctx::of(app, &parts.headers).await?;
        if let Some(refused) = admin_only(app, &ctx) {
            return Err(refused);
        }
        let user = ctx.user.clone().ok_or_else(|| redirect("/signin"))?;
        Ok(Self { ctx, user })
    }
}

/// A form a signed-in platform admin sent with this session's CSRF token (extractor): a form
/// without it is refused (403) before the handler runs.
pub(crate) struct AdminForm {
    pub(crate) ctx: Ctx,
    pub(crate) user: User,
    pub(crate) form: Form,
}

impl axum::extract::FromRequest<PortalState> for AdminForm {
    type Rejection = Response;

    async fn from_request(
        req: axum::extract::Request,
        app: &PortalState,
    ) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let Admin { ctx, user } =
            <Admin as axum::extract::FromRequestParts<PortalState>>::from_request_parts(
                &mut parts, app,
            )
            .await?;
        let req = axum::extract::Request::from_parts(parts, body);
        let bytes = <Bytes as axum::extract::FromRequest<PortalState>>::from_request(req, app)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = Form::parse(&bytes);
        if !ctx.csrf_ok(&form) {
            return Err(ctx.csrf_refused(&app.portal));
        }
        Ok(Self { ctx, user, form })
    }
}

impl Ctx {
    pub(crate) async fn of(app: &PortalState, headers: &HeaderMap) -> Result<Self, Response> {
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

    pub(crate) fn t(&self, portal: &Portal, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        portal.i18n.t(self.lang, key, args)
    }

    pub(crate) fn base(&self, path: &str) -> minijinja::Value {
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
    pub(crate) fn show(
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
    pub(crate) fn page(&self, status: StatusCode, html: String) -> Response {
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
    pub(crate) fn csrf_refused(&self, portal: &Portal) -> Response {
        (StatusCode::FORBIDDEN, self.t(portal, "error-csrf", None)).into_response()
    }

    /// "Too many attempts: wait N minutes", for a rate limiter's `wait`.
    pub(crate) fn too_many(&self, portal: &Portal, wait: Duration) -> String {
        let mut a = FluentArgs::new();
        a.set("minutes", wait.as_secs().div_ceil(60).max(1) as i64);
        self.t(portal, "error-too-many", Some(&a))
    }

    /// Whether a submitted form carries this request's CSRF token.
    pub(crate) fn csrf_ok(&self, form: &Form) -> bool {
        !self.new_csrf_cookie && auth::same_token(&self.csrf, form.get("csrf"))
    }
}

/// The language a request asks for (the language cookie, then Accept-Language).
pub(crate) fn request_lang(headers: &HeaderMap, fallback: &'static str) -> &'static str {
    i18n::negotiate(
        auth::cookie(headers, LANG_COOKIE),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
        fallback,
    )
}

pub(crate) fn code_name(code: &str) -> &'static str {
    match code {
        "fr" => "Français",
        "de" => "Deutsch",
        "es" => "Español",
        _ => "English",
    }
}

pub(crate) fn add_cookie(r: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

pub(crate) fn unavailable(e: StoreError) -> Response {
    tracing::error!(error = %e, "portal storage failure");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "The server cannot read its database right now.",
    )
        .into_response()
}

/// A download named `filename`, never cached (an export of what the person may read now).
pub(crate) fn attachment(
    body: impl Into<axum::body::Body>,
    content_type: &'static str,
    filename: &str,
) -> Response {
    let mut r = Response::new(body.into());
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(crate) fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A submitted `application/x-www-form-urlencoded` body.
pub(crate) struct Form(pub(crate) Vec<(String, String)>);

impl Form {
    pub(crate) fn parse(body: &Bytes) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// The active account a request's session cookie signs in, with the session's CSRF token.
pub(crate) async fn session_of(
    app: &PortalState,
    headers: &HeaderMap,
) -> Result<Option<(User, String)>, StoreError> {
    session_in(&*app.store, headers).await
}

pub(crate) async fn session_in(
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
