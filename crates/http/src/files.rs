//! Serving a file with HTTP range requests (RFC 9110 §14): players seek in a recording by
//! asking for byte ranges. One range per request (what media players send); a range beyond
//! the file is 416. The body is read as it is sent, never whole into memory.

use std::io::SeekFrom;
use std::path::Path;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

/// A `Range` that no part of the file satisfies (answered 416).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsatisfiable;

/// The bytes `[start, end]` a `Range` header asks of a file of `len` bytes: `None` for no
/// (or an unsupported) range — the whole file —, `Err` for one that cannot be satisfied.
pub fn range(value: Option<&str>, len: u64) -> Result<Option<(u64, u64)>, Unsatisfiable> {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    // Several ranges, or one that is not well formed, are ignored: the whole file is a
    // valid answer (RFC 9110 §14.2). Only a well-formed range past the end is refused.
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        let Ok(n) = b.parse::<u64>() else {
            return Ok(None);
        };
        if n == 0 || len == 0 {
            return Err(Unsatisfiable);
        }
        return Ok(Some((len.saturating_sub(n), len - 1)));
    }
    let Ok(start) = a.parse::<u64>() else {
        return Ok(None);
    };
    let end = if b.is_empty() {
        len.saturating_sub(1)
    } else {
        match b.parse::<u64>() {
            Ok(e) if e >= start => e.min(len.saturating_sub(1)),
            _ => return Ok(None),
        }
    };
    if start >= len {
        return Err(Unsatisfiable);
    }
    Ok(Some((start, end)))
}

/// Answers a GET for the file at `path` (its `Range` honoured), as `content_type`; with
/// `download`, as an attachment of that name.
pub async fn serve_file(
    path: &Path,
    headers: &HeaderMap,
    content_type: &'static str,
    download: Option<&str>,
) -> Response {
    let file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return (StatusCode::NOT_FOUND, "not found").into_response();
        }
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot open a file to serve");
            return (StatusCode::INTERNAL_SERVER_ERROR, "cannot read the file").into_response();
        }
    };
    let len = match file.metadata().await {
        Ok(m) => m.len(),
        Err(_) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "cannot read the file").into_response();
        }
    };
    serve(
        len,
        headers,
        content_type,
        download,
        |start, count| async move {
            let mut file = file;
            if start > 0 {
                file.seek(SeekFrom::Start(start)).await?;
            }
            Ok(futures_util::stream::unfold(
                (file, count),
                |(mut file, left)| async move {
                    if left == 0 {
                        return None;
                    }
                    let mut buf = vec![0u8; left.min(64 * 1024) as usize];
                    match file.read(&mut buf).await {
                        Ok(0) => None,
                        Ok(n) => {
                            buf.truncate(n);
                            Some((Ok(axum::body::Bytes::from(buf)), (file, left - n as u64)))
                        }
                        Err(e) => Some((Err(e), (file, 0))),
                    }
                },
            ))
        },
    )
    .await
}

/// Answers a GET for `len` bytes that `body(start, count)` streams (a file, an object in a
/// store), its `Range` honoured, as `content_type`; with `download`, as an attachment.
pub async fn serve<F, Fut, S>(
    len: u64,
    headers: &HeaderMap,
    content_type: &'static str,
    download: Option<&str>,
    body: F,
) -> Response
where
    F: FnOnce(u64, u64) -> Fut,
    Fut: std::future::Future<Output = std::io::Result<S>>,
    S: futures_util::Stream<Item = std::io::Result<axum::body::Bytes>> + Send + 'static,
{
    let asked = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, end) = match range(asked, len) {
        Ok(Some((a, b))) => (StatusCode::PARTIAL_CONTENT, a, b),
        Ok(None) => (StatusCode::OK, 0, len.saturating_sub(1)),
        Err(Unsatisfiable) => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return r;
        }
    };
    let count = if len == 0 { 0 } else { end - start + 1 };
    let stream = match body(start, count).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot read what was asked for");
            return (StatusCode::INTERNAL_SERVER_ERROR, "cannot read the file").into_response();
        }
    };
    let mut r = Response::new(Body::from_stream(stream));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    if let Ok(v) = HeaderValue::from_str(&count.to_string()) {
        h.insert(header::CONTENT_LENGTH, v);
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}"))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    if let Some(name) = download {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_. ".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::range;

    #[test]
    fn ranges() {
        assert_eq!(range(None, 100), Ok(None));
        assert_eq!(range(Some("bytes=0-"), 100), Ok(Some((0, 99))));
        assert_eq!(range(Some("bytes=10-19"), 100), Ok(Some((10, 19))));
        assert_eq!(range(Some("bytes=90-200"), 100), Ok(Some((90, 99))));
        assert_eq!(range(Some("bytes=-10"), 100), Ok(Some((90, 99))));
        assert_eq!(range(Some("bytes=-500"), 100), Ok(Some((0, 99))));
        assert_eq!(range(Some("bytes=100-"), 100), Err(super::Unsatisfiable));
        assert_eq!(range(Some("bytes=20-10"), 100), Ok(None));
        assert_eq!(range(Some("bytes=x-"), 100), Ok(None));
        assert_eq!(range(Some("bytes=5"), 100), Ok(None));
        assert_eq!(range(Some("bytes=-0"), 100), Err(super::Unsatisfiable));
        assert_eq!(range(Some("bytes=0-1,5-6"), 100), Ok(None));
        assert_eq!(range(Some("items=0-1"), 100), Ok(None));
        assert_eq!(range(Some("bytes=0-"), 0), Err(super::Unsatisfiable));
    }
}
