//! Usage reports in the portal: an organisation's own numbers for its admins
//! (`/orgs/{id}/usage`: its rooms, its attendance option, its read-only API tokens) and the
//! platform's for its admins (`/admin/usage`: totals and rankings of organisations, rooms and
//! regions). Each with charts drawn on the server, the tables they draw, and CSV and JSON
//! exports of every table. Periods are UTC days, ISO weeks or months.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;
use plenary_usage::report::{COLUMNS, csv, row};
use plenary_usage::{Named, Period, PeriodKind, RankBy, Report, Scope};

use super::{Admin, Ctx, Form, redirect, unavailable};
use crate::PortalState;

pub fn router() -> Router<PortalState> {
    Router::new()
        .route("/orgs/{id}/usage", get(org_page))
        .route("/orgs/{id}/usage/export", get(org_export))
        .route("/orgs/{id}/usage/attendance", post(set_attendance))
        .route("/orgs/{id}/usage/tokens", post(create_token))
        .route("/orgs/{id}/usage/tokens/{token}/revoke", post(revoke_token))
        .route("/admin/usage", get(admin_page))
        .route("/admin/usage/export", get(admin_export))
}

/// What a report page or export is asked for.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Ask {
    /// `2026-11`, `2026-W45`, `2026-11-05`; default: this month.
    period: Option<String>,
    /// `day`, `week` or `month`: this one (of that kind) instead.
    kind: Option<String>,
    /// `csv` or `json`.
    format: Option<String>,
    /// Which table an export holds: `buckets` (default), `sizes`, `rooms`, `organisations`,
    /// `regions`, `attendance`.
    table: Option<String>,
    /// Only this region (platform) or room (organisation).
    region: Option<String>,
    room: Option<String>,
}

impl Ask {
    /// The period asked for, or the (translated) reason it is not one.
    fn period(&self, ctx: &Ctx, app: &PortalState) -> Result<Period, String> {
        let now = plenary_proto::clock::unix_millis();
        match (
            self.period.as_deref().filter(|p| !p.is_empty()),
            self.kind.as_deref(),
        ) {
            (Some(p), _) => {
                Period::parse(p).map_err(|_| ctx.t(&app.portal, "usage-error-period", None))
            }
            (None, Some(k)) => Ok(Period::containing(
                PeriodKind::parse(k).unwrap_or(PeriodKind::Month),
                now,
            )),
            (None, None) => Ok(Period::containing(PeriodKind::Month, now)),
        }
    }
}

/// A report's tables as the page shows them (and the exports hold).
fn bucket_rows(r: &Report) -> Vec<Vec<String>> {
    r.table()
}

fn size_rows(r: &Report) -> Vec<Vec<String>> {
    r.sizes
        .iter()
        .map(|s| vec![s.size.to_owned(), s.meetings.to_string()])
        .collect()
}

fn named_rows(list: &[Named]) -> Vec<Vec<String>> {
    list.iter()
        .map(|n| {
            let mut r = row(&n.id, &n.totals);
            r.insert(1, n.name.clone());
            r
        })
        .collect()
}

const SIZE_COLUMNS: [&str; 2] = ["participants", "meetings"];

fn named_columns() -> Vec<&'static str> {
    let mut c = COLUMNS.to_vec();
    c[0] = "id";
    c.insert(1, "name");
    c
}

/// The charts of a report: participant-minutes per bucket, and meeting sizes.
fn charts(app: &PortalState, ctx: &Ctx, r: &Report) -> (String, String) {
    let per: Vec<(String, f64)> = r
        .buckets
        .iter()
        .map(|b| (b.label.clone(), b.totals.participant_minutes))
        .collect();
    let sizes: Vec<(String, f64)> = r
        .sizes
        .iter()
        .map(|s| (s.size.to_owned(), s.meetings as f64))
        .collect();
    (
        crate::charts::bars(
            &ctx.t(&app.portal, "usage-chart-minutes", None),
            "usage-table",
            &per,
        ),
        crate::charts::bars(
            &ctx.t(&app.portal, "usage-chart-sizes", None),
            "usage-sizes",
            &sizes,
        ),
    )
}

/// The filter a page was asked with, to keep in its links (`&region=eu`, `&room=…`).
fn filter_qs(ask: &Ask) -> String {
    let mut qs = String::new();
    for (k, v) in [("region", &ask.region), ("room", &ask.room)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            qs.push('&');
            qs.push_str(k);
            qs.push('=');
            qs.extend(form_urlencoded::byte_serialize(v.as_bytes()));
        }
    }
    qs
}

