//! The usage ledger on both backends: opening and closing, a dead run's leftovers closed at
//! their last sign of life, the report queries' filters, retention, attendance and tokens.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::Fresh;
use plenary_store::{
    Attendance, NewOrganisation, NewUser, SpanOf, Store, UsageEvent, UsageFilter, UsageKind,
    UsageOp, UserStatus,
};

fn joined(at: i64, room: &str, person: i64, orgs: &[i64], region: &str) -> UsageEvent {
    let mut e = UsageEvent::new(UsageKind::Joined, at, room, 1_000);
    e.person = Some(person);
    e.member = Some(true);
    e.role = Some("participant".into());
    e.room_orgs = orgs.to_vec();
    e.region = region.into();
    e
}

fn all(from: i64, to: i64) -> UsageFilter {
    UsageFilter {
        from_ms: from,
        to_ms: to,
        ..UsageFilter::default()
    }
}

async fn ledger(store: Arc<dyn Store>) {
    // Open, then close: the closing event repeats the opening one.
    store
        .usage_open("n/r1:p:1", &joined(1_000, "room-a", 7, &[1], "eu"))
        .await
        .unwrap();
    assert!(
        !store
            .usage_open("n/r1:p:1", &joined(1_001, "room-a", 7, &[1], "eu"))
            .await
            .unwrap(),
        "open already: once"
    );
    let open = store
        .usage_spans(SpanOf::People, &all(0, 10_000), true)
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].start_ms, open[0].end_ms), (1_000, None));
    assert!(store.usage_close("n/r1:p:1", 4_000).await.unwrap());
    assert!(
        !store.usage_close("n/r1:p:1", 5_000).await.unwrap(),
        "closed once"
    );
    let closed = store
        .usage_spans(SpanOf::People, &all(0, 10_000), true)
        .await
        .unwrap();
    assert_eq!(closed.len(), 1);
    let s = &closed[0];
    assert_eq!(
        (s.start_ms, s.end_ms, s.person),
        (1_000, Some(4_000), Some(7))
    );
    assert_eq!(
        (s.room.as_str(), s.room_orgs.as_slice(), s.region.as_str()),
        ("room-a", &[1][..], "eu")
    );
    assert!(s.member);

    // A close never goes before its opening.
    store
        .usage_open("n/r1:p:2", &joined(6_000, "room-b", 8, &[2, 14], "ca"))
        .await
        .unwrap();
    assert!(store.usage_close("n/r1:p:2", 5_000).await.unwrap());
    let b = store
        .usage_spans(SpanOf::People, &all(0, 10_000), true)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.person == Some(8))
        .unwrap();
    assert_eq!((b.start_ms, b.end_ms), (6_000, Some(6_000)));

    // Filters: period, organisation (14 is not 1 or 4), room, region.
    let f = |org: Option<i64>, room: Option<&str>, region: Option<&str>| UsageFilter {
        from_ms: 0,
        to_ms: 10_000,
        org,
        room: room.map(Into::into),
        region: region.map(Into::into),
    };
    let count = |v: Vec<plenary_store::UsageSpan>| v.len();
    assert_eq!(
        count(
            store
                .usage_spans(SpanOf::People, &f(None, None, None), true)
                .await
                .unwrap()
        ),
        2
    );
    assert_eq!(
        count(
            store
                .usage_spans(SpanOf::People, &f(Some(1), None, None), true)
                .await
                .unwrap()
        ),
        1
    );
    assert_eq!(
        count(
            store
                .usage_spans(SpanOf::People, &f(Some(4), None, None), true)
                .await
                .unwrap()
        ),
        0
    );
    assert_eq!(
        count(
            store
                .usage_spans(SpanOf::People, &f(Some(14), None, None), true)
                .await
                .unwrap()
        ),
        1
    );
    assert_eq!(
        count(
            store
                .usage_spans(SpanOf::People, &f(None, Some("room-b"), None), true)
                .await
                .unwrap()
        ),
        1
    );
    assert_eq!(
        count(
            store
                .usage_spans(SpanOf::People, &f(None, None, Some("eu")), true)
                .await
                .unwrap()
        ),
        1
    );
    assert_eq!(
        count(
            store
                .usage_spans(SpanOf::People, &all(4_001, 5_999), true)
                .await
                .unwrap()
        ),
        0
    );
    assert_eq!(
        count(
            store
                .usage_spans(SpanOf::People, &all(4_000, 5_999), true)
                .await
                .unwrap()
        ),
        1,
        "ends at the period's start"
    );
    assert_eq!(
        count(
            store
                .usage_spans(SpanOf::Meetings, &all(0, 10_000), true)
                .await
                .unwrap()
        ),
        0
    );

    // A run that died: its open rows are closed at their last sign of life by the next run;
    // another node's live rows are left alone.
    let mut m = UsageEvent::new(UsageKind::MeetingStarted, 20_000, "room-c", 20_000);
    m.room_orgs = vec![1];
    store.usage_open("n/r1:m:room-c", &m).await.unwrap();
    store
        .usage_open("n/r1:p:3", &joined(20_000, "room-c", 9, &[1], ""))
        .await
        .unwrap();
    store
        .usage_open("other/x:p:4", &joined(20_000, "room-c", 10, &[1], ""))
        .await
        .unwrap();
    assert_eq!(store.usage_alive("n/r1:", 30_000).await.unwrap(), 2);
    store
        .usage_open("n/r2:p:5", &joined(31_000, "room-c", 11, &[1], ""))
        .await
        .unwrap();
    assert_eq!(store.usage_alive("other/x:", 40_000).await.unwrap(), 1);
    assert_eq!(store.usage_close_stale("n/", "n/r2:", 0).await.unwrap(), 2);
    let meetings = store
        .usage_spans(SpanOf::Meetings, &all(0, 100_000), true)
        .await
        .unwrap();
    assert_eq!(
        (meetings[0].start_ms, meetings[0].end_ms),
        (20_000, Some(30_000))
    );
    let mut people = store
        .usage_spans(SpanOf::People, &all(15_000, 100_000), true)
        .await
        .unwrap();
    people.sort_by_key(|s| s.person);
    let ends: Vec<_> = people
        .iter()
        .map(|s| (s.person.unwrap(), s.end_ms))
        .collect();
    assert_eq!(ends, vec![(9, Some(30_000)), (10, None), (11, None)]);
    assert_eq!(people[1].alive_ms, 40_000);
    // …and anyone's rows nobody renewed for too long (n/r2's, last renewed at 31 000).
    assert_eq!(
        store
            .usage_close_stale("n/", "n/r2:", 35_000)
            .await
            .unwrap(),
        1
    );

    // Recordings.
    let mut r = UsageEvent::new(UsageKind::RecordingStored, 50_000, "room-c", 20_000);
    r.bytes = Some(1_234);
    r.reference = Some("rec-1".into());
    r.room_orgs = vec![1];
    store.usage_record(&r).await.unwrap();
    let recs = store
        .usage_recording_events(&all(0, 100_000))
        .await
        .unwrap();
    assert_eq!(recs, vec![r.clone()]);

    // Imports, then retention: what is open survives it.
    let many: Vec<UsageEvent> = (0..1_000)
        .map(|i| {
            let mut e = joined(60_000 + i, "room-d", i, &[], "");
            e.kind = UsageKind::Left;
            e.since_ms = Some(59_000);
            e
        })
        .collect();
    store.usage_import(&many).await.unwrap();
    assert_eq!(
        store
            .usage_spans(SpanOf::People, &all(60_000, 70_000), true)
            .await
            .unwrap()
            .len(),
        1_001,
        "and other/x's open one"
    );
    assert_eq!(store.usage_oldest().await.unwrap(), Some(1_000));
    store.prune_usage(55_000).await.unwrap();
    let left = store
        .usage_spans(SpanOf::People, &all(0, 100_000), true)
        .await
        .unwrap();
    assert_eq!(
        left.len(),
        1_001,
        "the imported ones and other/x's open one"
    );
    assert!(store.usage_close("other/x:p:4", 70_000).await.unwrap());

    // Attendance, kept only when an organisation chose to; tokens per organisation.
    let org = store
        .create_org(&NewOrganisation {
            name: "Radical Routes".into(),
            max_rooms_per_member: None,
            max_participants: None,
            max_meeting_minutes: None,
            created_at: 1,
        })
        .await
        .unwrap();
    let other = store
        .create_org(&NewOrganisation {
            name: "social.coop".into(),
            max_rooms_per_member: None,
            max_participants: None,
            max_meeting_minutes: None,
            created_at: 1,
        })
        .await
        .unwrap();
    assert!(!store.keeps_attendance(org.id).await.unwrap());
    store.set_keeps_attendance(org.id, true).await.unwrap();
    assert!(store.keeps_attendance(org.id).await.unwrap());
    store.set_keeps_attendance(org.id, true).await.unwrap();
    let ada = store
        .create_user(&NewUser {
            email: "ada@example.org".into(),
            name: "Ada".into(),
            password_hash: None,
            is_admin: false,
            status: UserStatus::Active,
            created_at: 1,
        })
        .await
        .unwrap();
    let a = Attendance {
        org_id: org.id,
        room: "room-a".into(),
        room_name: "Board".into(),
        meeting_ms: 1_000,
        account_id: Some(ada.id),
        name: "Ada".into(),
        joined_ms: 1_000,
        left_ms: 4_000,
    };
    store.save_attendance(&a).await.unwrap();
    store.save_attendance(&a).await.unwrap(); // a retry after a lost answer: once
    assert_eq!(
        store
            .attendance(Some(org.id), None, 0, 10_000)
            .await
            .unwrap(),
        vec![a.clone()]
    );
    assert_eq!(
        store
            .attendance(None, Some(ada.id), 0, 10_000)
            .await
            .unwrap(),
        vec![a.clone()]
    );
    assert!(
        store
            .attendance(Some(other.id), None, 0, 10_000)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .attendance(Some(org.id), None, 5_000, 10_000)
            .await
            .unwrap()
            .is_empty()
    );

    // Turned off, what was kept is deleted.
    store.set_keeps_attendance(org.id, false).await.unwrap();
    assert!(!store.keeps_attendance(org.id).await.unwrap());
    assert!(
        store
            .attendance(Some(org.id), None, 0, 10_000)
            .await
            .unwrap()
            .is_empty()
    );
    // Written after the opt-out (someone present then leaves), or for an organisation that
    // never kept it: not kept.
    store.save_attendance(&a).await.unwrap();
    store
        .save_attendance(&Attendance {
            org_id: other.id,
            ..a.clone()
        })
        .await
        .unwrap();
    for o in [org.id, other.id] {
        assert!(
            store
                .attendance(Some(o), None, 0, 10_000)
                .await
                .unwrap()
                .is_empty(),
            "attendance kept without the organisation's consent"
        );
    }

    let t = store
        .create_usage_token(org.id, "board", "hash-1", 100)
        .await
        .unwrap();
    assert_eq!(
        store.usage_token_org("hash-1", 200).await.unwrap(),
        Some(org.id)
    );
    assert_eq!(store.usage_token_org("hash-2", 200).await.unwrap(), None);
    let listed = store.usage_tokens(org.id).await.unwrap();
    assert_eq!(
        (listed[0].name.as_str(), listed[0].last_used_at),
        ("board", Some(200))
    );
    assert!(store.usage_tokens(other.id).await.unwrap().is_empty());
    assert!(
        !store.delete_usage_token(other.id, t.id).await.unwrap(),
        "another organisation's"
    );
    assert!(store.delete_usage_token(org.id, t.id).await.unwrap());
    assert_eq!(store.usage_token_org("hash-1", 300).await.unwrap(), None);
}

