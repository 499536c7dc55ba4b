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

/// What the ledger says of a period, read once (a report, and rankings when read with
/// [`read_ranked`], come from it).
#[derive(Debug)]
pub struct Read {
    pub period: Period,
    spans: report::Spans,
    owners: Option<report::Owners>,
    incomplete_before_ms: Option<i64>,
}

/// Reads the ledger's spans of `period` within `scope`, as of `now_ms`, for a report.
pub async fn read(
    store: &dyn Store,
    scope: &Scope,
    period: Period,
    now_ms: i64,
) -> Result<Read, StoreError> {
    read_with(store, scope, period, now_ms, false).await
}

/// [`read`], with what rankings need (each span's room, region and organisations).
pub async fn read_ranked(
    store: &dyn Store,
    scope: &Scope,
    period: Period,
    now_ms: i64,
) -> Result<Read, StoreError> {
    read_with(store, scope, period, now_ms, true).await
}

async fn read_with(
    store: &dyn Store,
    scope: &Scope,
    period: Period,
    now_ms: i64,
    owners: bool,
) -> Result<Read, StoreError> {
    let f = scope.filter(period.start_ms(), period.end_ms());
    let meetings = store.usage_spans(SpanOf::Meetings, &f, owners).await?;
    let people = store.usage_spans(SpanOf::People, &f, owners).await?;
    let recordings = store.usage_recording_events(&f).await?;
    let owned = owners.then(|| report::Owners::new(&meetings, &people, &recordings));
    let spans = report::Spans::new(&meetings, &people, recordings, now_ms);
    Ok(Read {
        period,
        spans,
        owners: owned,
        incomplete_before_ms: store.usage_oldest().await?,
    })
}

impl Read {
    pub fn report(&self) -> Report {
        self.spans.report(self.period, self.incomplete_before_ms)
    }

    /// Organisations (by id), rooms or regions, the most participant-minutes first (empty
    /// unless read with [`read_ranked`]).
    pub fn ranking(&self, by: RankBy) -> Vec<Ranked<String>> {
        let Some(owners) = &self.owners else {
            return Vec::new();
        };
        self.spans
            .ranking(owners, by, self.period.start_ms(), self.period.end_ms())
    }
}

/// The prefix of an organisation's usage token (`Authorization: Bearer plu_…`).
pub const TOKEN_PREFIX: &str = "plu_";

/// Makes a read-only usage token for an organisation; returns its secret (shown once: only a
/// hash is kept) and the record.
pub async fn create_token(
    store: &dyn Store,
    org_id: i64,
    name: &str,
) -> Result<(String, plenary_store::UsageToken), StoreError> {
    let secret = format!(
        "{TOKEN_PREFIX}{}",
        plenary_accounts::password::random_token()
    );
    let name: String = name.trim().chars().take(100).collect();
    let token = store
        .create_usage_token(
            org_id,
            &name,
            &plenary_accounts::password::session_hash(&secret),
            plenary_proto::clock::unix_secs(),
        )
        .await?;
    Ok((secret, token))
}

/// The organisation whose usage a token's secret reads.
pub async fn token_org(store: &dyn Store, secret: &str) -> Result<Option<i64>, StoreError> {
    if !secret.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    store
        .usage_token_org(
            &plenary_accounts::password::session_hash(secret),
            plenary_proto::clock::unix_secs(),
        )
        .await
}

/// A room's line in a ranking, with its name.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Named {
    /// The organisation's id or the room's link id, or the region (left out when empty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Its name (a room or organisation since deleted: empty).
    pub name: String,
    #[serde(flatten)]
    pub totals: Totals,
}

/// An organisation's report: its rooms' numbers over a period, and its rooms ranked.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OrganisationReport {
    pub organisation: Named,
    pub report: Report,
    pub rooms: Vec<Named>,
}

impl OrganisationReport {
    /// The report without its rooms' ids, for a usage token's holder: a room's id is its join
    /// link, and a board or funder reading numbers gets no way into the meetings.
    pub fn without_room_links(mut self) -> Self {
        for r in &mut self.rooms {
            r.id.clear();
        }
        self
    }
}

/// The report of one organisation's rooms (within `room` if given) for `period`.
pub async fn organisation_report(
    store: &dyn Store,
    org_id: i64,
    room: Option<String>,
    period: Period,
    now_ms: i64,
) -> Result<Option<OrganisationReport>, StoreError> {
    let Some(org) = store.org_by_id(org_id).await? else {
        return Ok(None);
    };
    let scope = Scope {
        org: Some(org_id),
        room,
        region: None,
    };
    let read = read_ranked(store, &scope, period, now_ms).await?;
    let report = read.report();
    let rooms = name_rooms(store, read.ranking(RankBy::Room)).await?;
    Ok(Some(OrganisationReport {
        organisation: Named {
            id: org.id.to_string(),
            name: org.name,
            totals: report.totals.clone(),
        },
        report,
        rooms,
    }))
}

/// Rooms' ranking entries with the rooms' names.
pub async fn name_rooms(
    store: &dyn Store,
    ranked: Vec<Ranked<String>>,
) -> Result<Vec<Named>, StoreError> {
    let mut out = Vec::with_capacity(ranked.len());
    for r in ranked {
        let name = match plenary_proto::RoomId::parse(&r.key) {
            Ok(id) => store.get_room(&id).await?.map(|room| room.name),
            Err(_) => None,
        };
        out.push(Named {
            id: r.key,
            name: name.unwrap_or_default(),
            totals: r.totals,
        });
    }
    Ok(out)
}

/// Organisations' ranking entries with their names.
pub async fn name_orgs(
    store: &dyn Store,
    ranked: Vec<Ranked<String>>,
) -> Result<Vec<Named>, StoreError> {
    let names: std::collections::HashMap<String, String> = store
        .list_orgs()
        .await?
        .into_iter()
        .map(|o| (o.id.to_string(), o.name))
        .collect();
    Ok(ranked
        .into_iter()
        .map(|r| Named {
            name: names.get(&r.key).cloned().unwrap_or_default(),
            id: r.key,
            totals: r.totals,
        })
        .collect())
}
