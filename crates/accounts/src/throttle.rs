//! Attempts per key in a sliding window: sign-ins per account and per address, access codes
//! per room and address, sign-ups per address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

    /// Gives back the latest attempt recorded for `key` (one reserved by [`RateLimiter::check`]
    /// that turned out not to count).
    pub fn refund(&self, key: &str) {
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(list) = hits.get_mut(key) {
            list.pop();
            if list.is_empty() {
                hits.remove(key);
            }
        }
    }

    /// Forgets `key` (a successful sign-in clears the account's failures).
    pub fn clear(&self, key: &str) {
        self.hits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// The address limits count a client under: IPv4 as it is, IPv6 by its /64.
pub fn bucket(ip: IpAddr) -> IpAddr {
    plenary_proto::net::address_bucket(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_its_network() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(bucket(a), bucket(b));
        assert_ne!(bucket(a), bucket("2001:db8:1:3::1".parse().unwrap()));
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(bucket(v4), v4);
        assert_eq!(bucket("::ffff:192.0.2.7".parse().unwrap()), v4);
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
        // A reserved attempt given back frees its place.
        let l = RateLimiter::new(Duration::from_secs(60), 1);
        assert!(l.check("b", t0).is_ok());
        assert!(l.check("b", t0).is_err());
        l.refund("b");
        assert!(l.check("b", t0).is_ok());
    }
}
