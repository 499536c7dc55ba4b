//! The operators' view's and the status page's tables on both backends: load samples (one
//! per node and minute, each node's latest, pruned per node), node runs (a clean stop
//! recorded, the last hundred kept), notices (posted, ended once, listed while recent).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::Fresh;
use plenary_store::{
    LoadSample, NodeRun, NoticeKind, ProblemRow, QualityRow, Severity, StatusNotice, Store,
};

fn sample(node: &str, at_ms: i64, participants: i64) -> LoadSample {
    LoadSample {
        node: node.into(),
        region: "eu".into(),
        at_ms,
        cpu: Some(40),
        participants,
        loss_permille: None,
        refused: 1,
        ..LoadSample::default()
    }
}

async fn status(store: Arc<dyn Store>) {
    let min = 60_000;
    for (node, at, n) in [("a", 0, 1), ("a", min, 2), ("b", 0, 5), ("a", 2 * min, 3)] {
        store.record_sample(&sample(node, at, n)).await.unwrap();
    }
    // The same minute again (a retry): kept once, the first.
    store.record_sample(&sample("a", min, 99)).await.unwrap();
    let a = store.load_samples(Some("a"), 0).await.unwrap();
    assert_eq!(
        a.iter().map(|s| s.participants).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(a[0], sample("a", 0, 1), "every column back");
    assert_eq!(store.load_samples(None, min).await.unwrap().len(), 2);
    let latest = store.latest_samples(0).await.unwrap();
    assert_eq!(
        latest
            .iter()
            .map(|s| (s.node.as_str(), s.participants))
            .collect::<Vec<_>>(),
        [("a", 3), ("b", 5)]
    );
    assert_eq!(
        store.latest_samples(min).await.unwrap().len(),
        1,
        "b's latest is older"
    );
    assert_eq!(store.prune_samples(min).await.unwrap(), 2, "every node's");
    assert_eq!(
        store
            .load_samples(None, 0)
            .await
            .unwrap()
            .iter()
            .map(|s| (s.node.as_str(), s.at_ms))
            .collect::<Vec<_>>(),
        [("a", min), ("a", 2 * min)]
    );

    // Runs: the last hundred per node, a clean stop once.
    for i in 0..102 {
        let r = NodeRun {
            node: "a".into(),
            run: format!("r{i}"),
            version: "0.1.0".into(),
            started_ms: i,
            stopped_ms: None,
        };
        store.record_run(&r).await.unwrap();
    }
    assert!(store.run_stopped("a", "r101", 500).await.unwrap());
    assert!(!store.run_stopped("a", "r101", 600).await.unwrap(), "once");
    let runs = store.node_runs(200).await.unwrap();
    assert_eq!(runs.len(), 100);
    assert_eq!(
        (runs[0].run.as_str(), runs[0].stopped_ms),
        ("r101", Some(500))
    );
    assert_eq!(runs[1].stopped_ms, None, "r100 did not stop cleanly");
    assert_eq!(runs[99].run, "r2");

    // Notices.
    let n = StatusNotice {
        id: 0,
        kind: NoticeKind::Maintenance,
        severity: Severity::Degraded,
        region: "eu".into(),
        title: "Upgrade".into(),
        body: "New version.".into(),
        starts_ms: 10_000,
        ends_ms: Some(20_000),
        created_ms: 1_000,
        updated_ms: 1_000,
        author: "Ada".into(),
    };
    let made = store.create_notice(&n).await.unwrap();
    assert!(made.id > 0);
    let open = store
        .create_notice(&StatusNotice {
            kind: NoticeKind::Incident,
            severity: Severity::Down,
            starts_ms: 30_000,
            ends_ms: None,
            ..n.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        store.notices(0, 10).await.unwrap(),
        vec![open.clone(), made.clone()],
        "latest first"
    );
    assert_eq!(store.notices(25_000, 10).await.unwrap(), vec![open.clone()]);
    assert!(store.end_notice(open.id, 40_000).await.unwrap());
    assert!(
        !store.end_notice(open.id, 50_000).await.unwrap(),
        "ended already"
    );
    let ended = &store.notices(0, 10).await.unwrap()[0];
    assert_eq!((ended.ends_ms, ended.updated_ms), (Some(40_000), 40_000));
    assert!(!ended.is_current(40_000) && ended.is_current(39_999));
    assert!(store.delete_notice(made.id).await.unwrap());
    assert_eq!(store.notices(0, 10).await.unwrap().len(), 1);
}

/// Call quality and problem reports: kept, read per meeting, listed, counted, pruned.
async fn quality(store: Arc<dyn Store>) {
    let row = |meeting: i64, participant: i64, at_ms: i64| QualityRow {
        room: "room-a".into(),
        meeting_ms: meeting,
        participant,
        name: format!("P{participant}"),
        at_ms,
        loss_out: Some(120),
        rtt_ms: Some(40),
        limitation: Some("cpu".into()),
        protocol: Some("tcp".into()),
        ..QualityRow::default()
    };
    let rows = [
        row(1_000, 2, 20_000),
        row(1_000, 1, 30_000),
        row(1_000, 1, 10_000),
        row(5_000, 3, 60_000),
    ];
    store.save_quality(&rows).await.unwrap();
    let of = store.quality_of("room-a", 1_000).await.unwrap();
    assert_eq!(
        of.iter()
            .map(|r| (r.participant, r.at_ms))
            .collect::<Vec<_>>(),
        [(1, 10_000), (1, 30_000), (2, 20_000)],
        "by participant, then time"
    );
    assert_eq!(of[0], row(1_000, 1, 10_000), "every column back");
    let meetings = store.quality_meetings("room-a", 10).await.unwrap();
    assert_eq!(
        meetings
            .iter()
            .map(|m| (m.meeting_ms, m.people, m.last_ms))
            .collect::<Vec<_>>(),
        [(5_000, 1, 60_000), (1_000, 2, 30_000)]
    );
    assert!(
        store
            .quality_meetings("room-b", 10)
            .await
            .unwrap()
            .is_empty()
    );
    let p = ProblemRow {
        room: "room-a".into(),
        meeting_ms: 1_000,
        participant: 1,
        name: "Ada".into(),
        account_id: None,
        at_ms: 15_000,
        note: "frozen".into(),
        diagnostics: "{}".into(),
        ..ProblemRow::default()
    };
    let id = store.save_problem(&p).await.unwrap();
    store
        .save_problem(&ProblemRow {
            meeting_ms: 5_000,
            at_ms: 70_000,
            ..p.clone()
        })
        .await
        .unwrap();
    assert_eq!(store.problem_count("room-a", 1_000).await.unwrap(), 1);
    assert_eq!(
        store
            .problems(Some(("room-a", 1_000)), 0, 10)
            .await
            .unwrap(),
        vec![ProblemRow { id, ..p.clone() }]
    );
    assert_eq!(store.problems(None, 0, 10).await.unwrap().len(), 2);
    assert_eq!(
        store.problems(None, 20_000, 10).await.unwrap().len(),
        1,
        "since"
    );
    assert_eq!(
        store.prune_quality(25_000).await.unwrap(),
        3,
        "two reports and a problem"
    );
    assert_eq!(store.quality_of("room-a", 1_000).await.unwrap().len(), 1);
    assert_eq!(store.problem_count("room-a", 1_000).await.unwrap(), 0);
}

#[tokio::test]
async fn quality_on_sqlite() {
    let db = Fresh::sqlite("quality").await;
    quality(db.store.clone()).await;
    db.finish().await;
}

#[tokio::test]
async fn quality_on_postgres() {
    let db = Fresh::postgres("quality").await;
    quality(db.store.clone()).await;
    db.finish().await;
}

#[tokio::test]
async fn status_on_sqlite() {
    let db = Fresh::sqlite("status").await;
    status(db.store.clone()).await;
    db.finish().await;
}

#[tokio::test]
async fn status_on_postgres() {
    let db = Fresh::postgres("status").await;
    status(db.store.clone()).await;
    db.finish().await;
}
