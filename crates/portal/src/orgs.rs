//! An organisation's own page, for its administrators (and platform admins): its members and
//! their roles, and its members' rooms. A member co-op manages its people here without asking
//! the operators; nobody else sees or changes another organisation's people or rooms.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;
use plenary_proto::RoomId;
use plenary_store::{Member, Organisation, StoreError, User};

use super::{Ctx, Form, redirect, unavailable};
use crate::PortalState;
use plenary_proto::clock::unix_secs;

pub fn router() -> Router<PortalState> {
    Router::new()
        .route("/orgs/{id}", get(page))
        .route("/orgs/{id}/members", post(add_member))
        .route("/orgs/{id}/answer", post(answer))
        .route("/orgs/{id}/members/{user}", post(member_action))
        .route("/orgs/{id}/rooms/{room}/delete", post(delete_room))
        .route("/orgs/{id}/recordings", post(recording_policy))
}

/// The signed-in account and the organisation, if they may manage it; else the answer.
pub(super) async fn manager(
    app: &PortalState,
    ctx: &Ctx,
    org_id: i64,
) -> Result<(User, Organisation), Response> {
    let Some(me) = ctx.user.clone() else {
        return Err(redirect("/signin"));
    };
    let forbidden = || {
        (
            StatusCode::FORBIDDEN,
            ctx.t(&app.portal, "error-org-forbidden", None),
        )
            .into_response()
    };
    let admin_here = match app.store.orgs_of(me.id).await {
        Ok(ms) => ms.iter().any(|m| m.org.id == org_id && m.is_admin),
        Err(e) => return Err(unavailable(e)),
    };
    // Whether an organisation exists is only told to those who may manage it.
    if !(admin_here || me.is_admin) {
        return Err(forbidden());
    }
    match app.store.org_by_id(org_id).await {
        Ok(Some(org)) => Ok((me, org)),
        Ok(None) => Err((StatusCode::NOT_FOUND, "No such organisation.").into_response()),
        Err(e) => Err(unavailable(e)),
    }
}

/// A provider's button name for a membership source (`None` for manual ones).
pub(super) fn provider_name(app: &PortalState, source: &str) -> Option<String> {
    let id = source.strip_prefix("sso:")?;
    Some(
        app.portal
            .sso
            .provider(id)
            .map_or_else(|| id.to_owned(), |p| p.name.clone()),
    )
}

/// A membership's role as the pages name it.
pub(super) fn role(is_admin: bool) -> &'static str {
    if is_admin { "admin" } else { "member" }
}

async fn page(State(app): State<PortalState>, ctx: Ctx, Path(id): Path<i64>) -> Response {
    show(&app, &ctx, id, StatusCode::OK, None, None).await
}

/// The organisation's page; `invited`: an invitation just made, whose link is shown once.
pub(super) async fn show(
    app: &PortalState,
    ctx: &Ctx,
    id: i64,
    status: StatusCode,
    error: Option<String>,
    invited: Option<super::invites::Invited>,
) -> Response {
    show_with(app, ctx, id, status, error, None, invited).await
}

/// [`show`] with a notice (what was just done).
async fn show_with(
    app: &PortalState,
    ctx: &Ctx,
    id: i64,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
    invited: Option<super::invites::Invited>,
) -> Response {
    let org = match manager(app, ctx, id).await {
        Ok((_, org)) => org,
        Err(r) => return r,
    };
    // (Requests waiting for an answer are not listed: the list would show which of the
    // addresses typed have accounts.)
    let (members, rooms, open) = match (
        app.store.org_members(id).await,
        app.store.rooms_of_org(id).await,
        app.store.open_invitations(Some(id)).await,
    ) {
        (Ok(m), Ok(r), Ok(i)) => (m, r, i),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return unavailable(e),
    };
    let invitations = super::invites::open_view(&open, std::slice::from_ref(&org));
    // Its rooms' recordings and their states (no links: watching is the room's owners'
    // business and its audience's), and the storage they take.
    let mut listed =
        match plenary_meeting::recording::organisation_recordings(&*app.store, id).await {
            Ok(l) => l,
            Err(e) => return unavailable(e),
        };
    listed.sort_by_key(|(_, r)| std::cmp::Reverse(r.started_ms));
    let used: i64 = listed.iter().map(|(_, r)| r.bytes).sum();
    let org_recordings: Vec<minijinja::Value> = listed
        .iter()
        .map(|(room, r)| {
            context! {
                id => r.id, room => room.name, state => r.status.as_str(),
                started => super::recordings::when(r.started_ms),
                length => super::recordings::clock(r.length_ms), percent => r.progress / 10,
                mb => super::recordings::megabytes(r.bytes), published => r.published,
            }
        })
        .collect();
    let rooms: Vec<minijinja::Value> = rooms
        .iter()
        .map(|r| {
            let owner = members
                .iter()
                .find(|m| Some(m.user.id) == r.owner_id)
                .map(|m| m.user.name.clone());
            context! { id => r.id.as_str(), name => r.name, owner }
        })
        .collect();
    let members: Vec<minijinja::Value> = members
        .iter()
        .map(|m| {
            context! {
                id => m.user.id, name => m.user.name, email => m.user.email,
                role => role(m.is_admin), provider => provider_name(app, &m.source),
                accepted => m.source == plenary_store::SOURCE_ACCEPTED,
            }
        })
        .collect();
    let org = context! {
        id => org.id, name => org.name, max_rooms => org.max_rooms_per_member,
        max_participants => org.max_participants, max_minutes => org.max_meeting_minutes,
    };
    // Recordings: the storage its members' rooms' recordings take, and its rules.
    let policy = match app.store.recording_policy(id).await {
        Ok(p) => p,
        Err(e) => return unavailable(e),
    };
    let recordings = context! {
        used_mb => super::recordings::megabytes(used), allowed => policy.allowed,
        days => policy.retention_days, quota_mb => policy.quota_bytes.map(|q| q / 1_000_000),
        may_set => ctx.user.as_ref().is_some_and(|u| u.is_admin),
        list => org_recordings,
    };
    let c = context! {
        org, members, rooms, error, notice, invitations, invited, recordings,
        days => super::invites::VALID_DAYS,
        ..ctx.base("/orgs")
    };
    ctx.show(app, "org.html", status, c)
}

