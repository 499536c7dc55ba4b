//! Janus (Debian's `janus` package, VideoRoom plugin) as the peer SFU for comparison, driven
//! by the same generator through Janus' HTTP API: each participant is a publisher handle
//! (send-only, our feed id chosen by us) and a multistream subscriber handle receiving every
//! other publisher of the room.
//!
//! Janus (libnice) never offers loopback candidates, so it runs in a network namespace behind
//! a veth pair (`netns.rs`), and Plenary is measured behind the same pair for the comparison.
//! `PLENARY_JANUS_DEBUG=1` prints Janus' events; `PLENARY_JANUS_LOG=path` keeps its log.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use plenary_peer::{Peer, Publish, Received, Signal, Signalling};
use plenary_proto::{MediaKind, ParticipantId};
use serde_json::{Value, json};
use tokio::process::Child;
use tokio::sync::mpsc;

/// A Janus server started for a benchmark.
#[derive(Debug)]
pub struct Janus {
    pub http_addr: String,
    pub pid: Option<u32>,
    /// Where the generator's peers send media from.
    pub local_ip: std::net::IpAddr,
    child: Child,
    dir: PathBuf,
}

static NEXT: AtomicU64 = AtomicU64::new(1);
fn next_id() -> u64 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Janus {
    /// Writes a minimal configuration (HTTP transport on a free port, VideoRoom only,
    /// ICE-lite on the namespace's interface) and starts `janus` inside `netns`.
    pub async fn spawn(netns: &crate::netns::NetNs) -> anyhow::Result<Janus> {
        // A port free outside the namespace is as good a guess as any inside it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let inner = netns.inner_ip;
        let dir = std::env::temp_dir().join(format!("plenary-janus-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let lib = "/usr/lib/x86_64-linux-gnu/janus";
        std::fs::write(
            dir.join("janus.jcfg"),
            format!(
                r#"general: {{
    configs_folder = "{dir}"
    plugins_folder = "{lib}/plugins"
    transports_folder = "{lib}/transports"
    events_folder = "{lib}/events"
    loggers_folder = "{lib}/loggers"
    debug_level = 4
    session_timeout = 120
}}
nat: {{
    ice_lite = true
    ice_enforce_list = "{inner}"
}}
plugins: {{
    disable = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_voicemail.so"
}}
transports: {{
    disable = "libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so,libjanus_websockets.so"
}}
"#,
                dir = dir.display(),
            ),
        )?;
        std::fs::write(
            dir.join("janus.transport.http.jcfg"),
            format!(
                "general: {{\n    base_path = \"/janus\"\n    http = true\n    port = {port}\n    ip = \"{inner}\"\n}}\nadmin: {{\n    admin_http = false\n}}\n"
            ),
        )?;
        std::fs::write(dir.join("janus.plugin.videoroom.jcfg"), "general: {\n}\n")?;
        let child = netns
            .command("janus")
            .arg("-F")
            .arg(&dir)
            .arg("-C")
            .arg(dir.join("janus.jcfg"))
            .stdout(janus_log(&dir)?)
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start janus (Debian package `janus`)")?;
        let http_addr = format!("{inner}:{port}");
        let pid = child.id();
        for _ in 0..100 {
            if post(&http_addr, "/janus", json!({"janus": "info"}))
                .await
                .is_ok()
            {
                return Ok(Janus {
                    http_addr,
                    pid,
                    local_ip: netns.host_ip,
                    child,
                    dir,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("janus did not answer on {http_addr}")
    }

    /// Creates a VideoRoom room; returns its number.
    pub async fn create_room(&self) -> anyhow::Result<u64> {
        let s = Session::create(&self.http_addr).await?;
        let h = s.attach().await?;
        let room = 100_000 + next_id();
        let body = json!({"request": "create", "room": room, "publishers": 100, "bitrate": 0,
            "audiocodec": "opus", "videocodec": "vp8", "fir_freq": 0});
        // A synchronous plugin request: the answer is in the response itself.
        let r = s.message(h, body, None).await?;
        if r["plugindata"]["data"]["videoroom"] != "created" {
            bail!("room not created: {r}");
        }
        s.destroy().await;
        Ok(room)
    }

    /// Joins a room's participants: publishers first (their feed ids are ours), then every
    /// participant's subscriber for all the others' feeds.
    pub async fn join_room(&self, room: u64, plan: &[Publish]) -> anyhow::Result<Vec<Peer>> {
        let mut peers = Vec::new();
        let mut feeds = Vec::new();
        for publish in plan {
            let feed = next_id();
            if publish.audio || publish.video_tracks > 0 {
                let session = Session::create(&self.http_addr).await?;
                let handle = session.attach().await?;
                let sig = JanusSignalling {
                    session,
                    handle,
                    role: Role::Publisher { room, feed },
                    pending: Vec::new(),
                };
                let state = Arc::new(Mutex::new(Received::default()));
                peers.push(
                    Peer::start(ParticipantId(feed), self.local_ip, sig, *publish, state).await?,
                );
            }
            feeds.push((feed, *publish));
        }
        // Give the publishers' negotiations a moment, so subscribers find their streams.
        let mut waited = 0;
        while !peers.iter().all(|p| p.snapshot().connected) {
            if let Some(p) = peers.iter().find(|p| p.is_finished()) {
                bail!("janus publisher {} stopped", p.id);
            }
            waited += 1;
            if waited > 200 {
                bail!("janus publishers not connected after 10 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for (feed, _) in &feeds {
            let others: Vec<u64> = feeds
                .iter()
                .filter(|(f, p)| f != feed && (p.audio || p.video_tracks > 0))
                .map(|(f, _)| *f)
                .collect();
            if others.is_empty() {
                continue;
            }
            let session = Session::create(&self.http_addr).await?;
            let handle = session.attach().await?;
            let streams: Vec<Value> = others.iter().map(|f| json!({"feed": f})).collect();
            session
                .message(handle, json!({"request": "join", "ptype": "subscriber", "room": room, "streams": streams}), None)
                .await?;
            let sig = JanusSignalling {
                session,
                handle,
                role: Role::Subscriber,
                pending: Vec::new(),
            };
            let state = Arc::new(Mutex::new(Received::default()));
            peers.push(
                Peer::start(
                    ParticipantId(next_id()),
                    self.local_ip,
                    sig,
                    Publish::NOTHING,
                    state,
                )
                .await?,
            );
        }
        Ok(peers)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Janus' own log, kept in its folder while it runs (`PLENARY_JANUS_LOG=path` keeps a copy).
fn janus_log(dir: &std::path::Path) -> anyhow::Result<Stdio> {
    let path = std::env::var_os("PLENARY_JANUS_LOG")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("janus.log"));
    Ok(Stdio::from(std::fs::File::create(path)?))
}

async fn post(addr: &str, path: &str, mut body: Value) -> anyhow::Result<Value> {
    body["transaction"] = json!(format!("t{}", next_id()));
    let (status, v): (u16, Value) =
        plenary_peer::http::call(addr, "POST", path, Some(&body)).await?;
    if status != 200 || v["janus"] == "error" {
        bail!("janus {path}: HTTP {status}: {v}");
    }
    Ok(v)
}

/// A Janus session with its long-poll running in its own task (so receiving is cancel-safe).
struct Session {
    addr: String,
    id: u64,
    events: mpsc::UnboundedReceiver<Value>,
    poller: tokio::task::JoinHandle<()>,
}

impl Session {
    async fn create(addr: &str) -> anyhow::Result<Session> {
        let v = post(addr, "/janus", json!({"janus": "create"})).await?;
        let id = v["data"]["id"].as_u64().context("no session id")?;
        let (tx, events) = mpsc::unbounded_channel();
        let poll_addr = addr.to_owned();
        let poller = tokio::spawn(async move {
            let path = format!("/janus/{id}?maxev=10");
            loop {
                let polled = plenary_peer::http::call_raw(&poll_addr, "GET", &path, None).await;
                if std::env::var_os("PLENARY_JANUS_DEBUG").is_some() {
                    eprintln!(
                        "janus poll: {:?}",
                        polled
                            .as_ref()
                            .map(|(s, b)| (*s, String::from_utf8_lossy(b).into_owned()))
                    );
                }
                let Ok((_, body)) = polled else {
                    return;
                };
                let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                    return;
                };
                let list = match v {
                    Value::Array(a) => a,
                    one => vec![one],
                };
                for e in list {
                    if tx.send(e).is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Session {
            addr: addr.to_owned(),
            id,
            events,
            poller,
        })
    }

    async fn attach(&self) -> anyhow::Result<u64> {
        let v = post(
            &self.addr,
            &format!("/janus/{}", self.id),
            json!({"janus": "attach", "plugin": "janus.plugin.videoroom"}),
        )
        .await?;
        v["data"]["id"].as_u64().context("no handle id")
    }

    async fn message(
        &self,
        handle: u64,
        body: Value,
        jsep: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut msg = json!({"janus": "message", "body": body});
        if let Some(j) = jsep {
            msg["jsep"] = j;
        }
        post(&self.addr, &format!("/janus/{}/{handle}", self.id), msg).await
    }

    async fn destroy(&self) {
        let _ = post(
            &self.addr,
            &format!("/janus/{}", self.id),
            json!({"janus": "destroy"}),
        )
        .await;
        self.poller.abort();
    }
}

enum Role {
    Publisher { room: u64, feed: u64 },
    Subscriber,
}

struct JanusSignalling {
    session: Session,
    handle: u64,
    role: Role,
    pending: Vec<Signal>,
}

impl Signalling for JanusSignalling {
    fn client_offers_first(&self) -> bool {
        matches!(self.role, Role::Publisher { .. })
    }

    async fn send_offer(&mut self, sdp: String) -> anyhow::Result<()> {
        let Role::Publisher { room, feed } = self.role else {
            bail!("a subscriber does not offer")
        };
        let body = json!({"request": "joinandconfigure", "ptype": "publisher", "room": room, "id": feed,
            "display": format!("load {feed}"), "audio": true, "video": true});
        self.session
            .message(
                self.handle,
                body,
                Some(json!({"type": "offer", "sdp": sdp})),
            )
            .await?;
        Ok(())
    }

    async fn send_answer(&mut self, sdp: String) -> anyhow::Result<()> {
        let Role::Subscriber = self.role else {
            bail!("a publisher does not answer")
        };
        self.session
            .message(
                self.handle,
                json!({"request": "start"}),
                Some(json!({"type": "answer", "sdp": sdp})),
            )
            .await?;
        Ok(())
    }

    async fn send_media_state(
        &mut self,
        _audio: bool,
        _video: bool,
        _screen: bool,
    ) -> anyhow::Result<()> {
        Ok(())
    }

    async fn recv(&mut self) -> anyhow::Result<Vec<Signal>> {
        loop {
            if !self.pending.is_empty() {
                return Ok(std::mem::take(&mut self.pending));
            }
            let e = self
                .session
                .events
                .recv()
                .await
                .context("janus session ended")?;
            if std::env::var_os("PLENARY_JANUS_DEBUG").is_some() {
                eprintln!("janus event: {e}");
            }
            if e["janus"] != "event" || e["sender"].as_u64() != Some(self.handle) {
                continue;
            }
            let data = &e["plugindata"]["data"];
            if let Some(err) = data["error"].as_str() {
                bail!("janus: {err}");
            }
            if let Some(streams) = data["streams"].as_array() {
                for s in streams {
                    let kind = match s["type"].as_str() {
                        Some("audio") => MediaKind::Audio,
                        Some("video") => MediaKind::Video,
                        _ => continue,
                    };
                    if let (Some(mid), Some(feed)) = (s["mid"].as_str(), s["feed_id"].as_u64()) {
                        self.pending.push(Signal::TrackOwner {
                            mid: mid.to_owned(),
                            participant: ParticipantId(feed),
                            kind,
                        });
                    }
                }
            }
            if let (Some(t), Some(sdp)) = (e["jsep"]["type"].as_str(), e["jsep"]["sdp"].as_str()) {
                self.pending.push(match t {
                    "answer" => Signal::Answer(sdp.to_owned()),
                    _ => Signal::Offer(sdp.to_owned()),
                });
            }
        }
    }

    async fn leave(&mut self) -> anyhow::Result<()> {
        self.session.destroy().await;
        Ok(())
    }
}
