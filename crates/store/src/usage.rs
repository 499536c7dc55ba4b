//! The usage ledger as stored: events as they happened, what is open now, and what reports
//! read back (spans of meetings and of people in them). No names: people are pseudonyms.

use crate::model::Columns;

/// What a ledger event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsageKind {
    MeetingStarted,
    MeetingEnded,
    Joined,
    Left,
    RecordingStored,
    RecordingDeleted,
}

impl UsageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MeetingStarted => "meeting_started",
            Self::MeetingEnded => "meeting_ended",
            Self::Joined => "joined",
            Self::Left => "left",
            Self::RecordingStored => "recording_stored",
            Self::RecordingDeleted => "recording_deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "meeting_started" => Self::MeetingStarted,
            "meeting_ended" => Self::MeetingEnded,
            "joined" => Self::Joined,
            "left" => Self::Left,
            "recording_stored" => Self::RecordingStored,
            "recording_deleted" => Self::RecordingDeleted,
            _ => return None,
        })
    }

    /// The event that closes what this one opens.
    pub fn closing(self) -> Option<Self> {
        match self {
            Self::MeetingStarted => Some(Self::MeetingEnded),
            Self::Joined => Some(Self::Left),
            _ => None,
        }
    }
}

/// One event of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageEvent {
    pub at_ms: i64,
    pub kind: UsageKind,
    pub room: String,
    /// The meeting within the room: when it started.
    pub meeting_ms: i64,
    /// A closing event: when what it closes opened.
    pub since_ms: Option<i64>,
    /// Joined, left: the person's pseudonym.
    pub person: Option<i64>,
    pub role: Option<String>,
    /// Signed in (a member of the platform) rather than a guest.
    pub member: Option<bool>,
    pub client: Option<String>,
    /// The room's organisations at the time.
    pub room_orgs: Vec<i64>,
    /// The person's organisations, when signed in.
    pub person_orgs: Vec<i64>,
    pub node: String,
    pub region: String,
    /// Recordings: bytes stored or freed.
    pub bytes: Option<i64>,
    /// Recordings: the recording's id.
    pub reference: Option<String>,
}

impl UsageEvent {
    /// An event with nothing but its kind, time, room and meeting.
    pub fn new(kind: UsageKind, at_ms: i64, room: impl Into<String>, meeting_ms: i64) -> Self {
        Self {
            at_ms,
            kind,
            room: room.into(),
            meeting_ms,
            since_ms: None,
            person: None,
            role: None,
            member: None,
            client: None,
            room_orgs: Vec::new(),
            person_orgs: Vec::new(),
            node: String::new(),
            region: String::new(),
            bytes: None,
            reference: None,
        }
    }
}

/// One write of the ledger, done with others in one transaction ([`crate::Store::usage_apply`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageOp {
    /// Records an opening event and that it is open under `key` (unless it is open already).
    Open { key: String, event: UsageEvent },
    /// Closes what is open under `key` at `at_ms` (never before it opened): its closing event
    /// is written and it is no longer open (nothing if it was not open).
    Close { key: String, at_ms: i64 },
    /// Records one person's attendance (once).
    Attendance(Attendance),
}

/// Which part of the ledger a report reads, and for when. Empty strings and `None` select all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageFilter {
    /// From (inclusive), ms since the epoch.
    pub from_ms: i64,
    /// Until (exclusive).
    pub to_ms: i64,
    pub org: Option<i64>,
    pub room: Option<String>,
    pub region: Option<String>,
}

/// What spans a report reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanOf {
    Meetings,
    People,
}

/// A meeting, or a person's time in one, as far as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageSpan {
    pub start_ms: i64,
    /// Its meeting, as one number ([`meeting_key`] of its room and meeting).
    pub meeting_key: i64,
    /// When it closed; `None`: still open, last known alive at `alive_ms`.
    pub end_ms: Option<i64>,
    pub alive_ms: i64,
    pub person: Option<i64>,
    pub member: bool,
    /// Read only when asked for its owners (else empty): its room, region, the room's
    /// organisations.
    pub room: String,
    pub region: String,
    pub room_orgs: Vec<i64>,
}

