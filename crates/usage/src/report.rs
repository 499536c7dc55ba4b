//! Reports computed from the ledger's spans, without I/O: the numbers of a period and of each
//! of its buckets, the meeting sizes, and rankings. Every figure is defined here once:
//!
//! - **meetings**: meetings running at some time in the window (one crossing midnight counts
//!   on both days; so a period's meetings can be fewer than the sum of its days');
//! - **meeting-minutes**, **participant-minutes**: time within the window only;
//! - **distinct participants**: different people (a signed-in account is one person on every
//!   device and in every meeting; a guest is one person per join link seat);
//! - **peak concurrent participants**: the most people in meetings at one instant, and the
//!   first instant it was reached (someone leaving as another joins is not counted twice);
//! - **meeting sizes**: meetings by how many different people took part.

use std::collections::{HashMap, HashSet};

use plenary_store::{UsageEvent, UsageKind, UsageSpan};

use crate::period::{Period, PeriodKind, bucket_label, utc_minute};

/// An open span not renewed for this long is taken to have ended when it was last seen.
pub const STALE_MS: i64 = 3 * 60_000;

/// The numbers of one window.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Totals {
    pub meetings: u64,
    pub meeting_minutes: f64,
    pub participant_minutes: f64,
    pub distinct_participants: u64,
    pub peak_concurrent: u64,
    /// When the peak was first reached, ms since the epoch.
    pub peak_at_ms: Option<i64>,
    /// Recordings stored (finished) in the window, and their bytes.
    pub recordings: u64,
    pub recording_bytes: i64,
    /// Bytes of recordings deleted in the window.
    pub deleted_recording_bytes: i64,
}

/// One bucket of a report's chart.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Bucket {
    pub label: String,
    pub start_ms: i64,
    pub end_ms: i64,
    #[serde(flatten)]
    pub totals: Totals,
}

/// How many meetings had how many different people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SizeCount {
    /// `1`, `2`, `3-5`, … `101+`.
    pub size: &'static str,
    pub meetings: u64,
}

/// The bins of the meeting size distribution: (label, most people).
const SIZES: [(&str, u64); 8] = [
    ("1", 1),
    ("2", 2),
    ("3-5", 5),
    ("6-10", 10),
    ("11-25", 25),
    ("26-50", 50),
    ("51-100", 100),
    ("101+", u64::MAX),
];

/// A report of one period.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    /// `2026-11`, `2026-W45`, `2026-11-05`; always UTC.
    pub period: String,
    pub kind: PeriodKind,
    pub from_ms: i64,
    pub to_ms: i64,
    pub timezone: &'static str,
    pub totals: Totals,
    pub buckets: Vec<Bucket>,
    pub sizes: Vec<SizeCount>,
    /// Raw events before this were deleted (retention): numbers before it are incomplete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete_before_ms: Option<i64>,
}

/// A span cut to what matters for reports.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: i64,
    end: i64,
    /// Its meeting (see [`UsageSpan::meeting_key`]).
    meeting: i64,
    person: i64,
}

/// The ledger's spans of a period, ready to be counted.
#[derive(Debug, Default)]
pub struct Spans {
    meetings: Vec<Span>,
    people: Vec<Span>,
    recordings: Vec<UsageEvent>,
}

/// What one window adds up while the spans are read.
#[derive(Debug, Default)]
struct Acc {
    meetings: u64,
    meeting_ms: i64,
    people_ms: i64,
    persons: HashSet<i64>,
    /// (instant, +1 join / −1 leave, person)
    edges: Vec<(i64, i32, i64)>,
}