async fn add_member(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let me = match manager(&app, &ctx, id).await {
        Ok((me, _)) => me,
        Err(r) => return r,
    };
    let form = Form::parse(&body);
    let fail = |status, key: &str| {
        let e = ctx.t(&app.portal, key, None);
        show(&app, &ctx, id, status, Some(e), None)
    };
    if !ctx.csrf_ok(&form) {
        return fail(StatusCode::FORBIDDEN, "error-csrf").await;
    }
    let email = form.get("email").trim().to_lowercase();
    let make_admin = form.get("org_admin") == "on";
    if !me.is_admin {
        // An organisation's admin only asks: the account becomes a member once it accepts
        // (on its rooms page). The answer is the same whether an account has this address or
        // not, so that the form tells nobody who has an account.
        if !plenary_accounts::plausible_email(&email) {
            return fail(StatusCode::UNPROCESSABLE_ENTITY, "error-email").await;
        }
        let asked = match app.store.user_by_email(&email).await {
            Ok(Some(u)) => {
                let member = match app.store.org_members(id).await {
                    Ok(m) => m.iter().any(|m| m.user.id == u.id),
                    Err(e) => return unavailable(e),
                };
                if member {
                    Ok(())
                } else {
                    app.store
                        .request_membership(id, u.id, make_admin, Some(me.id), unix_secs())
                        .await
                }
            }
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = asked {
            return unavailable(e);
        }
        tracing::info!(by = me.id, org = id, "membership asked");
        let notice = ctx.t(&app.portal, "notice-asked", None);
        return show_with(&app, &ctx, id, StatusCode::OK, None, Some(notice), None).await;
    }
    // A platform admin adds directly.
    let user = match app.store.user_by_email(&email).await {
        Ok(Some(u)) => u,
        Ok(None) => return fail(StatusCode::UNPROCESSABLE_ENTITY, "error-no-such-user").await,
        Err(e) => return unavailable(e),
    };
    if !make_admin {
        let members = match app.store.org_members(id).await {
            Ok(m) => m,
            Err(e) => return unavailable(e),
        };
        if let Err(r) = keeps_an_admin(&app, &ctx, id, &members, user.id).await {
            return r;
        }
    }
    match app.store.set_org_member(id, user.id, make_admin).await {
        Ok(()) => redirect(&format!("/orgs/{id}")),
        Err(e) => unavailable(e),
    }
}

/// The signed-in account answers an organisation's request to join it.
async fn answer(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let Some(me) = ctx.user.clone() else {
        return redirect("/signin");
    };
    let form = Form::parse(&body);
    if !ctx.csrf_ok(&form) {
        return ctx.csrf_refused(&app.portal);
    }
    let accept = match form.get("action") {
        "accept" => true,
        "decline" => false,
        _ => return (StatusCode::BAD_REQUEST, "Unknown action.").into_response(),
    };
    match app.store.answer_membership_request(id, me.id, accept).await {
        Ok(true) => {
            tracing::info!(
                user = me.id,
                org = id,
                accept,
                "membership request answered"
            );
            redirect("/rooms")
        }
        Ok(false) => (StatusCode::NOT_FOUND, "No such request.").into_response(),
        Err(e) => unavailable(e),
    }
}

/// Refuses a change that would leave the organisation without an administrator.
/// (`members`: the organisation's members now.)
async fn keeps_an_admin(
    app: &PortalState,
    ctx: &Ctx,
    org: i64,
    members: &[Member],
    losing: i64,
) -> Result<(), Response> {
    let other_admin = members.iter().any(|m| m.is_admin && m.user.id != losing);
    let losing_is_admin = members.iter().any(|m| m.is_admin && m.user.id == losing);
    if losing_is_admin && !other_admin {
        let e = ctx.t(&app.portal, "error-last-org-admin", None);
        return Err(show(app, ctx, org, StatusCode::CONFLICT, Some(e), None).await);
    }
    Ok(())
}

async fn member_action(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path((id, user)): Path<(i64, i64)>,
    body: Bytes,
) -> Response {
    if let Err(r) = manager(&app, &ctx, id).await {
        return r;
    }
    let form = Form::parse(&body);
    if !ctx.csrf_ok(&form) {
        let e = ctx.t(&app.portal, "error-csrf", None);
        return show(&app, &ctx, id, StatusCode::FORBIDDEN, Some(e), None).await;
    }
    let members = match app.store.org_members(id).await {
        Ok(m) => m,
        Err(e) => return unavailable(e),
    };
    if !members.iter().any(|m| m.user.id == user) {
        return (StatusCode::NOT_FOUND, "No such member.").into_response();
    }
    let action = form.get("action");
    if matches!(action, "make-member" | "remove")
        && let Err(r) = keeps_an_admin(&app, &ctx, id, &members, user).await
    {
        return r;
    }
    let done: Result<(), StoreError> = match action {
        "make-admin" => app.store.set_org_member(id, user, true).await,
        "make-member" => app.store.set_org_member(id, user, false).await,
        "remove" => app.store.remove_org_member(id, user).await.map(|_| ()),
        _ => return (StatusCode::BAD_REQUEST, "Unknown action.").into_response(),
    };
    match done {
        Ok(()) => redirect(&format!("/orgs/{id}")),
        Err(e) => unavailable(e),
    }
}

async fn delete_room(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path((id, room)): Path<(i64, String)>,
    body: Bytes,
) -> Response {
    let me = match manager(&app, &ctx, id).await {
        Ok((me, _)) => me,
        Err(r) => return r,
    };
    let form = Form::parse(&body);
    if !ctx.csrf_ok(&form) {
        let e = ctx.t(&app.portal, "error-csrf", None);
        return show(&app, &ctx, id, StatusCode::FORBIDDEN, Some(e), None).await;
    }
    let Ok(room) = RoomId::parse(&room) else {
        return (StatusCode::NOT_FOUND, "No such room.").into_response();
    };
    // Only a room of this organisation's members: another organisation's room is not found.
    let ours = match app.store.rooms_of_org(id).await {
        Ok(rooms) => rooms.iter().any(|r| r.id == room),
        Err(e) => return unavailable(e),
    };
    if !ours {
        return (StatusCode::NOT_FOUND, "No such room.").into_response();
    }
    match app
        .recordings
        .delete_room(&app.meeting, &room, "room_deleted")
        .await
    {
        Ok(_) => {
            tracing::info!(by = me.id, org = id, room = %room, "room deleted by its organisation");
            redirect(&format!("/orgs/{id}"))
        }
        Err(e) => unavailable(e),
    }
}

/// (Platform admins) an organisation's recording rules: allowed, days kept, storage quota.
async fn recording_policy(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    if !ctx.csrf_ok(&form) {
        return ctx.csrf_refused(&app.portal);
    }
    if !ctx.user.as_ref().is_some_and(|u| u.is_admin) {
        return (
            StatusCode::FORBIDDEN,
            ctx.t(&app.portal, "error-org-forbidden", None),
        )
            .into_response();
    }
    let number = |name: &str| -> Result<Option<i64>, ()> {
        let v = form.get(name).trim();
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<i64>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .map(Some)
            .ok_or(())
    };
    let (Ok(days), Ok(quota_mb)) = (number("retention_days"), number("quota_mb")) else {
        let e = ctx.t(&app.portal, "error-recording-policy", None);
        return show(&app, &ctx, id, StatusCode::BAD_REQUEST, Some(e), None).await;
    };
    let policy = plenary_store::RecordingPolicy {
        allowed: form.get("allowed") == "on",
        retention_days: days,
        quota_bytes: quota_mb.map(|mb| mb * 1_000_000),
    };
    if let Err(e) = app.store.set_recording_policy(id, &policy).await {
        return unavailable(e);
    }
    let notice = ctx.t(&app.portal, "notice-saved", None);
    show_with(&app, &ctx, id, StatusCode::OK, None, Some(notice), None).await
}
