//! What every HTTP surface (portal, native API, BigBlueButton API, signalling) shares, below
//! all of them: the client's address behind trusted proxies and the public URL links are made
//! with.

pub mod client_addr;
pub mod files;
pub mod headers;
pub mod serve;

use std::net::SocketAddr;

/// Where people reach this server, for absolute links and secure cookies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    /// `https://meet.example.coop`, when configured.
    pub configured: Option<String>,
    /// The HTTP listen address, the last resort.
    pub listen: SocketAddr,
}

impl PublicUrl {
    /// The address people reach this server at, without a trailing `/`: the configured public
    /// URL, else `http://` and the request's Host, else the listen address.
    pub fn base_url(&self, host: Option<&str>) -> String {
        match (&self.configured, host) {
            (Some(u), _) => u.trim_end_matches('/').to_owned(),
            (None, Some(h)) => format!("http://{h}"),
            (None, None) => format!("http://{}", self.listen),
        }
    }

    /// Whether the site is served over https (cookies are then `Secure`).
    pub fn secure(&self) -> bool {
        self.configured
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}
