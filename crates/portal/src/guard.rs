//! Limits on guessing at the doors: sign-in and sign-up.
//!
//! A stranger must not be able to lock a member out. Failed sign-ins count in three places:
//! per client address (one address trying many accounts is stopped), per account from clients
//! the account has never signed in from (a guesser anywhere is stopped), and per account and
//! known client. A client is known to an account when it carries that account's device cookie
//! (set at each successful sign-in, signed by the server) or signed in to it from the same
//! address before; so while strangers are refused, even with the right password, the member
//! still signs in from their own browser. Sign-ups are limited per address.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use plenary_accounts::throttle::RateLimiter;
use sha2::Sha256;

pub const DEVICE_COOKIE: &str = "plenary_device";
/// How long a device cookie lasts.
pub const DEVICE_DAYS: i64 = 365;
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed sign-ins per account from unknown clients, and per account and known client.
const PER_ACCOUNT: usize = 10;
/// Failed sign-ins per client address, whichever accounts.
const PER_ADDRESS: usize = 30;
/// Sign-ups per client address an hour.
const SIGNUPS_PER_HOUR: usize = 10;
/// Addresses remembered per account.
const KNOWN_ADDRESSES: usize = 8;

/// Which count a sign-in attempt falls in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bucket {
    /// From a client this account signed in from before.
    Known(String),
    /// From anywhere else.
    Unknown(String),
}

#[derive(Debug)]
pub struct Guard {
    key: [u8; 32],
    per_address: RateLimiter,
    unknown: RateLimiter,
    known: RateLimiter,
    signups: RateLimiter,
    known_addresses: Mutex<HashMap<String, VecDeque<IpAddr>>>,
}

type HmacSha256 = Hmac<Sha256>;

impl Guard {
    /// `key` signs device cookies (derived from the server's secret, so they outlive restarts).
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            key,
            per_address: RateLimiter::new(WINDOW, PER_ADDRESS),
            unknown: RateLimiter::new(WINDOW, PER_ACCOUNT),
            known: RateLimiter::new(WINDOW, PER_ACCOUNT),
            signups: RateLimiter::new(Duration::from_secs(3600), SIGNUPS_PER_HOUR),
            known_addresses: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self, data: &str) -> String {
        // HMAC accepts keys of any length.
        let mut m =
            <HmacSha256 as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        m.update(data.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
    }

    /// A new device cookie's value for `email`'s account: `nonce.mac`.
    pub fn device_cookie(&self, email: &str) -> String {
        let nonce = plenary_accounts::password::random_token();
        let mac = self.mac(&format!("{email}|{nonce}"));
        format!("{nonce}.{mac}")
    }

    /// The device (its nonce) a cookie names, if it was made for `email`'s account.
    fn device(&self, cookie: Option<&str>, email: &str) -> Option<String> {
        let (nonce, mac) = cookie?.split_once('.')?;
        plenary_accounts::password::same_token(&self.mac(&format!("{email}|{nonce}")), mac)
            .then(|| nonce.to_owned())
    }

    /// Whether a sign-in to `email` from `client` (with its device cookie) may be tried now.
    /// The attempt is counted at once, as a failure, in the address's and the account's counts
    /// (so that concurrent attempts cannot all pass before any is counted); a success gives it
    /// back ([`Guard::succeeded`]). Returns the account bucket it counts in, or how long to wait.
    pub fn reserve(
        &self,
        email: &str,
        device_cookie: Option<&str>,
        client: IpAddr,
        now: Instant,
    ) -> Result<Bucket, Duration> {
        let address = address_key(client);
        self.per_address.check(&address, now)?;
        let known_address = self
            .known_addresses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(email)
            .is_some_and(|a| a.contains(&client));
        let bucket = match self.device(device_cookie, email) {
            Some(device) => Bucket::Known(format!("{email}|d:{device}")),
            None if known_address => Bucket::Known(format!("{email}|a:{client}")),
            None => Bucket::Unknown(email.to_owned()),
        };
        let counted = match &bucket {
            Bucket::Known(k) => self.known.check(k, now),
            Bucket::Unknown(k) => self.unknown.check(k, now),
        };
        match counted {
            Ok(()) => Ok(bucket),
            Err(wait) => {
                self.per_address.refund(&address);
                Err(wait)
            }
        }
    }

    /// A successful sign-in: its reserved failure is given back, and that client is known to
    /// the account from now on. (Other failures stay: a guesser's do not vanish because the
    /// member signed in.)
    pub fn succeeded(&self, bucket: &Bucket, email: &str, client: IpAddr) {
        self.per_address.refund(&address_key(client));
        match bucket {
            Bucket::Known(k) => self.known.clear(k),
            Bucket::Unknown(k) => self.unknown.refund(k),
        }
        let mut known = self
            .known_addresses
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if known.len() > 100_000 {
            // Bounded memory: start again rather than grow without end.
            known.clear();
        }
        let list = known.entry(email.to_owned()).or_default();
        if !list.contains(&client) {
            list.push_back(client);
            if list.len() > KNOWN_ADDRESSES {
                list.pop_front();
            }
        }
    }

    /// Gives a reserved attempt back without counting it either way (the check could not be
    /// made: the database did not answer).
    pub fn refund(&self, bucket: &Bucket, client: IpAddr) {
        self.per_address.refund(&address_key(client));
        match bucket {
            Bucket::Known(k) => self.known.refund(k),
            Bucket::Unknown(k) => self.unknown.refund(k),
        }
    }

    /// Counts a sign-up from `client`; `Err(wait)` when it made too many.
    pub fn signup(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        self.signups.check(&address_key(client), now)
    }
}

