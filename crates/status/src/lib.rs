//! The node's health for its operators and its users: its load (the machine's CPU, this
//! process's, memory, meetings, participants, media bitrates and packets, loss) read every few
//! seconds — the reading admission's CPU limit uses — and kept every minute in the store for a
//! day ([`Monitor`]); its runs (restarts, and whether each stopped cleanly); the warnings and
//! errors it logged lately ([`errors`]); and each region's state for the public status page
//! ([`health`]).

pub mod errors;
pub mod health;
pub mod proc;
pub mod quality;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use plenary_meeting::capacity::Capacity;
use plenary_store::{LoadSample, NodeRun, Store};

/// How often the load is read (and admission's CPU reading renewed).
pub const READ_EVERY: Duration = Duration::from_secs(5);
/// How often a sample is kept.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(60);
/// How long samples are kept (the history shows the last day).
pub const HISTORY_MS: i64 = 24 * 3600 * 1000;
const KEEP_MS: i64 = 2 * HISTORY_MS;

/// The counters the node's parts keep, as read at one moment (cumulative ones since start).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    pub meetings: u64,
    pub participants: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// The participants' mean loss (each one's worse direction), 0.0 – 1.0.
    pub loss: Option<f32>,
}

/// Reads the [`Totals`] (the live meetings and the media engine; given by the server).
pub type Source = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Totals> + Send>> + Send + Sync>;

/// The load now, as the operators' view shows it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Live {
    pub at_ms: i64,
    pub cpu: Option<u8>,
    pub process_cpu: Option<u32>,
    pub rss_bytes: Option<u64>,
    pub meetings: u64,
    pub participants: u64,
    pub bits_in: u64,
    pub bits_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub loss_permille: Option<u32>,
    pub near_capacity: bool,
}

/// This node's health, shared by the sampler (which writes it) and the pages (which read it).
#[derive(Debug)]
pub struct Monitor {
    pub node: String,
    pub region: String,
    /// This run of the node (its start time, in hex).
    pub run: String,
    pub version: String,
    pub started_ms: i64,
    live: RwLock<Live>,
}

/// Rates between two readings of cumulative counters.
#[derive(Debug, Clone, Copy)]
struct Reading {
    at: tokio::time::Instant,
    totals: Totals,
    cpu: Option<proc::CpuTimes>,
    ticks: Option<u64>,
    refused: u64,
    errors: u64,
}

impl Reading {
    fn now(totals: Totals, capacity: &Capacity) -> Self {
        Self {
            at: tokio::time::Instant::now(),
            totals,
            cpu: proc::CpuTimes::read(),
            ticks: proc::process_ticks(),
            refused: capacity.refused(),
            errors: errors::error_count(),
        }
    }

    /// The load between `earlier` and this reading.
    fn since(&self, earlier: &Reading, capacity: &Capacity) -> Live {
        let secs = self.at.duration_since(earlier.at).as_secs_f64().max(0.001);
        let rate = |now: u64, then: u64| (now.saturating_sub(then) as f64 / secs).round() as u64;
        let t = &self.totals;
        let e = &earlier.totals;
        Live {
            at_ms: plenary_proto::clock::unix_millis(),
            cpu: match (self.cpu, earlier.cpu) {
                (Some(a), Some(b)) => a.busy_since(&b),
                _ => None,
            },
            process_cpu: match (self.ticks, earlier.ticks) {
                (Some(a), Some(b)) => Some(
                    (a.saturating_sub(b) as f64 * 100.0 / proc::TICKS_PER_SEC as f64 / secs).round()
                        as u32,
                ),
                _ => None,
            },
            rss_bytes: proc::rss_bytes(),
            meetings: t.meetings,
            participants: t.participants,
            bits_in: rate(t.bytes_in, e.bytes_in) * 8,
            bits_out: rate(t.bytes_out, e.bytes_out) * 8,
            packets_in: rate(t.packets_in, e.packets_in),
            packets_out: rate(t.packets_out, e.packets_out),
            loss_permille: t.loss.map(|l| (l.clamp(0.0, 1.0) * 1000.0).round() as u32),
            near_capacity: capacity.near(t.participants as usize),
        }
    }
}

