//! Rooms shared with other accounts: co-owners moderate the room and change its settings;
//! only the owner shares and stops sharing.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use plenary_proto::RoomId;
use plenary_store::Room;

use super::{Ctx, Form, redirect, show_rooms, unavailable};
use crate::PortalState;

pub fn router() -> Router<PortalState> {
    Router::new()
        .route("/rooms/{id}/share", post(share))
        .route("/rooms/{id}/unshare", post(unshare))
}

/// Who may change a room through a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Changer {
    /// Only its owner (sharing).
    Owner,
    /// Its owner or a co-owner (settings).
    OwnerOrCoOwner,
}

/// The room a form on the rooms page changes, if it carries this session's CSRF token and
/// the signed-in account may change it; else the answer to give.
pub(super) async fn room_to_change(
    app: &PortalState,
    ctx: &Ctx,
    headers: &HeaderMap,
    id: &str,
    form: &Form,
    who: Changer,
) -> Result<Room, Response> {
    let Some(user) = &ctx.user else {
        return Err(redirect("/signin"));
    };
    let fail = |status, key: &str| {
        let e = ctx.t(&app.portal, key, None);
        show_rooms(app, ctx, headers, status, Some(e))
    };
    if !ctx.csrf_ok(form) {
        return Err(fail(StatusCode::FORBIDDEN, "error-csrf").await);
    }
    let room = match RoomId::parse(id) {
        Ok(id) => app.store.get_room(&id).await.map_err(unavailable)?,
        Err(_) => None,
    };
    let allowed = match (&room, who) {
        (None, _) => false,
        (Some(r), Changer::Owner) => r.owner_id == Some(user.id),
        (Some(r), Changer::OwnerOrCoOwner) => plenary_meeting::moderates(&*app.store, r, user.id)
            .await
            .map_err(unavailable)?,
    };
    match room {
        Some(r) if allowed => Ok(r),
        _ => Err(fail(StatusCode::FORBIDDEN, "error-not-owner").await),
    }
}

async fn share(
    State(app): State<PortalState>,
    headers: HeaderMap,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let room = match room_to_change(&app, &ctx, &headers, &id, &form, Changer::Owner).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let email = form.get("email").trim().to_lowercase();
    let user = match app.store.user_by_email(&email).await {
        Ok(Some(u)) if Some(u.id) != room.owner_id => u,
        Ok(_) => {
            let e = ctx.t(&app.portal, "error-no-such-user", None);
            return show_rooms(
                &app,
                &ctx,
                &headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e),
            )
            .await;
        }
        Err(e) => return unavailable(e),
    };
    match app.store.share_room(&room.id, user.id).await {
        Ok(()) => redirect("/rooms"),
        Err(e) => unavailable(e),
    }
}

async fn unshare(
    State(app): State<PortalState>,
    headers: HeaderMap,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let room = match room_to_change(&app, &ctx, &headers, &id, &form, Changer::Owner).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let Ok(user) = form.get("user").parse::<i64>() else {
        return redirect("/rooms");
    };
    match app.store.unshare_room(&room.id, user).await {
        Ok(_) => redirect("/rooms"),
        Err(e) => unavailable(e),
    }
}
