//! Runs one scenario against a server and measures it.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use plenary_peer::{Accounting, Peer, PeerOptions};

use crate::janus::Janus;
use crate::scenario::Scenario;
use crate::server::{Server, cpu_micros};

/// The SFU under test.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Plenary(&'a Server),
    Janus(&'a Janus),
}

impl Target<'_> {
    fn pid(&self) -> Option<u32> {
        match self {
            Target::Plenary(s) => s.pid,
            Target::Janus(j) => j.pid,
        }
    }

    /// Creates a room and joins everyone in `plan`.
    async fn join_room(
        &self,
        name: &str,
        plan: &[plenary_peer::Publish],
    ) -> anyhow::Result<Vec<Peer>> {
        match self {
            Target::Plenary(server) => {
                let room = match server.record_secret {
                    None => Some(server.create_room(name).await?),
                    Some(_) => None, // each join makes its own link into the BBB meeting
                };
                let mut peers = Vec::new();
                for (i, publish) in plan.iter().enumerate() {
                    let peer_name = format!("{name} {i}");
                    let (room, token) = match &room {
                        Some(r) => (r.clone(), None),
                        None => {
                            let (r, t) = server.recorded_join(name, &peer_name).await?;
                            (r, Some(t))
                        }
                    };
                    let opts = PeerOptions {
                        http_addr: server.http_addr.clone(),
                        room,
                        name: peer_name,
                        publish: *publish,
                        local_ip: server.local_ip,
                        token,
                    };
                    peers.push(
                        Peer::join(opts)
                            .await
                            .with_context(|| format!("{name} {i} could not join"))?,
                    );
                }
                Ok(peers)
            }
            Target::Janus(janus) => {
                let room = janus.create_room().await?;
                janus.join_room(room, plan).await
            }
        }
    }
}

/// Timings of a run.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// After everyone receives everything, before measuring (bitrates settle, keyframes pass).
    pub warmup: Duration,
    /// The measured window.
    pub window: Duration,
    /// How long joining and the first media may take.
    pub join_timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            warmup: Duration::from_secs(3),
            window: Duration::from_secs(10),
            join_timeout: Duration::from_secs(30),
        }
    }
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub scenario: String,
    pub participants: usize,
    pub window_s: f64,
    /// Datagrams the SFU sent per second (forwarded media, plus its RTCP and ICE), counted
    /// as the generator's peers received them.
    pub sent_pps: f64,
    /// Server CPU time as a share of one core (1.0 = a whole core).
    pub server_cores: f64,
    /// The figure that matters: server CPU-microseconds per datagram sent.
    pub us_per_packet: f64,
    /// Its inverse: datagrams sent per server CPU-second.
    pub packets_per_cpu_second: f64,
    /// The generator's own CPU, as a share of one core (it shares the machine).
    pub generator_cores: f64,
    /// Frames received per second, all receivers, and what the scenario should deliver.
    pub received_fps: f64,
    pub expected_fps: f64,
    /// Frames lost (sequence gaps), 0.0 – 1.0.
    pub loss: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Server resident memory added per participant, in KiB.
    pub rss_kib_per_participant: f64,
}

