//! A room's shared minutes, kept after each meeting, for the people who manage the room:
//! `/rooms/{id}/minutes` shows them by meeting; `/rooms/{id}/minutes/{meeting}.md` and
//! `.pdf` export one meeting's (the Markdown as written; the PDF laid out by `pdf.rs`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::context;
use plenary_meeting::minutes::minutes_text;

use super::recordings::{managed_room, when};
use super::{Ctx, attachment, unavailable};
use crate::PortalState;

pub fn router() -> Router<PortalState> {
    Router::new()
        .route("/rooms/{id}/minutes", get(page))
        .route("/rooms/{id}/minutes/{file}", get(export))
}

async fn page(State(app): State<PortalState>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let (room, _) = match managed_room(&app, &ctx, &id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let list = match app.store.minutes_of(&room.id).await {
        Ok(l) => l,
        Err(e) => return unavailable(e),
    };
    let mut minutes = Vec::new();
    for m in list {
        let text = match minutes_text(&*app.store, &room.id, m.meeting_ms).await {
            Ok(t) => t.unwrap_or_default(),
            Err(e) => return unavailable(e),
        };
        minutes.push(context! {
            meeting_ms => m.meeting_ms, meeting => when(m.meeting_ms), updated => when(m.updated_ms),
            text,
        });
    }
    let c = context! {
        room => context! { id => room.id.as_str(), name => room.name },
        minutes,
        ..ctx.base(&format!("/rooms/{id}/minutes"))
    };
    ctx.show(&app, "minutes.html", StatusCode::OK, c)
}

/// `<meeting>.md` or `<meeting>.pdf`.
fn parse_file(file: &str) -> Option<(i64, &'static str)> {
    let (meeting, ext) = file.rsplit_once('.')?;
    let ext = match ext {
        "md" => "md",
        "pdf" => "pdf",
        _ => return None,
    };
    Some((meeting.parse().ok()?, ext))
}

async fn export(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    let (room, _) = match managed_room(&app, &ctx, &id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            ctx.t(&app.portal, "minutes-not-found", None),
        )
            .into_response()
    };
    let Some((meeting_ms, ext)) = parse_file(&file) else {
        return not_found();
    };
    let text = match minutes_text(&*app.store, &room.id, meeting_ms).await {
        Ok(Some(t)) => t,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(e),
    };
    let title = ctx.t(
        &app.portal,
        "minutes-title",
        Some(&fluent_args(&[("room", &room.name)])),
    );
    let subtitle = ctx.t(
        &app.portal,
        "minutes-meeting",
        Some(&fluent_args(&[("meeting", &when(meeting_ms))])),
    );
    let (body, content_type) = match ext {
        "md" => (
            format!("# {title}\n\n_{subtitle}_\n\n{text}\n").into_bytes(),
            "text/markdown; charset=utf-8",
        ),
        _ => (
            crate::pdf::minutes_pdf(&title, &subtitle, &text),
            "application/pdf",
        ),
    };
    let name = format!("minutes-{}-{meeting_ms}.{ext}", room.id);
    attachment(body, content_type, &name)
}

fn fluent_args<'a>(pairs: &[(&'a str, &'a str)]) -> fluent_bundle::FluentArgs<'a> {
    let mut args = fluent_bundle::FluentArgs::new();
    for (k, v) in pairs {
        args.set(*k, *v);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::parse_file;

    #[test]
    fn only_a_meeting_number_and_a_known_format() {
        assert_eq!(parse_file("1765000000000.md"), Some((1765000000000, "md")));
        assert_eq!(
            parse_file("1765000000000.pdf"),
            Some((1765000000000, "pdf"))
        );
        assert_eq!(parse_file("1765000000000.html"), None);
        assert_eq!(parse_file("../x.md"), None);
        assert_eq!(parse_file("md"), None);
    }
}