/// The page's period navigation: (this, previous, next, kind).
fn nav(p: Period) -> minijinja::Value {
    context! {
        this => p.to_string(), previous => p.previous().to_string(), next => p.next().to_string(),
        kind => p.kind().as_str(),
        from => plenary_usage::period::utc_minute(p.start_ms()),
        to => plenary_usage::period::utc_minute(p.end_ms()),
    }
}

fn totals_view(r: &Report) -> minijinja::Value {
    let cells = row(&r.period, &r.totals);
    context! {
        meetings => cells[1], meeting_minutes => cells[2], participant_minutes => cells[3],
        distinct => cells[4], peak => cells[5], peak_at => cells[6], recordings => cells[7],
        recording_mb => super::recordings::megabytes(r.totals.recording_bytes),
        deleted_mb => super::recordings::megabytes(r.totals.deleted_recording_bytes),
        incomplete_before => r.incomplete_before_ms.map(plenary_usage::period::utc_minute),
    }
}

/// An export: CSV (with a name saying what and when) or JSON.
fn export(
    format: &str,
    name: &str,
    header: &[&str],
    rows: &[Vec<String>],
    json: serde_json::Value,
) -> Response {
    if format == "json" {
        return axum::Json(json).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        csv(header, rows),
    )
        .into_response()
}

/// The meeting sizes' table as an export.
fn export_sizes(format: &str, name: &str, r: &Report) -> Response {
    export(
        format,
        &format!("{name}-sizes"),
        &SIZE_COLUMNS,
        &size_rows(r),
        serde_json::json!(r.sizes),
    )
}

/// A ranking (organisations, rooms, regions) as an export named `<name>-<what>`.
fn export_named(format: &str, name: &str, what: &str, list: &[Named]) -> Response {
    export(
        format,
        &format!("{name}-{what}"),
        &named_columns(),
        &named_rows(list),
        serde_json::json!(list),
    )
}

/// The organisation's report, for whoever may manage it.
async fn org_report(
    app: &PortalState,
    ctx: &Ctx,
    id: i64,
    ask: &Ask,
) -> Result<(Period, plenary_usage::OrganisationReport), Response> {
    super::orgs::manager(app, ctx, id).await?;
    let period = ask
        .period(ctx, app)
        .map_err(|e| (StatusCode::BAD_REQUEST, e).into_response())?;
    let room = ask.room.clone().filter(|r| !r.is_empty());
    match plenary_usage::organisation_report(
        &*app.store,
        id,
        room,
        period,
        plenary_proto::clock::unix_millis(),
    )
    .await
    {
        Ok(Some(r)) => Ok((period, r)),
        Ok(None) => Err((StatusCode::NOT_FOUND, "No such organisation.").into_response()),
        Err(e) => Err(unavailable(e)),
    }
}

async fn org_page(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(ask): Query<Ask>,
) -> Response {
    show_org(&app, &ctx, id, &ask, StatusCode::OK, None, None).await
}

async fn show_org(
    app: &PortalState,
    ctx: &Ctx,
    id: i64,
    ask: &Ask,
    status: StatusCode,
    error: Option<String>,
    made: Option<minijinja::Value>,
) -> Response {
    let (period, r) = match org_report(app, ctx, id, ask).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let own = match own_admin(app, ctx, id).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let (keeps, tokens) = match (
        app.store.keeps_attendance(id).await,
        app.store.usage_tokens(id).await,
    ) {
        (Ok(k), Ok(t)) => (k, t),
        (Err(e), _) | (_, Err(e)) => return unavailable(e),
    };
    let attendance = if own && keeps {
        match app
            .store
            .attendance(Some(id), None, period.start_ms(), period.end_ms())
            .await
        {
            Ok(a) => a,
            Err(e) => return unavailable(e),
        }
    } else {
        Vec::new()
    };
    let (chart, sizes_chart) = charts(app, ctx, &r.report);
    let tokens: Vec<minijinja::Value> = tokens
        .iter()
        .map(|t| {
            context! {
                id => t.id, name => t.name, created => super::utc_minutes(t.created_at),
                used => t.last_used_at.map(super::utc_minutes),
            }
        })
        .collect();
    let attendance: Vec<minijinja::Value> = attendance
        .iter()
        .map(|a| {
            context! {
                room => a.room_name, meeting => super::recordings::when(a.meeting_ms),
                name => a.name, joined => super::recordings::when(a.joined_ms),
                left => super::recordings::when(a.left_ms),
                minutes => (a.left_ms - a.joined_ms) / 60_000,
            }
        })
        .collect();
    let c = context! {
        scope => "org", org => context! { id => id, name => r.organisation.name },
        nav => nav(period), totals => totals_view(&r.report),
        table => bucket_rows(&r.report), sizes => size_rows(&r.report),
        rooms => named_rows(&r.rooms), chart, sizes_chart,
        keeps_attendance => keeps, own_admin => own, attendance, tokens, made, error,
        base_url => format!("/orgs/{id}/usage"), filter => filter_qs(ask),
        ..ctx.base("/orgs")
    };
    ctx.show(app, "usage.html", status, c)
}

