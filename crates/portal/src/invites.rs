//! Invitations: a platform admin (any organisation, or none) or an organisation's admin (their
//! own organisation) invites someone by email and gets a link to send them; the link lets that
//! one person create an account, whatever the sign-up policy, and join the organisation. The
//! link works once, for [`VALID_DAYS`]; it is shown once (only a hash of its secret is stored)
//! and can be withdrawn until used. Plenary sends no email: the inviter passes the link on.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;
use plenary_store::{
    Invitation, NewInvitation, NewUser, Organisation, StoreError, User, UserStatus,
};

use super::{
    Ctx, Form, admin_only, auth, hash_off_thread, new_account_error, orgs, plausible_email,
    redirect, start_session, unavailable, utc_minutes,
};
use crate::PortalState;
use plenary_proto::clock::unix_secs;

/// How long an invitation link works.
pub const VALID_DAYS: i64 = 14;

pub fn router() -> Router<PortalState> {
    Router::new()
        .route("/admin/invitations", get(admin_page).post(admin_invite))
        .route("/admin/invitations/{id}/withdraw", post(admin_withdraw))
        .route("/orgs/{id}/invitations", post(org_invite))
        .route("/orgs/{id}/invitations/{inv}/withdraw", post(org_withdraw))
        .route("/invite/{token}", get(accept_page).post(accept))
}

/// An invitation just made: the only time its link is known.
#[derive(Debug, serde::Serialize)]
pub(super) struct Invited {
    email: String,
    link: String,
}

