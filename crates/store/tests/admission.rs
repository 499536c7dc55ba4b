//! Admission's storage on both backends: seats (one per token, taken over by a reload,
//! limits counted and written atomically), room creation within an owner's limit under
//! concurrent requests, unused anonymous rooms, API tokens, membership requests an account
//! must accept, invitations for existing accounts, and a new password ending old sessions.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::sync::Arc;

use common::Fresh;
use plenary_proto::RoomId;
use plenary_store::{
    NewApiToken, NewInvitation, NewOrganisation, NewRoom, NewUser, SOURCE_ACCEPTED, SeatTaken,
    Store, StoreError, UserStatus,
};

fn user(email: &str) -> NewUser {
    NewUser {
        email: email.into(),
        name: email.split('@').next().unwrap().into(),
        password_hash: None,
        is_admin: false,
        status: UserStatus::Active,
        created_at: 1,
    }
}

fn room(id: &str, owner: Option<i64>) -> NewRoom {
    NewRoom::new(RoomId::parse(id).unwrap(), "R", 100, owner)
}

/// Opens the pool's connections (several statements at once), so that later concurrent
/// calls do not wait for connections to be made one by one.
async fn warm(store: &Arc<dyn Store>) {
    let pings: Vec<_> = (0..8)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move {
                for _ in 0..20 {
                    s.ping().await.unwrap();
                }
            })
        })
        .collect();
    for p in pings {
        p.await.unwrap();
    }
}

