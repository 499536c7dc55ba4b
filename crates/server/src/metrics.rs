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
        let value = value.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
