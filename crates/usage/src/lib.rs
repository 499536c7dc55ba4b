//! Usage that lasts. The ledger ([`ledger`]) writes what happens in the live meetings to the
//! store as it happens; reports ([`report`]) are computed from it for a period ([`period`],
//! UTC) and a scope (an organisation, a room, a region, or everything).

pub mod ledger;
pub mod period;
pub mod report;

use plenary_store::{SpanOf, Store, StoreError, UsageFilter};

pub use ledger::{Ledger, LedgerSettings};
pub use period::{BadPeriod, Period, PeriodKind};
pub use report::{RankBy, Ranked, Report, Totals};

/// What a report covers besides its period: everything, or one organisation's rooms, one
/// room, one region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub org: Option<i64>,
    pub room: Option<String>,
    pub region: Option<String>,
}

impl Scope {
    fn filter(&self, from_ms: i64, to_ms: i64) -> UsageFilter {
        UsageFilter {
            from_ms,
            to_ms,
            org: self.org,
            room: self.room.clone(),
            region: self.region.clone(),
        }
    }
}

/// What the ledger says of a period, read once (a report and rankings come from it).
#[derive(Debug)]
pub struct Read {
    pub period: Period,
    spans: report::Spans,
    owners: report::Owners,
    incomplete_before_ms: Option<i64>,
}

/// Reads the ledger's spans of `period` within `scope`, as of `now_ms`.
pub async fn read(
    store: &dyn Store,
    scope: &Scope,
    period: Period,
    now_ms: i64,
) -> Result<Read, StoreError> {
    let f = scope.filter(period.start_ms(), period.end_ms());
    let meetings = store.usage_spans(SpanOf::Meetings, &f).await?;
    let people = store.usage_spans(SpanOf::People, &f).await?;
    let recordings = store.usage_recording_events(&f).await?;
    let owners = report::Owners::new(&meetings, &people, &recordings);
    let spans = report::Spans::new(&meetings, &people, recordings, now_ms);
    Ok(Read {
        period,
        spans,
        owners,
        incomplete_before_ms: store.usage_oldest().await?,
    })
}

impl Read {
    pub fn report(&self) -> Report {
        self.spans.report(self.period, self.incomplete_before_ms)
    }

    /// Organisations (by id), rooms or regions, the most participant-minutes first.
    pub fn ranking(&self, by: RankBy) -> Vec<Ranked<String>> {
        self.spans.ranking(
            &self.owners,
            by,
            self.period.start_ms(),
            self.period.end_ms(),
        )
    }
}
