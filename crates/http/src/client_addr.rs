//! The address of the person behind a request: the connection's address, or, when that is a
//! proxy the operator trusts (`PLENARY_TRUSTED_PROXIES`), the last address in
//! `X-Forwarded-For` that is not one of those proxies. Untrusted connections' headers are
//! ignored, so nobody forges their way around a per-address limit.

use std::net::IpAddr;

/// `peer`: the TCP connection's address; `forwarded`: the `X-Forwarded-For` values in order.
/// A request's client address: the connection's, or behind trusted proxies the address they
/// forward (`X-Forwarded-For`).
pub fn of_request(
    peer: std::net::SocketAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[IpAddr],
) -> IpAddr {
    client_ip(
        peer.ip(),
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok()),
        trusted,
    )
}

pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded: impl IntoIterator<Item = &'a str>,
    trusted: &[IpAddr],
) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return ip,
            // Garbage in the chain: stop at what we can trust.
            Err(_) => break,
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_connections_are_taken_as_they_are() {
        assert_eq!(
            client_ip(ip("203.0.113.9"), ["198.51.100.1"], &[]),
            ip("203.0.113.9")
        );
        let proxy = [ip("10.0.0.2")];
        assert_eq!(
            client_ip(ip("203.0.113.9"), ["198.51.100.1"], &proxy),
            ip("203.0.113.9"),
            "a header from an untrusted peer is ignored"
        );
    }

    #[test]
    fn through_trusted_proxies_the_last_untrusted_hop_counts() {
        let proxies = [ip("10.0.0.2"), ip("10.0.0.3")];
        // A client's own forged entry comes first; the proxies append the real one.
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                ["1.2.3.4, 198.51.100.7", "10.0.0.3"],
                &proxies
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), ["2001:db8::5"], &proxies),
            ip("2001:db8::5")
        );
        // No header, only proxies, or garbage: the proxy itself.
        assert_eq!(client_ip(ip("10.0.0.2"), [], &proxies), ip("10.0.0.2"));
        assert_eq!(
            client_ip(ip("10.0.0.2"), ["10.0.0.3"], &proxies),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), ["nonsense"], &proxies),
            ip("10.0.0.2")
        );
    }
}
