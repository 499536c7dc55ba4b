//! The portal's cookies: the session (only its hash is stored), the anonymous CSRF token, the
//! language. Passwords, secrets and rate limits are the accounts crate's.

use axum::http::HeaderMap;
pub use plenary_accounts::password::{
    MIN_PASSWORD, SESSION_DAYS, hash_password, random_token, same_token, session_hash,
    verify_password,
};
pub use plenary_accounts::throttle::RateLimiter;

pub const SESSION_COOKIE: &str = "plenary_session";
pub const CSRF_COOKIE: &str = "plenary_csrf";
pub const LANG_COOKIE: &str = "lang";

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, `Secure` when the site is served over https.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies() {
        let mut h = HeaderMap::new();
        h.append(
            axum::http::header::COOKIE,
            "a=1; plenary_session=abc; lang=fr".parse().unwrap(),
        );
        assert_eq!(cookie(&h, "plenary_session"), Some("abc"));
        assert_eq!(cookie(&h, "lang"), Some("fr"));
        assert_eq!(cookie(&h, "nope"), None);
        assert!(set_cookie("s", "v", 10, true).contains("HttpOnly; SameSite=Lax; Secure"));
    }
}
