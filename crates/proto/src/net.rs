//! Network addresses as limits count them.

use std::net::{IpAddr, Ipv6Addr};

/// The address limits count a client under: IPv4 as it is, IPv6 by its /64 (one subscriber's
/// network: stepping through the addresses of one's own prefix must not reset a limit).
pub fn address_bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}
