//! The monthly report over a million ledger events, on SQLite and on PostgreSQL.
//!
//! `cargo run --release -p plenary-usage --example report_bench [EVENTS] [POSTGRES_URL]`
//!
//! Writes EVENTS (default 1 000 000) events, all in one month (the hard case: every event is
//! read; `BENCH_MONTHS=12` spreads them over a year): 4 % meetings ended, the rest people leaving (24 a meeting, 20 000 people, 2 000 rooms
//! of 50 organisations), into a fresh SQLite file and a fresh PostgreSQL schema (default: the
//! machine's, database `test`). Then times, three times each: the platform's monthly report,
//! one organisation's, and the platform's ranking of organisations. Prints the medians.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Instant;

use plenary_store::{Store, UsageEvent, UsageKind};
use plenary_usage::{Period, RankBy, Scope, read};

/// `n` events over `months` months ending with `period` (the reported month).
fn events(n: usize, period: Period, months: i64) -> Vec<UsageEvent> {
    let mut first = period;
    for _ in 1..months {
        first = first.previous();
    }
    let start = first.start_ms();
    let span = period.end_ms() - start - 4 * 3_600_000;
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let meetings = n / 25;
    let mut out = Vec::with_capacity(n);
    for m in 0..meetings {
        let room = format!("room-{}", next() % 2_000);
        let org = (next() % 50) as i64 + 1;
        let from = start + (next() % span as u64) as i64;
        let length = 15 * 60_000 + (next() % (105 * 60_000)) as i64;
        let mut e = UsageEvent::new(UsageKind::MeetingEnded, from + length, &room, from);
        e.since_ms = Some(from);
        e.room_orgs = vec![org];
        e.region = if m % 3 == 0 { "ca" } else { "eu" }.into();
        out.push(e.clone());
        for _ in 0..24 {
            if out.len() >= n {
                break;
            }
            let a = from + (next() % (length as u64 / 2)) as i64;
            let b = a + (next() % ((from + length - a) as u64)) as i64;
            let mut p = e.clone();
            p.kind = UsageKind::Left;
            p.at_ms = b;
            p.since_ms = Some(a);
            p.person = Some((next() % 20_000) as i64);
            p.member = Some(next() % 4 != 0);
            p.role = Some("participant".into());
            p.client = Some("firefox".into());
            out.push(p);
        }
    }
    out
}

async fn median(label: &str, mut run: impl AsyncFnMut() -> usize) -> f64 {
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..3 {
        let t = Instant::now();
        size = run().await;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!("  {label:<34} {:>7.3} s   ({size})", times[1]);
    times[1]
}

async fn bench(name: &str, store: Arc<dyn Store>, events: &[UsageEvent], period: Period) {
    let t = Instant::now();
    for chunk in events.chunks(50_000) {
        store.usage_import(chunk).await.unwrap();
    }
    println!(
        "{name}: {} events written in {:.1} s",
        events.len(),
        t.elapsed().as_secs_f64()
    );
    let now = period.end_ms() + 1;
    median("(reading the people's spans only)", async || {
        let f = plenary_store::UsageFilter {
            from_ms: period.start_ms(),
            to_ms: period.end_ms(),
            ..Default::default()
        };
        store
            .usage_spans(plenary_store::SpanOf::People, &f, false)
            .await
            .unwrap()
            .len()
    })
    .await;
    median("monthly report, whole platform", async || {
        let r = read(&*store, &Scope::default(), period, now)
            .await
            .unwrap()
            .report();
        r.totals.distinct_participants as usize
    })
    .await;
    median("monthly report, one organisation", async || {
        let scope = Scope {
            org: Some(7),
            ..Scope::default()
        };
        let r = read(&*store, &scope, period, now).await.unwrap().report();
        r.totals.meetings as usize
    })
    .await;
    median("ranking of organisations", async || {
        let r = plenary_usage::read_ranked(&*store, &Scope::default(), period, now)
            .await
            .unwrap();
        r.ranking(RankBy::Organisation).len()
    })
    .await;
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(1_000_000, |a| a.parse().unwrap());
    // Only SQLite, PostgreSQL or both (default).
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let pg = args
        .next()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
    let period = Period::parse("2026-11").unwrap();
    // The ledger's events over this many months (the report is of the last one); 1: every
    // event is in the reported month.
    let months: i64 = std::env::var("BENCH_MONTHS").map_or(1, |m| m.parse().unwrap());
    let events = events(n, period, months);
    println!("{n} events over {months} month(s); the report is of {period}");

    if only != "postgres" {
        let dir = std::env::temp_dir().join(format!("plenary-report-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = plenary_store::open(&plenary_store::default_url(&dir))
            .await
            .unwrap();
        bench("SQLite", store.clone(), &events, period).await;
        store.close().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
    if only == "sqlite" {
        return;
    }

    let schema = format!("plenary_report_bench_{}", std::process::id());
    let admin = plenary_store::PostgresStore::connect(&pg).await.unwrap();
    admin
        .execute_raw(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await
        .unwrap();
    let sep = if pg.contains('?') { '&' } else { '?' };
    let url = format!("{pg}{sep}options=-c%20search_path%3D{schema}");
    let store = plenary_store::open(&url).await.unwrap();
    bench("PostgreSQL", store.clone(), &events, period).await;
    store.close().await.unwrap();
    admin
        .execute_raw(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}
