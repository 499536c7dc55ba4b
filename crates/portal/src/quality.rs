//! Meeting reports of call quality, for a room's owners and the platform's admins:
//! `/rooms/{id}/quality` lists the room's meetings with reports, `/rooms/{id}/quality/{meeting}`
//! shows one — its problems in plain words, each participant's connection over time (a strip
//! and its table), and (to platform admins only) the problems people reported from it.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fluent_bundle::FluentArgs;
use minijinja::context;
use plenary_status::quality::{Problem, Score, problems, score};
use plenary_store::{ProblemRow, QualityRow};

use super::recordings::{managed_room, when};
use super::status::cell;
use super::{Ctx, unavailable};
use crate::PortalState;

pub fn router() -> Router<PortalState> {
    Router::new()
        .route("/rooms/{id}/quality", get(meetings_page))
        .route("/rooms/{id}/quality/{meeting}", get(meeting_page))
}

/// Meetings listed on a room's page.
const MEETINGS_LISTED: u32 = 50;
/// Problem reports shown with a meeting (and on the operators' view).
pub(crate) const PROBLEMS_SHOWN: u32 = 50;

async fn meetings_page(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let (room, _) = match managed_room(&app, &ctx, &id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let meetings = match app
        .store
        .quality_meetings(room.id.as_str(), MEETINGS_LISTED)
        .await
    {
        Ok(m) => m,
        Err(e) => return unavailable(e),
    };
    let meetings: Vec<minijinja::Value> = meetings
        .iter()
        .map(|m| {
            context! {
                ms => m.meeting_ms, started => when(m.meeting_ms), people => m.people,
                last => when(m.last_ms),
            }
        })
        .collect();
    let c = context! {
        room => context! { id => room.id.as_str(), name => room.name },
        meetings, meeting => minijinja::Value::UNDEFINED,
        ..ctx.base(&format!("/rooms/{id}/quality"))
    };
    ctx.show(&app, "quality.html", StatusCode::OK, c)
}

/// How long, in words: `40 s`, `3 min`.
fn duration(seconds: i64) -> String {
    if seconds < 90 {
        format!("{seconds} s")
    } else {
        format!("{} min", (seconds + 30) / 60)
    }
}

/// A problem in the reader's language.
pub(crate) fn words(ctx: &Ctx, app: &PortalState, p: &Problem) -> String {
    let mut a = FluentArgs::new();
    a.set("name", p.name.clone());
    a.set("value", p.value);
    a.set("duration", duration(p.seconds));
    a.set("at", when(p.at_ms));
    ctx.t(
        &app.portal,
        &format!("quality-problem-{}", p.kind.as_str()),
        Some(&a),
    )
}

fn permille_cell(v: Option<i64>) -> String {
    v.map(|v| format!("{:.1}", v as f64 / 10.0))
        .unwrap_or_else(|| "–".into())
}

/// One participant's reports as the page shows them.
fn person_view(ctx: &Ctx, app: &PortalState, rows: &[&QualityRow]) -> minijinja::Value {
    let first = rows[0];
    let table_id = format!("quality-{}", first.participant);
    let scores: Vec<Score> = rows.iter().map(|r| score(r)).collect();
    let said = |s: Score| ctx.t(&app.portal, &format!("quality-score-{}", s.as_str()), None);
    let cells: Vec<(String, &str)> = rows
        .iter()
        .zip(&scores)
        .map(|(r, s)| (format!("{}: {}", when(r.at_ms), said(*s)), s.as_str()))
        .collect();
    let mut a = FluentArgs::new();
    a.set("name", first.name.clone());
    let strip = crate::charts::strip(
        &ctx.t(&app.portal, "quality-strip", Some(&a)),
        &table_id,
        &cells,
    );
    let good = scores.iter().filter(|s| **s == Score::Good).count();
    let table: Vec<Vec<String>> = rows
        .iter()
        .zip(&scores)
        .map(|(r, s)| {
            vec![
                when(r.at_ms),
                said(*s),
                permille_cell(r.loss_out),
                permille_cell(r.loss_in),
                cell(r.rtt_ms),
                cell(r.jitter_ms),
                cell(r.kbps_out),
                cell(r.kbps_in),
                cell(r.frames_dropped),
                r.limitation.clone().unwrap_or_else(|| "–".into()),
                match (&r.candidate, &r.protocol) {
                    (Some(c), Some(p)) => format!("{c} / {p}"),
                    (Some(c), None) => c.clone(),
                    (None, Some(p)) => p.clone(),
                    (None, None) => "–".into(),
                },
            ]
        })
        .collect();
    context! {
        id => first.participant, name => first.name, strip, table, table_id,
        good_percent => good * 100 / rows.len(),
    }
}

pub(crate) fn problem_report_view(p: &ProblemRow) -> minijinja::Value {
    context! {
        id => p.id, room => p.room, meeting => p.meeting_ms, name => p.name, at => when(p.at_ms),
        note => p.note, diagnostics => p.diagnostics,
    }
}

async fn meeting_page(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path((id, meeting)): Path<(String, i64)>,
) -> Response {
    let (room, user) = match managed_room(&app, &ctx, &id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (rows, mut reported) = match (
        app.store.quality_of(room.id.as_str(), meeting).await,
        app.store
            .problems(Some((room.id.as_str(), meeting)), 0, PROBLEMS_SHOWN)
            .await,
    ) {
        (Ok(r), Ok(p)) => (r, p),
        (Err(e), _) | (_, Err(e)) => return unavailable(e),
    };
    // What people report goes to the platform's admins (they may be reporting the host).
    if !user.is_admin {
        reported.clear();
    }
    if rows.is_empty() && reported.is_empty() {
        return (
            StatusCode::NOT_FOUND,
            ctx.t(&app.portal, "quality-no-meeting", None),
        )
            .into_response();
    }
    let found: Vec<String> = problems(&rows)
        .iter()
        .map(|p| words(&ctx, &app, p))
        .collect();
    let people: Vec<minijinja::Value> = rows
        .chunk_by(|a, b| a.participant == b.participant)
        .map(|person| {
            let refs: Vec<&QualityRow> = person.iter().collect();
            person_view(&ctx, &app, &refs)
        })
        .collect();
    let c = context! {
        room => context! { id => room.id.as_str(), name => room.name },
        meeting => context! { ms => meeting, started => when(meeting) },
        problems => found, people,
        reported => reported.iter().map(problem_report_view).collect::<Vec<_>>(),
        admin => user.is_admin,
        ..ctx.base(&format!("/rooms/{id}/quality"))
    };
    ctx.show(&app, "quality.html", StatusCode::OK, c)
}