async fn org_export(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(ask): Query<Ask>,
) -> Response {
    let (period, r) = match org_report(&app, &ctx, id, &ask).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let format = ask.format.as_deref().unwrap_or("csv");
    let name = format!("usage-{id}-{period}");
    match ask.table.as_deref().unwrap_or("buckets") {
        "sizes" => export_sizes(format, &name, &r.report),
        "rooms" => export_named(format, &name, "rooms", &r.rooms),
        "attendance" => {
            if let Err(r) = require_own_admin(&app, &ctx, id).await {
                return r;
            }
            let rows = match app
                .store
                .attendance(Some(id), None, period.start_ms(), period.end_ms())
                .await
            {
                Ok(a) => a,
                Err(e) => return unavailable(e),
            };
            let when = super::recordings::when;
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|a| {
                    vec![
                        a.room_name.clone(),
                        when(a.meeting_ms),
                        a.name.clone(),
                        when(a.joined_ms),
                        when(a.left_ms),
                    ]
                })
                .collect();
            let json: Vec<serde_json::Value> = rows
                .iter()
                .map(|a| serde_json::json!({"room": a.room, "room_name": a.room_name, "meeting_ms": a.meeting_ms, "name": a.name, "account_id": a.account_id, "joined_ms": a.joined_ms, "left_ms": a.left_ms}))
                .collect();
            export(
                format,
                &format!("{name}-attendance"),
                &["room", "meeting", "name", "joined", "left"],
                &table,
                serde_json::json!(json),
            )
        }
        _ => export(
            format,
            &name,
            &COLUMNS,
            &bucket_rows(&r.report),
            serde_json::json!(r),
        ),
    }
}

/// A form to one organisation's usage page, by someone who may manage it, with the CSRF token.
async fn org_form(
    app: &PortalState,
    ctx: &Ctx,
    id: i64,
    body: &axum::body::Bytes,
) -> Result<Form, Response> {
    super::orgs::manager(app, ctx, id).await?;
    let form = Form::parse(body);
    if !ctx.csrf_ok(&form) {
        return Err(ctx.csrf_refused(&app.portal));
    }
    Ok(form)
}

