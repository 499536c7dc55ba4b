//! Platform admin pages besides accounts and organisations: every room (find, see who owns it
//! and who is in it, delete), the identity providers (what the settings file configures, the
//! address to register at the provider, whether the provider answers, how many accounts use
//! it, and mapping rules added here, applied after the file's at the next sign-in) and the
//! site settings (name, welcome text, sign-up policy, default language).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;
use plenary_proto::RoomId;

use super::{AdminForm, Ctx, Search, admin_only, mapping, orgs, redirect, site, unavailable};
use crate::PortalState;

pub fn router() -> Router<PortalState> {
    Router::new()
        .route("/admin/rooms", get(rooms))
        .route("/admin/rooms/{id}/delete", post(delete_room))
        .route("/admin/providers", get(providers))
        .route("/admin/providers/{id}/check", post(check_provider))
        .route("/admin/providers/{id}/rules", post(add_rule))
        .route(
            "/admin/providers/{id}/rules/{rule}/delete",
            post(delete_rule),
        )
        .route("/admin/settings", get(settings).post(save_settings))
}

/// The most rooms one page lists (a search narrows it down).
const ROOMS_SHOWN: u32 = 200;

async fn rooms(State(app): State<PortalState>, ctx: Ctx, Query(q): Query<Search>) -> Response {
    if let Some(r) = admin_only(&app, &ctx) {
        return r;
    }
    let q = q.q.unwrap_or_default();
    let q = q.trim();
    let found = match app.store.search_rooms(q, ROOMS_SHOWN).await {
        Ok(r) => r,
        Err(e) => return unavailable(e),
    };
    // Each owner read once, however many rooms they have.
    let mut owners: Vec<(i64, Option<plenary_store::User>)> = Vec::new();
    for owner in found.iter().filter_map(|r| r.owner_id) {
        if owners.iter().all(|(id, _)| *id != owner) {
            match app.store.user_by_id(owner).await {
                Ok(u) => owners.push((owner, u)),
                Err(e) => return unavailable(e),
            }
        }
    }
    let rooms: Vec<minijinja::Value> = found
        .iter()
        .map(|r| {
            let owner = owners
                .iter()
                .find(|(id, _)| Some(*id) == r.owner_id)
                .and_then(|(_, u)| u.as_ref())
                .map(|u| context! { id => u.id, name => u.name, email => u.email });
            context! {
                id => r.id.as_str(), name => r.name, owner,
                created => super::utc_minutes(r.created_at),
                live => app.meeting.live.count(&r.id),
            }
        })
        .collect();
    let full = found.len() == ROOMS_SHOWN as usize;
    let c = context! { rooms, q, full, ..ctx.base("/admin/rooms") };
    ctx.show(&app, "admin_rooms.html", StatusCode::OK, c)
}

/// Deletes a room (ending its meeting, if one is running).
async fn delete_room(
    State(app): State<PortalState>,
    Path(id): Path<String>,
    AdminForm { ctx, form, .. }: AdminForm,
) -> Response {
    let Ok(room) = RoomId::parse(&id) else {
        return (StatusCode::NOT_FOUND, "No such room.").into_response();
    };
    match app
        .recordings
        .delete_room(&app.meeting, &room, "room_deleted")
        .await
    {
        Ok(true) => {
            let me = ctx.user.as_ref().map(|u| u.id);
            tracing::info!(by = me, room = %room, "room deleted by a platform admin");
            let q = form_urlencoded::byte_serialize(form.get("q").as_bytes()).collect::<String>();
            redirect(&format!("/admin/rooms?q={q}"))
        }
        Ok(false) => (StatusCode::NOT_FOUND, "No such room.").into_response(),
        Err(e) => unavailable(e),
    }
}

async fn providers(State(app): State<PortalState>, headers: HeaderMap, ctx: Ctx) -> Response {
    show_providers(&app, &headers, &ctx, StatusCode::OK, Shown::Nothing).await
}

