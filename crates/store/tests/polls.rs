//! A meeting's polls on both backends: a poll stored and listed with a zero count per option;
//! a vote and its counts in one transaction, once per voter (a second vote changes nothing,
//! counts included), only while the poll is open and its timer has not run out; a vote
//! without its choices (a secret poll's) stays without them, and no row's version or order
//! tells a vote's choice (every count row is rewritten by every vote; SQLite keeps no rowid);
//! closing once; an ended meeting's open polls closed; deleted with the room.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::Fresh;
use plenary_proto::RoomId;
use plenary_store::{NewRoom, PollRow, Store, VoteOutcome, VoteRow};

async fn polls(store: Arc<dyn Store>) -> RoomId {
    let room = RoomId::parse("pol-lsro-oms").unwrap();
    store
        .create_room(&NewRoom {
            id: room.clone(),
            name: "Assembly".into(),
            created_at: 1,
            owner_id: None,
            settings: "{}".into(),
            anonymous: false,
        })
        .await
        .unwrap();
    let poll = |meeting_ms, id| PollRow {
        room: room.clone(),
        meeting_ms,
        id,
        spec: r#"{"question":"Q?","kind":"yes_no"}"#.into(),
        by_name: "Mo".into(),
        opened_ms: 10,
        closes_ms: Some(70_010),
        closed_ms: None,
        node: "a/r1:".into(),
    };
    store.save_poll(&poll(100, 1), 3).await.unwrap();
    store.save_poll(&poll(100, 2), 3).await.unwrap();
    store.save_poll(&poll(200, 1), 3).await.unwrap();
    assert!(
        store.save_poll(&poll(100, 1), 3).await.is_err(),
        "an id is taken once"
    );
    let vote = |poll_id, voter: &str, choices: Option<Vec<u32>>| VoteRow {
        room: room.clone(),
        meeting_ms: 100,
        poll_id,
        voter: voter.into(),
        name: voter.to_uppercase(),
        choices,
    };
    let cast = |v: VoteRow, c: &'static [u32], now| {
        let store = store.clone();
        async move { store.cast_vote(&v, c, now).await.unwrap() }
    };
    assert_eq!(
        cast(vote(1, "account:1", None), &[0], 20).await,
        VoteOutcome::Counted
    );
    assert_eq!(
        cast(vote(1, "seat:x", None), &[2], 30).await,
        VoteOutcome::Counted
    );
    // The same voter again: refused, and the counts stay as they were.
    assert_eq!(
        cast(vote(1, "account:1", None), &[2], 40).await,
        VoteOutcome::AlreadyVoted
    );
    let named = |v, c: &[u32]| vote(2, v, Some(c.to_vec()));
    assert_eq!(
        cast(named("account:1", &[0, 2]), &[0, 2], 50).await,
        VoteOutcome::Counted
    );
    assert_eq!(
        cast(named("seat:x", &[2]), &[2], 60).await,
        VoteOutcome::Counted
    );
    // Its timer ran out (at 70 010): refused, though nobody closed it yet.
    assert_eq!(
        cast(named("seat:y", &[1]), &[1], 70_010).await,
        VoteOutcome::Closed
    );
    assert_eq!(
        store.poll_counts(&room, 100, 1).await.unwrap(),
        [(0, 1), (1, 0), (2, 1)]
    );
    assert_eq!(
        store.poll_counts(&room, 100, 2).await.unwrap(),
        [(0, 1), (1, 0), (2, 2)]
    );
    assert_eq!(
        store.poll_counts(&room, 200, 1).await.unwrap(),
        [(0, 0), (1, 0), (2, 0)]
    );
    // A vote in a poll that is not there writes nothing.
    assert_eq!(
        cast(vote(9, "account:1", None), &[0], 20).await,
        VoteOutcome::Closed
    );

    let secret = store.poll_votes(&room, 100, 1).await.unwrap();
    assert_eq!(
        secret,
        [vote(1, "account:1", None), vote(1, "seat:x", None)]
    );
    assert_eq!(
        store.poll_votes(&room, 100, 2).await.unwrap()[0].choices,
        Some(vec![0, 2])
    );

    assert!(store.close_poll(&room, 100, 1, 500).await.unwrap());
    assert!(
        !store.close_poll(&room, 100, 1, 600).await.unwrap(),
        "closed once"
    );
    assert_eq!(
        cast(vote(1, "seat:z", None), &[1], 510).await,
        VoteOutcome::Closed
    );
    let all = store.polls_of(&room, None).await.unwrap();
    assert_eq!(
        all.iter().map(|p| (p.meeting_ms, p.id)).collect::<Vec<_>>(),
        [(200, 1), (100, 1), (100, 2)]
    );
    let first = store.polls_of(&room, Some(100)).await.unwrap();
    assert_eq!(
        first[0],
        PollRow {
            closed_ms: Some(500),
            ..poll(100, 1)
        }
    );
    // Meeting 100 ended: what it left open is closed, not another meeting's.
    store
        .save_poll(
            &PollRow {
                node: "a_/r1:".into(),
                ..poll(300, 1)
            },
            3,
        )
        .await
        .unwrap();
    let open = || async {
        let polls = store.polls_of(&room, None).await.unwrap();
        polls
            .into_iter()
            .filter(|p| p.closed_ms.is_none())
            .map(|p| p.meeting_ms)
            .collect::<Vec<_>>()
    };
    assert_eq!(open().await, [300, 200, 100]);
    assert_eq!(store.close_meeting_polls(&room, 100, 800).await.unwrap(), 1);
    assert_eq!(open().await, [300, 200]);
    // Node a's next start closes what its runs left open; node a_'s are its own (the prefix
    // is text, not a pattern).
    assert_eq!(store.close_node_polls("a/", 900).await.unwrap(), 1);
    assert_eq!(open().await, [300]);
    assert_eq!(store.close_node_polls("a_/", 1000).await.unwrap(), 1);
    room
}

async fn deleted_with_the_room(store: &dyn Store, room: &RoomId) {
    assert!(store.delete_room(room).await.unwrap());
    assert!(store.polls_of(room, None).await.unwrap().is_empty());
    assert!(store.poll_votes(room, 100, 2).await.unwrap().is_empty());
    assert!(store.poll_counts(room, 100, 2).await.unwrap().is_empty());
}

#[tokio::test]
async fn polls_on_sqlite() {
    let db = Fresh::sqlite("polls").await;
    let room = polls(db.store.clone()).await;
    // No rowid whose order could be matched against the counts.
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    for table in ["poll_votes", "poll_counts"] {
        let q = format!("SELECT rowid FROM {table}");
        assert!(
            sqlx::query(sqlx::AssertSqlSafe(q))
                .fetch_all(&pool)
                .await
                .is_err(),
            "{table} has no rowid"
        );
    }
    pool.close().await;
    deleted_with_the_room(&*db.store, &room).await;
    db.finish().await;
}

#[tokio::test]
async fn polls_on_postgres() {
    let db = Fresh::postgres("polls").await;
    let room = polls(db.store.clone()).await;
    // Every count row of a poll was last written by its last vote, whatever that chose.
    use sqlx::Row as _;
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    for poll in [1_i64, 2] {
        let row = sqlx::query(
            "SELECT COUNT(DISTINCT xmin::text) FROM poll_counts WHERE meeting_ms = 100 AND poll_id = $1",
        )
        .bind(poll)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(row.get::<i64, _>(0), 1, "poll {poll}");
    }
    pool.close().await;
    deleted_with_the_room(&*db.store, &room).await;
    db.finish().await;
}
