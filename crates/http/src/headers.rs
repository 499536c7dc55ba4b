//! Security headers on every answer: a Content Security Policy that allows nothing but this
//! site's own files (the client needs no inline script or style), no framing (or only by the
//! sites an operator names, for meeting pages embedded in Moodle or Nextcloud), no sniffing,
//! same-origin referrers, and camera, microphone and screen capture only on meeting pages.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// What the headers allow.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Origins (`https://moodle.example.coop`) that may embed meeting pages in a frame.
    pub embed_origins: Vec<String>,
}

/// Meeting pages: where a camera and microphone are used, and what may be embedded.
fn is_meeting_page(path: &str) -> bool {
    path.starts_with("/r/")
}

impl Policy {
    /// The headers for an answer to `path`, asked for at `host`.
    pub fn headers(&self, path: &str, host: Option<&str>) -> Vec<(HeaderName, String)> {
        let meeting = is_meeting_page(path);
        let ancestors = if meeting && !self.embed_origins.is_empty() {
            format!("'self' {}", self.embed_origins.join(" "))
        } else {
            "'none'".to_owned()
        };
        // 'self' covers WebSockets to this host in CSP 3; the explicit ws/wss sources are for
        // browsers that read CSP 2.
        let sockets = host
            .filter(|h| {
                h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            })
            .map(|h| format!(" ws://{h} wss://{h}"))
            .unwrap_or_default();
        let csp = format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
             media-src 'self' blob:; connect-src 'self'{sockets}; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
        );
        let allow = if meeting {
            let embedders: String = self
                .embed_origins
                .iter()
                .map(|o| format!(" \"{o}\""))
                .collect();
            format!(
                "camera=(self{embedders}), microphone=(self{embedders}), \
                 display-capture=(self{embedders}), fullscreen=(self{embedders})"
            )
        } else {
            "camera=(), microphone=(), display-capture=()".to_owned()
        };
        let mut h = vec![
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
            (header::REFERRER_POLICY, "same-origin".into()),
            (HeaderName::from_static("permissions-policy"), allow),
        ];
        if ancestors == "'none'" {
            h.push((header::X_FRAME_OPTIONS, "DENY".into()));
        }
        h
    }
}

/// Adds the headers to an answer (a header the handler set itself, such as an invitation
/// page's stricter `Referrer-Policy: no-referrer`, is kept).
pub async fn add(policy: Policy, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let host = host_of(req.headers());
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    for (name, value) in policy.headers(&path, host.as_deref()) {
        if h.contains_key(&name) {
            continue;
        }
        match HeaderValue::from_str(&value) {
            Ok(v) => {
                h.insert(name, v);
            }
            // Never an answer without its protections: fail closed.
            Err(_) => {
                tracing::error!(header = %name, "a security header could not be made");
                return (
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "This page could not be shown.",
                )
                    .into_response();
            }
        }
    }
    resp
}

fn host_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(h: &'a [(HeaderName, String)], name: &str) -> Option<&'a str> {
        h.iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn pages_are_not_framed_and_only_meetings_use_the_camera() {
        let p = Policy::default();
        let portal = p.headers("/rooms", Some("meet.example.coop"));
        let csp = get(&portal, "content-security-policy").unwrap();
        assert!(csp.contains("script-src 'self';") && csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("connect-src 'self' ws://meet.example.coop wss://meet.example.coop;"));
        assert_eq!(get(&portal, "x-frame-options"), Some("DENY"));
        assert_eq!(
            get(&portal, "permissions-policy"),
            Some("camera=(), microphone=(), display-capture=()")
        );
        let meeting = p.headers("/r/abc-defg-hij", None);
        assert!(
            get(&meeting, "permissions-policy")
                .unwrap()
                .starts_with("camera=(self)")
        );
        // A strange Host never makes its way into the policy.
        let odd = p.headers("/", Some("evil.example; script-src *"));
        assert!(
            !get(&odd, "content-security-policy")
                .unwrap()
                .contains("evil")
        );
    }

    #[test]
    fn named_sites_may_embed_meetings_only() {
        let p = Policy {
            embed_origins: vec!["https://moodle.example.coop".into()],
        };
        let meeting = p.headers("/r/abc-defg-hij", None);
        let csp = get(&meeting, "content-security-policy").unwrap();
        assert!(
            csp.ends_with("frame-ancestors 'self' https://moodle.example.coop"),
            "{csp}"
        );
        assert_eq!(get(&meeting, "x-frame-options"), None);
        assert!(
            get(&meeting, "permissions-policy")
                .unwrap()
                .contains("camera=(self \"https://moodle.example.coop\")")
        );
        let portal = p.headers("/signin", None);
        assert!(
            get(&portal, "content-security-policy")
                .unwrap()
                .ends_with("frame-ancestors 'none'")
        );
    }
}