impl Spans {
    /// Prepares spans read at `now_ms`: an open span ends now, or when it was last seen if
    /// that is longer ago than [`STALE_MS`].
    pub fn new(
        meetings: &[UsageSpan],
        people: &[UsageSpan],
        recordings: Vec<UsageEvent>,
        now_ms: i64,
    ) -> Self {
        let mut guest = 0i64;
        let mut cut = |s: &UsageSpan| {
            let end = match s.end_ms {
                Some(e) => e,
                None if s.alive_ms >= now_ms - STALE_MS => now_ms,
                None => s.alive_ms,
            }
            .max(s.start_ms);
            let person = s.person.unwrap_or_else(|| {
                // Nobody known: a person of their own (negative, never a pseudonym).
                guest -= 1;
                guest
            });
            Span {
                start: s.start_ms,
                end,
                meeting: s.meeting_key,
                person,
            }
        };
        let meetings = meetings.iter().map(&mut cut).collect();
        let people = people.iter().map(&mut cut).collect();
        Self {
            meetings,
            people,
            recordings,
        }
    }

    /// The numbers of `[from, to)`.
    pub fn totals(&self, from: i64, to: i64) -> Totals {
        self.totals_of(&[(from, to)]).remove(0)
    }

    /// The numbers of each window (sorted, not overlapping), in one pass over the spans.
    fn totals_of(&self, windows: &[(i64, i64)]) -> Vec<Totals> {
        let mut acc: Vec<Acc> = windows.iter().map(|_| Acc::default()).collect();
        // The windows a span falls in: from the first that ends after it starts.
        let touched = |s: Span| {
            let first = windows.partition_point(|w| w.1 <= s.start);
            (first..windows.len())
                .take_while(move |i| windows[*i].0 < s.end.max(s.start + 1))
                .filter(move |i| within(&s, windows[*i].0, windows[*i].1))
        };
        for s in &self.meetings {
            for i in touched(*s) {
                let (from, to) = windows[i];
                acc[i].meetings += 1;
                acc[i].meeting_ms += overlap(s, from, to);
            }
        }
        for s in &self.people {
            for i in touched(*s) {
                let (from, to) = windows[i];
                let a = &mut acc[i];
                a.people_ms += overlap(s, from, to);
                a.persons.insert(s.person);
                let (x, y) = (s.start.max(from), s.end.min(to));
                if y > x {
                    a.edges.push((x, 1, s.person));
                    a.edges.push((y, -1, s.person));
                }
            }
        }
        let mut out: Vec<Totals> = acc.into_iter().map(Acc::finish).collect();
        for e in &self.recordings {
            let i = windows.partition_point(|w| w.1 <= e.at_ms);
            let Some(t) = out.get_mut(i).filter(|_| windows[i].0 <= e.at_ms) else {
                continue;
            };
            match e.kind {
                UsageKind::RecordingStored => {
                    t.recordings += 1;
                    t.recording_bytes += e.bytes.unwrap_or(0);
                }
                UsageKind::RecordingDeleted => t.deleted_recording_bytes += e.bytes.unwrap_or(0),
                _ => {}
            }
        }
        out
    }

    /// Meetings in `[from, to)` by how many different people took part in them.
    pub fn sizes(&self, from: i64, to: i64) -> Vec<SizeCount> {
        let mut people: HashMap<i64, HashSet<i64>> = HashMap::new();
        for s in self.meetings.iter().filter(|s| within(s, from, to)) {
            people.entry(s.meeting).or_default();
        }
        for s in self.people.iter().filter(|s| within(s, from, to)) {
            people.entry(s.meeting).or_default().insert(s.person);
        }
        let mut counts = [0u64; SIZES.len()];
        for p in people.values() {
            let n = p.len() as u64;
            if n == 0 {
                continue;
            }
            if let Some(i) = SIZES.iter().position(|(_, most)| n <= *most) {
                counts[i] += 1;
            }
        }
        SIZES
            .iter()
            .zip(counts)
            .map(|((size, _), meetings)| SizeCount { size, meetings })
            .collect()
    }

