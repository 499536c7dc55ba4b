//! `GET /metrics`: Prometheus text format, for operators' dashboards and for the benchmarks
//! (which read forwarded-packet counts from it).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    let c = &app.engine.counters;
    let table: [(&str, &str, &str, &std::sync::atomic::AtomicU64); 7] = [
        (
            "plenary_media_packets_received_total",
            "counter",
            "Packets received by the media engine (UDP datagrams and ICE-TCP frames).",
            &c.packets_received,
        ),
        (
            "plenary_media_bytes_received_total",
            "counter",
            "Bytes received by the media engine (UDP and ICE-TCP).",
            &c.bytes_received,
        ),
        (
            "plenary_media_packets_sent_total",
            "counter",
            "Packets sent by the media engine (forwarded media, RTCP, ICE, DTLS; UDP and ICE-TCP).",
            &c.packets_sent,
        ),
        (
            "plenary_media_bytes_sent_total",
            "counter",
            "Bytes sent by the media engine (UDP and ICE-TCP).",
            &c.bytes_sent,
        ),
        (
            "plenary_media_send_errors_total",
            "counter",
            "Packets the media engine could not send.",
            &c.send_errors,
        ),
        (
            "plenary_media_participants",
            "gauge",
            "Participants in the media engine.",
            &c.participants,
        ),
        (
            "plenary_media_tcp_connections",
            "gauge",
            "Open ICE-TCP connections (browsers whose UDP is blocked).",
            &c.tcp_connections,
        ),
    ];
    let mut out = String::new();
    for (name, kind, help, value) in table {
        metric(&mut out, name, kind, help, value.load(Ordering::Relaxed));
    }
    let live = app.status.live();
    let capacity = &app.meeting.capacity;
    let meetings = app.meeting.live.meeting_count();
    let participants = app.meeting.live.total();
    let gauges: [(&str, &str, Option<f64>); 8] = [
        (
            "plenary_meetings",
            "Meetings running on this node.",
            Some(meetings as f64),
        ),
        (
            "plenary_participants",
            "People in meetings on this node (all meetings together).",
            Some(participants as f64),
        ),
        (
            "plenary_cpu_busy_ratio",
            "The machine's CPU busy share over the last few seconds (0–1, all cores).",
            live.cpu.map(|c| f64::from(c) / 100.0),
        ),
        (
            "plenary_process_cpu_ratio",
            "This process's CPU over the last few seconds (1 = one core).",
            live.process_cpu.map(|c| f64::from(c) / 100.0),
        ),
        (
            "plenary_process_resident_memory_bytes",
            "This process's resident memory.",
            live.rss_bytes.map(|b| b as f64),
        ),
        (
            "plenary_media_loss_ratio",
            "The participants' mean packet loss, each one's worse direction (0–1).",
            live.loss_permille.map(|l| f64::from(l) / 1000.0),
        ),
        (
            "plenary_capacity_participants",
            "The most participants this node takes (PLENARY_CAPACITY); absent: no limit.",
            capacity.limits().0.map(|c| c as f64),
        ),
        (
            "plenary_near_capacity",
            "1 when this node is near its capacity (moderators are warned), else 0.",
            Some(if capacity.near(participants) {
                1.0
            } else {
                0.0
            }),
        ),
    ];
    for (name, help, value) in gauges {
        match value {
            Some(v) => metric(&mut out, name, "gauge", help, v),
            // Not measured yet (or no limit): the family without a sample.
            None => {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            }
        }
    }
    metric(
        &mut out,
        "plenary_admission_refused_capacity_total",
        "counter",
        "Joins refused because this node was at its capacity (participants or CPU).",
        capacity.refused(),
    );
    metric(
        &mut out,
        "plenary_errors_logged_total",
        "counter",
        "Errors this process logged (the latest are at /admin/status).",
        plenary_status::errors::error_count(),
    );
    metric(
        &mut out,
        "plenary_start_time_seconds",
        "gauge",
        "When this process started (Unix time).",
        app.status.started_ms / 1000,
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}