async fn set_attendance(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Response {
    let form = match org_form(&app, &ctx, id, &body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Err(r) = require_own_admin(&app, &ctx, id).await {
        return r;
    }
    let keep = form.get("keep") == "on";
    match app.store.set_keeps_attendance(id, keep).await {
        Ok(()) => {
            tracing::info!(org = id, keep, by = ?ctx.user.as_ref().map(|u| u.id), "attendance option set");
            redirect(&format!("/orgs/{id}/usage"))
        }
        Err(e) => unavailable(e),
    }
}

async fn create_token(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Response {
    let form = match org_form(&app, &ctx, id, &body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let name = form.get("name").trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        let e = ctx.t(&app.portal, "error-token-name", None);
        return show_org(
            &app,
            &ctx,
            id,
            &Ask::default(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(e),
            None,
        )
        .await;
    }
    match plenary_usage::create_token(&*app.store, id, name).await {
        Ok((secret, token)) => {
            tracing::info!(org = id, token = token.id, "usage token made");
            let made = context! { name => token.name, secret };
            show_org(
                &app,
                &ctx,
                id,
                &Ask::default(),
                StatusCode::OK,
                None,
                Some(made),
            )
            .await
        }
        Err(e) => unavailable(e),
    }
}

async fn revoke_token(
    State(app): State<PortalState>,
    ctx: Ctx,
    Path((id, token)): Path<(i64, i64)>,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = org_form(&app, &ctx, id, &body).await {
        return r;
    }
    match app.store.delete_usage_token(id, token).await {
        Ok(true) => {
            tracing::info!(org = id, token, "usage token revoked");
            redirect(&format!("/orgs/{id}/usage"))
        }
        Ok(false) => (StatusCode::NOT_FOUND, "No such token.").into_response(),
        Err(e) => unavailable(e),
    }
}

/// Whether the signed-in account is an admin of organisation `id` itself: attendance (names)
/// is that organisation's business, not the platform's admins'.
async fn own_admin(app: &PortalState, ctx: &Ctx, id: i64) -> Result<bool, Response> {
    let Some(me) = &ctx.user else {
        return Ok(false);
    };
    let ms = app.store.orgs_of(me.id).await.map_err(unavailable)?;
    Ok(ms.iter().any(|m| m.org.id == id && m.is_admin))
}

/// [`own_admin`], else the refusal (403, translated).
async fn require_own_admin(app: &PortalState, ctx: &Ctx, id: i64) -> Result<(), Response> {
    if own_admin(app, ctx, id).await? {
        return Ok(());
    }
    let e = ctx.t(&app.portal, "usage-attendance-own", None);
    Err((StatusCode::FORBIDDEN, e).into_response())
}

/// The platform's report and rankings, for its admins.
struct Platform {
    period: Period,
    report: Report,
    orgs: Vec<Named>,
    rooms: Vec<Named>,
    regions: Vec<Named>,
}

async fn platform(app: &PortalState, ctx: &Ctx, ask: &Ask) -> Result<Platform, Response> {
    let period = ask
        .period(ctx, app)
        .map_err(|e| (StatusCode::BAD_REQUEST, e).into_response())?;
    let scope = Scope {
        region: ask.region.clone().filter(|r| !r.is_empty()),
        ..Scope::default()
    };
    let store = &*app.store;
    let read =
        plenary_usage::read_ranked(store, &scope, period, plenary_proto::clock::unix_millis())
            .await
            .map_err(unavailable)?;
    let orgs = plenary_usage::name_orgs(store, read.ranking(RankBy::Organisation))
        .await
        .map_err(unavailable)?;
    let rooms = plenary_usage::name_rooms(store, read.ranking(RankBy::Room))
        .await
        .map_err(unavailable)?;
    let regions = read
        .ranking(RankBy::Region)
        .into_iter()
        .map(|r| Named {
            name: r.key.clone(),
            id: r.key,
            totals: r.totals,
        })
        .collect();
    Ok(Platform {
        period,
        report: read.report(),
        orgs,
        rooms,
        regions,
    })
}

async fn admin_page(
    State(app): State<PortalState>,
    Admin { ctx, .. }: Admin,
    Query(ask): Query<Ask>,
) -> Response {
    let p = match platform(&app, &ctx, &ask).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (chart, sizes_chart) = charts(&app, &ctx, &p.report);
    let c = context! {
        scope => "platform", nav => nav(p.period), totals => totals_view(&p.report),
        table => bucket_rows(&p.report), sizes => size_rows(&p.report),
        orgs => named_rows(&p.orgs), rooms => named_rows(&p.rooms), regions => named_rows(&p.regions),
        chart, sizes_chart, region => ask.region,
        base_url => "/admin/usage", filter => filter_qs(&ask),
        ..ctx.base("/admin/usage")
    };
    ctx.show(&app, "usage.html", StatusCode::OK, c)
}

async fn admin_export(
    State(app): State<PortalState>,
    Admin { ctx, .. }: Admin,
    Query(ask): Query<Ask>,
) -> Response {
    let p = match platform(&app, &ctx, &ask).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let format = ask.format.as_deref().unwrap_or("csv");
    let name = format!("usage-{}", p.period);
    match ask.table.as_deref().unwrap_or("buckets") {
        "sizes" => export_sizes(format, &name, &p.report),
        "organisations" => export_named(format, &name, "organisations", &p.orgs),
        "rooms" => export_named(format, &name, "rooms", &p.rooms),
        "regions" => export_named(format, &name, "regions", &p.regions),
        _ => export(
            format,
            &name,
            &COLUMNS,
            &bucket_rows(&p.report),
            serde_json::json!(p.report),
        ),
    }
}
