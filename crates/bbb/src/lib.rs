//! The BigBlueButton-compatible API at `/bigbluebutton/api/`: a thin adapter (style.md
//! practice 9) that checks checksums, reads BBB parameters, and answers in BBB's XML, over
//! Plenary's meeting service (admission, rooms, live meetings). Coverage: `docs/bbb-compat.md`; the
//! reference it follows: bbb-api.md. Every deliberate quirk says what upstream does.
//!
//! Off unless at least one shared secret is configured (`PLENARY_BBB_SECRETS`).

mod calls;
pub mod checksum;
mod hooks;
pub mod meeting;
mod modules;
pub mod params;
pub mod recordings;
mod registry;
pub mod xml;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use checksum::{Algorithm, ChecksumError};
pub use hooks::Hooks;
use params::Params;
use plenary_http::PublicUrl;
pub use registry::Registry;
use xml::Xml;

/// What the API's handlers reach.
#[derive(Debug, Clone)]
pub struct BbbState {
    /// The API, when a shared secret is configured.
    pub bbb: Option<Arc<Bbb>>,
    /// Admission, room creation and the live meetings.
    pub meeting: Arc<plenary_meeting::Service>,
    pub public: PublicUrl,
    /// Recordings (the recording calls, the ready callback).
    pub recordings: Arc<plenary_recordings::Recordings>,
}

/// The API's configuration and state, present when the API is on.
#[derive(Debug)]
pub struct Bbb {
    secrets: Vec<String>,
    algorithms: Vec<Algorithm>,
    pub registry: Registry,
    pub hooks: Hooks,
}

impl Bbb {
    /// The secret callbacks are signed with (the first configured).
    pub fn signing_secret(&self) -> &str {
        self.secrets.first().map_or("", String::as_str)
    }
}

impl Bbb {
    pub fn new(
        secrets: Vec<String>,
        algorithms: Vec<Algorithm>,
        registry: Registry,
        hooks: Hooks,
    ) -> Self {
        Self {
            secrets,
            algorithms,
            registry,
            hooks,
        }
    }

    /// The secret and hash that sign what this server sends (webhook deliveries).
    pub(crate) fn signing(&self) -> (String, Algorithm) {
        (
            self.secrets.first().cloned().unwrap_or_default(),
            self.algorithms.first().copied().unwrap_or(Algorithm::Sha1),
        )
    }
}

pub fn router() -> Router<BbbState> {
    Router::new()
        .route("/bigbluebutton/api", any(index))
        .route("/bigbluebutton/api/", any(index))
        // `hooks/create` and the other webhook calls are two segments.
        .route("/bigbluebutton/api/{*call}", any(call))
}

/// The API root: a version document, no checksum (clients use it as a health check).
async fn index(State(app): State<BbbState>) -> Response {
    if app.bbb.is_none() {
        return not_enabled();
    }
    let mut x = Xml::success();
    x.elem("version", "2.0")
        .elem("apiVersion", "2.0")
        // bbb-web leaves bbbVersion empty unless allowRevealOfBBBVersion is set.
        .elem("bbbVersion", "");
    x.into_response()
}

fn not_enabled() -> Response {
    Xml::failed(
        "apiNotEnabled",
        "The BigBlueButton API is not enabled on this server (no shared secret is set).",
    )
    .into_response()
}

async fn call(
    State(app): State<BbbState>,
    Path(name): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(app, name, method, query, headers, body).await
}

/// Which HTTP methods a call takes (bbb-web `UrlMappings.groovy`, 3.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Methods {
    GetPost,
    Get,
    Post,
}

fn methods(call: &str) -> Option<Methods> {
    Some(match call {
        "create"
        | "isMeetingRunning"
        | "end"
        | "getMeetingInfo"
        | "getMeetings"
        | "getRecordings"
        | "updateRecordings"
        | "getRecordingTextTracks" => Methods::GetPost,
        // join lost POST in 3.0; bbb-webhooks takes GET only.
        "join" | "publishRecordings" | "deleteRecordings" | "sendChatMessage" | "hooks/create"
        | "hooks/list" | "hooks/destroy" | "hooks/ping" => Methods::Get,
        "insertDocument" | "putRecordingTextTrack" => Methods::Post,
        _ => return None,
    })
}

