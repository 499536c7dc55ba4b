//! Single sign-on through OpenID Connect providers (the `openidconnect` crate): discovery,
//! authorization code flow with PKCE, ID token validation (signature, issuer, audience,
//! expiry, nonce, access-token hash), then the mapping rules (`mapping.rs`) turn the person's
//! groups and verified email into organisation memberships, re-applied at every sign-in.
//!
//! A sign-in in progress (state, nonce, PKCE verifier) is kept in the store for ten minutes
//! (so the provider's callback may reach any node, or a restarted one) and bound to the browser
//! by a cookie holding the state; only a hash of the state is stored.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fluent_bundle::FluentArgs;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AsyncHttpClient, AuthorizationCode, Client, ClientId,
    ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    HttpRequest, HttpResponse, IdTokenFields, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, StandardErrorResponse,
    StandardTokenResponse, TokenResponse, UserInfoClaims,
};
use plenary_store::{Identity, NewUser, StoreError, User, UserStatus};
use serde::{Deserialize, Serialize};

use super::mapping::{self, Explanation, Seen};
use super::{Ctx, add_cookie, auth, redirect, show_signin, start_session, unavailable};
use crate::PortalState;
use plenary_accounts::{OrgRole, SsoProvider};
use plenary_proto::clock::unix_secs;

/// The cookie binding a sign-in in progress to the browser that started it.
const STATE_COOKIE: &str = "plenary_sso";
/// How long a started sign-in may take.
const PENDING_FOR: Duration = Duration::from_secs(10 * 60);
/// How long a provider's discovery document and keys are reused.
const DISCOVERY_FOR: Duration = Duration::from_secs(10 * 60);
/// The most bytes read from a provider's answer.
const MAX_ANSWER: usize = 1 << 20;

/// Every claim besides the standard ones (where the groups claim is found).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

impl AdditionalClaims for OtherClaims {}

type Fields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    StandardTokenResponse<Fields, CoreTokenType>,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The providers, their discovered metadata and the sign-ins in progress.
#[derive(Debug)]
pub struct Sso {
    providers: Vec<SsoProvider>,
    http: Http,
    discovered: Mutex<HashMap<String, (Instant, CoreProviderMetadata)>>,
}

/// A sign-in in progress, as stored (JSON) between the redirect and the callback.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    provider: String,
    verifier: String,
    nonce: String,
}

/// Why a sign-in through a provider failed (each shown as a translated message).
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("cannot reach the provider: {0}")]
    Unreachable(String),
    #[error("the provider's answer did not verify: {0}")]
    BadToken(String),
    #[error("the provider gave no email address")]
    NoEmail,
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl Sso {
    pub fn new(providers: Vec<SsoProvider>) -> Self {
        let client = reqwest::Client::builder()
            // Following redirects would let a provider's answer point us anywhere (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            providers,
            http: Http(client),
            discovered: Mutex::new(HashMap::new()),
        }
    }

    /// Every configured provider, in the settings file's order.
    pub fn providers(&self) -> &[SsoProvider] {
        &self.providers
    }

    /// Fetches a provider's discovery document now (not the cached one): `Err` says why it
    /// cannot be used. For the admin's providers page.
    pub async fn check(&self, p: &SsoProvider, redirect_uri: &str) -> Result<(), String> {
        if let Ok(mut m) = self.discovered.lock() {
            m.remove(&p.id);
        }
        self.client(p, redirect_uri)
            .await
            .map(|_| ())
            .map_err(|f| f.to_string())
    }

    /// `(id, button label)` of every provider, for the sign-in page.
    pub fn buttons(&self) -> Vec<(String, String)> {
        self.providers
            .iter()
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect()
    }

    pub(super) fn provider(&self, id: &str) -> Option<&SsoProvider> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// The provider's client, discovering it (again) when the cached copy is old or missing.
    async fn client(&self, p: &SsoProvider, redirect_uri: &str) -> Result<OidcClient, Failure> {
        let cached = self
            .discovered
            .lock()
            .ok()
            .and_then(|m| m.get(&p.id).cloned())
            .filter(|(at, _)| at.elapsed() < DISCOVERY_FOR)
            .map(|(_, md)| md);
        let metadata = match cached {
            Some(md) => md,
            None => {
                let issuer = IssuerUrl::new(p.issuer.clone())
                    .map_err(|e| Failure::Unreachable(format!("issuer URL: {e}")))?;
                let md = CoreProviderMetadata::discover_async(issuer, &self.http)
                    .await
                    .map_err(|e| Failure::Unreachable(error_chain(&e)))?;
                if let Ok(mut m) = self.discovered.lock() {
                    m.insert(p.id.clone(), (Instant::now(), md.clone()));
                }
                md
            }
        };
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| Failure::Unreachable(format!("redirect URL: {e}")))?;
        Ok(OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(p.client_id.clone()),
            p.client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.0.clone())),
        )
        .set_redirect_uri(redirect))
    }
}

