//! Recordings in the portal: a room's recordings page (for its owners, co-owners and admins:
//! state, progress, storage, publish, delete, retry), the playback page, and every byte of a
//! recording — its timeline, its tracks (with range requests, for seeking) and its MP4 —
//! served only after the recordings service said this viewer may (`access`), link or not.

use std::collections::HashMap;

use super::polls::option_words;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;
use plenary_proto::RoomId;
use plenary_recordings::{Access, MP4, PLAY, Viewer};
use plenary_store::{RecordingRow, RecordingStatus, RecordingUpdate};

use super::{Ctx, Form, redirect, unavailable};
use crate::PortalState;

pub fn router() -> Router<PortalState> {
    Router::new()
        .route("/rooms/{id}/recordings", get(room_recordings))
        .route("/recordings/{id}", get(playback))
        .route("/recordings/{id}/timeline.json", get(timeline))
        .route("/recordings/{id}/media/{file}", get(media))
        .route("/recordings/{id}/download", get(download))
        .route("/recordings/{id}/publish", post(publish))
        .route("/recordings/{id}/delete", post(delete))
        .route("/recordings/{id}/retry", post(retry))
}

fn viewer(ctx: &Ctx) -> Viewer {
    ctx.user
        .as_ref()
        .map_or(Viewer::Anonymous, |u| Viewer::Account {
            id: u.id,
            admin: u.is_admin,
        })
}

fn not_found(ctx: &Ctx, app: &PortalState) -> Response {
    (
        StatusCode::NOT_FOUND,
        ctx.t(&app.portal, "rec-not-found", None),
    )
        .into_response()
}

/// Bytes as the pages show them: megabytes, one decimal.
pub(crate) fn megabytes(bytes: i64) -> String {
    format!("{:.1}", bytes as f64 / 1_000_000.0)
}

fn refused(ctx: &Ctx, app: &PortalState) -> Response {
    (
        StatusCode::FORBIDDEN,
        ctx.t(&app.portal, "rec-forbidden", None),
    )
        .into_response()
}

/// The recording `id` if `ctx`'s viewer (with the link's key `k`) has at least `need`.
async fn recording_for(
    app: &PortalState,
    ctx: &Ctx,
    id: &str,
    key: Option<&str>,
    need: Access,
) -> Result<(RecordingRow, Access), Response> {
    let Some(r) = app
        .recordings
        .store()
        .get_recording(id)
        .await
        .map_err(unavailable)?
    else {
        return Err(not_found(ctx, app));
    };
    let access = app
        .recordings
        .access(viewer(ctx), &r, key)
        .await
        .map_err(unavailable)?;
    if access < need {
        return Err(refused(ctx, app));
    }
    Ok((r, access))
}

fn key_of(q: &HashMap<String, String>) -> Option<&str> {
    q.get("k").map(String::as_str)
}