/// What the providers page shows about one provider after an action.
enum Shown<'a> {
    Nothing,
    /// A provider just checked, and what the check found.
    Checked(&'a str, Result<(), String>),
    /// A rule form refused, with the message.
    Refused(&'a str, String),
}

/// A rule for the providers page; `id` only for rules added in the portal.
fn rule_view(
    r: &plenary_accounts::MappingRule,
    id: Option<i64>,
    orgs: &[plenary_store::Organisation],
) -> minijinja::Value {
    let (kind, value) = match (&r.group, &r.email_domain) {
        (Some(g), _) => ("group", g.clone()),
        (None, Some(d)) => ("email-domain", d.clone()),
        (None, None) => ("default", String::new()),
    };
    context! {
        kind, value, id, org => r.org,
        role => orgs::role(r.role == plenary_accounts::OrgRole::Admin),
        org_exists => orgs.iter().any(|o| o.name == r.org),
    }
}

async fn show_providers(
    app: &PortalState,
    headers: &HeaderMap,
    ctx: &Ctx,
    status: StatusCode,
    shown: Shown<'_>,
) -> Response {
    if let Some(r) = admin_only(app, ctx) {
        return r;
    }
    let (orgs, counts) = match (
        app.store.list_orgs().await,
        app.store.identity_counts().await,
    ) {
        (Ok(o), Ok(c)) => (o, c),
        (Err(e), _) | (_, Err(e)) => return unavailable(e),
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let base = app.settings.base_url(host);
    let mut added = Vec::new();
    for p in app.portal.sso.providers() {
        match app.store.sso_rules(&p.id).await {
            Ok(r) => added.push(r),
            Err(e) => return unavailable(e),
        }
    }
    let providers: Vec<minijinja::Value> = app
        .portal
        .sso
        .providers()
        .iter()
        .zip(&added)
        .map(|(p, added)| {
            let rules: Vec<minijinja::Value> =
                p.rules.iter().map(|r| rule_view(r, None, &orgs)).collect();
            let added: Vec<minijinja::Value> = added
                .iter()
                .filter_map(|r| Some(rule_view(&mapping::from_stored(r)?, Some(r.id), &orgs)))
                .collect();
            let (check, error) = match &shown {
                Shown::Checked(id, Ok(())) if *id == p.id => (Some(context! { ok => true }), None),
                Shown::Checked(id, Err(e)) if *id == p.id => {
                    (Some(context! { ok => false, error => e }), None)
                }
                Shown::Refused(id, e) if *id == p.id => (None, Some(e.clone())),
                _ => (None, None),
            };
            context! {
                id => p.id, name => p.name, issuer => p.issuer, client_id => p.client_id,
                public_client => p.client_secret.is_none(),
                scopes => p.scopes.join(" "), groups_claim => p.groups_claim,
                admin_groups => p.admin_groups,
                callback => format!("{base}/auth/sso/{}/callback", p.id),
                accounts => counts.iter().find(|(id, _)| *id == p.id).map_or(0, |(_, n)| *n),
                rules, added, check, error,
            }
        })
        .collect();
    let orgs: Vec<minijinja::Value> = orgs.iter().map(|o| context! { name => o.name }).collect();
    let c = context! { providers, orgs, ..ctx.base("/admin/providers") };
    ctx.show(app, "admin_providers.html", status, c)
}

/// Adds a mapping rule to a provider (applied from its next sign-in).
async fn add_rule(
    State(app): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    AdminForm { ctx, form, .. }: AdminForm,
) -> Response {
    if app.portal.sso.provider(&id).is_none() {
        return (StatusCode::NOT_FOUND, "No such sign-in provider.").into_response();
    }
    let refuse = |key: &str| {
        let e = ctx.t(&app.portal, key, None);
        show_providers(
            &app,
            &headers,
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            Shown::Refused(&id, e),
        )
    };
    let (kind, value) = match mapping::check_new(form.get("kind"), form.get("value")) {
        Ok(kv) => kv,
        Err(key) => return refuse(key).await,
    };
    // Only an organisation that exists (a rule for a missing one gives nothing).
    let org = match app.store.org_by_name(form.get("org")).await {
        Ok(Some(o)) => o,
        Ok(None) => return refuse("error-bad-choice").await,
        Err(e) => return unavailable(e),
    };
    let is_admin = match form.get("role") {
        "member" => false,
        "admin" => true,
        _ => return refuse("error-bad-choice").await,
    };
    let rule = plenary_store::SsoRule {
        id: 0,
        provider: id.clone(),
        kind: kind.to_owned(),
        value,
        org: org.name,
        is_admin,
        created_at: plenary_proto::clock::unix_secs(),
    };
    match app.store.add_sso_rule(&rule).await {
        Ok(r) => {
            tracing::info!(
                by = ctx.user.as_ref().map(|u| u.id),
                provider = id,
                rule = r.id,
                kind,
                "mapping rule added"
            );
            redirect(&format!("/admin/providers#provider-{id}"))
        }
        Err(e) => unavailable(e),
    }
}

async fn delete_rule(
    State(app): State<PortalState>,
    Path((id, rule)): Path<(String, i64)>,
    AdminForm { ctx, .. }: AdminForm,
) -> Response {
    match app.store.delete_sso_rule(&id, rule).await {
        Ok(true) => {
            tracing::info!(
                by = ctx.user.as_ref().map(|u| u.id),
                provider = id,
                rule,
                "mapping rule removed"
            );
            redirect(&format!("/admin/providers#provider-{id}"))
        }
        Ok(false) => (StatusCode::NOT_FOUND, "No such rule.").into_response(),
        Err(e) => unavailable(e),
    }
}

/// Asks a provider for its discovery document now and shows what happened.
async fn check_provider(
    State(app): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    AdminForm { ctx, .. }: AdminForm,
) -> Response {
    let sso = &app.portal.sso;
    let Some(p) = sso.provider(&id) else {
        return (StatusCode::NOT_FOUND, "No such sign-in provider.").into_response();
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let callback = format!("{}/auth/sso/{id}/callback", app.settings.base_url(host));
    let result = sso.check(p, &callback).await;
    if let Err(e) = &result {
        tracing::warn!(provider = id, error = %e, "provider check failed");
    }
    show_providers(
        &app,
        &headers,
        &ctx,
        StatusCode::OK,
        Shown::Checked(&id, result),
    )
    .await
}

async fn settings(State(app): State<PortalState>, ctx: Ctx) -> Response {
    show_settings(&app, &ctx, StatusCode::OK, None, false)
}

fn show_settings(
    app: &PortalState,
    ctx: &Ctx,
    status: StatusCode,
    error: Option<String>,
    saved: bool,
) -> Response {
    if let Some(r) = admin_only(app, ctx) {
        return r;
    }
    let s = &ctx.site;
    let form = context! {
        name => s.name.clone().unwrap_or_default(), welcome => s.welcome,
        signup => s.signup.as_str(), default_lang => s.default_lang,
        file_signup => app.settings.signup.as_str(),
    };
    let c = context! {
        form, error, saved, policies => ["open", "approval", "invite"],
        max_name => site::MAX_NAME, max_welcome => site::MAX_WELCOME,
        ..ctx.base("/admin/settings")
    };
    ctx.show(app, "admin_settings.html", status, c)
}

async fn save_settings(
    State(app): State<PortalState>,
    headers: HeaderMap,
    AdminForm { ctx, form, .. }: AdminForm,
) -> Response {
    let pairs = match site::validate(
        form.get("name"),
        form.get("welcome"),
        form.get("signup"),
        form.get("default_lang"),
    ) {
        Ok(p) => p,
        Err(key) => {
            let e = ctx.t(&app.portal, key, None);
            return show_settings(&app, &ctx, StatusCode::UNPROCESSABLE_ENTITY, Some(e), false);
        }
    };
    for (key, value) in &pairs {
        if let Err(e) = app.store.set_site_setting(key, value).await {
            return unavailable(e);
        }
    }
    tracing::info!(
        by = ctx.user.as_ref().map(|u| u.id),
        ?pairs,
        "site settings changed"
    );
    // Shown with the settings just saved (this request's were read before).
    match Ctx::of(&app, &headers).await {
        Ok(ctx) => show_settings(&app, &ctx, StatusCode::OK, None, true),
        Err(r) => r,
    }
}