/// Keeps a sign-in in progress (by a hash of its state) for [`PENDING_FOR`].
async fn remember(app: &PortalState, state: &str, pending: &Pending) -> Result<(), StoreError> {
    let json = serde_json::to_string(pending).unwrap_or_default();
    let now = unix_secs();
    app.store
        .save_sso_login(
            &auth::session_hash(state),
            &json,
            now,
            now + PENDING_FOR.as_secs() as i64,
        )
        .await
}

/// Takes a sign-in in progress (once), if it has not expired.
async fn take(app: &PortalState, state: &str) -> Result<Option<Pending>, StoreError> {
    let json = app
        .store
        .take_sso_login(&auth::session_hash(state), unix_secs())
        .await?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

impl Sso {
    /// Code → tokens → verified claims (+ userinfo) → what the rules need.
    async fn finish(
        &self,
        p: &SsoProvider,
        redirect_uri: &str,
        code: String,
        pending: Pending,
    ) -> Result<Signed, Failure> {
        let client = self.client(p, redirect_uri).await?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| Failure::Unreachable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::Request(e) => {
                    Failure::Unreachable(error_chain(&e))
                }
                other => Failure::BadToken(error_chain(&other)),
            })?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| Failure::BadToken("no ID token in the answer".into()))?;
        let verifier = client.id_token_verifier();
        let claims = id_token
            .claims(&verifier, &Nonce::new(pending.nonce))
            .map_err(|e| Failure::BadToken(error_chain(&e)))?;
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token
                .signing_alg()
                .map_err(|e| Failure::BadToken(e.to_string()))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|e| Failure::BadToken(e.to_string()))?;
            let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key)
                .map_err(|e| Failure::BadToken(e.to_string()))?;
            if actual != *expected {
                return Err(Failure::BadToken("access token hash differs".into()));
            }
        }
        let subject = claims.subject().to_string();
        let mut email = claims.email().map(|e| e.to_string());
        let mut verified = claims.email_verified().unwrap_or(false);
        let mut name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string());
        let mut groups = groups_in(&claims.additional_claims().rest, &p.groups_claim);
        // Some providers put the profile only in the userinfo answer: ask, when there is one.
        if let Ok(req) = client.user_info(
            tokens.access_token().to_owned(),
            Some(claims.subject().clone()),
        ) {
            match req
                .request_async::<OtherClaims, _, CoreGenderClaim>(&self.http)
                .await
            {
                Ok(info) => merge_userinfo(
                    &info,
                    &p.groups_claim,
                    &mut email,
                    &mut verified,
                    &mut name,
                    &mut groups,
                ),
                Err(e) => {
                    tracing::warn!(provider = p.id, error = %error_chain(&e), "userinfo failed; using the ID token's claims")
                }
            }
        }
        let email = email
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty())
            .ok_or(Failure::NoEmail)?;
        Ok(Signed {
            subject,
            name: name.unwrap_or_else(|| email.clone()),
            seen: Seen {
                email: Some(email),
                email_verified: verified,
                groups,
            },
        })
    }
}

