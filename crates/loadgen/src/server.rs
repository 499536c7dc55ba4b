//! The server under test: started by the generator (so its process is known) or given.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// A Plenary server: its HTTP address and, when known, its process id (for CPU time).
#[derive(Debug)]
pub struct Server {
    pub http_addr: String,
    pub pid: Option<u32>,
    /// Where the generator's peers send media from (`None`: loopback, like the server).
    pub local_ip: Option<std::net::IpAddr>,
    /// An API token of the server's admin: rooms are created with it.
    pub api_token: Option<String>,
    /// Set: rooms are BigBlueButton API meetings recorded from the first join (this is the
    /// API's shared secret).
    pub record_secret: Option<String>,
    child: Option<Child>,
    data_dir: Option<std::path::PathBuf>,
}

impl Server {
    /// Runs `bin serve` on free ports with a fresh data folder and waits for its ready line.
    pub async fn spawn(bin: &str) -> anyhow::Result<Server> {
        Self::spawn_in(bin, None).await
    }

    /// Like [`Server::spawn`], with more settings in its environment (`PLENARY_…`).
    pub async fn spawn_env(bin: &str, env: &[(&str, &str)]) -> anyhow::Result<Server> {
        Self::spawn_with(bin, None, None, env).await
    }

    /// Like [`Server::spawn_env`], every room's meeting recorded (a BBB API meeting with
    /// `record=true&autoStartRecording=true`: the recorder runs from the first join).
    pub async fn spawn_recording(bin: &str, env: &[(&str, &str)]) -> anyhow::Result<Server> {
        let secret = "loadgen-recording-secret".to_owned();
        let mut s = Self::spawn_with(bin, None, Some(&secret), env).await?;
        s.record_secret = Some(secret);
        Ok(s)
    }

    /// Like [`Server::spawn`], inside `netns` when given (listening and announcing its
    /// inner address; peers then send from the outer one).
    pub async fn spawn_in(
        bin: &str,
        netns: Option<&crate::netns::NetNs>,
    ) -> anyhow::Result<Server> {
        Self::spawn_with(bin, netns, None, &[]).await
    }

