//! Call quality: the reports meeting clients send every 10 s are kept per participant and
//! meeting ([`Writer`]: batched, bounded, with retention), scored ([`score`]), and read back
//! as a meeting report that names problems in plain words ([`problems`]: "Ben's uplink lost
//! 12 % for 3 minutes", "Ada sent media over TCP").

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use plenary_proto::QualityReport;
use plenary_store::{QualityRow, Store};
use tokio::sync::mpsc;

/// Reports a client sends: every this many seconds.
pub const REPORT_SECS: i64 = 10;
/// Reports kept per participant and meeting at full rate (2 hours); beyond, one in six (one
/// a minute).
pub const FULL_RATE_REPORTS: u32 = 720;
const THINNED_EVERY: u32 = 6;
/// Reports further apart than this are not one stretch of time.
const GAP_MS: i64 = 25_000;
/// How often what waits is written, and how often old reports are deleted.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Thresholds of a good connection (a fair one within twice or four times them).
const GOOD_LOSS_PERMILLE: i64 = 20;
const GOOD_RTT_MS: i64 = 300;
const GOOD_JITTER_MS: i64 = 30;
/// What is named as a problem.
const LOSS_PROBLEM_PERMILLE: i64 = 50;
const RTT_PROBLEM_MS: i64 = 400;
const JITTER_PROBLEM_MS: i64 = 50;
const DROPPED_PROBLEM_PERCENT: i64 = 10;

/// A participant's connection over one interval, in three words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Score {
    Good,
    Fair,
    Poor,
}

impl Score {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Fair => "fair",
            Self::Poor => "poor",
        }
    }
}

/// The row a report is kept as.
pub fn row_of(
    r: &QualityReport,
    room: &str,
    meeting_ms: i64,
    participant: i64,
    name: &str,
    at_ms: i64,
) -> QualityRow {
    let permille = |v: Option<f64>| v.map(|v| (v * 1000.0).round() as i64);
    let whole = |v: Option<f64>| v.map(|v| v.round() as i64);
    QualityRow {
        room: room.to_owned(),
        meeting_ms,
        participant,
        name: name.to_owned(),
        at_ms,
        loss_in: permille(r.loss_in),
        loss_out: permille(r.loss_out),
        jitter_ms: whole(r.jitter_ms),
        rtt_ms: whole(r.rtt_ms),
        kbps_in: whole(r.kbps_in),
        kbps_out: whole(r.kbps_out),
        frames_decoded: r.frames_decoded.map(i64::from),
        frames_dropped: r.frames_dropped.map(i64::from),
        limitation: r.limitation.clone(),
        candidate: r.candidate.clone(),
        protocol: r.protocol.clone(),
        reconnects: r.reconnects.map(i64::from),
    }
}

/// How good one interval was: the worst of its loss (either way), round trip and jitter.
pub fn score(r: &QualityRow) -> Score {
    let loss = r.loss_in.unwrap_or(0).max(r.loss_out.unwrap_or(0));
    let rtt = r.rtt_ms.unwrap_or(0);
    let jitter = r.jitter_ms.unwrap_or(0);
    if loss <= GOOD_LOSS_PERMILLE && rtt <= GOOD_RTT_MS && jitter <= GOOD_JITTER_MS {
        Score::Good
    } else if loss <= GOOD_LOSS_PERMILLE * 4
        && rtt <= GOOD_RTT_MS * 2
        && jitter <= GOOD_JITTER_MS * 2
    {
        Score::Fair
    } else {
        Score::Poor
    }
}