fn merge_userinfo(
    info: &UserInfoClaims<OtherClaims, CoreGenderClaim>,
    groups_claim: &str,
    email: &mut Option<String>,
    verified: &mut bool,
    name: &mut Option<String>,
    groups: &mut Vec<String>,
) {
    if let Some(e) = info.email() {
        *email = Some(e.to_string());
        *verified = info.email_verified().unwrap_or(false);
    }
    if let Some(n) = info.name().and_then(|n| n.get(None)) {
        *name = Some(n.to_string());
    }
    let more = groups_in(&info.additional_claims().rest, groups_claim);
    for g in more {
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
}

/// The strings of a groups claim (a list, or one string).
fn groups_in(claims: &serde_json::Map<String, serde_json::Value>, name: &str) -> Vec<String> {
    match claims.get(name) {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// A verified sign-in.
#[derive(Debug)]
struct Signed {
    subject: String,
    name: String,
    seen: Seen,
}

/// An error and its causes on one line (the crates' errors wrap the useful part).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// `openidconnect`'s HTTP client, on our reqwest (no redirects, a timeout, bounded answers).
#[derive(Debug, Clone)]
struct Http(reqwest::Client);

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct HttpFailure(String);

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpFailure;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpFailure>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut req = self
                .0
                .request(parts.method, parts.uri.to_string())
                .body(body);
            for (k, v) in &parts.headers {
                req = req.header(k, v);
            }
            let mut resp = req.send().await.map_err(|e| HttpFailure(error_chain(&e)))?;
            let mut out = openidconnect::http::Response::builder().status(resp.status());
            for (k, v) in resp.headers() {
                out = out.header(k, v);
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| HttpFailure(error_chain(&e)))?
            {
                if body.len() + chunk.len() > MAX_ANSWER {
                    return Err(HttpFailure("answer larger than 1 MiB".into()));
                }
                body.extend_from_slice(&chunk);
            }
            out.body(body).map_err(|e| HttpFailure(e.to_string()))
        })
    }
}

fn redirect_uri(app: &PortalState, headers: &HeaderMap, id: &str) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    format!("{}/auth/sso/{id}/callback", app.settings.base_url(host))
}