#[tokio::test]
async fn ledger_on_sqlite() {
    let db = Fresh::sqlite("usage").await;
    ledger(db.store.clone()).await;
    db.finish().await;
}

#[tokio::test]
async fn ledger_on_postgres() {
    let db = Fresh::postgres("usage").await;
    ledger(db.store.clone()).await;
    db.finish().await;
}

/// A batch opening and closing in one go, tried again after a commit whose answer was lost
/// (the same id): written once. A span longer than the reported period, closing within it, is
/// found (reads are bounded by the longest span); a period up to the end of time reads on
/// both backends.
async fn batches_and_long_spans(store: Arc<dyn Store>) {
    let day = 86_400_000i64;
    let open = UsageEvent::new(UsageKind::MeetingStarted, 10 * day, "room-l", 10 * day);
    let ops = [
        UsageOp::Open {
            key: "n/r:m:l".into(),
            event: open.clone(),
        },
        UsageOp::Close {
            key: "n/r:m:l".into(),
            at_ms: 50 * day,
        },
    ];
    assert_eq!(
        store.usage_apply(Some("n/r:b1"), &ops).await.unwrap(),
        vec![true, true]
    );
    assert_eq!(
        store.usage_apply(Some("n/r:b1"), &ops).await.unwrap(),
        vec![false, false],
        "the same batch again"
    );
    let spans = |from: i64, to: i64| {
        let store = store.clone();
        async move {
            store
                .usage_spans(SpanOf::Meetings, &all(from, to), false)
                .await
                .unwrap()
        }
    };
    let found = spans(49 * day, 51 * day).await;
    assert_eq!(
        found.len(),
        1,
        "written once, found though it began 39 days earlier"
    );
    assert_eq!(
        (found[0].start_ms, found[0].end_ms),
        (10 * day, Some(50 * day))
    );
    assert_eq!(spans(20 * day, 21 * day).await.len(), 1, "in its middle");
    assert_eq!(spans(0, i64::MAX).await.len(), 1, "to the end of time");
    assert!(spans(51 * day, 52 * day).await.is_empty(), "after it");

    // Without an id, each call is its own: a second open of the closed key opens again.
    assert_eq!(
        store.usage_apply(None, &ops).await.unwrap(),
        vec![true, true]
    );
    assert_eq!(spans(49 * day, 51 * day).await.len(), 2);
}

#[tokio::test]
async fn batches_and_long_spans_on_sqlite() {
    let db = Fresh::sqlite("usage-batches").await;
    batches_and_long_spans(db.store.clone()).await;
    db.finish().await;
}

#[tokio::test]
async fn batches_and_long_spans_on_postgres() {
    let db = Fresh::postgres("usage_batches").await;
    batches_and_long_spans(db.store.clone()).await;
    db.finish().await;
}