/// The body's media type, if it has a body at all.
fn body_kind(headers: &HeaderMap, body: &Bytes) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Some(
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

/// A request that passed the envelope checks.
#[derive(Debug)]
pub(crate) struct Request {
    pub call: String,
    pub params: Params,
    /// An XML body (`create` pre-upload, `insertDocument`).
    pub xml_body: Option<String>,
    /// `Host` as sent, to build absolute URLs when no public URL is configured.
    pub host: Option<String>,
}

async fn handle(
    app: BbbState,
    call: String,
    method: Method,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(bbb) = app.bbb.clone() else {
        return not_enabled();
    };
    let query = query.unwrap_or_default();
    if call == "hooks/ping" {
        // bbb-webhooks answers its ping without a checksum.
        return Xml::success().into_response();
    }
    let Some(allowed) = methods(&call) else {
        // BBB has no key for this; Scalelite's catch-all answers so.
        return Xml::failed("unsupportedRequest", "This request is not supported.").into_response();
    };
    let method_ok = match (allowed, &method) {
        (_, m) if m == Method::HEAD => true,
        (Methods::GetPost, m) => m == Method::GET || m == Method::POST,
        (Methods::Get, m) => m == Method::GET,
        (Methods::Post, m) => m == Method::POST,
    };
    if !method_ok {
        return Xml::failed(
            "unsupportedRequest",
            &format!("{call} does not accept {method} requests."),
        )
        .into_response();
    }

    // Content types (BBB 2.7+ ContentTypeValidator): forms everywhere, XML on create and
    // insertDocument (and only XML there).
    let kind = body_kind(&headers, &body);
    let is_form = kind.as_deref() == Some("application/x-www-form-urlencoded");
    let is_multipart = kind.as_deref() == Some("multipart/form-data");
    let is_xml = matches!(kind.as_deref(), Some("application/xml" | "text/xml"));
    let type_ok = match (&kind, call.as_str()) {
        (None, _) => true,
        (Some(_), "insertDocument") => is_xml,
        (Some(_), "create") => is_form || is_multipart || is_xml,
        (Some(_), _) => is_form || is_multipart,
    };
    if method == Method::POST && !type_ok {
        return Xml::failed(
            "unsupportedContentType",
            "POST request Content-Type is missing or unsupported",
        )
        .into_response();
    }

    // Checksum over the raw URL query (BBB 3.0 and Scalelite semantics, bbb-api.md §1.3.3):
    // a form body is not signed; its checksum may be in the body when the URL has none.
    let form =
        (method == Method::POST && is_form).then(|| Params::parse(&String::from_utf8_lossy(&body)));
    let url_checksum = checksum::find_checksum(&query);
    let verdict = match (url_checksum, &form) {
        (Some(c), _) => checksum::verify(
            &call,
            &checksum::strip_checksum(&query, c),
            c,
            &bbb.secrets,
            &bbb.algorithms,
        ),
        (None, Some(f)) => match f.get("checksum") {
            Some(c) => {
                // BBB 3.0/Scalelite sign the URL query only (here: empty). Older clients
                // (bbb-web 2.4–2.6) signed the body: as sent, or re-encoded with sorted names.
                let candidates = if query.is_empty() {
                    let raw_body = String::from_utf8_lossy(&body);
                    vec![
                        String::new(),
                        checksum::strip_checksum(raw_body.trim_start_matches('&'), &c),
                        f.sorted_form(),
                    ]
                } else {
                    vec![query.clone()]
                };
                let mut verdict = Err(ChecksumError::Mismatch);
                for signed in &candidates {
                    verdict = checksum::verify(&call, signed, &c, &bbb.secrets, &bbb.algorithms);
                    // Only a mismatch is worth another candidate; a bad length or a disallowed
                    // hash is the same for all.
                    if verdict != Err(ChecksumError::Mismatch) {
                        break;
                    }
                }
                verdict
            }
            None => Err(ChecksumError::Missing),
        },
        (None, None) => Err(ChecksumError::Missing),
    };
    if let Err(e) = verdict {
        tracing::debug!(%call, error = %e, "BBB API checksum refused");
        let message = match (e, call.starts_with("hooks/")) {
            (_, true) => "You did not pass the checksum security check.".to_owned(),
            (e, false) => e.to_string(),
        };
        return Xml::failed("checksumError", &message).into_response();
    }

    let mut params = Params::parse(&query);
    if let Some(f) = form {
        // The same parameter in the URL and the body is refused by BBB as a checksum error.
        let clash = f.names().any(|n| n != "checksum" && params.has(n));
        if clash {
            return Xml::failed(
                "checksumError",
                "A parameter was sent both in the URL and in the body.",
            )
            .into_response();
        }
        params.extend(f);
    }
    let xml_body = is_xml.then(|| String::from_utf8_lossy(&body).into_owned());
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let req = Request {
        call,
        params,
        xml_body,
        host,
    };
    calls::dispatch(&app, &bbb, req).await
}

/// Starts the API's background work: lifecycle (expiry, duration, events) and webhooks.
pub fn spawn_background(app: &BbbState, bbb: &Arc<Bbb>) {
    registry::spawn_lifecycle(app.clone(), bbb.clone());
    bbb.hooks.start(bbb.clone());
    recordings::spawn_ready_callbacks(app.clone(), bbb.clone());
}
