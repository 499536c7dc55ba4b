//! The native HTTP API under `/api`: rooms and join tokens, translated to and from the meeting
//! service (which decides). JSON in, JSON out; every error is `{"error": {"code": "...",
//! "message": "..."}}` with a fitting status.
//!
//! Who asks: a signed-in session (the portal's cookie) or an API token an admin made
//! (`Authorization: Bearer plt_…`), else nobody. Creating rooms needs an account unless the
//! operator set `room_creation = anyone`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use plenary_meeting::{CreateRefusal, Creator, LimitBy, Refusal, Via};
use plenary_proto::{PROTOCOL_VERSION, RoomId};
use plenary_store::{StoreError, User};
use serde::{Deserialize, Serialize};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/rooms", post(create_room))
        .route("/api/rooms/{id}", get(get_room))
        .route("/api/rooms/{id}/join", post(join_room))
        .route("/api/usage", get(usage))
}

/// What `/api/usage` is asked for.
#[derive(Debug, Deserialize)]
struct UsageAsk {
    /// `2026-11`, `2026-W45` or `2026-11-05` (UTC); default: this month.
    period: Option<String>,
    /// Only this room of the organisation's.
    room: Option<String>,
    /// `json` (default) or `csv` (the report's table: a row per bucket, then the period's).
    format: Option<String>,
}

/// `/api/usage`: an organisation's usage report, read-only, for its usage token
/// (`Authorization: Bearer plu_…`, made on the organisation's usage page). Nothing else
/// reads it: a token names one organisation and reads only that one's numbers.
async fn usage(
    State(app): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(ask): axum::extract::Query<UsageAsk>,
) -> Result<Response, ApiError> {
    let secret = bearer(&headers).unwrap_or_default();
    let Some(org) = plenary_usage::token_org(&*app.store, secret).await? else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_usage_token",
            "a usage token of an organisation is needed (Authorization: Bearer plu_…)",
        ));
    };
    let now = plenary_proto::clock::unix_millis();
    let period = match ask.period.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => {
            plenary_usage::Period::parse(p).map_err(|e| ApiError::bad_request(e.to_string()))?
        }
        None => plenary_usage::Period::containing(plenary_usage::PeriodKind::Month, now),
    };
    let room = ask.room.filter(|r| !r.is_empty());
    let Some(report) =
        plenary_usage::organisation_report(&*app.store, org, room, period, now).await?
    else {
        return Err(ApiError::not_found("the token's organisation is gone"));
    };
    let report = report.without_room_links();
    Ok(match ask.format.as_deref() {
        Some("csv") => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            plenary_usage::report::csv(&plenary_usage::report::COLUMNS, &report.report.table()),
        )
            .into_response(),
        Some("json") | None => Json(report).into_response(),
        Some(_) => return Err(ApiError::bad_request("format: use json or csv")),
    })
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
    fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the server cannot reach its database right now",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        // Details go to the log, never to the client.
        tracing::error!(error = %e, "storage error");
        Self::unavailable()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        Self::new(e.status(), "bad_request", e.body_text())
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        use StatusCode as S;
        let message = r.to_string();
        let (status, code) = match &r {
            Refusal::NoSuchRoom => (S::NOT_FOUND, "not_found"),
            Refusal::IntegrationOnly => (S::FORBIDDEN, "integration_only"),
            Refusal::CodeRequired => (S::FORBIDDEN, "access_code_required"),
            Refusal::WrongCode => (S::FORBIDDEN, "wrong_access_code"),
            Refusal::TooManyAttempts { .. } => (S::TOO_MANY_REQUESTS, "too_many_attempts"),
            Refusal::SignInRequired => (S::FORBIDDEN, "sign_in_required"),
            Refusal::NotStarted => (S::FORBIDDEN, "not_started"),
            Refusal::Full { max, by } => {
                let message = match by {
                    LimitBy::Organisation => {
                        format!("this meeting is full: the organisation allows {max} participants")
                    }
                    _ => message,
                };
                return Self::new(S::FORBIDDEN, "room_full", message);
            }
            Refusal::Busy(_) => (S::SERVICE_UNAVAILABLE, "server_busy"),
            Refusal::GuestDenied => (S::FORBIDDEN, "guest_denied"),
            Refusal::Ended => (S::GONE, "meeting_ended"),
            Refusal::BadName(_) => (S::BAD_REQUEST, "bad_request"),
            Refusal::UnknownSeat => (S::FORBIDDEN, "invalid_token"),
            Refusal::Barred => (S::FORBIDDEN, "barred"),
            Refusal::Unavailable(_) => return Self::unavailable(),
        };
        Self::new(status, code, message)
    }
}