    /// The report of `period`.
    pub fn report(&self, period: Period, incomplete_before_ms: Option<i64>) -> Report {
        let (from, to) = (period.start_ms(), period.end_ms());
        let kind = period.kind();
        let windows = period.buckets();
        let buckets = windows
            .iter()
            .zip(self.totals_of(&windows))
            .map(|(&(a, b), totals)| Bucket {
                label: bucket_label(kind, a),
                start_ms: a,
                end_ms: b,
                totals,
            })
            .collect();
        Report {
            period: period.to_string(),
            kind,
            from_ms: from,
            to_ms: to,
            timezone: "UTC",
            totals: self.totals(from, to),
            buckets,
            sizes: self.sizes(from, to),
            incomplete_before_ms: incomplete_before_ms.filter(|t| *t > from),
        }
    }
}

impl Acc {
    fn finish(mut self) -> Totals {
        // Leaves before joins at the same instant; a person on two devices is one person.
        self.edges.sort_unstable();
        let mut t = Totals {
            meetings: self.meetings,
            meeting_minutes: minutes(self.meeting_ms),
            participant_minutes: minutes(self.people_ms),
            distinct_participants: self.persons.len() as u64,
            ..Totals::default()
        };
        let mut present: HashMap<i64, u32> = HashMap::new();
        let mut now = 0u64;
        for (at, d, person) in self.edges {
            let n = present.entry(person).or_default();
            if d > 0 {
                *n += 1;
                if *n == 1 {
                    now += 1;
                    if now > t.peak_concurrent {
                        t.peak_concurrent = now;
                        t.peak_at_ms = Some(at);
                    }
                }
            } else {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    now = now.saturating_sub(1);
                }
            }
        }
        t
    }
}

fn within(s: &Span, from: i64, to: i64) -> bool {
    // Overlapping the window, or (a moment's span) inside it.
    s.start < to && (s.end > from || s.start >= from)
}

fn overlap(s: &Span, from: i64, to: i64) -> i64 {
    (s.end.min(to) - s.start.max(from)).max(0)
}

/// Milliseconds as minutes, to a tenth.
fn minutes(ms: i64) -> f64 {
    (ms as f64 / 6_000.0).round() / 10.0
}

/// The columns of a report's table (and of its CSV), in order.
pub const COLUMNS: [&str; 10] = [
    "bucket",
    "meetings",
    "meeting_minutes",
    "participant_minutes",
    "distinct_participants",
    "peak_concurrent",
    "peak_at",
    "recordings",
    "recording_bytes",
    "deleted_recording_bytes",
];

/// One row of a table: a label, then the numbers as text.
pub fn row(label: &str, t: &Totals) -> Vec<String> {
    vec![
        label.to_owned(),
        t.meetings.to_string(),
        format!("{:.1}", t.meeting_minutes),
        format!("{:.1}", t.participant_minutes),
        t.distinct_participants.to_string(),
        t.peak_concurrent.to_string(),
        t.peak_at_ms.map(utc_minute).unwrap_or_default(),
        t.recordings.to_string(),
        t.recording_bytes.to_string(),
        t.deleted_recording_bytes.to_string(),
    ]
}

impl Report {
    /// The table the page shows and the CSV holds: a row per bucket, then the period's.
    pub fn table(&self) -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = self
            .buckets
            .iter()
            .map(|b| row(&b.label, &b.totals))
            .collect();
        rows.push(row(&self.period, &self.totals));
        rows
    }
}

/// A ranking's entry: one organisation's, room's or region's numbers.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Ranked<K> {
    pub key: K,
    #[serde(flatten)]
    pub totals: Totals,
}

/// How a ranking groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankBy {
    Organisation,
    Room,
    Region,
}

/// Rankings need the spans' owners: kept beside the counted spans.
#[derive(Debug, Default)]
pub struct Owners {
    /// Per meeting span, then per person span, in `Spans`' order: (room, region, orgs).
    meetings: Vec<(String, String, Vec<i64>)>,
    people: Vec<(String, String, Vec<i64>)>,
    recordings: Vec<(String, String, Vec<i64>)>,
}