/// A kind of problem, as the meeting report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// What they sent was lost on the way (their uplink).
    UplinkLoss,
    /// What was sent to them was lost (their downlink).
    DownlinkLoss,
    HighRoundTrip,
    HighJitter,
    /// Their sent video was limited by their computer.
    CpuLimited,
    /// Their sent video was limited by their bandwidth.
    BandwidthLimited,
    /// Their computer dropped received video frames.
    FramesDropped,
    /// Their media went over TCP (UDP blocked).
    OverTcp,
    /// Their media went through a relay (TURN).
    Relayed,
    Reconnected,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UplinkLoss => "uplink-loss",
            Self::DownlinkLoss => "downlink-loss",
            Self::HighRoundTrip => "high-rtt",
            Self::HighJitter => "high-jitter",
            Self::CpuLimited => "cpu-limited",
            Self::BandwidthLimited => "bandwidth-limited",
            Self::FramesDropped => "frames-dropped",
            Self::OverTcp => "over-tcp",
            Self::Relayed => "relayed",
            Self::Reconnected => "reconnected",
        }
    }
}

/// A problem of one participant's connection in a meeting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub participant: i64,
    pub name: String,
    pub kind: ProblemKind,
    /// When it began.
    pub at_ms: i64,
    /// How long it lasted (the reports' intervals it covers).
    pub seconds: i64,
    /// Loss or dropped frames (percent, the stretch's mean); round trip or jitter (ms, the
    /// stretch's worst); reconnects (how many).
    pub value: i64,
}

/// The problems in a meeting's reports (sorted by participant then time, as the store reads
/// them), in the order they began.
pub fn problems(rows: &[QualityRow]) -> Vec<Problem> {
    let mut out = Vec::new();
    for person in rows.chunk_by(|a, b| a.participant == b.participant) {
        let Some(first) = person.first() else {
            continue;
        };
        let problem = |kind, at_ms, seconds, value| Problem {
            participant: first.participant,
            name: first.name.clone(),
            kind,
            at_ms,
            seconds,
            value,
        };
        // Stretches of consecutive reports above a threshold.
        let mut stretches =
            |kind, value: &dyn Fn(&QualityRow) -> Option<i64>, over: i64, mean: bool| {
                let mut run: Vec<(&QualityRow, i64)> = Vec::new();
                let close = |run: &mut Vec<(&QualityRow, i64)>, out: &mut Vec<Problem>| {
                    if let (Some(a), Some(b)) = (run.first(), run.last()) {
                        let v = if mean {
                            run.iter().map(|(_, v)| v).sum::<i64>() / run.len() as i64
                        } else {
                            run.iter().map(|(_, v)| *v).max().unwrap_or(0)
                        };
                        let seconds = (b.0.at_ms - a.0.at_ms) / 1000 + REPORT_SECS;
                        out.push(problem(kind, a.0.at_ms - REPORT_SECS * 1000, seconds, v));
                    }
                    run.clear();
                };
                for r in person {
                    let v = value(r).filter(|v| *v >= over);
                    let next_to_last = run.last().is_none_or(|(l, _)| r.at_ms - l.at_ms <= GAP_MS);
                    match v {
                        Some(v) if next_to_last => run.push((r, v)),
                        Some(v) => {
                            close(&mut run, &mut out);
                            run.push((r, v));
                        }
                        None => close(&mut run, &mut out),
                    }
                }
                close(&mut run, &mut out);
            };
        let percent = |v: Option<i64>| v.map(|p| (p + 5) / 10);
        stretches(
            ProblemKind::UplinkLoss,
            &|r| {
                r.loss_out
                    .filter(|l| *l >= LOSS_PROBLEM_PERMILLE)
                    .and(percent(r.loss_out))
            },
            0,
            true,
        );
        stretches(
            ProblemKind::DownlinkLoss,
            &|r| {
                r.loss_in
                    .filter(|l| *l >= LOSS_PROBLEM_PERMILLE)
                    .and(percent(r.loss_in))
            },
            0,
            true,
        );
        stretches(
            ProblemKind::HighRoundTrip,
            &|r| r.rtt_ms,
            RTT_PROBLEM_MS,
            false,
        );
        stretches(
            ProblemKind::HighJitter,
            &|r| r.jitter_ms,
            JITTER_PROBLEM_MS,
            false,
        );
        stretches(
            ProblemKind::CpuLimited,
            &|r| (r.limitation.as_deref() == Some("cpu")).then_some(1),
            1,
            false,
        );
        stretches(
            ProblemKind::BandwidthLimited,
            &|r| (r.limitation.as_deref() == Some("bandwidth")).then_some(1),
            1,
            false,
        );
        let decoded: i64 = person.iter().filter_map(|r| r.frames_decoded).sum();
        let dropped: i64 = person.iter().filter_map(|r| r.frames_dropped).sum();
        if decoded + dropped >= 100
            && dropped * 100 >= DROPPED_PROBLEM_PERCENT * (decoded + dropped)
        {
            let secs = (person.len() as i64) * REPORT_SECS;
            out.push(problem(
                ProblemKind::FramesDropped,
                first.at_ms - REPORT_SECS * 1000,
                secs,
                dropped * 100 / (decoded + dropped),
            ));
        }
        // How media travelled: said once, from the first report that shows it.
        if let Some(r) = person.iter().find(|r| r.protocol.as_deref() == Some("tcp")) {
            out.push(problem(
                ProblemKind::OverTcp,
                r.at_ms - REPORT_SECS * 1000,
                0,
                0,
            ));
        }
        if let Some(r) = person
            .iter()
            .find(|r| r.candidate.as_deref() == Some("relay"))
        {
            out.push(problem(
                ProblemKind::Relayed,
                r.at_ms - REPORT_SECS * 1000,
                0,
                0,
            ));
        }
        if let Some(r) = person
            .iter()
            .filter(|r| r.reconnects.unwrap_or(0) > 0)
            .max_by_key(|r| r.reconnects)
        {
            out.push(problem(
                ProblemKind::Reconnected,
                r.at_ms,
                0,
                r.reconnects.unwrap_or(0),
            ));
        }
    }
    out.sort_by_key(|p| (p.at_ms, p.participant, p.kind));
    out
}