    async fn spawn_with(
        bin: &str,
        netns: Option<&crate::netns::NetNs>,
        bbb_secret: Option<&str>,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Server> {
        let data_dir = std::env::temp_dir().join(format!(
            "plenary-loadgen-{}-{}",
            std::process::id(),
            u8::from(netns.is_some())
        ));
        let _ = std::fs::remove_dir_all(&data_dir);
        let (mut command, listen_ip) = match netns {
            Some(ns) => (ns.command(bin), ns.inner_ip),
            None => (Command::new(bin), std::net::IpAddr::from([127, 0, 0, 1])),
        };
        if let Some(secret) = bbb_secret {
            command.env("PLENARY_BBB_SECRETS", secret);
        }
        // The standard scenarios measure forwarding everything to everyone (as Janus does):
        // loudest-N audio stays off unless a scenario's environment sets it.
        command.env("PLENARY_LOUDEST_ABOVE", "100000");
        // Every peer comes from one address here: the per-address connection cap (64)
        // would refuse the 65th.
        command.env("PLENARY_MAX_CONNECTIONS_PER_ADDRESS", "4096");
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .arg("serve")
            .env("PLENARY_LISTEN", format!("{listen_ip}:0"))
            .env("PLENARY_PUBLIC_IP", listen_ip.to_string())
            .env("PLENARY_MEDIA_PORT", "0")
            .env("PLENARY_DATA_DIR", &data_dir)
            .env("PLENARY_LOG", "warn")
            .env("PLENARY_MAX_PARTICIPANTS", "1000")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {bin}"))?;
        let pid = child.id();
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.strip_prefix("PLENARY_READY http=") {
                    return Ok(rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned());
                }
            }
            bail!("the server exited before it was ready")
        })
        .await
        .context("the server was not ready within 30 s")??;
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        // Rooms are made by members only: an API token of the first admin, as an operator
        // would make one for a script.
        let mut token = match netns {
            Some(ns) => ns.command(bin),
            None => Command::new(bin),
        };
        let out = token
            .args(["api-token", "admin@localhost", "loadgen"])
            .env("PLENARY_DATA_DIR", &data_dir)
            .env("PLENARY_LOG", "warn")
            .output()
            .await
            .context("cannot run plenary api-token")?;
        if !out.status.success() {
            bail!(
                "plenary api-token failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let api_token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Ok(Server {
            http_addr: ready,
            api_token: Some(api_token),
            record_secret: None,
            pid,
            child: Some(child),
            data_dir: Some(data_dir),
            local_ip: netns.map(|ns| ns.host_ip),
        })
    }

    /// A server someone else runs (`api_token`: one of its API tokens, to create rooms).
    pub fn external(http_addr: String, pid: Option<u32>, api_token: Option<String>) -> Server {
        Server {
            http_addr,
            pid,
            api_token,
            record_secret: None,
            local_ip: None,
            child: None,
            data_dir: None,
        }
    }

    /// Creates a room; returns its id.
    pub async fn create_room(&self, name: &str) -> anyhow::Result<plenary_proto::RoomId> {
        let body = serde_json::json!({ "name": name });
        let (status, room): (u16, serde_json::Value) = plenary_peer::http::call_with(
            &self.http_addr,
            "POST",
            "/api/rooms",
            Some(&body),
            self.api_token.as_deref(),
        )
        .await?;
        if status != 201 {
            bail!("room creation failed: HTTP {status}: {room}");
        }
        Ok(plenary_proto::RoomId::parse(
            room["id"].as_str().unwrap_or_default(),
        )?)
    }

    /// A signed BigBlueButton API call (SHA-1 checksum); the answer's body.
    async fn bbb(&self, call: &str, query: &str) -> anyhow::Result<String> {
        let secret = self
            .record_secret
            .as_deref()
            .context("not a recording run")?;
        let digest = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            format!("{call}{query}{secret}").as_bytes(),
        );
        let checksum: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        let path = format!("/bigbluebutton/api/{call}?{query}&checksum={checksum}");
        let (status, body) =
            plenary_peer::http::call_raw(&self.http_addr, "GET", &path, None).await?;
        let body = String::from_utf8_lossy(&body).into_owned();
        if status != 200 || !body.contains("<returncode>SUCCESS</returncode>") {
            bail!("BBB {call} failed: HTTP {status}: {body}");
        }
        Ok(body)
    }

    /// (A recording run) creates the recorded meeting `meeting` if new and a join for
    /// `name`: the room and the join token.
    pub async fn recorded_join(
        &self,
        meeting: &str,
        name: &str,
    ) -> anyhow::Result<(plenary_proto::RoomId, String)> {
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        let id = enc(meeting);
        self.bbb(
            "create",
            &format!("name={id}&meetingID={id}&record=true&autoStartRecording=true"),
        )
        .await?;
        let body = self
            .bbb(
                "join",
                &format!(
                    "meetingID={id}&fullName={}&role=MODERATOR&redirect=false",
                    enc(name)
                ),
            )
            .await?;
        let url = body
            .split("<url>")
            .nth(1)
            .and_then(|r| r.split("</url>").next())
            .context("no join url")?;
        let (path, token) = url.split_once("#join=").context("no join token")?;
        let room = path.rsplit('/').next().unwrap_or_default();
        Ok((plenary_proto::RoomId::parse(room)?, token.to_owned()))
    }

    /// One counter from `/metrics`.
    pub async fn metric(&self, name: &str) -> anyhow::Result<u64> {
        let (_, body) =
            plenary_peer::http::call_raw(&self.http_addr, "GET", "/metrics", None).await?;
        let text = String::from_utf8_lossy(&body);
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
            .with_context(|| format!("{name} not in /metrics"))
    }

    pub async fn stop(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
        }
        if let Some(d) = self.data_dir.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// CPU time (user + system, every thread, including threads that have ended) a process has
/// used, in microseconds, from `/proc/PID/stat`.
pub fn cpu_micros(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("odd /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5); `rest` starts at field 3.
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(ticks * 1_000_000 / clock_ticks_per_second())
}

/// `getconf CLK_TCK` (100 on Linux unless the kernel says otherwise).
fn clock_ticks_per_second() -> u64 {
    static TCK: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t| *t > 0)
            .unwrap_or(100)
    })
}