/// `GET /auth/sso/{id}`: off to the provider.
pub(super) async fn start(
    State(app): State<PortalState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let sso = &app.portal.sso;
    let Some(p) = sso.provider(&id) else {
        return (StatusCode::NOT_FOUND, "No such sign-in provider.").into_response();
    };
    // Each start stores a login in progress: limited per client address.
    let client =
        plenary_http::client_addr::of_request(peer, &headers, &app.settings.trusted_proxies);
    if let Err(wait) = app
        .portal
        .sso_starts
        .check(&client.to_string(), Instant::now())
    {
        let e = ctx.too_many(&app.portal, wait);
        return show_signin(&app, &ctx, StatusCode::TOO_MANY_REQUESTS, "", Some(e), None);
    }
    let client = match sso.client(p, &redirect_uri(&app, &headers, &id)).await {
        Ok(c) => c,
        Err(f) => return failed(&app, &ctx, p, f),
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for s in &p.scopes {
        req = req.add_scope(Scope::new(s.clone()));
    }
    let (url, state, nonce) = req.set_pkce_challenge(challenge).url();
    let pending = Pending {
        provider: id,
        verifier: verifier.secret().clone(),
        nonce: nonce.secret().clone(),
    };
    if let Err(e) = remember(&app, state.secret(), &pending).await {
        return unavailable(e);
    }
    let mut r = redirect(url.as_str());
    add_cookie(
        &mut r,
        &auth::set_cookie(
            STATE_COOKIE,
            state.secret(),
            PENDING_FOR.as_secs() as i64,
            ctx.secure,
        ),
    );
    r
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /auth/sso/{id}/callback`: back from the provider.
pub(super) async fn callback(
    State(app): State<PortalState>,
    headers: HeaderMap,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<Callback>,
) -> Response {
    let sso = &app.portal.sso;
    let Some(p) = sso.provider(&id) else {
        return (StatusCode::NOT_FOUND, "No such sign-in provider.").into_response();
    };
    let say = |status, key: &str| signin_error(&app, &ctx, p, status, key);
    // The state must be the one this browser started with (no login CSRF), used once.
    let state = q.state.unwrap_or_default();
    let cookie = auth::cookie(&headers, STATE_COOKIE).unwrap_or_default();
    let pending = if !state.is_empty() && auth::same_token(&state, cookie) {
        match take(&app, &state).await {
            Ok(p) => p.filter(|pending| pending.provider == id),
            Err(e) => return unavailable(e),
        }
    } else {
        None
    };
    let Some(pending) = pending else {
        return say(StatusCode::BAD_REQUEST, "error-sso-state");
    };
    if let Some(error) = q.error {
        tracing::info!(provider = id, error, "provider refused the sign-in");
        return say(StatusCode::UNAUTHORIZED, "error-sso-refused");
    }
    let Some(code) = q.code.filter(|c| !c.is_empty()) else {
        return say(StatusCode::BAD_REQUEST, "error-sso-state");
    };
    let redirect_to = redirect_uri(&app, &headers, &id);
    let signed = match sso.finish(p, &redirect_to, code, pending).await {
        Ok(s) => s,
        Err(f) => return failed(&app, &ctx, p, f),
    };
    let user = match sign_in(&app, p, &signed).await {
        Ok(u) => u,
        Err(f) => return failed(&app, &ctx, p, f),
    };
    match user.status {
        UserStatus::Active => {}
        UserStatus::Pending => return say(StatusCode::FORBIDDEN, "error-pending"),
        UserStatus::Disabled => return say(StatusCode::FORBIDDEN, "error-disabled"),
    }
    let mut r = start_session(&app, &ctx, &user, "/rooms").await;
    add_cookie(&mut r, &auth::set_cookie(STATE_COOKIE, "", 0, ctx.secure));
    r
}

/// The sign-in page with the failure explained; the details go to the log.
fn failed(app: &PortalState, ctx: &Ctx, p: &SsoProvider, f: Failure) -> Response {
    tracing::warn!(provider = p.id, error = %f, "single sign-on failed");
    let (status, key) = match f {
        Failure::Unreachable(_) => (StatusCode::BAD_GATEWAY, "error-sso-unreachable"),
        Failure::BadToken(_) => (StatusCode::UNAUTHORIZED, "error-sso-bad-token"),
        Failure::NoEmail => (StatusCode::UNPROCESSABLE_ENTITY, "error-sso-no-email"),
        Failure::Store(e) => return unavailable(e),
    };
    signin_error(app, ctx, p, status, key)
}

/// The sign-in page with the message `key` about provider `p`.
fn signin_error(
    app: &PortalState,
    ctx: &Ctx,
    p: &SsoProvider,
    status: StatusCode,
    key: &str,
) -> Response {
    let mut a = FluentArgs::new();
    a.set("provider", p.name.clone());
    let e = ctx.t(&app.portal, key, Some(&a));
    show_signin(app, ctx, status, "", Some(e), None)
}

/// Finds or creates the account, applies the rules, records why.
///
/// The account is the one already linked to this provider's subject; else the one with the
/// same email if the provider verified it; else a new account (active: the operator chose to
/// trust this provider).
async fn sign_in(app: &PortalState, p: &SsoProvider, s: &Signed) -> Result<User, Failure> {
    let store = &app.store;
    let email = s.seen.email.clone().unwrap_or_default();
    let linked = match store.identity_user(&p.id, &s.subject).await? {
        Some(id) => store.user_by_id(id).await?,
        None => None,
    };
    let user = match linked {
        Some(u) => u,
        None => match store.user_by_email(&email).await? {
            Some(u) if s.seen.email_verified => {
                // Nobody checked the address when the account was made with a password
                // (sign-up, invitation): the provider just proved it is this person's, so the
                // password, and whoever may be signed in with it, go.
                if u.password_hash.is_some() && store.identities_of(u.id).await?.is_empty() {
                    store.claim_account(u.id).await?;
                    tracing::warn!(
                        provider = p.id,
                        user = u.id,
                        "account claimed through a provider: its password and sessions removed"
                    );
                }
                u
            }
            // An account with this email exists, but the provider does not vouch for the
            // address: linking would let anyone who types that address take the account.
            Some(_) => return Err(Failure::BadToken("email not verified".into())),
            None => {
                let new = NewUser {
                    email: email.clone(),
                    name: s.name.chars().take(100).collect(),
                    password_hash: None,
                    is_admin: false,
                    status: UserStatus::Active,
                    created_at: unix_secs(),
                };
                match store.create_user(&new).await {
                    Ok(u) => u,
                    // Two first sign-ins at once: the other one made it.
                    Err(StoreError::Conflict(_)) => {
                        store.user_by_email(&email).await?.ok_or(Failure::NoEmail)?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        },
    };
    // A pending or disabled account gets no roles (approving it must not make it an admin
    // unnoticed); the caller refuses the sign-in.
    if user.status != UserStatus::Active {
        return Ok(user);
    }
    let rules = rules_of(app, p).await?;
    let mut explanation = mapping::evaluate(&rules, &s.seen);
    explanation.platform_admin = mapping::admin_group(&p.admin_groups, &s.seen);
    let orgs = store.list_orgs().await?;
    explanation.drop_unknown_orgs(|name| orgs.iter().any(|o| o.name == name));
    let grants: Vec<(i64, bool)> = explanation
        .grants()
        .iter()
        .filter_map(|(name, role)| {
            let org = orgs.iter().find(|o| o.name == *name)?;
            Some((org.id, *role == OrgRole::Admin))
        })
        .collect();
    store
        .sync_memberships(user.id, &source_of(&p.id), &grants)
        .await?;
    let is_admin = store
        .sync_platform_admin(
            user.id,
            &source_of(&p.id),
            explanation.platform_admin.is_some(),
        )
        .await?;
    store
        .save_identity(&Identity {
            provider: p.id.clone(),
            subject: s.subject.clone(),
            user_id: user.id,
            explanation: serde_json::to_string(&explanation).unwrap_or_default(),
            last_signin_at: unix_secs(),
        })
        .await?;
    tracing::info!(
        provider = p.id,
        user = user.id,
        memberships = grants.len(),
        is_admin,
        "signed in through a provider"
    );
    Ok(user)
}

/// A provider's rules in effect: the settings file's, then those added in the portal.
pub async fn rules_of(
    app: &PortalState,
    p: &SsoProvider,
) -> Result<Vec<plenary_accounts::MappingRule>, StoreError> {
    let stored = app.store.sso_rules(&p.id).await?;
    let mut rules = p.rules.clone();
    for r in &stored {
        match mapping::from_stored(r) {
            Some(rule) => rules.push(rule),
            None => tracing::warn!(
                provider = p.id,
                rule = r.id,
                kind = r.kind,
                "ignoring a stored rule of an unknown kind"
            ),
        }
    }
    Ok(rules)
}

/// The membership source of a provider's rules.
pub fn source_of(provider: &str) -> String {
    format!("sso:{provider}")
}

/// A stored explanation, for the admin's "why" view (`None` if it cannot be read).
pub fn explanation_of(identity: &Identity) -> Option<Explanation> {
    serde_json::from_str(&identity.explanation).ok()
}
