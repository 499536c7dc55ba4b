//! API tokens for scripts and the load generator (`/admin/tokens`): a platform admin makes one
//! (it acts as the admin's account), sees its secret once (only a hash is kept), and revokes it.
//! The same is at the command line: `plenary api-token EMAIL NAME`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;

use super::{Admin, AdminForm, Ctx, redirect, unavailable, utc_minutes};
use crate::PortalState;

pub fn router() -> Router<PortalState> {
    Router::new()
        .route("/admin/tokens", get(page).post(create))
        .route("/admin/tokens/{id}/revoke", post(revoke))
}

async fn page(State(app): State<PortalState>, Admin { ctx, .. }: Admin) -> Response {
    show(&app, &ctx, StatusCode::OK, None, None).await
}

/// The tokens page (for an admin: the handlers' extractors checked); `made`: a token just
/// made, whose secret is shown this once.
async fn show(
    app: &PortalState,
    ctx: &Ctx,
    status: StatusCode,
    error: Option<String>,
    made: Option<minijinja::Value>,
) -> Response {
    let tokens = match app.store.api_tokens().await {
        Ok(t) => t,
        Err(e) => return unavailable(e),
    };
    let tokens: Vec<minijinja::Value> = tokens
        .iter()
        .map(|t| {
            context! {
                id => t.id, name => t.name, account => t.user_email,
                created => utc_minutes(t.created_at),
                used => t.last_used_at.map(utc_minutes),
            }
        })
        .collect();
    let c = context! { tokens, error, made, ..ctx.base("/admin/tokens") };
    ctx.show(app, "admin_tokens.html", status, c)
}

async fn create(
    State(app): State<PortalState>,
    AdminForm {
        ctx,
        user: me,
        form,
    }: AdminForm,
) -> Response {
    let name = form.get("name").trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        let e = ctx.t(&app.portal, "error-token-name", None);
        return show(&app, &ctx, StatusCode::UNPROCESSABLE_ENTITY, Some(e), None).await;
    }
    match plenary_accounts::create_api_token(&*app.store, me.id, name).await {
        Ok((secret, token)) => {
            tracing::info!(by = me.id, token = token.id, "API token made");
            let made = context! { name => token.name, secret };
            show(&app, &ctx, StatusCode::OK, None, Some(made)).await
        }
        Err(e) => unavailable(e),
    }
}

async fn revoke(
    State(app): State<PortalState>,
    Path(id): Path<i64>,
    AdminForm { user: me, .. }: AdminForm,
) -> Response {
    match app.store.delete_api_token(id).await {
        Ok(true) => {
            tracing::info!(by = me.id, token = id, "API token revoked");
            redirect("/admin/tokens")
        }
        Ok(false) => (StatusCode::NOT_FOUND, "No such token.").into_response(),
        Err(e) => unavailable(e),
    }
}
