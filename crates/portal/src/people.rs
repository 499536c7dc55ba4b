//! The platform admins' pages for accounts and organisations.

#[allow(unused_imports)]
use super::*;

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Search {
    pub(crate) q: Option<String>,
}

pub(crate) async fn admin_users(
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

pub(crate) async fn show_admin_users(
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
pub(crate) async fn admin_user_page(
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
pub(crate) fn utc_minutes(secs: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(fmt).ok())
        .unwrap_or_default()
}

/// Approve, disable, enable, make or remove admin. An admin cannot lock themselves out.
pub(crate) async fn admin_user_action(
    State(app): State<PortalState>,
    Path(id): Path<i64>,
    AdminForm {
        ctx,
        user: me,
        form,
    }: AdminForm,
) -> Response {
    let q = form.get("q").to_owned();
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

pub(crate) async fn admin_orgs(State(app): State<PortalState>, ctx: Ctx) -> Response {
    show_orgs(&app, &ctx, StatusCode::OK, None).await
}

/// The admin's check for the organisation pages: a response when the request may not pass.
pub(crate) fn admin_only(app: &PortalState, ctx: &Ctx) -> Option<Response> {
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

pub(crate) async fn show_orgs(
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
pub(crate) fn limit_field(v: &str) -> Result<Option<i64>, ()> {
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

pub(crate) async fn create_org(
    State(app): State<PortalState>,
    AdminForm { ctx, form, .. }: AdminForm,
) -> Response {
    let p = &app.portal;
    let fail = |status, key: &str| {
        let e = ctx.t(p, key, None);
        show_orgs(&app, &ctx, status, Some(e))
    };
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

pub(crate) async fn add_org_member(
    State(app): State<PortalState>,
    AdminForm { ctx, form, .. }: AdminForm,
) -> Response {
    let p = &app.portal;
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