/// Joins everyone, waits for media, measures a window, and leaves.
pub async fn run(
    target: Target<'_>,
    scenario: &Scenario,
    opts: RunOptions,
) -> anyhow::Result<RunResult> {
    let pid = target.pid();
    let rss_before = pid.map(rss_kib).transpose()?.unwrap_or(0);
    let mut peers: Vec<Peer> = Vec::with_capacity(scenario.participants());
    let mut expected_tracks = 0;
    let started = Instant::now();
    for (r, room_plan) in scenario.rooms.iter().enumerate() {
        expected_tracks += (0..room_plan.len())
            .map(|i| scenario.tracks_for(r, i))
            .sum::<usize>();
        let joined = target
            .join_room(&format!("{} room {r}", scenario.name), room_plan)
            .await?;
        // Where receivers say how they show the others: a large tile gets the top layer,
        // a thumbnail the lowest, the rest nothing.
        if scenario.view.is_some() {
            for (i, peer) in joined.iter().enumerate() {
                let tiles = scenario.tiles_of(r, i).into_iter().map(|(j, large)| {
                    plenary_proto::TileReport {
                        participant_id: joined[j].id,
                        source: plenary_proto::TrackSource::Camera,
                        width: if large { 1280 } else { 320 },
                        height: if large { 720 } else { 180 },
                        visible: true,
                    }
                });
                let hidden = joined
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i && !scenario.tiles_of(r, i).iter().any(|t| t.0 == *j))
                    .map(|(_, p)| plenary_proto::TileReport {
                        participant_id: p.id,
                        source: plenary_proto::TrackSource::Camera,
                        width: 0,
                        height: 0,
                        visible: false,
                    });
                peer.set_view(tiles.chain(hidden).collect());
            }
        }
        peers.extend(joined);
    }
    // Everyone receives every track meant for them.
    loop {
        let receiving: usize = peers
            .iter()
            .map(|p| p.snapshot().accounting.tracks.len())
            .sum();
        if receiving >= expected_tracks {
            break;
        }
        if let Some(i) = peers.iter().position(Peer::is_finished) {
            let dead = peers.swap_remove(i);
            let id = dead.id;
            let errors = dead.snapshot().errors;
            let why = dead
                .leave()
                .await
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_default();
            bail!("peer {id} stopped: {why} {errors:?}");
        }
        if started.elapsed() > opts.join_timeout {
            let short: Vec<String> = peers
                .iter()
                .map(|p| {
                    let s = p.snapshot();
                    format!(
                        "{}: {:?}",
                        p.id,
                        s.accounting.tracks.keys().collect::<Vec<_>>()
                    )
                })
                .collect();
            bail!(
                "not all media flowing after {:?}: {receiving} of {expected_tracks} tracks; {}",
                opts.join_timeout,
                short.join("; ")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(opts.warmup).await;

    for p in &peers {
        p.reset_accounting();
    }
    // What the SFU sent, counted where it arrives: the same for every SFU.
    let received =
        |peers: &[Peer]| -> u64 { peers.iter().map(|p| p.snapshot().datagrams_received).sum() };
    let sent0 = received(&peers);
    let cpu0 = pid.map(cpu_micros).transpose()?;
    let gen0 = cpu_micros(std::process::id())?;
    let t0 = Instant::now();
    tokio::time::sleep(opts.window).await;
    let sent1 = received(&peers);
    let cpu1 = pid.map(cpu_micros).transpose()?;
    let gen1 = cpu_micros(std::process::id())?;
    let elapsed = t0.elapsed().as_secs_f64();
    let mut total = Accounting::default();
    for p in &peers {
        total.merge(&p.snapshot().accounting);
    }
    // Receivers that said how they show the others got exactly that in the window: nothing
    // off screen, no microphone beyond the loudest.
    let receiving: usize = peers
        .iter()
        .map(|p| p.snapshot().accounting.tracks.len())
        .sum();
    if scenario.view.is_some() && receiving > expected_tracks {
        // Who got more than their view shows, and what (for the reader of the error).
        let mut extra = Vec::new();
        let mut at = 0;
        for (r, room) in scenario.rooms.iter().enumerate() {
            for i in 0..room.len() {
                let s = peers[at].snapshot();
                if s.accounting.tracks.len() > scenario.tracks_for(r, i) {
                    extra.push(format!(
                        "room {r} peer {i}: {:?}",
                        s.accounting.tracks.keys().collect::<Vec<_>>()
                    ));
                }
                at += 1;
            }
        }
        extra.truncate(3);
        bail!(
            "receivers got {receiving} tracks, their views show {expected_tracks}: the server forwarded what is off screen ({})",
            extra.join("; ")
        );
    }
    let rss_after = pid.map(rss_kib).transpose()?.unwrap_or(0);

    for p in peers {
        let _ = p.leave().await;
    }

    let sent = (sent1 - sent0) as f64;
    let server_us = match (cpu0, cpu1) {
        (Some(a), Some(b)) => (b - a) as f64,
        _ => f64::NAN,
    };
    let q = |quantile: f64| total.latency_us.value_at_quantile(quantile) as f64 / 1000.0;
    // One thread drives every peer: when it is full it sends late and fewer frames (without
    // gaps in their numbers), and its receiving queues look like server latency. Say so.
    let generator_cores = (gen1 - gen0) as f64 / 1e6 / elapsed;
    let received_fps = total.frames() as f64 / elapsed;
    let expected_fps = scenario.expected_frames_per_second();
    let delivered = received_fps / expected_fps;
    if generator_cores >= 0.9 {
        println!(
            "warning: {}: the generator used {generator_cores:.2} cores: the load it offered, loss and latency may be its own",
            scenario.name
        );
    } else if delivered < 0.98 {
        println!(
            "warning: {}: {:.1} % of the expected frames arrived",
            scenario.name,
            delivered * 100.0
        );
    }
    Ok(RunResult {
        scenario: scenario.name.clone(),
        participants: scenario.participants(),
        window_s: elapsed,
        sent_pps: sent / elapsed,
        server_cores: server_us / 1e6 / elapsed,
        us_per_packet: server_us / sent,
        packets_per_cpu_second: sent / (server_us / 1e6),
        generator_cores,
        received_fps,
        expected_fps,
        loss: total.loss(),
        p50_ms: q(0.5),
        p99_ms: q(0.99),
        max_ms: total.latency_us.max() as f64 / 1000.0,
        rss_kib_per_participant: rss_after.saturating_sub(rss_before) as f64
            / scenario.participants() as f64,
    })
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("no VmRSS")
}

impl RunResult {
    pub const CSV_HEADER: &'static str = "scenario,participants,window_s,sent_pps,server_cores,us_per_packet,packets_per_cpu_second,generator_cores,received_fps,expected_fps,loss,p50_ms,p99_ms,max_ms,rss_kib_per_participant";

    pub fn csv(&self) -> String {
        format!(
            "{},{},{:.1},{:.0},{:.3},{:.2},{:.0},{:.3},{:.0},{:.0},{:.5},{:.1},{:.1},{:.1},{:.0}",
            self.scenario,
            self.participants,
            self.window_s,
            self.sent_pps,
            self.server_cores,
            self.us_per_packet,
            self.packets_per_cpu_second,
            self.generator_cores,
            self.received_fps,
            self.expected_fps,
            self.loss,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.rss_kib_per_participant
        )
    }

    pub fn table_header() -> String {
        format!(
            "{:<14} {:>5} {:>9} {:>7} {:>8} {:>11} {:>7} {:>9} {:>7} {:>7} {:>7} {:>8}",
            "scenario",
            "peers",
            "sent/s",
            "srv cpu",
            "µs/pkt",
            "pkt/cpu-s",
            "gen cpu",
            "recv fps",
            "loss%",
            "p50 ms",
            "p99 ms",
            "KiB/peer"
        )
    }

    pub fn table_row(&self) -> String {
        format!(
            "{:<14} {:>5} {:>9.0} {:>7.2} {:>8.2} {:>11.0} {:>7.2} {:>9.0} {:>7.2} {:>7.1} {:>7.1} {:>8.0}",
            self.scenario,
            self.participants,
            self.sent_pps,
            self.server_cores,
            self.us_per_packet,
            self.packets_per_cpu_second,
            self.generator_cores,
            self.received_fps,
            self.loss * 100.0,
            self.p50_ms,
            self.p99_ms,
            self.rss_kib_per_participant
        )
    }
}
