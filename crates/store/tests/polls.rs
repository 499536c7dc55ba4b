//! A meeting's polls on both backends: a poll stored and listed; a vote and its counts in one
//! transaction, once per voter (a second vote changes nothing, counts included); a vote
//! without its choices (a secret poll's) stays without them; closing once; deleted with the
//! room.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::Fresh;
use plenary_proto::RoomId;
use plenary_store::{NewRoom, PollRow, Store, VoteRow};

async fn polls(store: Arc<dyn Store>) {
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
    };
    store.save_poll(&poll(100, 1)).await.unwrap();
    store.save_poll(&poll(100, 2)).await.unwrap();
    store.save_poll(&poll(200, 1)).await.unwrap();
    assert!(
        store.save_poll(&poll(100, 1)).await.is_err(),
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
    assert!(
        store
            .cast_vote(&vote(1, "account:1", None), &[0])
            .await
            .unwrap()
    );
    assert!(
        store
            .cast_vote(&vote(1, "seat:x", None), &[2])
            .await
            .unwrap()
    );
    // The same voter again: refused, and the counts stay as they were.
    assert!(
        !store
            .cast_vote(&vote(1, "account:1", None), &[2])
            .await
            .unwrap()
    );
    assert!(
        store
            .cast_vote(&vote(2, "account:1", Some(vec![0, 2])), &[0, 2])
            .await
            .unwrap()
    );
    assert!(
        store
            .cast_vote(&vote(2, "seat:x", Some(vec![2])), &[2])
            .await
            .unwrap()
    );
    assert_eq!(
        store.poll_counts(&room, 100, 1).await.unwrap(),
        [(0, 1), (2, 1)]
    );
    assert_eq!(
        store.poll_counts(&room, 100, 2).await.unwrap(),
        [(0, 1), (2, 2)]
    );
    assert!(store.poll_counts(&room, 200, 1).await.unwrap().is_empty());
    // A vote in a poll that is not there is an error, not a silent loss.
    assert!(
        store
            .cast_vote(&vote(9, "account:1", None), &[0])
            .await
            .is_err()
    );

    let secret = store.poll_votes(&room, 100, 1).await.unwrap();
    assert_eq!(
        secret,
        [vote(1, "account:1", None), vote(1, "seat:x", None)]
    );
    let named = store.poll_votes(&room, 100, 2).await.unwrap();
    assert_eq!(named[0].choices, Some(vec![0, 2]));

    assert!(store.close_poll(&room, 100, 1, 500).await.unwrap());
    assert!(
        !store.close_poll(&room, 100, 1, 600).await.unwrap(),
        "closed once"
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
    assert_eq!(first.len(), 2);

    assert!(store.delete_room(&room).await.unwrap());
    assert!(store.polls_of(&room, None).await.unwrap().is_empty());
    assert!(store.poll_votes(&room, 100, 2).await.unwrap().is_empty());
    assert!(store.poll_counts(&room, 100, 2).await.unwrap().is_empty());
}

#[tokio::test]
async fn polls_on_sqlite() {
    let db = Fresh::sqlite("polls").await;
    polls(db.store.clone()).await;
    db.finish().await;
}

#[tokio::test]
async fn polls_on_postgres() {
    let db = Fresh::postgres("polls").await;
    polls(db.store.clone()).await;
    db.finish().await;
}
