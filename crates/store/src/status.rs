//! What the operators' view and the public status page keep: a node's load sampled every
//! minute, its runs (restarts), and the incidents and maintenance notices admins post.

use crate::model::Columns;

/// A node's load over one minute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadSample {
    pub node: String,
    pub at_ms: i64,
    pub region: String,
    /// The machine's CPU busy share (percent of all cores).
    pub cpu: Option<i64>,
    /// This process's CPU (percent of one core).
    pub process_cpu: Option<i64>,
    pub rss_bytes: Option<i64>,
    pub meetings: i64,
    pub participants: i64,
    /// Media per second over the minute.
    pub bits_in: i64,
    pub bits_out: i64,
    pub packets_in: i64,
    pub packets_out: i64,
    /// The participants' mean packet loss (each one's worse direction), per mille.
    pub loss_permille: Option<i64>,
    pub near_capacity: bool,
    /// Joins refused for capacity in the minute.
    pub refused: i64,
    /// Errors logged in the minute.
    pub errors: i64,
}

/// One start of a node, and whether it stopped cleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRun {
    pub node: String,
    pub run: String,
    pub version: String,
    pub started_ms: i64,
    /// `None`: running, or it did not stop cleanly (killed, crashed, the machine lost power).
    pub stopped_ms: Option<i64>,
}

/// What a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Incident,
    Maintenance,
}

/// What a region is while a notice lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Degraded,
    Down,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incident => "incident",
            Self::Maintenance => "maintenance",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "incident" => Some(Self::Incident),
            "maintenance" => Some(Self::Maintenance),
            _ => None,
        }
    }
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Degraded => "degraded",
            Self::Down => "down",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "degraded" => Some(Self::Degraded),
            "down" => Some(Self::Down),
            _ => None,
        }
    }
}

/// An incident or maintenance notice, as posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusNotice {
    pub id: i64,
    pub kind: NoticeKind,
    pub severity: Severity,
    /// `""`: every region.
    pub region: String,
    pub title: String,
    pub body: String,
    pub starts_ms: i64,
    /// Over (resolved, or maintenance finished); `None`: ongoing (or, for maintenance, still to
    /// come when `starts_ms` is ahead).
    pub ends_ms: Option<i64>,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// Who posted it (their name, shown to admins only).
    pub author: String,
}

impl StatusNotice {
    /// Whether it holds at `now_ms`.
    pub fn is_current(&self, now_ms: i64) -> bool {
        self.starts_ms <= now_ms && self.ends_ms.is_none_or(|e| e > now_ms)
    }
}

pub(crate) fn sample_from_row(r: &impl Columns) -> Result<LoadSample, crate::StoreError> {
    Ok(LoadSample {
        node: r.text(0)?,
        at_ms: r.int(1)?,
        region: r.text(2)?,
        cpu: r.opt_int(3)?,
        process_cpu: r.opt_int(4)?,
        rss_bytes: r.opt_int(5)?,
        meetings: r.int(6)?,
        participants: r.int(7)?,
        bits_in: r.int(8)?,
        bits_out: r.int(9)?,
        packets_in: r.int(10)?,
        packets_out: r.int(11)?,
        loss_permille: r.opt_int(12)?,
        near_capacity: r.int(13)? != 0,
        refused: r.int(14)?,
        errors: r.int(15)?,
    })
}

pub(crate) fn notice_from_row(r: &impl Columns) -> Result<StatusNotice, crate::StoreError> {
    let kind = r.text(1)?;
    let severity = r.text(2)?;
    Ok(StatusNotice {
        id: r.int(0)?,
        kind: NoticeKind::parse(&kind)
            .ok_or_else(|| crate::StoreError::Corrupt(format!("notice kind {kind:?}")))?,
        severity: Severity::parse(&severity)
            .ok_or_else(|| crate::StoreError::Corrupt(format!("notice severity {severity:?}")))?,
        region: r.text(3)?,
        title: r.text(4)?,
        body: r.text(5)?,
        starts_ms: r.int(6)?,
        ends_ms: r.opt_int(7)?,
        created_ms: r.int(8)?,
        updated_ms: r.int(9)?,
        author: r.text(10)?,
    })
}

/// What one participant's client measured over one interval (call quality). Shares are per
/// mille, times in ms, rates in kbit/s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QualityRow {
    pub room: String,
    /// The meeting: when it started.
    pub meeting_ms: i64,
    pub participant: i64,
    pub name: String,
    pub at_ms: i64,
    pub loss_in: Option<i64>,
    pub loss_out: Option<i64>,
    pub jitter_ms: Option<i64>,
    pub rtt_ms: Option<i64>,
    pub kbps_in: Option<i64>,
    pub kbps_out: Option<i64>,
    pub frames_decoded: Option<i64>,
    pub frames_dropped: Option<i64>,
    pub limitation: Option<String>,
    pub candidate: Option<String>,
    pub protocol: Option<String>,
    pub reconnects: Option<i64>,
}

/// A meeting that has call-quality reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualityMeeting {
    pub meeting_ms: i64,
    pub people: i64,
    pub last_ms: i64,
}

/// A problem someone reported from a meeting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProblemRow {
    pub id: i64,
    pub room: String,
    pub meeting_ms: i64,
    pub participant: i64,
    pub name: String,
    pub account_id: Option<i64>,
    pub at_ms: i64,
    pub note: String,
    /// Their client's last quality report, as JSON.
    pub diagnostics: String,
}

pub(crate) fn quality_from_row(r: &impl Columns) -> Result<QualityRow, crate::StoreError> {
    Ok(QualityRow {
        room: r.text(0)?,
        meeting_ms: r.int(1)?,
        participant: r.int(2)?,
        name: r.text(3)?,
        at_ms: r.int(4)?,
        loss_in: r.opt_int(5)?,
        loss_out: r.opt_int(6)?,
        jitter_ms: r.opt_int(7)?,
        rtt_ms: r.opt_int(8)?,
        kbps_in: r.opt_int(9)?,
        kbps_out: r.opt_int(10)?,
        frames_decoded: r.opt_int(11)?,
        frames_dropped: r.opt_int(12)?,
        limitation: r.opt_text(13)?,
        candidate: r.opt_text(14)?,
        protocol: r.opt_text(15)?,
        reconnects: r.opt_int(16)?,
    })
}

pub(crate) fn problem_from_row(r: &impl Columns) -> Result<ProblemRow, crate::StoreError> {
    Ok(ProblemRow {
        id: r.int(0)?,
        room: r.text(1)?,
        meeting_ms: r.int(2)?,
        participant: r.int(3)?,
        name: r.text(4)?,
        account_id: r.opt_int(5)?,
        at_ms: r.int(6)?,
        note: r.text(7)?,
        diagnostics: r.text(8)?,
    })
}
