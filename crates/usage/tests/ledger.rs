//! The ledger's batch writer on a real store: a fact the store refuses for good (a NUL in a
//! text on PostgreSQL) is dropped alone, the facts around it are written, in order; a batch
//! written twice under its id is written once.
#![allow(clippy::unwrap_used)]

#[path = "../../store/tests/common/mod.rs"]
mod common;

use std::sync::Arc;

use common::Fresh;
use plenary_store::{SpanOf, Store, UsageEvent, UsageFilter, UsageKind, UsageOp};
use plenary_usage::ledger::write_batch;

fn all() -> UsageFilter {
    UsageFilter {
        from_ms: 0,
        to_ms: 1_000_000,
        ..UsageFilter::default()
    }
}

fn person(at: i64, client: &str) -> UsageEvent {
    let mut e = UsageEvent::new(UsageKind::Joined, at, "room-a", 1_000);
    e.person = Some(7);
    e.client = Some(client.into());
    e
}

async fn count(store: &Arc<dyn Store>, of: SpanOf) -> usize {
    store.usage_spans(of, &all(), false).await.unwrap().len()
}

fn batch(client: &str) -> Vec<UsageOp> {
    let meeting = UsageEvent::new(UsageKind::MeetingStarted, 1_000, "room-a", 1_000);
    vec![
        UsageOp::Open {
            key: "n/r:m:a".into(),
            event: meeting,
        },
        UsageOp::Open {
            key: "n/r:p:1".into(),
            event: person(2_000, client),
        },
        UsageOp::Close {
            key: "n/r:p:1".into(),
            at_ms: 3_000,
        },
        UsageOp::Open {
            key: "n/r:p:2".into(),
            event: person(2_500, "firefox"),
        },
        UsageOp::Close {
            key: "n/r:p:2".into(),
            at_ms: 4_000,
        },
        UsageOp::Close {
            key: "n/r:m:a".into(),
            at_ms: 5_000,
        },
    ]
}

#[tokio::test]
async fn a_batch_is_written_once_on_sqlite() {
    let db = Fresh::sqlite("ledger-once").await;
    let ops = batch("chrome");
    write_batch(&*db.store, "n/r:b1", &ops).await;
    write_batch(&*db.store, "n/r:b1", &ops).await;
    assert_eq!(count(&db.store, SpanOf::Meetings).await, 1);
    assert_eq!(count(&db.store, SpanOf::People).await, 2);
    db.finish().await;
}

#[tokio::test]
async fn a_refused_fact_is_dropped_alone_on_postgres() {
    let db = Fresh::postgres("ledger_refused").await;
    let ops = batch("chr\0ome");
    let refused = db
        .store
        .usage_apply(None, &ops[1..2])
        .await
        .expect_err("PostgreSQL refuses a NUL in text");
    assert!(!refused.is_transient(), "refused for good: {refused}");
    write_batch(&*db.store, "n/r:b1", &ops).await;
    assert_eq!(count(&db.store, SpanOf::Meetings).await, 1, "the meeting");
    let people = db
        .store
        .usage_spans(SpanOf::People, &all(), false)
        .await
        .unwrap();
    assert_eq!(
        people
            .iter()
            .map(|p| (p.start_ms, p.end_ms))
            .collect::<Vec<_>>(),
        vec![(2_500, Some(4_000))],
        "the one after the refused fact, not the refused one"
    );
    // The fact-by-fact writes are idempotent too.
    write_batch(&*db.store, "n/r:b1", &ops).await;
    assert_eq!(count(&db.store, SpanOf::People).await, 1);
    assert_eq!(count(&db.store, SpanOf::Meetings).await, 1);
    db.finish().await;
}
