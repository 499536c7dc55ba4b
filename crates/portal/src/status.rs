//! The node's health in the portal. The public status page (`/status`, no sign-in): each
//! region up, degraded or down, the meetings and people in them now, and the incidents and
//! maintenance notices admins posted, with an Atom feed (`/status/feed.atom`). The operators'
//! view (`/admin/status`, platform admins): the load now, the last day's history (a chart and a
//! table per hour; every minute in the CSV), the latest warnings and errors, the restarts, and
//! the notices to post and end.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;
use plenary_status::health::{self, RegionStatus};
use plenary_status::{HISTORY_MS, Live};
use plenary_store::{LoadSample, NoticeKind, Severity, StatusNotice, StoreError};

use super::{Admin, AdminForm, Ctx, redirect, unavailable};
use crate::PortalState;
use crate::charts::esc;

pub fn router() -> Router<PortalState> {
    Router::new()
        .route("/status", get(public_page))
        .route("/status/feed.atom", get(feed))
        .route("/admin/status", get(admin_page))
        .route("/admin/status/samples.csv", get(samples_csv))
        .route("/admin/status/notices", post(post_notice))
        .route("/admin/status/notices/{id}/end", post(end_notice))
        .route("/admin/status/notices/{id}/delete", post(delete_notice))
}

/// Notices ended longer ago than this are no longer shown (nor in the feed).
const NOTICES_SHOWN_MS: i64 = 30 * 86_400_000;
const NOTICES_MAX: u32 = 50;
/// The longest notice title and text accepted, in characters.
const TITLE_MAX: usize = 120;
const BODY_MAX: usize = 2_000;

/// Each region's state now, and the notices shown.
async fn regions_now(
    app: &PortalState,
    now: i64,
) -> Result<(Vec<RegionStatus>, Vec<StatusNotice>), StoreError> {
    let mut latest = app.store.latest_samples(now - HISTORY_MS).await?;
    // A node that stopped cleanly after its last sample is not down: it is gone (drained,
    // replaced, renamed).
    let runs = app.store.node_runs(200).await?;
    latest.retain(|s| {
        runs.iter()
            .find(|r| r.node == s.node)
            .is_none_or(|r| r.stopped_ms.is_none_or(|stop| stop < s.at_ms))
    });
    // This node answers, so it is alive: its own numbers now, over its last stored minute.
    let own = latest
        .iter()
        .position(|s| s.node == app.status.node)
        .map(|i| latest.swap_remove(i))
        .filter(|s| s.at_ms >= now - health::ALIVE_MS)
        .unwrap_or_default();
    let participants = app.meeting.live.total();
    latest.push(LoadSample {
        node: app.status.node.clone(),
        region: app.status.region.clone(),
        at_ms: now,
        meetings: app.meeting.live.meeting_count() as i64,
        participants: participants as i64,
        near_capacity: app.meeting.capacity.near(participants),
        loss_permille: app.status.live().loss_permille.map(i64::from),
        ..own
    });
    let notices = app
        .store
        .notices(now - NOTICES_SHOWN_MS, NOTICES_MAX)
        .await?;
    Ok((health::regions(&latest, &notices, now), notices))
}

/// A notice as the pages show it.
fn notice_view(ctx: &Ctx, app: &PortalState, n: &StatusNotice, now: i64) -> minijinja::Value {
    let when = super::recordings::when;
    let state = if n.ends_ms.is_some_and(|e| e <= now) {
        "over"
    } else if n.starts_ms > now {
        "upcoming"
    } else {
        "current"
    };
    context! {
        id => n.id, kind => n.kind.as_str(), severity => n.severity.as_str(),
        kind_text => ctx.t(&app.portal, &format!("status-kind-{}", n.kind.as_str()), None),
        severity_text => ctx.t(&app.portal, &format!("status-state-{}", n.severity.as_str()), None),
        region => n.region, title => n.title, body => n.body,
        starts => when(n.starts_ms), ends => n.ends_ms.map(when), state,
        updated => when(n.updated_ms), author => n.author,
    }
}

fn region_view(ctx: &Ctx, app: &PortalState, r: &RegionStatus) -> minijinja::Value {
    context! {
        region => r.region, state => r.state.as_str(),
        state_text => ctx.t(&app.portal, &format!("status-state-{}", r.state.as_str()), None),
        nodes => r.nodes, meetings => r.meetings, participants => r.participants,
    }
}