impl Monitor {
    pub fn new(node: &str, region: &str, version: &str) -> Arc<Self> {
        let run: String = format!("{:x}", plenary_proto::clock::unix_millis())
            .chars()
            .rev()
            .take(10)
            .collect();
        Arc::new(Self {
            node: node.to_owned(),
            region: region.to_owned(),
            run,
            version: version.to_owned(),
            started_ms: plenary_proto::clock::unix_millis(),
            live: RwLock::new(Live::default()),
        })
    }

    /// The load as last read (every [`READ_EVERY`]).
    pub fn live(&self) -> Live {
        self.live.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records this run's start (the operators' view lists restarts).
    pub async fn started(&self, store: &dyn Store) {
        let run = NodeRun {
            node: self.node.clone(),
            run: self.run.clone(),
            version: self.version.clone(),
            started_ms: self.started_ms,
            stopped_ms: None,
        };
        if let Err(e) = store.record_run(&run).await {
            tracing::warn!(error = %e, "cannot record this start");
        }
    }

    /// Records that this run stopped cleanly.
    pub async fn stopped(&self, store: &dyn Store) {
        let now = plenary_proto::clock::unix_millis();
        if let Err(e) = store.run_stopped(&self.node, &self.run, now).await {
            tracing::warn!(error = %e, "cannot record this stop");
        }
    }

    /// Reads the load every [`READ_EVERY`] (telling `capacity` the CPU) and keeps a sample
    /// every [`SAMPLE_EVERY`], deleting every node's samples older than two days.
    pub fn spawn(
        self: &Arc<Self>,
        store: Arc<dyn Store>,
        capacity: Arc<Capacity>,
        source: Source,
    ) -> tokio::task::JoinHandle<()> {
        self.spawn_every(store, capacity, source, READ_EVERY, SAMPLE_EVERY)
    }

    /// [`Monitor::spawn`] reading every `read_every` and sampling every `sample_every` (tests).
    pub fn spawn_every(
        self: &Arc<Self>,
        store: Arc<dyn Store>,
        capacity: Arc<Capacity>,
        source: Source,
        read_every: Duration,
        sample_every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut last = Reading::now(source().await, &capacity);
            let mut minute = last;
            let mut tick = tokio::time::interval(read_every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            let mut reads = 0u64;
            let per_sample =
                (sample_every.as_millis() / read_every.as_millis().max(1)).max(1) as u64;
            loop {
                tick.tick().await;
                let now = Reading::now(source().await, &capacity);
                let live = now.since(&last, &capacity);
                if let Some(cpu) = live.cpu {
                    capacity.set_cpu(cpu);
                }
                *me.live.write().unwrap_or_else(|p| p.into_inner()) = live;
                last = now;
                reads += 1;
                if reads.is_multiple_of(per_sample) {
                    let over = now.since(&minute, &capacity);
                    let sample = me.sample(&over, &now, &minute);
                    minute = now;
                    if let Err(e) = store.record_sample(&sample).await {
                        tracing::warn!(error = %e, "cannot keep the load sample");
                    }
                    if reads.is_multiple_of(per_sample * 60) {
                        let before = sample.at_ms - KEEP_MS;
                        if let Err(e) = store.prune_samples(before).await {
                            tracing::warn!(error = %e, "cannot delete old load samples");
                        }
                    }
                }
            }
        })
    }

    /// A minute's sample, on the minute it ends in.
    fn sample(&self, over: &Live, now: &Reading, minute: &Reading) -> LoadSample {
        LoadSample {
            node: self.node.clone(),
            at_ms: over.at_ms - over.at_ms.rem_euclid(60_000),
            region: self.region.clone(),
            cpu: over.cpu.map(i64::from),
            process_cpu: over.process_cpu.map(i64::from),
            rss_bytes: over.rss_bytes.map(|b| b as i64),
            meetings: over.meetings as i64,
            participants: over.participants as i64,
            bits_in: over.bits_in as i64,
            bits_out: over.bits_out as i64,
            packets_in: over.packets_in as i64,
            packets_out: over.packets_out as i64,
            loss_permille: over.loss_permille.map(i64::from),
            near_capacity: over.near_capacity,
            refused: now.refused.saturating_sub(minute.refused) as i64,
            errors: now.errors.saturating_sub(minute.errors) as i64,
        }
    }
}