/// Why an invitation was not made: a message key and status, or a storage failure.
enum Refused {
    Because(StatusCode, &'static str),
    Store(StoreError),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Makes an invitation for `email` (into `org`, as its admin if `org_admin`).
async fn invite(
    app: &PortalState,
    headers: &HeaderMap,
    by: &User,
    email: &str,
    org: Option<&Organisation>,
    org_admin: bool,
) -> Result<Invited, Refused> {
    let email = email.trim().to_lowercase();
    if !plausible_email(&email) {
        return Err(Refused::Because(
            StatusCode::UNPROCESSABLE_ENTITY,
            "error-email",
        ));
    }
    // Made whether or not an account has this address (the answer tells nobody which): an
    // existing account accepts it by opening the link signed in.
    let token = auth::random_token();
    let now = unix_secs();
    app.store
        .create_invitation(&NewInvitation {
            token_hash: auth::session_hash(&token),
            email: email.clone(),
            org_id: org.map(|o| o.id),
            org_admin: org.is_some() && org_admin,
            invited_by: Some(by.id),
            created_at: now,
            expires_at: now + VALID_DAYS * 86_400,
        })
        .await?;
    tracing::info!(by = by.id, org = org.map(|o| o.id), "invitation made");
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    Ok(Invited {
        link: format!("{}/invite/{token}", app.settings.base_url(host)),
        email,
    })
}

/// Open invitations for a page (`orgs`: to name each one's organisation).
pub(super) fn open_view(
    invitations: &[Invitation],
    orgs: &[Organisation],
) -> Vec<minijinja::Value> {
    let now = unix_secs();
    invitations
        .iter()
        .map(|i| {
            let org = i
                .org_id
                .and_then(|id| orgs.iter().find(|o| o.id == id))
                .map(|o| o.name.clone());
            context! {
                id => i.id, email => i.email, org, role => orgs::role(i.org_admin),
                expires => utc_minutes(i.expires_at), expired => i.expires_at <= now,
            }
        })
        .collect()
}

async fn admin_page(State(app): State<PortalState>, ctx: Ctx) -> Response {
    show_admin(&app, &ctx, StatusCode::OK, None, None).await
}

async fn show_admin(
    app: &PortalState,
    ctx: &Ctx,
    status: StatusCode,
    error: Option<String>,
    invited: Option<Invited>,
) -> Response {
    if let Some(r) = admin_only(app, ctx) {
        return r;
    }
    let (open, all_orgs) = match (
        app.store.open_invitations(None).await,
        app.store.list_orgs().await,
    ) {
        (Ok(i), Ok(o)) => (i, o),
        (Err(e), _) | (_, Err(e)) => return unavailable(e),
    };
    let invitations = open_view(&open, &all_orgs);
    let orgs: Vec<minijinja::Value> = all_orgs
        .iter()
        .map(|o| context! { id => o.id, name => o.name })
        .collect();
    let c = context! {
        invitations, orgs, error, invited, days => VALID_DAYS,
        ..ctx.base("/admin/invitations")
    };
    ctx.show(app, "admin_invitations.html", status, c)
}

async fn admin_invite(
    State(app): State<PortalState>,
    headers: HeaderMap,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    if let Some(r) = admin_only(&app, &ctx) {
        return r;
    }
    let form = Form::parse(&body);
    let fail = |status, key: &str| {
        let e = ctx.t(&app.portal, key, None);
        show_admin(&app, &ctx, status, Some(e), None)
    };
    if !ctx.csrf_ok(&form) {
        return fail(StatusCode::FORBIDDEN, "error-csrf").await;
    }
    let org = match form.get("org") {
        "" => None,
        id => match id.parse::<i64>() {
            Ok(id) => match app.store.org_by_id(id).await {
                Ok(Some(o)) => Some(o),
                Ok(None) => {
                    return fail(StatusCode::UNPROCESSABLE_ENTITY, "error-bad-choice").await;
                }
                Err(e) => return unavailable(e),
            },
            Err(_) => return fail(StatusCode::UNPROCESSABLE_ENTITY, "error-bad-choice").await,
        },
    };
    let Some(me) = ctx.user.clone() else {
        return redirect("/signin");
    };
    let admin = form.get("org_admin") == "on";
    match invite(&app, &headers, &me, form.get("email"), org.as_ref(), admin).await {
        Ok(invited) => show_admin(&app, &ctx, StatusCode::OK, None, Some(invited)).await,
        Err(Refused::Because(status, key)) => fail(status, key).await,
        Err(Refused::Store(e)) => unavailable(e),
    }
}

/// Withdraws invitation `id` if `allowed` says it may be (its organisation, for an org admin).
async fn withdraw(
    app: &PortalState,
    ctx: &Ctx,
    form: &Form,
    id: i64,
    allowed: impl Fn(&Invitation) -> bool,
) -> Result<(), Response> {
    if !ctx.csrf_ok(form) {
        return Err(ctx.csrf_refused(&app.portal));
    }
    let open = app
        .store
        .open_invitations(None)
        .await
        .map_err(unavailable)?;
    // Another organisation's invitation is "not found", like one that does not exist.
    if !open.iter().any(|i| i.id == id && allowed(i)) {
        return Err((StatusCode::NOT_FOUND, "No such invitation.").into_response());
    }
    // Used (or withdrawn elsewhere) since the check: nothing to withdraw any more.
    if !app.store.delete_invitation(id).await.map_err(unavailable)? {
        return Err((StatusCode::NOT_FOUND, "No such invitation.").into_response());
    }
    tracing::info!(
        by = ctx.user.as_ref().map(|u| u.id),
        invitation = id,
        "invitation withdrawn"
    );
    Ok(())
}

async fn admin_withdraw(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    if let Some(r) = admin_only(&app, &ctx) {
        return r;
    }
    match withdraw(&app, &ctx, &Form::parse(&body), id, |_| true).await {
        Ok(()) => redirect("/admin/invitations"),
        Err(r) => r,
    }
}

async fn org_invite(
    State(app): State<PortalState>,
    headers: HeaderMap,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let (me, org) = match orgs::manager(&app, &ctx, id).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let form = Form::parse(&body);
    let fail = |status, key: &str| {
        let e = ctx.t(&app.portal, key, None);
        orgs::show(&app, &ctx, id, status, Some(e), None)
    };
    if !ctx.csrf_ok(&form) {
        return fail(StatusCode::FORBIDDEN, "error-csrf").await;
    }
    let admin = form.get("org_admin") == "on";
    match invite(&app, &headers, &me, form.get("email"), Some(&org), admin).await {
        Ok(invited) => orgs::show(&app, &ctx, id, StatusCode::OK, None, Some(invited)).await,
        Err(Refused::Because(status, key)) => fail(status, key).await,
        Err(Refused::Store(e)) => unavailable(e),
    }
}

async fn org_withdraw(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path((id, inv)): Path<(i64, i64)>,
    body: Bytes,
) -> Response {
    if let Err(r) = orgs::manager(&app, &ctx, id).await {
        return r;
    }
    let form = Form::parse(&body);
    match withdraw(&app, &ctx, &form, inv, |i| i.org_id == Some(id)).await {
        Ok(()) => redirect(&format!("/orgs/{id}")),
        Err(r) => r,
    }
}

/// The invitation a link's token names, if it can still be used.
async fn usable(app: &PortalState, token: &str) -> Result<Option<Invitation>, StoreError> {
    let inv = app.store.invitation(&auth::session_hash(token)).await?;
    Ok(inv.filter(|i| i.used_at.is_none() && i.expires_at > unix_secs()))
}

async fn accept_page(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Response {
    show_accept(&app, &ctx, &token, StatusCode::OK, "", None).await
}

/// The sign-up form for an invitation (or why the link no longer works).
async fn show_accept(
    app: &PortalState,
    ctx: &Ctx,
    token: &str,
    status: StatusCode,
    name: &str,
    error: Option<String>,
) -> Response {
    let inv = match usable(app, token).await {
        Ok(i) => i,
        Err(e) => return unavailable(e),
    };
    let Some(inv) = inv else {
        let e = ctx.t(&app.portal, "error-invitation-gone", None);
        let c = context! {
            error => e, gone => true, name => "", email => "", action => "",
            min_password => auth::MIN_PASSWORD, ..ctx.base("/signup")
        };
        return ctx.show(app, "signup.html", StatusCode::GONE, c);
    };
    let org = match inv.org_id {
        Some(id) => match app.store.org_by_id(id).await {
            Ok(o) => o.map(|o| o.name),
            Err(e) => return unavailable(e),
        },
        None => None,
    };
    // The address has an account already: its owner accepts signed in (the holder of the link
    // is whoever the inviter sent it to, so telling them is no leak).
    let existing = match app.store.user_by_email(&inv.email).await {
        Ok(Some(_)) => Some(context! {
            email => inv.email,
            signed_in => ctx.user.as_ref().is_some_and(|u| u.email == inv.email),
        }),
        Ok(None) => None,
        Err(e) => return unavailable(e),
    };
    let c = context! {
        name, email => inv.email, error, invitation => context! { org }, existing,
        action => format!("/invite/{token}"), min_password => auth::MIN_PASSWORD,
        ..ctx.base("/signup")
    };
    let mut r = ctx.show(app, "signup.html", status, c);
    // The page's address is the invitation's secret: never sent on as a Referer.
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    r
}

/// Creates the invited account (active at once: someone trusted vouched for it) and signs in.
async fn accept(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let p = &app.portal;
    let form = Form::parse(&body);
    let name = form.get("name").trim().to_owned();
    let password = form.get("password").to_owned();
    if !ctx.csrf_ok(&form) {
        let e = ctx.t(p, "error-csrf", None);
        return show_accept(&app, &ctx, &token, StatusCode::FORBIDDEN, &name, Some(e)).await;
    }
    // An existing account joins the invitation's organisation (only the account the
    // invitation was made for; the store checks the address again).
    if form.get("join") == "1" {
        let Some(me) = ctx.user.clone() else {
            return redirect("/signin");
        };
        return match app
            .store
            .join_by_invitation(&auth::session_hash(&token), &me, unix_secs())
            .await
        {
            Ok(org) => {
                tracing::info!(
                    user = me.id,
                    org,
                    "invitation accepted by an existing account"
                );
                redirect("/rooms")
            }
            Err(StoreError::Gone(_)) => {
                show_accept(&app, &ctx, &token, StatusCode::GONE, &name, None).await
            }
            Err(e) => unavailable(e),
        };
    }
    if let Some(e) = new_account_error(&ctx, p, &name, &password) {
        return show_accept(
            &app,
            &ctx,
            &token,
            StatusCode::UNPROCESSABLE_ENTITY,
            &name,
            Some(e),
        )
        .await;
    }
    let Some(hash) = hash_off_thread(password).await else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Could not store the password.",
        )
            .into_response();
    };
    let new = NewUser {
        // The invitation's address is the account's; the form's is ignored.
        email: String::new(),
        name: name.clone(),
        password_hash: Some(hash),
        is_admin: false,
        status: UserStatus::Active,
        created_at: unix_secs(),
    };
    match app
        .store
        .accept_invitation(&auth::session_hash(&token), &new, unix_secs())
        .await
    {
        Ok(user) => {
            tracing::info!(user = user.id, "account created from an invitation");
            start_session(&app, &ctx, &user, "/rooms").await
        }
        Err(StoreError::Gone(_)) => {
            show_accept(&app, &ctx, &token, StatusCode::GONE, &name, None).await
        }
        Err(StoreError::Conflict(_)) => {
            let e = ctx.t(p, "error-email-taken", None);
            show_accept(&app, &ctx, &token, StatusCode::CONFLICT, &name, Some(e)).await
        }
        Err(e) => unavailable(e),
    }
}