async fn public_page(State(app): State<PortalState>, ctx: Ctx) -> Response {
    let now = plenary_proto::clock::unix_millis();
    let (regions, notices) = match regions_now(&app, now).await {
        Ok(v) => v,
        Err(e) => return unavailable(e),
    };
    let worst = regions
        .iter()
        .map(|r| r.state)
        .max()
        .unwrap_or(health::State::Up);
    let c = context! {
        overall => worst.as_str(),
        overall_text => ctx.t(&app.portal, &format!("status-overall-{}", worst.as_str()), None),
        regions => regions.iter().map(|r| region_view(&ctx, &app, r)).collect::<Vec<_>>(),
        meetings => regions.iter().map(|r| r.meetings).sum::<i64>(),
        participants => regions.iter().map(|r| r.participants).sum::<i64>(),
        notices => notices.iter().map(|n| notice_view(&ctx, &app, n, now)).collect::<Vec<_>>(),
        checked => super::recordings::when(now),
        ..ctx.base("/status")
    };
    ctx.show(&app, "status.html", StatusCode::OK, c)
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

/// The notices as an Atom feed (RFC 4287): one entry per notice, updated when it is ended.
async fn feed(State(app): State<PortalState>, ctx: Ctx, headers: HeaderMap) -> Response {
    let now = plenary_proto::clock::unix_millis();
    let notices = match app.store.notices(now - NOTICES_SHOWN_MS, NOTICES_MAX).await {
        Ok(n) => n,
        Err(e) => return unavailable(e),
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let base = esc(&app.settings.base_url(host));
    let site = ctx
        .site
        .name
        .clone()
        .unwrap_or_else(|| ctx.t(&app.portal, "site-name", None));
    let title = ctx.t(&app.portal, "status-title", None);
    let updated = notices.iter().map(|n| n.updated_ms).max().unwrap_or(0);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <title>{} — {}</title>\n<id>{base}/status</id>\n<link rel=\"self\" href=\"{base}/status/feed.atom\"/>\n\
         <link rel=\"alternate\" href=\"{base}/status\"/>\n<updated>{}</updated>\n<author><name>{}</name></author>\n",
        esc(&site),
        esc(&title),
        rfc3339(updated),
        esc(&site),
    );
    for n in &notices {
        let v = notice_view(&ctx, &app, n, now);
        let text = |k: &str| v.get_attr(k).map(|a| a.to_string()).unwrap_or_default();
        let region = if n.region.is_empty() {
            ctx.t(&app.portal, "status-all-regions", None)
        } else {
            n.region.clone()
        };
        let when = match n.ends_ms {
            Some(_) => format!("{} → {}", text("starts"), text("ends")),
            None => text("starts"),
        };
        out.push_str(&format!(
            "<entry>\n<title>{}: {} ({})</title>\n<id>{base}/status#notice-{}</id>\n\
             <link rel=\"alternate\" href=\"{base}/status#notice-{}\"/>\n<published>{}</published>\n\
             <updated>{}</updated>\n<summary type=\"text\">{} · {} · {}\n\n{}</summary>\n</entry>\n",
            esc(&text("kind_text")),
            esc(&n.title),
            esc(&text("severity_text")),
            n.id,
            n.id,
            rfc3339(n.created_ms),
            rfc3339(n.updated_ms),
            esc(&region),
            esc(&when),
            esc(&text("severity_text")),
            esc(&n.body),
        ));
    }
    out.push_str("</feed>\n");
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        out,
    )
        .into_response()
}

/// The last day's samples in hours: (label, the hour's samples).
fn by_hour(samples: &[LoadSample], now: i64) -> Vec<(String, Vec<&LoadSample>)> {
    let first = (now - HISTORY_MS).div_euclid(3_600_000) + 1;
    (first..=now.div_euclid(3_600_000))
        .map(|h| {
            let label = super::recordings::when(h * 3_600_000);
            let label = label.split(' ').nth(1).unwrap_or(&label).to_owned();
            let of_hour = samples
                .iter()
                .filter(|s| s.at_ms.div_euclid(3_600_000) == h)
                .collect();
            (label, of_hour)
        })
        .collect()
}

fn most(of: &[&LoadSample], f: impl Fn(&LoadSample) -> Option<i64>) -> Option<i64> {
    of.iter().filter_map(|s| f(s)).max()
}

fn mean(of: &[&LoadSample], f: impl Fn(&LoadSample) -> i64) -> Option<i64> {
    (!of.is_empty()).then(|| of.iter().map(|s| f(s)).sum::<i64>() / of.len() as i64)
}

/// A number for a table, or a dash for none.
pub(crate) fn cell(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "–".into())
}

fn mbit(bits: u64) -> String {
    format!("{:.2}", bits as f64 / 1e6)
}