async fn story(store: Arc<dyn Store>) {
    let s = &*store;
    let ada = s.create_user(&user("ada@example.coop")).await.unwrap();
    let r = s
        .create_room(&room("abc-defg-hij", Some(ada.id)))
        .await
        .unwrap();
    let other = s.create_room(&room("klm-nopq-rst", None)).await.unwrap();
    let far = i64::MAX / 2;

    // One seat: taken, then taken over (a reload); it counts once.
    s.add_seat("s1", &r.id, far, 1).await.unwrap();
    assert_eq!(
        s.take_seat("s1", &r.id, "n/r1:1", Some(1), 2)
            .await
            .unwrap(),
        SeatTaken::Taken { previous: None }
    );
    assert_eq!(
        s.take_seat("s1", &r.id, "n/r1:2", Some(1), 3)
            .await
            .unwrap(),
        SeatTaken::Taken {
            previous: Some("n/r1:1".into())
        }
    );
    assert_eq!(s.held_seats(&r.id).await.unwrap(), 1);
    // A second seat past the limit of one is refused; the first's holder leaving frees it.
    s.add_seat("s2", &r.id, far, 1).await.unwrap();
    assert_eq!(
        s.take_seat("s2", &r.id, "n/r1:3", Some(1), 4)
            .await
            .unwrap(),
        SeatTaken::Full
    );
    assert!(
        !s.release_seat("s1", "n/r1:1").await.unwrap(),
        "not its holder any more"
    );
    assert!(s.release_seat("s1", "n/r1:2").await.unwrap());
    assert_eq!(
        s.take_seat("s2", &r.id, "n/r1:3", Some(1), 5)
            .await
            .unwrap(),
        SeatTaken::Taken { previous: None }
    );
    // Unknown seats, seats of another room, expired seats, gone rooms.
    assert_eq!(
        s.take_seat("nope", &r.id, "n/r1:4", None, 5).await.unwrap(),
        SeatTaken::Unknown
    );
    assert_eq!(
        s.take_seat("s1", &other.id, "n/r1:4", None, 5)
            .await
            .unwrap(),
        SeatTaken::Unknown
    );
    s.add_seat("old", &r.id, 10, 1).await.unwrap();
    assert_eq!(
        s.take_seat("old", &r.id, "n/r1:5", None, 10).await.unwrap(),
        SeatTaken::Unknown
    );
    assert_eq!(
        s.take_seat(
            "s1",
            &RoomId::parse("zzz-zzzz-zzz").unwrap(),
            "n/r1:4",
            None,
            5
        )
        .await
        .unwrap(),
        SeatTaken::Unknown
    );
    // A seat can be made to last (a guest in the lobby), never made up.
    assert!(s.extend_seat("s2", &r.id, far, 6).await.unwrap());
    assert!(!s.extend_seat("made-up", &r.id, far, 6).await.unwrap());
    assert!(
        !s.extend_seat("old", &r.id, far, 11).await.unwrap(),
        "expired"
    );
    assert_eq!(
        s.node_seats("n/r1:").await.unwrap(),
        vec![("s2".to_owned(), "n/r1:3".to_owned())]
    );
    // Names are compared as they are: no wildcards, no case folding.
    assert!(s.node_seats("N/").await.unwrap().is_empty());
    assert!(s.node_seats("_/").await.unwrap().is_empty());
    assert_eq!(s.release_node_seats("_/").await.unwrap(), 0);
    // A lease not renewed lapses; a renewed one stays.
    assert_eq!(s.renew_seats("n/r1:", 100).await.unwrap(), 1);
    assert_eq!(s.free_stale_seats(100).await.unwrap(), 0);
    assert_eq!(s.held_seats(&r.id).await.unwrap(), 1);
    assert_eq!(s.free_stale_seats(101).await.unwrap(), 1);
    assert_eq!(s.held_seats(&r.id).await.unwrap(), 0);
    assert_eq!(
        s.take_seat("s2", &r.id, "n/r1:3", Some(1), 5)
            .await
            .unwrap(),
        SeatTaken::Taken { previous: None }
    );
    // A restarted node frees what its participants held.
    assert_eq!(s.release_node_seats("n/").await.unwrap(), 1);
    assert_eq!(s.held_seats(&r.id).await.unwrap(), 0);

    // Thirty people racing for a meeting of one: exactly one gets in. (The pool is warmed
    // first, so that the racers really run at once.)
    warm(&store).await;
    for i in 0..30 {
        s.add_seat(&format!("race-{i}"), &other.id, far, 1)
            .await
            .unwrap();
    }
    let takes: Vec<_> = (0..30)
        .map(|i| {
            let store = store.clone();
            let id = other.id.clone();
            tokio::spawn(async move {
                store
                    .take_seat(&format!("race-{i}"), &id, &format!("n/r1:{i}"), Some(1), 2)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut taken = 0;
    for t in takes {
        match t.await.unwrap() {
            SeatTaken::Taken { previous: None } => taken += 1,
            SeatTaken::Full => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(taken, 1, "a limit of one let {taken} in");

    // Thirty parallel creates against a limit of one room: exactly one room.
    let bo = s.create_user(&user("bo@example.coop")).await.unwrap();
    warm(&store).await;
    let creates: Vec<_> = (0..30)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let r = room(&format!("bo-room-{i:03}"), Some(bo.id));
                store.create_room_within(&r, Some(1)).await
            })
        })
        .collect();
    let mut made = 0;
    for c in creates {
        match c.await.unwrap() {
            Ok(_) => made += 1,
            Err(StoreError::LimitReached(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(made, 1, "a limit of one room made {made}");
    assert_eq!(s.rooms_of(bo.id).await.unwrap().len(), 1);

    // Anonymous rooms unused for long are deleted; others stay.
    let anon = NewRoom {
        anonymous: true,
        ..room("anon-room-one", None)
    };
    s.create_room(&anon).await.unwrap();
    s.touch_room(&other.id, 100).await.unwrap();
    assert_eq!(s.delete_unused_anonymous_rooms(100).await.unwrap(), vec![]);
    s.touch_room(&anon.id, 150).await.unwrap();
    assert_eq!(s.delete_unused_anonymous_rooms(150).await.unwrap(), vec![]);
    assert_eq!(
        s.delete_unused_anonymous_rooms(151).await.unwrap(),
        vec![anon.id.clone()]
    );
    assert!(
        s.get_room(&other.id).await.unwrap().is_some(),
        "not anonymous"
    );

    // API tokens act as their account until revoked.
    let t = s
        .create_api_token(&NewApiToken {
            token_hash: "hash-1".into(),
            name: "loadgen".into(),
            user_id: ada.id,
            created_at: 5,
        })
        .await
        .unwrap();
    assert_eq!(t.user_email, "ada@example.coop");
    assert_eq!(
        s.api_token_user("hash-1", 6).await.unwrap().unwrap().id,
        ada.id
    );
    assert!(s.api_token_user("hash-2", 6).await.unwrap().is_none());
    assert_eq!(s.api_tokens().await.unwrap()[0].last_used_at, Some(6));
    assert!(s.delete_api_token(t.id).await.unwrap());
    assert!(s.api_token_user("hash-1", 7).await.unwrap().is_none());

    // Membership only with the account's consent.
    let org = s
        .create_org(&NewOrganisation {
            name: "social.coop".into(),
            max_rooms_per_member: Some(1),
            max_participants: None,
            max_meeting_minutes: None,
            created_at: 1,
        })
        .await
        .unwrap();
    s.request_membership(org.id, bo.id, true, Some(ada.id), 8)
        .await
        .unwrap();
    assert!(
        s.orgs_of(bo.id).await.unwrap().is_empty(),
        "a request is not a membership"
    );
    let asked = s.membership_requests(None, Some(bo.id)).await.unwrap();
    assert_eq!(
        (
            asked[0].org.id,
            asked[0].is_admin,
            asked[0].invited_by.as_deref()
        ),
        (org.id, true, Some("ada"))
    );
    assert_eq!(
        s.membership_requests(Some(org.id), None)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        s.answer_membership_request(org.id, bo.id, false)
            .await
            .unwrap()
    );
    assert!(s.orgs_of(bo.id).await.unwrap().is_empty());
    assert!(
        !s.answer_membership_request(org.id, bo.id, true)
            .await
            .unwrap(),
        "answered"
    );
    s.request_membership(org.id, bo.id, false, None, 9)
        .await
        .unwrap();
    assert!(
        s.answer_membership_request(org.id, bo.id, true)
            .await
            .unwrap()
    );
    let m = s.orgs_of(bo.id).await.unwrap();
    assert_eq!(
        (m[0].org.id, m[0].is_admin, m[0].source.as_str()),
        (org.id, false, SOURCE_ACCEPTED)
    );
    // A provider's sign-in does not take an accepted membership away.
    s.sync_memberships(bo.id, "sso:coop", &[]).await.unwrap();
    assert_eq!(s.orgs_of(bo.id).await.unwrap().len(), 1);

    // An invitation an existing account accepts: only for its own address, once.
    let cy = s.create_user(&user("cy@example.coop")).await.unwrap();
    s.create_invitation(&NewInvitation {
        token_hash: "inv".into(),
        email: "cy@example.coop".into(),
        org_id: Some(org.id),
        org_admin: false,
        invited_by: Some(ada.id),
        created_at: 1,
        expires_at: far,
    })
    .await
    .unwrap();
    assert!(matches!(
        s.join_by_invitation("inv", &bo, 10).await,
        Err(StoreError::Gone(_))
    ));
    assert_eq!(
        s.join_by_invitation("inv", &cy, 10).await.unwrap(),
        Some(org.id)
    );
    assert_eq!(s.orgs_of(cy.id).await.unwrap()[0].source, SOURCE_ACCEPTED);
    assert!(matches!(
        s.join_by_invitation("inv", &cy, 11).await,
        Err(StoreError::Gone(_))
    ));

    // A new password ends every session of the account.
    s.create_session("sess", ada.id, "c", far).await.unwrap();
    assert!(s.session("sess", 1).await.unwrap().is_some());
    assert!(s.set_password_hash(ada.id, "new-hash").await.unwrap());
    assert!(s.session("sess", 1).await.unwrap().is_none());

    s.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_admission() {
    let db = Fresh::sqlite("admission").await;
    story(db.store.clone()).await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_admission() {
    let db = Fresh::postgres("admission").await;
    story(db.store.clone()).await;
    db.finish().await;
}
