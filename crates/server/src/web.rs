//! The browser client (`web/`), built into the binary: plain ES modules, no build step. (The
//! front page `/` is the portal's.)
//! With `web_dir` set, the same files are read from disk instead (for client work).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

macro_rules! asset {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/", $name)) as &[u8],
        )
    };
}

/// Every file the client consists of. Only these names are ever served, from either source.
const ASSETS: &[(&str, &[u8])] = &[
    asset!("room.html"),
    asset!("css/plenary.css"),
    asset!("js/protocol.js"),
    asset!("js/call.js"),
    asset!("js/devices.js"),
    asset!("js/landing.js"),
    asset!("js/room.js"),
    asset!("js/panel.js"),
    asset!("js/polls.js"),
    asset!("js/agenda.js"),
    asset!("js/notes.js"),
    asset!("vendor/yjs.mjs"),
    asset!("js/tiles.js"),
    asset!("js/stage.js"),
    asset!("js/settings.js"),
    asset!("js/keys.js"),
    asset!("js/recording.js"),
    asset!("js/diagnostics.js"),
    asset!("js/view.js"),
    asset!("js/i18n.js"),
    asset!("js/playback.js"),
    asset!("favicon.svg"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/r/{id}", get(|s: State<AppState>| page(s, "room.html")))
        .route(
            "/favicon.svg",
            get(|s: State<AppState>| page(s, "favicon.svg")),
        )
        .route("/static/{*path}", get(static_file))
}

async fn page(State(app): State<AppState>, name: &'static str) -> Response {
    serve(&app, name).await
}

async fn static_file(State(app): State<AppState>, Path(path): Path<String>) -> Response {
    serve(&app, &path).await
}

async fn serve(app: &AppState, name: &str) -> Response {
    let Some((name, built_in)) = ASSETS.iter().find(|(n, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let body = match &app.settings.web_dir {
        Some(dir) => match tokio::fs::read(dir.join(name)).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(file = name, error = %e, "web_dir file unreadable; serving built-in copy");
                built_in.to_vec()
            }
        },
        None => built_in.to_vec(),
    };
    let headers = [
        (header::CONTENT_TYPE, content_type(name)),
        (header::CACHE_CONTROL, "no-cache"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (headers, body).into_response()
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}
