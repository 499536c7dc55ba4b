//! Accounts' security: argon2id password hashes, session cookies (only their hash is stored),
//! CSRF tokens, and a sign-in rate limiter.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::http::HeaderMap;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

pub const SESSION_COOKIE: &str = "plenary_session";
pub const CSRF_COOKIE: &str = "plenary_csrf";
pub const LANG_COOKIE: &str = "lang";
pub const SESSION_DAYS: i64 = 30;
pub const MIN_PASSWORD: usize = 10;

/// An argon2id hash (PHC string) of `password`, with a fresh salt. argon2's default cost
/// (19 MiB, 2 passes) is OWASP's recommended minimum.
pub fn hash_password(password: &str) -> Result<String, String> {
    let bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&bytes).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches `hash`. Without a hash (no account, or no local password) a
/// hash is still computed, so the time taken does not tell whether the account exists.
pub fn verify_password(password: &str, hash: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy =
        DUMMY.get_or_init(|| hash_password("no account has this password").unwrap_or_default());
    let (hash, real) = match hash {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    let ok = PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    ok && real
}

/// 32 random bytes, base64url: session secrets and CSRF tokens.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a session secret.
pub fn session_hash(secret: &str) -> String {
    let d = Sha256::digest(secret.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time equality of two tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

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

/// Sign-in attempts per account and per address in a sliding window. Failed and successful
/// attempts both count for the address; only failures count for the account.
#[derive(Debug)]
pub struct RateLimiter {
    window: Duration,
    per_key: usize,
    hits: Mutex<HashMap<String, Vec<Instant>>>,
}

impl RateLimiter {
    pub fn new(window: Duration, per_key: usize) -> Self {
        Self {
            window,
            per_key,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` when `key` has used up its attempts; else records one.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        if hits.len() > 100_000 {
            // Bounded memory under a flood of distinct keys: forget windows that ended.
            let window = self.window;
            hits.retain(|_, v| v.last().is_some_and(|t| now.duration_since(*t) < window));
        }
        let list = hits.entry(key.to_owned()).or_default();
        list.retain(|t| now.duration_since(*t) < self.window);
        if list.len() >= self.per_key {
            let oldest = list.first().copied().unwrap_or(now);
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        list.push(now);
        Ok(())
    }

    /// How long `key` must still wait, if it used up its attempts (records nothing).
    pub fn blocked(&self, key: &str, now: Instant) -> Option<Duration> {
        let hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        let list = hits.get(key)?;
        let recent: Vec<&Instant> = list
            .iter()
            .filter(|t| now.duration_since(**t) < self.window)
            .collect();
        (recent.len() >= self.per_key)
            .then(|| self.window.saturating_sub(now.duration_since(*recent[0])))
    }

    /// Records one failure for `key`.
    pub fn record(&self, key: &str, now: Instant) {
        let _ = self.check(key, now);
    }

    /// Forgets `key` (a successful sign-in clears the account's failures).
    pub fn clear(&self, key: &str) {
        self.hits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", Some(&h)));
        assert!(!verify_password("correct horse batterY", Some(&h)));
        assert!(!verify_password("correct horse battery", None));
        assert!(!verify_password("x", Some("not a hash")));
        assert_ne!(h, hash_password("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn limiter_windows() {
        let l = RateLimiter::new(Duration::from_secs(60), 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check("a", t0).is_ok());
        }
        let wait = l.check("a", t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(l.check("b", t0).is_ok(), "keys are separate");
        assert!(
            l.check("a", t0 + Duration::from_secs(61)).is_ok(),
            "the window slides"
        );
        l.clear("a");
        assert!(l.check("a", t0 + Duration::from_secs(62)).is_ok());
    }

    #[test]
    fn cookies_and_tokens() {
        let mut h = HeaderMap::new();
        h.append(
            axum::http::header::COOKIE,
            "a=1; plenary_session=abc; lang=fr".parse().unwrap(),
        );
        assert_eq!(cookie(&h, "plenary_session"), Some("abc"));
        assert_eq!(cookie(&h, "lang"), Some("fr"));
        assert_eq!(cookie(&h, "nope"), None);
        let t = random_token();
        assert_eq!(t.len(), 43);
        assert!(same_token(&t, &t.clone()));
        assert!(!same_token(&t, &random_token()));
        assert!(!same_token("", ""));
        assert_eq!(session_hash("x").len(), 64);
        assert!(set_cookie("s", "v", 10, true).contains("HttpOnly; SameSite=Lax; Secure"));
    }
}
