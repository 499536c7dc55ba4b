//! A room's polls and their results, for its owners and the platform's admins (the people who
//! manage the room): `/rooms/{id}/polls` shows them by meeting, `/rooms/{id}/polls.json` and
//! `/rooms/{id}/polls.csv` export them. A secret poll's export has its counts and who voted,
//! never who chose what (the store does not have it).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::context;
use plenary_meeting::poll_results::{StoredPoll, stored_polls};

use super::recordings::{managed_room, when};
use super::{Ctx, attachment, unavailable};
use crate::PortalState;

pub fn router() -> Router<PortalState> {
    Router::new()
        .route("/rooms/{id}/polls", get(page))
        .route("/rooms/{id}/polls.json", get(json))
        .route("/rooms/{id}/polls.csv", get(csv))
}

/// The managed room `id`'s polls, or the page that says why not.
async fn polls_of(
    app: &PortalState,
    ctx: &Ctx,
    id: &str,
) -> Result<(plenary_store::Room, Vec<StoredPoll>), Response> {
    let (room, _) = managed_room(app, ctx, id).await?;
    let polls = stored_polls(&*app.store, &room.id, None)
        .await
        .map_err(unavailable)?;
    Ok((room, polls))
}

/// An option as the reader reads it: a fixed kind's in their language.
pub(crate) fn option_words(ctx: &Ctx, app: &PortalState, option: &str, fixed: bool) -> String {
    if fixed {
        ctx.t(&app.portal, &format!("poll-option-{option}"), None)
    } else {
        option.to_owned()
    }
}

async fn page(State(app): State<PortalState>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let (room, polls) = match polls_of(&app, &ctx, &id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let polls: Vec<minijinja::Value> = polls
        .iter()
        .map(|s| {
            let p = &s.poll;
            let fixed = p.spec.kind.fixed_options().is_some();
            let options: Vec<minijinja::Value> = s
                .options
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    context! {
                        name => option_words(&ctx, &app, o, fixed),
                        count => p.counts.as_ref().and_then(|c| c.get(i)).map_or_else(|| "—".to_owned(), u32::to_string),
                        names => p.names.as_ref().and_then(|n| n.get(i)).map(|n| n.join(", ")),
                    }
                })
                .collect();
            context! {
                id => p.id, meeting => when(s.meeting_ms), question => p.spec.question,
                by => p.by, opened => when(p.opened_ms), closed => p.closed_ms.map(when),
                secret => p.spec.secret, votes => p.votes, quorum => p.spec.quorum,
                quorum_met => p.quorum_met(), options, voters => s.voters.join(", "),
            }
        })
        .collect();
    let c = context! {
        room => context! { id => room.id.as_str(), name => room.name },
        polls,
        ..ctx.base(&format!("/rooms/{id}/polls"))
    };
    ctx.show(&app, "polls.html", StatusCode::OK, c)
}

/// An attachment named `polls-<room>.<ext>`.
fn download(body: String, content_type: &'static str, room: &str, ext: &str) -> Response {
    attachment(body, content_type, &format!("polls-{room}.{ext}"))
}

async fn json(State(app): State<PortalState>, ctx: Ctx, Path(id): Path<String>) -> Response {
    match polls_of(&app, &ctx, &id).await {
        Ok((room, polls)) => match serde_json::to_string_pretty(&polls) {
            Ok(body) => download(body, "application/json", room.id.as_str(), "json"),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        Err(r) => r,
    }
}

async fn csv(State(app): State<PortalState>, ctx: Ctx, Path(id): Path<String>) -> Response {
    match polls_of(&app, &ctx, &id).await {
        Ok((room, polls)) => download(
            polls_csv(&polls),
            "text/csv; charset=utf-8",
            room.id.as_str(),
            "csv",
        ),
        Err(r) => r,
    }
}

/// A wire name as serde writes it (a poll's kind, who may vote).
fn wire_name(v: impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Polls as CSV (the usage exports' writer: quoted, formulas defused): a row per option, with
/// its count (empty while the poll hides it) and, where named, who chose it.
fn polls_csv(polls: &[StoredPoll]) -> String {
    let header = [
        "meeting_ms",
        "poll",
        "question",
        "kind",
        "secret",
        "voters",
        "quorum",
        "quorum_met",
        "opened_ms",
        "closed_ms",
        "votes",
        "option",
        "count",
        "chosen_by",
    ];
    let mut rows = Vec::new();
    for s in polls {
        let p = &s.poll;
        for (i, option) in s.options.iter().enumerate() {
            let count = p.counts.as_ref().and_then(|c| c.get(i));
            let chosen_by = p
                .names
                .as_ref()
                .and_then(|n| n.get(i))
                .map(|n| n.join("; "));
            rows.push(vec![
                s.meeting_ms.to_string(),
                p.id.to_string(),
                p.spec.question.clone(),
                wire_name(p.spec.kind),
                p.spec.secret.to_string(),
                wire_name(p.spec.voters),
                p.spec.quorum.map(|q| q.to_string()).unwrap_or_default(),
                p.quorum_met().map(|m| m.to_string()).unwrap_or_default(),
                p.opened_ms.to_string(),
                p.closed_ms.map(|c| c.to_string()).unwrap_or_default(),
                p.votes.to_string(),
                option.clone(),
                count.map(u32::to_string).unwrap_or_default(),
                chosen_by.unwrap_or_default(),
            ]);
        }
    }
    plenary_usage::report::csv(&header, &rows)
}