/// Where reports are sent to be kept (cheap to clone).
#[derive(Debug, Clone)]
pub struct QualityTx(mpsc::UnboundedSender<QualityRow>);

impl QualityTx {
    /// Keeps a report (written within a second; at most [`FULL_RATE_REPORTS`] per participant
    /// and meeting at full rate).
    pub fn keep(&self, row: QualityRow) {
        let _ = self.0.send(row);
    }
}

/// The task that writes reports: batched every second, bounded per participant and meeting,
/// older than the retention deleted every hour.
#[derive(Debug)]
pub struct Writer;

impl Writer {
    pub fn spawn(store: Arc<dyn Store>, retention_days: u32) -> QualityTx {
        let (tx, mut rx) = mpsc::unbounded_channel::<QualityRow>();
        tokio::spawn(async move {
            // Per participant and meeting: reports so far, and when the last came.
            let mut counts: HashMap<(String, i64, i64), (u32, i64)> = HashMap::new();
            let mut batch: Vec<QualityRow> = Vec::new();
            let mut flush = tokio::time::interval(FLUSH_EVERY);
            let mut prune = tokio::time::interval(PRUNE_EVERY);
            loop {
                tokio::select! {
                    row = rx.recv() => match row {
                        Some(row) => {
                            let (n, seen) = counts.entry((row.room.clone(), row.meeting_ms, row.participant)).or_default();
                            *n += 1;
                            *seen = row.at_ms;
                            if *n <= FULL_RATE_REPORTS || n.is_multiple_of(THINNED_EVERY) {
                                batch.push(row);
                            }
                        }
                        None => break,
                    },
                    _ = flush.tick() => write(&*store, &mut batch).await,
                    _ = prune.tick() => {
                        let before = plenary_proto::clock::unix_millis() - i64::from(retention_days) * 86_400_000;
                        match store.prune_quality(before).await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(deleted = n, "deleted call-quality reports past retention"),
                            Err(e) => tracing::warn!(error = %e, "cannot delete old call-quality reports"),
                        }
                        // Participants not heard of for an hour have left: forget their counts.
                        let hour_ago = plenary_proto::clock::unix_millis() - 3_600_000;
                        counts.retain(|_, (_, seen)| *seen >= hour_ago);
                    }
                }
            }
            write(&*store, &mut batch).await;
        });
        QualityTx(tx)
    }
}