fn hour_rows(hours: &[(String, Vec<&LoadSample>)]) -> Vec<Vec<String>> {
    hours
        .iter()
        .map(|(label, of)| {
            vec![
                label.clone(),
                cell(most(of, |s| s.cpu)),
                cell(most(of, |s| s.process_cpu)),
                cell(most(of, |s| Some(s.participants))),
                cell(most(of, |s| Some(s.meetings))),
                mean(of, |s| s.bits_in)
                    .map(|b| mbit(b as u64))
                    .unwrap_or_else(|| "–".into()),
                mean(of, |s| s.bits_out)
                    .map(|b| mbit(b as u64))
                    .unwrap_or_else(|| "–".into()),
                cell(most(of, |s| s.loss_permille)),
                of.iter().map(|s| s.refused).sum::<i64>().to_string(),
            ]
        })
        .collect()
}

fn live_view(l: &Live) -> minijinja::Value {
    context! {
        cpu => l.cpu, process_cpu => l.process_cpu,
        rss_mb => l.rss_bytes.map(|b| b / 1_000_000),
        meetings => l.meetings, participants => l.participants,
        mbit_in => mbit(l.bits_in), mbit_out => mbit(l.bits_out),
        packets_in => l.packets_in, packets_out => l.packets_out,
        loss => l.loss_permille.map(|p| format!("{:.1}", f64::from(p) / 10.0)),
        near => l.near_capacity,
    }
}

async fn admin_page(State(app): State<PortalState>, Admin { ctx, .. }: Admin) -> Response {
    show_admin(&app, &ctx, StatusCode::OK, None).await
}

async fn show_admin(
    app: &PortalState,
    ctx: &Ctx,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let now = plenary_proto::clock::unix_millis();
    let node = app.status.node.as_str();
    let (samples, runs, reported) = match (
        app.store.load_samples(Some(node), now - HISTORY_MS).await,
        app.store.node_runs(20).await,
        app.store
            .problems(None, now - NOTICES_SHOWN_MS, super::quality::PROBLEMS_SHOWN)
            .await,
    ) {
        (Ok(s), Ok(r), Ok(p)) => (s, r, p),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return unavailable(e),
    };
    let (regions, notices) = match regions_now(app, now).await {
        Ok(v) => v,
        Err(e) => return unavailable(e),
    };
    let hours = by_hour(&samples, now);
    let rows = hour_rows(&hours);
    let chart_of = |title: &str, id: &str, col: usize| {
        let bars: Vec<(String, f64)> = rows
            .iter()
            .map(|r| (r[0].clone(), r[col].parse().unwrap_or(0.0)))
            .collect();
        crate::charts::bars(&ctx.t(&app.portal, title, None), id, &bars)
    };
    let cpu_chart = chart_of("status-chart-cpu", "status-hours", 1);
    let people_chart = chart_of("status-chart-participants", "status-hours", 3);
    let (limit_people, limit_cpu) = app.meeting.capacity.limits();
    let runs: Vec<minijinja::Value> = runs
        .iter()
        .map(|r| {
            context! {
                node => r.node, version => r.version,
                started => super::recordings::when(r.started_ms),
                stopped => r.stopped_ms.map(super::recordings::when),
                current => r.node == node && r.run == app.status.run,
            }
        })
        .collect();
    let errors: Vec<minijinja::Value> = plenary_status::errors::recent()
        .iter()
        .map(|e| {
            context! {
                at => super::recordings::when(e.at_ms), level => e.level,
                target => e.target, message => e.message,
            }
        })
        .collect();
    let c = context! {
        node, region => app.status.region, version => app.status.version,
        started => super::recordings::when(app.status.started_ms),
        live => live_view(&app.status.live()),
        limit_people, limit_cpu, refused => app.meeting.capacity.refused(),
        cpu_chart, people_chart, hours => rows,
        regions => regions.iter().map(|r| region_view(ctx, app, r)).collect::<Vec<_>>(),
        notices => notices.iter().map(|n| notice_view(ctx, app, n, now)).collect::<Vec<_>>(),
        runs, errors, error,
        reported => reported.iter().map(super::quality::problem_report_view).collect::<Vec<_>>(),
        ..ctx.base("/admin/status")
    };
    ctx.show(app, "admin_status.html", status, c)
}

