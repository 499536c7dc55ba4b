//! The native HTTP API under `/api`: rooms and join tokens. JSON in, JSON out; every error
//! is `{"error": {"code": "...", "message": "..."}}` with a fitting status.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use plenary_meeting::{JoinClaims, sign_join_token};
use plenary_proto::{PROTOCOL_VERSION, RoomId};
use plenary_store::{NewRoom, StoreError};
use serde::{Deserialize, Serialize};

use crate::AppState;
use plenary_meeting::names::{clean_display_name, clean_room_name};

/// How long a join token stays valid: it is used at once, by the page that asked for it.
const JOIN_TOKEN_SECS: u64 = 300;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/rooms", post(create_room))
        .route("/api/rooms/{id}", get(get_room))
        .route("/api/rooms/{id}/join", post(join_room))
}

/// The one error shape of this API.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        // Details go to the log, never to the client.
        tracing::error!(error = %e, "storage error");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the server cannot reach its database right now",
        )
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        Self::new(e.status(), "bad_request", e.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

fn parse_room_id(raw: &str) -> Result<RoomId, ApiError> {
    RoomId::parse(raw).map_err(|e| ApiError::not_found(format!("no such room: {e}")))
}

async fn health(State(app): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "database": app.store.backend(),
        "protocol_version": PROTOCOL_VERSION,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRoom {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Serialize)]
struct RoomView {
    id: RoomId,
    name: String,
    /// Path of the room's page, to share.
    url: String,
    participants: usize,
    created_at: i64,
    /// Joining needs an access code.
    access_code: bool,
}

impl RoomView {
    fn new(app: &AppState, room: plenary_store::Room) -> Self {
        Self {
            access_code: plenary_meeting::room_settings::RoomSettings::parse(&room.settings)
                .needs_code(),
            url: format!("/r/{}", room.id),
            participants: app.meetings.count(&room.id),
            id: room.id,
            name: room.name,
            created_at: room.created_at,
        }
    }
}

async fn create_room(
    State(app): State<AppState>,
    body: Result<Json<CreateRoom>, JsonRejection>,
) -> Result<(StatusCode, Json<RoomView>), ApiError> {
    let Json(body) = body?;
    let name = match body
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(n) => clean_room_name(n).map_err(ApiError::bad_request)?,
        None => "Meeting".to_owned(),
    };
    // Random ids collide with negligible probability; retry a few times all the same.
    for _ in 0..5 {
        let new = NewRoom {
            id: RoomId::random(),
            name: name.clone(),
            created_at: plenary_proto::clock::unix_secs(),
            owner_id: None,
            settings: "{}".into(),
            anonymous: false,
        };
        match app.store.create_room(&new).await {
            Ok(room) => {
                tracing::info!(room = %room.id, "room created");
                return Ok((StatusCode::CREATED, Json(RoomView::new(&app, room))));
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "could not allocate a room id",
    ))
}

async fn get_room(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RoomView>, ApiError> {
    let id = parse_room_id(&id)?;
    let room = app
        .store
        .get_room(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such room"))?;
    Ok(Json(RoomView::new(&app, room)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JoinRequest {
    name: String,
    /// The room's viewer or moderator code, when it has one.
    #[serde(default)]
    access_code: Option<String>,
}

#[derive(Debug, Serialize)]
struct JoinGrant {
    token: String,
    room: RoomId,
    name: String,
    /// Path of the signalling WebSocket.
    ws_path: &'static str,
    protocol_version: u32,
    expires_at: u64,
}

async fn join_room(
    State(app): State<AppState>,
    Path(id): Path<String>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    body: Result<Json<JoinRequest>, JsonRejection>,
) -> Result<Json<JoinGrant>, ApiError> {
    let Json(body) = body?;
    let id = parse_room_id(&id)?;
    let name = clean_display_name(&body.name).map_err(ApiError::bad_request)?;
    let room = app
        .store
        .get_room(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such room"))?;
    let exp = plenary_proto::clock::unix_secs() as u64 + JOIN_TOKEN_SECS;
    let user = plenary_portal::session_user(&*app.store, &headers).await;
    // The owner and the accounts the room is shared with moderate.
    let owner = match &user {
        Some(u) => plenary_meeting::moderates(&*app.store, &room, u.id).await?,
        None => false,
    };
    // The owner's organisations may cap the meeting's size (checked when someone joins).
    if let Some(owner_id) = room.owner_id
        && let Some(max) = plenary_accounts::limits_of(&*app.store, owner_id)
            .await?
            .max_participants
        && app.meetings.count(&id) as i64 >= max
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "room_full",
            format!("this meeting is full: the organisation allows {max} participants"),
        ));
    }
    let settings = plenary_meeting::room_settings::RoomSettings::parse(&room.settings);
    let code = body.access_code.as_deref().filter(|c| !c.trim().is_empty());
    // Wrong codes are limited per room and address: guessing is slow, and one guesser does
    // not lock everyone else out. Behind a trusted proxy, the address it forwards counts.
    let client =
        plenary_http::client_addr::of_request(peer, &headers, &app.settings.trusted_proxies);
    let attempts_key = format!("{id}|{client}");
    let now = std::time::Instant::now();
    if code.is_some()
        && let Some(wait) = app.portal.portal.code_attempts.blocked(&attempts_key, now)
    {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!(
                "too many access code attempts; try again in {} minutes",
                wait.as_secs().div_ceil(60).max(1)
            ),
        ));
    }
    let who = plenary_meeting::room_settings::Joiner {
        owner,
        signed_in: user.is_some(),
        moderator_present: app
            .meetings
            .participants(&id)
            .iter()
            .any(|p| p.role == plenary_proto::Role::Moderator),
    };
    let (role, wait, muted) = match plenary_meeting::room_settings::decide(&settings, who, code) {
        plenary_meeting::room_settings::Access::Granted { role, wait, muted } => {
            (role, wait, muted)
        }
        plenary_meeting::room_settings::Access::CodeRequired => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "access_code_required",
                "this room needs an access code",
            ));
        }
        plenary_meeting::room_settings::Access::SignInRequired => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "sign_in_required",
                "this room is for signed-in members only",
            ));
        }
        plenary_meeting::room_settings::Access::NotStarted => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "not_started",
                "this meeting has not started: a moderator must open it first",
            ));
        }
        plenary_meeting::room_settings::Access::WrongCode => {
            app.portal.portal.code_attempts.record(&attempts_key, now);
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "wrong_access_code",
                "that access code is not right",
            ));
        }
    };
    let mut claims = JoinClaims::new(id.clone(), Some(name.clone()), role, exp);
    claims.wait_for_moderator = wait;
    claims.start_muted = muted;
    Ok(Json(JoinGrant {
        token: sign_join_token(&app.secret, &claims),
        room: id,
        name,
        ws_path: "/ws",
        protocol_version: PROTOCOL_VERSION,
        expires_at: exp,
    }))
}