/// Writes what waits; a store that refuses is tried again at the next flush (diagnostics: a
/// few are dropped, logged, when it keeps refusing).
async fn write(store: &dyn Store, batch: &mut Vec<QualityRow>) {
    if batch.is_empty() {
        return;
    }
    match store.save_quality(batch).await {
        Ok(()) => batch.clear(),
        Err(e) if e.is_transient() && batch.len() < 10_000 => {
            tracing::warn!(error = %e, waiting = batch.len(), "cannot keep call-quality reports yet");
        }
        Err(e) => {
            tracing::error!(error = %e, dropped = batch.len(), "call-quality reports dropped");
            batch.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(participant: i64, name: &str, s: i64) -> QualityRow {
        QualityRow {
            room: "r".into(),
            meeting_ms: 0,
            participant,
            name: name.into(),
            at_ms: s * 1000,
            loss_in: Some(0),
            loss_out: Some(0),
            rtt_ms: Some(40),
            jitter_ms: Some(5),
            ..QualityRow::default()
        }
    }

    #[test]
    fn scores_follow_the_worst_figure() {
        let mut r = at(1, "Ada", 10);
        assert_eq!(score(&r), Score::Good);
        r.loss_out = Some(60);
        assert_eq!(score(&r), Score::Fair);
        r.loss_out = Some(0);
        r.rtt_ms = Some(700);
        assert_eq!(score(&r), Score::Poor);
    }

    #[test]
    fn problems_are_stretches_of_bad_reports_in_plain_terms() {
        let mut rows = Vec::new();
        // Ben: uplink loss 10 %, 14 %, 12 % from 30 s to 50 s, then fine, then 8 % at 120 s.
        for (s, loss) in [
            (10, 0),
            (20, 0),
            (30, 100),
            (40, 140),
            (50, 120),
            (60, 0),
            (120, 80),
        ] {
            let mut r = at(2, "Ben", s);
            r.loss_out = Some(loss);
            rows.push(r);
        }
        // Ada: over TCP through a relay, one reconnect, CPU-limited once, 450 ms round trip.
        for s in [10, 20] {
            let mut r = at(1, "Ada", s);
            r.protocol = Some("tcp".into());
            r.candidate = Some("relay".into());
            r.reconnects = Some(u32::from(s == 20).into());
            rows.push(r);
        }
        rows[7].limitation = Some("cpu".into());
        rows[8].rtt_ms = Some(450);
        rows.sort_by_key(|r| (r.participant, r.at_ms));
        let found = problems(&rows);
        let p: Vec<(&str, ProblemKind, i64, i64, i64)> = found
            .iter()
            .map(|p| (p.name.as_str(), p.kind, p.at_ms / 1000, p.seconds, p.value))
            .collect();
        assert_eq!(
            p,
            [
                ("Ada", ProblemKind::CpuLimited, 0, 10, 1),
                ("Ada", ProblemKind::OverTcp, 0, 0, 0),
                ("Ada", ProblemKind::Relayed, 0, 0, 0),
                ("Ada", ProblemKind::HighRoundTrip, 10, 10, 450),
                ("Ada", ProblemKind::Reconnected, 20, 0, 1),
                ("Ben", ProblemKind::UplinkLoss, 20, 30, 12),
                ("Ben", ProblemKind::UplinkLoss, 110, 10, 8),
            ]
        );
    }
}
