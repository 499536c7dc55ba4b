//! A network namespace joined to this one by a veth pair: the SFU under test runs inside
//! (`10.213.0.2`), the generator's peers outside (`10.213.0.1`). Janus (libnice) gathers no
//! loopback candidates, so comparing it needs a real interface; Plenary runs behind the same
//! pair for a like-for-like comparison. Needs root and iproute2. Traffic stays inside this
//! machine: the namespace is the project's own test host, made and removed here.

use std::net::IpAddr;
use std::process::Command;

use anyhow::{Context as _, bail};

/// The namespace's name, and the addresses on each side of the pair.
#[derive(Debug)]
pub struct NetNs {
    pub name: String,
    /// The generator's side.
    pub host_ip: IpAddr,
    /// The SFU's side, inside the namespace.
    pub inner_ip: IpAddr,
    host_link: String,
}

fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("cannot run `ip` (iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

impl NetNs {
    pub fn create() -> anyhow::Result<NetNs> {
        let name = format!("plnr-{}", std::process::id());
        let host_link = format!("plh{}", std::process::id() % 100_000);
        let inner_link = format!("pln{}", std::process::id() % 100_000);
        // Leftovers of a crashed run with the same pid would make `add` fail.
        let _ = ip(&["netns", "del", &name]);
        let _ = ip(&["link", "del", &host_link]);
        ip(&["netns", "add", &name])?;
        let ns = NetNs {
            name: name.clone(),
            host_ip: [10, 213, 0, 1].into(),
            inner_ip: [10, 213, 0, 2].into(),
            host_link: host_link.clone(),
        };
        ip(&[
            "link",
            "add",
            &host_link,
            "type",
            "veth",
            "peer",
            "name",
            &inner_link,
        ])?;
        ip(&["link", "set", &inner_link, "netns", &name])?;
        ip(&["addr", "add", "10.213.0.1/30", "dev", &host_link])?;
        ip(&["link", "set", &host_link, "up"])?;
        ip(&[
            "netns",
            "exec",
            &name,
            "ip",
            "addr",
            "add",
            "10.213.0.2/30",
            "dev",
            &inner_link,
        ])?;
        ip(&[
            "netns",
            "exec",
            &name,
            "ip",
            "link",
            "set",
            &inner_link,
            "up",
        ])?;
        ip(&["netns", "exec", &name, "ip", "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// A command that runs `program` inside the namespace (`ip netns exec` execs it, so the
    /// child's pid is the program's).
    pub fn command(&self, program: &str) -> tokio::process::Command {
        let mut c = tokio::process::Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
        let _ = ip(&["link", "del", &self.host_link]);
    }
}