/// Every minute of the last day, for a spreadsheet.
async fn samples_csv(State(app): State<PortalState>, Admin { .. }: Admin) -> Response {
    let now = plenary_proto::clock::unix_millis();
    let samples = match app
        .store
        .load_samples(Some(&app.status.node), now - HISTORY_MS)
        .await
    {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    let header = [
        "minute",
        "cpu_percent",
        "process_cpu_percent",
        "rss_bytes",
        "meetings",
        "participants",
        "bits_in",
        "bits_out",
        "packets_in",
        "packets_out",
        "loss_permille",
        "near_capacity",
        "refused",
        "errors",
    ];
    let rows: Vec<Vec<String>> = samples
        .iter()
        .map(|s| {
            vec![
                super::recordings::when(s.at_ms),
                cell(s.cpu),
                cell(s.process_cpu),
                cell(s.rss_bytes),
                s.meetings.to_string(),
                s.participants.to_string(),
                s.bits_in.to_string(),
                s.bits_out.to_string(),
                s.packets_in.to_string(),
                s.packets_out.to_string(),
                cell(s.loss_permille),
                u8::from(s.near_capacity).to_string(),
                s.refused.to_string(),
                s.errors.to_string(),
            ]
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"load-{}.csv\"", app.status.node),
            ),
        ],
        plenary_usage::report::csv(&header, &rows),
    )
        .into_response()
}

/// `2026-12-07T14:30` (as a datetime-local field sends it), in UTC, as ms.
fn parse_minute(s: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let t = time::PrimitiveDateTime::parse(s.trim(), &fmt).ok()?;
    Some((t.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
}

/// A notice from the admin's form, or the message key of what is wrong with it.
fn notice_of(form: &super::Form, author: &str, now: i64) -> Result<StatusNotice, &'static str> {
    let title = form.get("title").trim();
    let body = form.get("body").trim();
    let region = form.get("region").trim();
    // Text people read, and a feed reader parses: no control characters but line breaks.
    let plain = |s: &str| {
        !s.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    };
    if !plain(title) || !plain(body) {
        return Err("status-error-text");
    }
    if title.is_empty() || title.chars().count() > TITLE_MAX {
        return Err("status-error-title");
    }
    if body.chars().count() > BODY_MAX {
        return Err("status-error-body");
    }
    if region.len() > 32
        || !region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err("status-error-region");
    }
    let (Some(kind), Some(severity)) = (
        NoticeKind::parse(form.get("kind")),
        Severity::parse(form.get("severity")),
    ) else {
        return Err("status-error-kind");
    };
    let starts_ms = match form.get("starts").trim() {
        "" => now,
        s => parse_minute(s).ok_or("status-error-times")?,
    };
    let ends_ms = match form.get("ends").trim() {
        "" => None,
        s => Some(parse_minute(s).ok_or("status-error-times")?),
    };
    if ends_ms.is_some_and(|e| e <= starts_ms) {
        return Err("status-error-times");
    }
    Ok(StatusNotice {
        id: 0,
        kind,
        severity,
        region: region.to_owned(),
        title: title.to_owned(),
        body: body.to_owned(),
        starts_ms,
        ends_ms,
        created_ms: now,
        updated_ms: now,
        author: author.to_owned(),
    })
}

async fn post_notice(
    State(app): State<PortalState>,
    AdminForm { ctx, user, form }: AdminForm,
) -> Response {
    let now = plenary_proto::clock::unix_millis();
    let notice = match notice_of(&form, &user.name, now) {
        Ok(n) => n,
        Err(key) => {
            let error = ctx.t(&app.portal, key, None);
            return show_admin(&app, &ctx, StatusCode::BAD_REQUEST, Some(error)).await;
        }
    };
    match app.store.create_notice(&notice).await {
        Ok(n) => {
            tracing::info!(
                notice = n.id,
                by = user.id,
                kind = n.kind.as_str(),
                "status notice posted"
            );
            redirect("/admin/status")
        }
        Err(e) => unavailable(e),
    }
}

async fn end_notice(
    State(app): State<PortalState>,
    Path(id): Path<i64>,
    AdminForm { user, .. }: AdminForm,
) -> Response {
    match app
        .store
        .end_notice(id, plenary_proto::clock::unix_millis())
        .await
    {
        Ok(_) => {
            tracing::info!(notice = id, by = user.id, "status notice ended");
            redirect("/admin/status")
        }
        Err(e) => unavailable(e),
    }
}

async fn delete_notice(
    State(app): State<PortalState>,
    Path(id): Path<i64>,
    AdminForm { user, .. }: AdminForm,
) -> Response {
    match app.store.delete_notice(id).await {
        Ok(_) => {
            tracing::info!(notice = id, by = user.id, "status notice deleted");
            redirect("/admin/status")
        }
        Err(e) => unavailable(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_and_feed_dates_are_utc() {
        assert_eq!(parse_minute("2026-12-07T14:30"), Some(1_796_653_800_000));
        assert_eq!(parse_minute("07/12/2026"), None);
        assert_eq!(rfc3339(1_796_653_800_000), "2026-12-07T14:30:00Z");
        assert_eq!(
            esc("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