/// The key an address counts under: IPv6 addresses by their /64 (one subscriber's network), so
/// that stepping through addresses of one's own prefix gains nothing.
fn address_key(client: IpAddr) -> String {
    plenary_accounts::throttle::bucket(client).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMAIL: &str = "ada@example.coop";

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn a_stranger_does_not_lock_the_member_out() {
        let g = Guard::new([7; 32]);
        let now = Instant::now();
        // The member signed in once from their browser and kept its cookie.
        let member = g.reserve(EMAIL, None, ip(1), now).unwrap();
        let cookie = g.device_cookie(EMAIL);
        g.succeeded(&member, EMAIL, ip(1));
        // A stranger fails ten times, from another address: the stranger is refused next,
        // whatever the password.
        for _ in 0..PER_ACCOUNT {
            let b = g.reserve(EMAIL, None, ip(9), now).unwrap();
            assert!(matches!(b, Bucket::Unknown(_)));
        }
        assert!(g.reserve(EMAIL, None, ip(9), now).is_err());
        assert!(
            g.reserve(EMAIL, None, ip(10), now).is_err(),
            "any unknown client"
        );
        // The member's own browser, and the address they used, still get to try.
        assert!(matches!(
            g.reserve(EMAIL, Some(&cookie), ip(50), now),
            Ok(Bucket::Known(_))
        ));
        assert!(matches!(
            g.reserve(EMAIL, None, ip(1), now),
            Ok(Bucket::Known(_))
        ));
        // A cookie for another account, or forged, is no device of this one.
        let other = g.device_cookie("bo@example.coop");
        assert!(g.reserve(EMAIL, Some(&other), ip(50), now).is_err());
        assert!(g.reserve(EMAIL, Some("x.y"), ip(50), now).is_err());
        // After the window, the stranger may try again.
        assert!(g.reserve(EMAIL, None, ip(9), now + WINDOW).is_ok());
    }

    #[test]
    fn one_address_cannot_try_many_accounts() {
        let g = Guard::new([7; 32]);
        let now = Instant::now();
        for i in 0..PER_ADDRESS {
            let email = format!("user{i}@example.coop");
            g.reserve(&email, None, ip(9), now).unwrap();
        }
        assert!(g.reserve("fresh@example.coop", None, ip(9), now).is_err());
        assert!(g.reserve("fresh@example.coop", None, ip(8), now).is_ok());
    }

    #[test]
    fn successes_give_their_attempt_back() {
        let g = Guard::new([7; 32]);
        let now = Instant::now();
        for _ in 0..3 * PER_ACCOUNT {
            let b = g.reserve(EMAIL, None, ip(1), now).unwrap();
            g.succeeded(&b, EMAIL, ip(1));
        }
        assert!(g.reserve(EMAIL, None, ip(1), now).is_ok());
    }

    #[test]
    fn an_ipv6_network_counts_as_one_address() {
        let g = Guard::new([7; 32]);
        let now = Instant::now();
        for i in 0..PER_ADDRESS {
            let client: IpAddr = format!("2001:db8:1:2::{:x}", i + 1).parse().unwrap();
            g.reserve(&format!("u{i}@example.coop"), None, client, now)
                .unwrap();
        }
        let same_net: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert!(g.reserve("x@example.coop", None, same_net, now).is_err());
        let other_net: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(g.reserve("x@example.coop", None, other_net, now).is_ok());
    }

    #[test]
    fn sign_ups_per_address() {
        let g = Guard::new([7; 32]);
        let now = Instant::now();
        for _ in 0..SIGNUPS_PER_HOUR {
            assert!(g.signup(ip(9), now).is_ok());
        }
        assert!(g.signup(ip(9), now).is_err());
        assert!(g.signup(ip(8), now).is_ok());
    }
}
