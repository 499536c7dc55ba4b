//! A meeting's shared minutes on both backends: edits stored in order and read back with the
//! state; a compaction replaces the state and drops exactly the edits it holds (later ones
//! stay), and an older one arriving late changes nothing; meetings kept apart and listed;
//! deleted with the room.
#![allow(clippy::unwrap_used)]

mod common;

use common::Fresh;
use plenary_proto::RoomId;
use plenary_store::{NewRoom, Store};

async fn minutes(store: &dyn Store) {
    let room = RoomId::parse("min-utes-roo").unwrap();
    store
        .create_room(&NewRoom {
            id: room.clone(),
            name: "Minutes".into(),
            created_at: 1,
            owner_id: None,
            settings: "{}".into(),
            anonymous: false,
        })
        .await
        .unwrap();
    assert_eq!(store.minutes(&room, 100).await.unwrap(), None);
    store
        .add_minutes_edit(&room, 100, 1, b"one", 1_000)
        .await
        .unwrap();
    store
        .add_minutes_edit(&room, 100, 2, b"two", 2_000)
        .await
        .unwrap();
    store
        .add_minutes_edit(&room, 200, 1, b"other", 3_000)
        .await
        .unwrap();
    assert!(
        store
            .add_minutes_edit(&room, 100, 2, b"again", 4_000)
            .await
            .is_err(),
        "a number is taken once"
    );
    let m = store.minutes(&room, 100).await.unwrap().unwrap();
    assert_eq!(m.state, b"");
    assert_eq!(m.edits, vec![(1, b"one".to_vec()), (2, b"two".to_vec())]);
    assert_eq!(m.updated_ms, 2_000);
    // A compaction through 1, with 2 arriving meanwhile: 2 stays.
    assert!(
        store
            .compact_minutes(&room, 100, b"state-1", 1)
            .await
            .unwrap()
    );
    store
        .add_minutes_edit(&room, 100, 3, b"three", 5_000)
        .await
        .unwrap();
    let m = store.minutes(&room, 100).await.unwrap().unwrap();
    assert_eq!(m.state, b"state-1");
    assert_eq!(m.edits, vec![(2, b"two".to_vec()), (3, b"three".to_vec())]);
    // An older compaction arriving late (through 1 again, or 0) puts nothing back.
    assert!(
        !store
            .compact_minutes(&room, 100, b"state-0", 1)
            .await
            .unwrap()
    );
    assert!(
        !store
            .compact_minutes(&room, 100, b"state-0", 0)
            .await
            .unwrap()
    );
    let m = store.minutes(&room, 100).await.unwrap().unwrap();
    assert_eq!(m.state, b"state-1");
    assert_eq!((m.edits.len(), m.compacted_seq), (2, 1));
    assert!(
        store
            .compact_minutes(&room, 100, b"state-3", 3)
            .await
            .unwrap()
    );
    let m = store.minutes(&room, 100).await.unwrap().unwrap();
    assert_eq!((m.state.as_slice(), m.edits.len()), (&b"state-3"[..], 0));
    let list = store.minutes_of(&room).await.unwrap();
    assert_eq!(
        list.iter()
            .map(|m| (m.meeting_ms, m.updated_ms))
            .collect::<Vec<_>>(),
        vec![(200, 3_000), (100, 5_000)]
    );
    assert!(store.delete_room(&room).await.unwrap());
    assert_eq!(store.minutes(&room, 100).await.unwrap(), None);
    assert!(store.minutes_of(&room).await.unwrap().is_empty());
}

#[tokio::test]
async fn minutes_on_sqlite() {
    let db = Fresh::sqlite("minutes").await;
    minutes(&*db.store).await;
    db.finish().await;
}

#[tokio::test]
async fn minutes_on_postgres() {
    let db = Fresh::postgres("minutes").await;
    minutes(&*db.store).await;
    db.finish().await;
}