impl Owners {
    pub fn new(meetings: &[UsageSpan], people: &[UsageSpan], recordings: &[UsageEvent]) -> Self {
        let of = |s: &UsageSpan| (s.room.clone(), s.region.clone(), s.room_orgs.clone());
        Self {
            meetings: meetings.iter().map(of).collect(),
            people: people.iter().map(of).collect(),
            recordings: recordings
                .iter()
                .map(|e| (e.room.clone(), e.region.clone(), e.room_orgs.clone()))
                .collect(),
        }
    }
}

impl Spans {
    /// Every organisation's (or room's, or region's) numbers over `[from, to)`, the largest
    /// participant-minutes first (then by key). A room of two organisations counts for both.
    pub fn ranking(&self, owners: &Owners, by: RankBy, from: i64, to: i64) -> Vec<Ranked<String>> {
        let keys = |o: &(String, String, Vec<i64>)| -> Vec<String> {
            match by {
                RankBy::Organisation => o.2.iter().map(|i| i.to_string()).collect(),
                RankBy::Room => vec![o.0.clone()],
                RankBy::Region => vec![o.1.clone()],
            }
        };
        let mut groups: HashMap<String, Spans> = HashMap::new();
        for (s, o) in self.meetings.iter().zip(&owners.meetings) {
            for k in keys(o) {
                groups.entry(k).or_default().meetings.push(*s);
            }
        }
        for (s, o) in self.people.iter().zip(&owners.people) {
            for k in keys(o) {
                groups.entry(k).or_default().people.push(*s);
            }
        }
        for (e, o) in self.recordings.iter().zip(&owners.recordings) {
            for k in keys(o) {
                groups.entry(k).or_default().recordings.push(e.clone());
            }
        }
        let mut ranked: Vec<Ranked<String>> = groups
            .into_iter()
            .map(|(key, spans)| Ranked {
                key,
                totals: spans.totals(from, to),
            })
            .filter(|r| {
                r.totals.meetings > 0
                    || r.totals.recordings > 0
                    || r.totals.participant_minutes > 0.0
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.totals
                .participant_minutes
                .total_cmp(&a.totals.participant_minutes)
                .then_with(|| a.key.cmp(&b.key))
        });
        ranked
    }
}