pub(crate) fn when(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

pub(crate) fn clock(ms: i64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A recording for a page.
pub(crate) fn recording_view(app: &PortalState, r: &RecordingRow) -> minijinja::Value {
    context! {
        id => r.id, room => r.room.as_str(), name => r.name, state => r.status.as_str(), started => when(r.started_ms),
        length => clock(r.length_ms), percent => r.progress / 10, error => r.error,
        published => r.published, protected => r.protected,
        mb => megabytes(r.bytes),
        link => format!("/recordings/{}?k={}", r.id, app.recordings.link_key(&r.id)),
    }
}

/// The room `id`, if the signed-in person manages it (owns or co-owns it, or is a platform
/// admin); else the page that says why not (sign in, no such room, not yours).
pub(crate) async fn managed_room(
    app: &PortalState,
    ctx: &Ctx,
    id: &str,
) -> Result<(plenary_store::Room, plenary_store::User), Response> {
    let Some(user) = &ctx.user else {
        return Err(redirect("/signin"));
    };
    let says = |status, key| (status, ctx.t(&app.portal, key, None)).into_response();
    let Ok(room_id) = RoomId::parse(id) else {
        return Err(says(StatusCode::NOT_FOUND, "room-not-found"));
    };
    let room = match app.store.get_room(&room_id).await {
        Ok(Some(r)) => r,
        Ok(None) => return Err(says(StatusCode::NOT_FOUND, "room-not-found")),
        Err(e) => return Err(unavailable(e)),
    };
    let manages = user.is_admin
        || plenary_meeting::moderates(&*app.store, &room, user.id)
            .await
            .map_err(unavailable)?;
    if !manages {
        return Err(says(StatusCode::FORBIDDEN, "room-forbidden"));
    }
    Ok((room, user.clone()))
}

async fn room_recordings(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let (room, user) = match managed_room(&app, &ctx, &id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let room_id = room.id.clone();
    let user = &user;
    let rows = match app.store.recordings_of_room(&room_id).await {
        Ok(r) => r,
        Err(e) => return unavailable(e),
    };
    let bytes: i64 = rows.iter().map(|r| r.bytes).sum();
    let recordings: Vec<minijinja::Value> = rows.iter().map(|r| recording_view(&app, r)).collect();
    let c = ctx.base(&format!("/rooms/{id}/recordings"));
    let c = context! {
        room => context! { id => room.id.as_str(), name => room.name },
        recordings, storage_mb => megabytes(bytes),
        admin => user.is_admin, ..c
    };
    ctx.show(&app, "recordings.html", StatusCode::OK, c)
}

async fn playback(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (r, access) = match recording_for(&app, &ctx, &id, key_of(&q), Access::Watch).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let t = app.recordings.timeline(&r).await.ok();
    let (speakers, chat) = match &t {
        Some(t) => (
            t.speaking()
                .iter()
                .map(|s| context! { name => t.name_of(s.0), from => s.1, label => format!("{}–{}", clock(s.1 as i64), clock(s.2 as i64)) })
                .collect::<Vec<_>>(),
            t.events
                .iter()
                .filter_map(|e| match e {
                    plenary_recordings::timeline::Event::Chat { at_ms, name, text } => {
                        Some(context! { at => at_ms, clock => clock(*at_ms as i64), name, text })
                    }
                    plenary_recordings::timeline::Event::Poll {
                        at_ms,
                        question,
                        fixed,
                        options,
                        counts,
                        ..
                    } => {
                        // A poll that hides its counts and was still open: none to show.
                        let results = match counts {
                            Some(counts) => options
                                .iter()
                                .enumerate()
                                .map(|(i, o)| {
                                    let n = counts.get(i).copied().unwrap_or(0);
                                    format!("{}: {n}", option_words(&ctx, &app, o, *fixed))
                                })
                                .collect::<Vec<_>>()
                                .join(" · "),
                            None => ctx.t(&app.portal, "rec-poll-hidden", None),
                        };
                        let name = ctx.t(&app.portal, "rec-poll", None);
                        let text = format!("{question} — {results}");
                        Some(context! { at => at_ms, clock => clock(*at_ms as i64), name, text, poll => true })
                    }
                    _ => None,
                })
                .collect::<Vec<_>>(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    // The minutes as they were at each moment (the page shows the latest before its clock).
    let notes: Vec<minijinja::Value> = t
        .iter()
        .flat_map(|t| &t.events)
        .filter_map(|e| match e {
            plenary_recordings::timeline::Event::Notes { at_ms, text } => {
                Some(context! { at => at_ms, text })
            }
            _ => None,
        })
        .collect();
    let minutes_link = format!("/rooms/{}/minutes#minutes-{}", r.room, r.meeting_ms);
    let key = key_of(&q).unwrap_or_default().to_owned();
    let c = ctx.base(&format!("/recordings/{id}"));
    let c = context! {
        rec => recording_view(&app, &r), key, manage => access == Access::Manage,
        playable => t.is_some() && r.status != RecordingStatus::Recording,
        speakers, chat, notes, minutes_link, ..c
    };
    ctx.show(&app, "playback.html", StatusCode::OK, c)
}

async fn timeline(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (r, access) = match recording_for(&app, &ctx, &id, key_of(&q), Access::Watch).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let timeline = app.recordings.timeline(&r).await.ok();
    // Why a composition failed (ffmpeg's last words) is for those who manage it.
    let error = if access == Access::Manage {
        r.error.as_deref()
    } else {
        None
    };
    axum::Json(serde_json::json!({
        "recording": {
            "id": r.id, "name": r.name, "state": r.status.as_str(), "progress": r.progress,
            "length_ms": r.length_ms, "error": error,
        },
        "timeline": timeline,
    }))
    .into_response()
}

async fn media(
    State(app): State<PortalState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, file)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (r, _) = match recording_for(&app, &ctx, &id, key_of(&q), Access::Watch).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    // Only a track the timeline names: never a path.
    let known = app
        .recordings
        .timeline(&r)
        .await
        .is_ok_and(|t| t.tracks.iter().any(|tr| tr.file == file));
    if !known {
        return not_found(&ctx, &app);
    }
    serve(
        &app,
        &ctx,
        &r,
        &format!("{PLAY}/{file}"),
        &headers,
        "video/webm",
        None,
    )
    .await
}

async fn download(
    State(app): State<PortalState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (r, _) = match recording_for(&app, &ctx, &id, key_of(&q), Access::Watch).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if r.status != RecordingStatus::Ready {
        return (
            StatusCode::NOT_FOUND,
            ctx.t(&app.portal, "rec-not-ready", None),
        )
            .into_response();
    }
    let name = format!("{} {}.mp4", r.name, when(r.started_ms).replace(':', "-"));
    serve(&app, &ctx, &r, MP4, &headers, "video/mp4", Some(&name)).await
}

/// Serves a file of a recording from wherever it is (the local folder, the object storage).
async fn serve(
    app: &PortalState,
    ctx: &Ctx,
    r: &RecordingRow,
    name: &str,
    headers: &HeaderMap,
    content_type: &'static str,
    download: Option<&str>,
) -> Response {
    match app.recordings.source(r, name).await {
        Ok(plenary_recordings::Source::Local(path)) => {
            plenary_http::files::serve_file(&path, headers, content_type, download).await
        }
        Ok(plenary_recordings::Source::Remote {
            remote,
            folder,
            name,
            len,
        }) => {
            plenary_http::files::serve(
                len,
                headers,
                content_type,
                download,
                |start, count| async move {
                    remote
                        .read_range(&folder, &name, start, count)
                        .await
                        .map_err(std::io::Error::other)
                },
            )
            .await
        }
        Err(e) => {
            tracing::error!(id = %r.id, error = %e, "cannot read a recording");
            not_found(ctx, app)
        }
    }
}

/// A manager's form on a recording: checked (CSRF, access) before `f` runs.
async fn managed(
    app: &PortalState,
    ctx: &Ctx,
    id: &str,
    body: &Bytes,
) -> Result<(RecordingRow, Form), Response> {
    let form = Form::parse(body);
    if !ctx.csrf_ok(&form) {
        return Err(ctx.csrf_refused(&app.portal));
    }
    if ctx.user.is_none() {
        return Err(redirect("/signin"));
    }
    let (r, _) = recording_for(app, ctx, id, None, Access::Manage).await?;
    Ok((r, form))
}

fn back_to_room(r: &RecordingRow) -> Response {
    redirect(&format!("/rooms/{}/recordings", r.room.as_str()))
}

async fn publish(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (r, form) = match managed(&app, &ctx, &id, &body).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let u = RecordingUpdate {
        published: Some(form.get("published") == "on"),
        ..Default::default()
    };
    match app.store.update_recording(&r.id, &u).await {
        Ok(_) => back_to_room(&r),
        Err(e) => unavailable(e),
    }
}

async fn delete(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (r, _) = match managed(&app, &ctx, &id, &body).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    // Not while it is written or composed (the recorder or a worker holds its files).
    if !matches!(r.status, RecordingStatus::Ready | RecordingStatus::Failed) {
        return (
            StatusCode::CONFLICT,
            ctx.t(&app.portal, "rec-not-ready", None),
        )
            .into_response();
    }
    match app.recordings.delete(&r).await {
        Ok(_) => back_to_room(&r),
        Err(e) => {
            tracing::error!(id = %r.id, error = %e, "cannot delete a recording");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                ctx.t(&app.portal, "rec-delete-failed", None),
            )
                .into_response()
        }
    }
}

async fn retry(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (r, _) = match managed(&app, &ctx, &id, &body).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    // Retrying costs the machine: platform admins only.
    if !ctx.user.as_ref().is_some_and(|u| u.is_admin) {
        return refused(&ctx, &app);
    }
    match app.recordings.retry(&r.id).await {
        Ok(_) => back_to_room(&r),
        Err(e) => unavailable(e),
    }
}