impl From<CreateRefusal> for ApiError {
    fn from(r: CreateRefusal) -> Self {
        let message = r.to_string();
        match r {
            CreateRefusal::SignInRequired => Self::new(
                StatusCode::UNAUTHORIZED,
                "sign_in_required",
                "creating rooms needs an account: sign in, or send an API token \
                 (Authorization: Bearer …) an admin made",
            ),
            CreateRefusal::RoomLimit { .. } => {
                Self::new(StatusCode::FORBIDDEN, "room_limit", message)
            }
            CreateRefusal::BadName(_) => Self::bad_request(message),
            CreateRefusal::Unavailable(_) => Self::unavailable(),
        }
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

/// A request's Bearer credential, trimmed. Only a Bearer credential is ours (a proxy's Basic
/// one, say, is not); the scheme's name is case-insensitive (RFC 9110 §11.1).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, secret)| secret.trim())
}

/// The account a request acts as: its API token's (a wrong one is refused, never taken for
/// nobody), else its signed-in session's, else none.
async fn caller(app: &AppState, headers: &HeaderMap) -> Result<Option<User>, ApiError> {
    if let Some(secret) = bearer(headers) {
        return match plenary_accounts::api_token_user(&*app.store, secret).await? {
            Some(u) => Ok(Some(u)),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_api_token",
                "that API token is unknown or revoked",
            )),
        };
    }
    Ok(plenary_portal::session_user(&*app.store, headers).await)
}

/// `/api/health`: whether this node can serve meetings, part by part. 503 when a part is
/// degraded, so that a load balancer stops sending people here.
async fn health(State(app): State<AppState>) -> Response {
    let database = match app.store.ping().await {
        Ok(()) => "ok",
        Err(e) => {
            tracing::error!(error = %e, "health check: the database does not answer");
            "unavailable"
        }
    };
    let ok = database == "ok";
    let body = Json(serde_json::json!({
        "status": if ok { "ok" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "database": app.store.backend(),
        "checks": { "database": database },
        "protocol_version": PROTOCOL_VERSION,
    }));
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body).into_response()
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
    /// Whether the meeting in the room is being recorded now (`off`, `recording`, `paused`),
    /// so that whoever is about to join is told before joining.
    recording: plenary_proto::RecordingState,
}

impl RoomView {
    fn new(app: &AppState, room: plenary_store::Room) -> Self {
        Self {
            access_code: plenary_meeting::RoomSettings::parse(&room.settings).needs_code(),
            url: format!("/r/{}", room.id),
            participants: app.meeting.live.count(&room.id),
            recording: app.meeting.live.recording(&room.id),
            id: room.id,
            name: room.name,
            created_at: room.created_at,
        }
    }
}

async fn create_room(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<CreateRoom>, JsonRejection>,
) -> Result<(StatusCode, Json<RoomView>), ApiError> {
    let Json(body) = body?;
    let by = match caller(&app, &headers).await? {
        Some(u) => Creator::Account(u),
        None => Creator::Anonymous,
    };
    let room = app
        .meeting
        .create_room(body.name.as_deref().unwrap_or_default(), by)
        .await?;
    Ok((StatusCode::CREATED, Json(RoomView::new(&app, room))))
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
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<JoinRequest>, JsonRejection>,
) -> Result<Json<JoinGrant>, ApiError> {
    let Json(body) = body?;
    let room = parse_room_id(&id)?;
    let account = caller(&app, &headers).await?;
    // Behind a trusted proxy, the address it forwards counts for the access-code limit.
    let client =
        plenary_http::client_addr::of_request(peer, &headers, &app.settings.trusted_proxies);
    let grant = app
        .meeting
        .admit(plenary_meeting::JoinRequest {
            room,
            name: body.name,
            via: Via::Link {
                account,
                access_code: body.access_code,
                client,
            },
        })
        .await?;
    Ok(Json(JoinGrant {
        token: grant.token,
        room: grant.room,
        name: grant.name,
        ws_path: "/ws",
        protocol_version: PROTOCOL_VERSION,
        expires_at: grant.expires_at,
    }))
}
