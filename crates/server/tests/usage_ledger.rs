//! The usage ledger on a real server: joins and leaves over real signalling reach it as they
//! happen (with the room's organisations, member or guest, no names), attendance only for an
//! organisation that keeps it, a stopping server writes everyone's leaving, and what a killed
//! run left open is closed at its next start at its last sign of life.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::TestServer;
use common::ws::{join_as, send};
use plenary_store::{NewOrganisation, SpanOf, Store, UsageEvent, UsageFilter, UsageKind};

fn everything() -> UsageFilter {
    UsageFilter {
        from_ms: 0,
        to_ms: i64::MAX,
        ..UsageFilter::default()
    }
}

/// Polls the ledger until `cond` holds of its people's and meetings' spans.
async fn until(
    store: &Arc<dyn Store>,
    what: &str,
    cond: impl Fn(&[plenary_store::UsageSpan], &[plenary_store::UsageSpan]) -> bool,
) {
    let start = std::time::Instant::now();
    loop {
        let people = store
            .usage_spans(SpanOf::People, &everything(), true)
            .await
            .unwrap();
        let meetings = store
            .usage_spans(SpanOf::Meetings, &everything(), true)
            .await
            .unwrap();
        if cond(&people, &meetings) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "waiting for {what}: {people:?} {meetings:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An organisation with the first admin (who owns the test rooms) in it.
async fn admins_org(server: &TestServer, name: &str) -> i64 {
    let store = server.running.as_ref().unwrap().state.store.clone();
    let org = store
        .create_org(&NewOrganisation {
            name: name.into(),
            max_rooms_per_member: None,
            max_participants: None,
            max_meeting_minutes: None,
            created_at: 1,
        })
        .await
        .unwrap();
    let admin = store
        .user_by_email(&server.running.as_ref().unwrap().state.settings.admin_email)
        .await
        .unwrap()
        .unwrap();
    store.set_org_member(org.id, admin.id, true).await.unwrap();
    org.id
}

#[tokio::test]
async fn joins_and_leaves_reach_the_ledger_as_they_happen() {
    let server = TestServer::start_with(|s| s.region = "eu-central".into()).await;
    let store = server.running.as_ref().unwrap().state.store.clone();
    let org = admins_org(&server, "social.coop").await;
    let room = server.create_room("Members' assembly").await;

    let (mut owner, _) = join_as(&server, &room, "Ada", true).await;
    let (mut guest, _) = join_as(&server, &room, "Ben", false).await;
    until(&store, "two people in one meeting", |p, m| {
        p.len() == 2
            && p.iter().all(|s| s.end_ms.is_none())
            && m.len() == 1
            && m[0].end_ms.is_none()
    })
    .await;
    let people = store
        .usage_spans(SpanOf::People, &everything(), true)
        .await
        .unwrap();
    assert!(
        people.iter().all(|s| s.room == room.as_str()
            && s.room_orgs == vec![org]
            && s.region == "eu-central")
    );
    let members: Vec<bool> = {
        let mut v: Vec<bool> = people.iter().map(|s| s.member).collect();
        v.sort();
        v
    };
    assert_eq!(
        members,
        vec![false, true],
        "the guest and the signed-in owner"
    );
    assert_ne!(people[0].person, people[1].person);

    send(&mut guest, r#"{"type":"leave"}"#).await;
    until(&store, "the guest's leaving", |p, _| {
        p.iter().filter(|s| s.end_ms.is_some()).count() == 1
    })
    .await;
    send(&mut owner, r#"{"type":"leave"}"#).await;
    until(&store, "the meeting's end", |p, m| {
        p.iter().all(|s| s.end_ms.is_some()) && m.len() == 1 && m[0].end_ms.is_some()
    })
    .await;
    // No attendance: the organisation did not choose to keep it.
    assert!(
        store
            .attendance(Some(org), None, 0, i64::MAX)
            .await
            .unwrap()
            .is_empty()
    );

    // Once it does, the next meeting's attendance is kept, with names.
    store.set_keeps_attendance(org, true).await.unwrap();
    let (mut owner, _) = join_as(&server, &room, "Ada", true).await;
    send(&mut owner, r#"{"type":"leave"}"#).await;
    until(&store, "a second meeting", |_, m| {
        m.len() == 2 && m.iter().all(|s| s.end_ms.is_some())
    })
    .await;
    let start = std::time::Instant::now();
    let kept = loop {
        let kept = store
            .attendance(Some(org), None, 0, i64::MAX)
            .await
            .unwrap();
        if !kept.is_empty() || start.elapsed() > Duration::from_secs(10) {
            break kept;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].name.as_str(), kept[0].room_name.as_str()),
        ("Ada", "Members' assembly")
    );
    assert!(kept[0].account_id.is_some());
    server.stop().await;
}

#[tokio::test]
async fn a_stopping_server_writes_everyone_leaving() {
    let dir = std::env::temp_dir().join(format!("plenary-usage-stop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.clone();
    let server = TestServer::start_with(move |s| s.data_dir = data).await;
    let room = server.create_room("Board").await;
    let (_owner, _) = join_as(&server, &room, "Ada", true).await;
    let (_guest, _) = join_as(&server, &room, "Ben", false).await;
    let store = server.running.as_ref().unwrap().state.store.clone();
    until(&store, "two people in", |p, _| p.len() == 2).await;
    drop(store);
    server.stop().await;

    let store = plenary_store::open(&plenary_store::default_url(&dir))
        .await
        .unwrap();
    let people = store
        .usage_spans(SpanOf::People, &everything(), true)
        .await
        .unwrap();
    let meetings = store
        .usage_spans(SpanOf::Meetings, &everything(), true)
        .await
        .unwrap();
    assert_eq!(people.len(), 2);
    assert!(people.iter().all(|s| s.end_ms.is_some()), "{people:?}");
    assert!(
        meetings.len() == 1 && meetings[0].end_ms.is_some(),
        "{meetings:?}"
    );
    store.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn what_a_killed_run_left_open_is_closed_at_the_next_start() {
    let dir = std::env::temp_dir().join(format!("plenary-usage-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // What a run of node "n1" killed after its last renewal (two minutes ago: not stale yet,
    // so only this node's start may close it) leaves behind…
    let t0 = plenary_proto::clock::unix_millis() - 3_600_000;
    let alive = plenary_proto::clock::unix_millis() - 120_000;
    let store = plenary_store::open(&plenary_store::default_url(&dir))
        .await
        .unwrap();
    let mut m = UsageEvent::new(UsageKind::MeetingStarted, t0, "abc-defg-hij", t0);
    m.node = "n1".into();
    store
        .usage_open("n1/dead:m:abc-defg-hij:1000", &m)
        .await
        .unwrap();
    let mut p = UsageEvent::new(UsageKind::Joined, t0, "abc-defg-hij", t0);
    p.person = Some(5);
    store.usage_open("n1/dead:p:1", &p).await.unwrap();
    store.usage_alive("n1/dead:", alive).await.unwrap();
    store.close().await.unwrap();

    // …is closed at that renewal when the node starts again.
    let data = dir.clone();
    let server = TestServer::start_with(move |s| {
        s.data_dir = data;
        s.node_name = "n1".into();
    })
    .await;
    let store = server.running.as_ref().unwrap().state.store.clone();
    until(&store, "the dead run's usage closed", |p, m| {
        p.len() == 1 && p[0].end_ms == Some(alive) && m.len() == 1 && m[0].end_ms == Some(alive)
    })
    .await;
    drop(store);
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
