//! A minimal JSON-over-HTTP/1.1 client (hyper), enough to call Plenary's API.

use anyhow::{Context as _, bail};
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;

/// Sends `method path` with an optional JSON body to `addr` (host:port) and returns the
/// status and the parsed JSON answer.
pub async fn call<B: Serialize, R: DeserializeOwned>(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&B>,
) -> anyhow::Result<(u16, R)> {
    call_with(addr, method, path, body, None).await
}

/// Like [`call`], with an API token (`Authorization: Bearer …`) when given.
pub async fn call_with<B: Serialize, R: DeserializeOwned>(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&B>,
    bearer: Option<&str>,
) -> anyhow::Result<(u16, R)> {
    let (status, bytes) = send(
        addr,
        method,
        path,
        body.map(serde_json::to_vec).transpose()?,
        bearer,
    )
    .await?;
    let parsed = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{method} {path}: answer is not the expected JSON: {}",
            String::from_utf8_lossy(&bytes)
        )
    })?;
    Ok((status, parsed))
}

/// Like [`call`] with raw bytes in and out (for tests of malformed bodies).
pub async fn call_raw(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<Vec<u8>>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    send(addr, method, path, body, None).await
}

async fn send(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<Vec<u8>>,
    bearer: Option<&str>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connect {addr}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr);
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    if let Some(t) = bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = req.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
    let resp = sender.send_request(req).await?;
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await?.to_bytes().to_vec();
    if status >= 500 {
        bail!(
            "{method} {path}: HTTP {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    Ok((status, bytes))
}