/// Writes rows as CSV (RFC 4180: fields with commas, quotes or line breaks quoted; a field
/// starting with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'` so that
/// spreadsheets do not run it as a formula).
pub fn csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut first = true;
        for c in cells {
            if !first {
                out.push(',');
            }
            first = false;
            let c = if c.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{c}")
            } else {
                c.to_owned()
            };
            if c.contains([',', '"', '\n', '\r']) {
                out.push('"');
                out.push_str(&c.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(&c);
            }
        }
        out.push_str("\r\n");
    };
    line(&mut header.iter().copied());
    for r in rows {
        line(&mut r.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Spans, csv};
    use plenary_store::UsageSpan;

    fn span(start: i64, end: i64, meeting: i64, person: i64) -> UsageSpan {
        UsageSpan {
            start_ms: start,
            meeting_key: meeting,
            end_ms: Some(end),
            alive_ms: end,
            person: Some(person),
            member: true,
            room: String::new(),
            region: String::new(),
            room_orgs: Vec::new(),
        }
    }

    const MIN: i64 = 60_000;

    /// The numbers of each window counted the slow, obvious way: every span against every
    /// window, and the people present at every millisecond.
    fn by_hand(
        spans: &[(i64, i64, i64, i64)],
        from: i64,
        to: i64,
    ) -> (u64, i64, u64, u64, Option<i64>) {
        let touches = |&&(a, b, _, _): &&(i64, i64, i64, i64)| {
            (a < to && b > from) || (a == b && from <= a && a < to)
        };
        let within: Vec<_> = spans.iter().filter(touches).collect();
        let ms: i64 = within
            .iter()
            .map(|&&(a, b, _, _)| (b.min(to) - a.max(from)).max(0))
            .sum();
        let persons: std::collections::HashSet<i64> = within.iter().map(|s| s.3).collect();
        let (mut peak, mut at) = (0u64, None);
        for t in (from..to).step_by(MIN as usize) {
            let here: std::collections::HashSet<i64> = spans
                .iter()
                .filter(|&&(a, b, _, _)| a <= t && t < b)
                .map(|s| s.3)
                .collect();
            if here.len() as u64 > peak {
                peak = here.len() as u64;
                at = Some(t);
            }
        }
        (within.len() as u64, ms, persons.len() as u64, peak, at)
    }

    #[test]
    fn windows_counted_in_one_pass_equal_each_counted_alone() {
        // Spans from a fixed pseudo-random sequence: moments (zero length), spans on window
        // edges, across gaps between windows, a person on two devices.
        let mut x = 12_345u64;
        let mut next = |n: u64| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((x >> 33) % n) as i64
        };
        let mut spans: Vec<(i64, i64, i64, i64)> = (0..80)
            .map(|_| {
                let a = next(200);
                let len = if next(5) == 0 { 0 } else { next(60) };
                (a, a + len, next(6), next(12))
            })
            .collect();
        spans.extend([
            (10, 20, 1, 3),
            (20, 20, 1, 4),
            (30, 45, 2, 5),
            (45, 60, 2, 5),
        ]);
        // In minutes (every edge on a minute, so minutes are exact).
        for s in &mut spans {
            (s.0, s.1) = (s.0 * MIN, s.1 * MIN);
        }
        let windows = [
            (0, 10),
            (20, 30),
            (30, 45),
            (45, 46),
            (60, 61),
            (100, 180),
            (250, 260),
        ]
        .map(|(a, b)| (a * MIN, b * MIN));
        let to_span = |&(a, b, m, p): &(i64, i64, i64, i64)| span(a, b, m, p);
        let people: Vec<UsageSpan> = spans.iter().map(to_span).collect();
        let all = Spans::new(&people, &people, Vec::new(), 10_000);
        let got = all.totals_of(&windows);
        for (w, t) in windows.iter().zip(got) {
            let (meetings, ms, distinct, peak, at) = by_hand(&spans, w.0, w.1);
            assert_eq!(
                (
                    t.meetings,
                    t.meeting_minutes,
                    t.participant_minutes,
                    t.distinct_participants
                ),
                (meetings, super::minutes(ms), super::minutes(ms), distinct),
                "window {w:?}"
            );
            assert_eq!(
                (t.peak_concurrent, t.peak_at_ms),
                (peak, at),
                "peak in {w:?}"
            );
        }
    }

    #[test]
    fn a_person_on_two_devices_is_one_at_the_peak() {
        // Ada on her laptop 0–100 and her phone 10–50, in another meeting Ben 20–30.
        let people = [span(0, 100, 1, 7), span(10, 50, 1, 7), span(20, 30, 2, 8)];
        let t = Spans::new(&[], &people, Vec::new(), 1_000).totals(0, 1_000);
        assert_eq!((t.peak_concurrent, t.peak_at_ms), (2, Some(20)));
        assert_eq!(t.distinct_participants, 2);
        // A moment's visit (joined and left at once) is a participant, never at the peak.
        let people = [span(5, 5, 1, 9)];
        let t = Spans::new(&[], &people, Vec::new(), 1_000).totals(0, 10);
        assert_eq!((t.distinct_participants, t.peak_concurrent), (1, 0));
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let rows = vec![vec![
            "a,b".to_owned(),
            "say \"hi\"".to_owned(),
            "=HYPERLINK(\"x\")".to_owned(),
            "\t=1".to_owned(),
            "-2".to_owned(),
            "plain".to_owned(),
        ]];
        assert_eq!(
            csv(&["h1", "h2", "h3", "h4", "h5", "h6"], &rows),
            "h1,h2,h3,h4,h5,h6\r\n\"a,b\",\"say \"\"hi\"\"\",\"'=HYPERLINK(\"\"x\"\")\",'\t=1,'-2,plain\r\n"
        );
    }
}