/// A row of an organisation's attendance (kept only when it chose to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendance {
    pub org_id: i64,
    pub room: String,
    pub room_name: String,
    pub meeting_ms: i64,
    pub account_id: Option<i64>,
    pub name: String,
    pub joined_ms: i64,
    pub left_ms: i64,
}

/// An organisation's read-only usage token (its secret was shown once; a hash is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageToken {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// `[1, 4]` as stored: `,1,4,` (so that `LIKE '%,4,%'` finds it).
pub(crate) fn orgs_text(orgs: &[i64]) -> String {
    if orgs.is_empty() {
        return String::new();
    }
    let mut s = String::from(",");
    for o in orgs {
        s.push_str(&o.to_string());
        s.push(',');
    }
    s
}

pub(crate) fn orgs_parse(s: &str) -> Result<Vec<i64>, crate::StoreError> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse()
                .map_err(|_| crate::StoreError::Corrupt(format!("organisations {s:?}")))
        })
        .collect()
}

/// The `LIKE` pattern selecting an organisation's rows (`%`: all).
pub(crate) fn org_pattern(org: Option<i64>) -> String {
    match org {
        Some(o) => format!("%,{o},%"),
        None => "%".into(),
    }
}

/// Reads `start, end, alive, meeting_key, person, member` and, with `owners`, `room_id,
/// region, room_orgs`.
pub(crate) fn span_from_row(
    r: &impl Columns,
    owners: bool,
) -> Result<UsageSpan, crate::StoreError> {
    let (room, region, room_orgs) = if owners {
        (r.text(6)?, r.text(7)?, orgs_parse(&r.text(8)?)?)
    } else {
        Default::default()
    };
    Ok(UsageSpan {
        start_ms: r.int(0)?,
        end_ms: r.opt_int(1)?,
        alive_ms: r.int(2)?,
        meeting_key: r.int(3)?,
        person: r.opt_int(4)?,
        member: r.opt_int(5)?.unwrap_or(0) != 0,
        room,
        region,
        room_orgs,
    })
}

/// A meeting (a room's meeting started at `meeting_ms`) as one number: FNV-1a, 63 bits.
pub fn meeting_key(room: &str, meeting_ms: i64) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in room.bytes().chain([0]).chain(meeting_ms.to_be_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h & (i64::MAX as u64)) as i64
}

pub(crate) fn event_from_row(r: &impl Columns) -> Result<UsageEvent, crate::StoreError> {
    let kind = r.text(1)?;
    Ok(UsageEvent {
        at_ms: r.int(0)?,
        kind: UsageKind::parse(&kind)
            .ok_or_else(|| crate::StoreError::Corrupt(format!("usage kind {kind:?}")))?,
        room: r.text(2)?,
        meeting_ms: r.int(3)?,
        since_ms: r.opt_int(4)?,
        person: r.opt_int(5)?,
        role: r.opt_text(6)?,
        member: r.opt_int(7)?.map(|m| m != 0),
        client: r.opt_text(8)?,
        room_orgs: orgs_parse(&r.text(9)?)?,
        person_orgs: orgs_parse(&r.text(10)?)?,
        node: r.text(11)?,
        region: r.text(12)?,
        bytes: r.opt_int(13)?,
        reference: r.opt_text(14)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orgs_round_trip() {
        assert_eq!(orgs_text(&[]), "");
        assert_eq!(orgs_text(&[1, 14]), ",1,14,");
        assert_eq!(orgs_parse(",1,14,").unwrap(), vec![1, 14]);
        assert_eq!(orgs_parse("").unwrap(), Vec::<i64>::new());
        assert!(orgs_parse(",x,").is_err());
        assert_eq!(org_pattern(Some(4)), "%,4,%");
    }

    #[test]
    fn kinds_round_trip() {
        for k in [
            UsageKind::MeetingStarted,
            UsageKind::MeetingEnded,
            UsageKind::Joined,
            UsageKind::Left,
            UsageKind::RecordingStored,
            UsageKind::RecordingDeleted,
        ] {
            assert_eq!(UsageKind::parse(k.as_str()), Some(k));
        }
    }
}
