//! Serving HTTP with limits a slow or idle client cannot wear down: a deadline for request
//! headers (which also closes idle keep-alive connections), a deadline for each request's
//! handling (a body sent byte by byte is cut off), a cap on connections per client address and
//! in all, and a graceful stop that waits a bounded time for requests in flight.
//!
//! (axum's own `serve` sets none of these: the audit kept 300 half-sent requests open for
//! over a minute.)

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

/// The limits on connections and requests.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A request's headers (and, on an idle keep-alive connection, the next request's) must
    /// arrive within this time.
    pub header_timeout: Duration,
    /// A request must be read and answered within this time (WebSocket upgrades excepted:
    /// the upgraded connection has its own rules).
    pub request_timeout: Duration,
    /// Open connections from one client address. Trusted proxies are exempt (every client
    /// behind them shares their address).
    pub per_address: usize,
    /// Open connections in all.
    pub total: usize,
    /// Addresses exempt from `per_address`.
    pub trusted_proxies: Vec<IpAddr>,
    /// How long a stop waits for requests in flight.
    pub drain: Duration,
    /// The one path whose WebSocket upgrades are exempt from `request_timeout` (GET only).
    pub websocket_path: &'static str,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            per_address: 64,
            total: 4096,
            trusted_proxies: Vec::new(),
            drain: Duration::from_secs(10),
            websocket_path: "/ws",
        }
    }
}

/// Open connections, per address and in all.
#[derive(Debug, Default)]
struct Count {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

/// A connection's place in the count, for a handler that takes the connection over (a
/// WebSocket): holding it keeps the connection counted after the upgrade.
#[derive(Clone)]
pub struct ConnectionSlot(#[allow(dead_code)] Arc<Slot>);

impl std::fmt::Debug for ConnectionSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionSlot")
    }
}

/// One open connection's place in [`Count`]; given back when dropped.
struct Slot {
    count: Arc<Mutex<Count>>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.count.lock().unwrap_or_else(|p| p.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.per_address.remove(&self.ip);
            }
        }
    }
}

fn take_slot(count: &Arc<Mutex<Count>>, ip: IpAddr, limits: &Limits) -> Option<Slot> {
    let mut c = count.lock().unwrap_or_else(|p| p.into_inner());
    let mine = c.per_address.get(&ip).copied().unwrap_or(0);
    let exempt = limits.trusted_proxies.contains(&ip);
    if c.total >= limits.total || (!exempt && mine >= limits.per_address) {
        return None;
    }
    c.total += 1;
    *c.per_address.entry(ip).or_default() += 1;
    Some(Slot {
        count: count.clone(),
        ip,
    })
}

/// Answers a request that took longer than the deadline with 408. Only a WebSocket upgrade of
/// the signalling path is exempt (it is answered at once, and the socket has its own rules):
/// an `Upgrade` header anywhere else changes nothing.
async fn deadline(timeout: Duration, ws_path: &'static str, req: Request, next: Next) -> Response {
    let upgrade = req.method() == axum::http::Method::GET
        && req.uri().path() == ws_path
        && req
            .headers()
            .get(header::UPGRADE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if upgrade {
        return next.run(req).await;
    }
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => (
            StatusCode::REQUEST_TIMEOUT,
            "The request took too long to arrive.",
        )
            .into_response(),
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and waits up to
/// `limits.drain` for the requests in flight. Handlers can ask for `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (timeout, ws_path) = (limits.request_timeout, limits.websocket_path);
    let app = app.layer(axum::middleware::from_fn(move |req, next| {
        deadline(timeout, ws_path, req, next)
    }));
    let count = Arc::new(Mutex::new(Count::default()));
    // Connections are told to stop through this, and waited for in `tasks`.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while tasks.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = take_slot(&count, peer.ip(), &limits) else {
            tracing::debug!(%peer, "connection refused: too many open");
            drop(stream);
            continue;
        };
        let slot = ConnectionSlot(Arc::new(slot));
        let held = slot.clone();
        let service = app
            .clone()
            .map_request(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                req.extensions_mut().insert(held.clone());
                req
            });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades();
        let mut stopping = stopping.clone();
        tasks.spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let ended = tokio::select! {
                r = conn.as_mut() => r,
                _ = stopping.changed() => {
                    // Finish the request in flight, then close (upgraded connections have
                    // been handed over already and end with their meetings).
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(limits.drain, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("some requests were still running when the server stopped");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_per_address_and_in_all() {
        let limits = Limits {
            per_address: 2,
            total: 3,
            trusted_proxies: vec![IpAddr::from([10, 0, 0, 1])],
            ..Limits::default()
        };
        let count = Arc::new(Mutex::new(Count::default()));
        let a = IpAddr::from([192, 0, 2, 1]);
        let b = IpAddr::from([192, 0, 2, 2]);
        let s1 = take_slot(&count, a, &limits).unwrap();
        let _s2 = take_slot(&count, a, &limits).unwrap();
        assert!(take_slot(&count, a, &limits).is_none(), "per address");
        let _s3 = take_slot(&count, b, &limits).unwrap();
        assert!(take_slot(&count, b, &limits).is_none(), "in all");
        drop(s1);
        assert!(take_slot(&count, b, &limits).is_some(), "given back");
        let proxy = IpAddr::from([10, 0, 0, 1]);
        let limits = Limits {
            total: 100,
            ..limits
        };
        let held: Vec<Slot> = (0..5)
            .filter_map(|_| take_slot(&count, proxy, &limits))
            .collect();
        assert_eq!(held.len(), 5, "a trusted proxy is not capped per address");
    }
}
