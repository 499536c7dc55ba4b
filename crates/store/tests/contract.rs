//! One contract for every storage backend: the same story runs against SQLite and PostgreSQL.
//!
//! PostgreSQL is expected at `PLENARY_TEST_POSTGRES_URL` (default: the machine's local server,
//! database `test`); the test command starts it if it is not running. Each run works in a fresh
//! schema and drops it afterwards. A missing server fails the test: it is never skipped.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::sync::Arc;

use common::Fresh;

use plenary_proto::RoomId;
use plenary_store::{
    ApiMeeting, Identity, NewOrganisation, NewRoom, NewUser, NewWebhook, SOURCE_MANUAL, Store,
    StoreError, UserStatus,
};

async fn story(store: Arc<dyn Store>) {
    // Migrations are idempotent: a restart runs them again.
    store.migrate().await.unwrap();

    let a = NewRoom {
        id: RoomId::parse("abc-defg-hij").unwrap(),
        name: "Board meeting ✓ «été»".into(),
        created_at: 1_700_000_000,
        owner_id: None,
        settings: "{}".into(),
        anonymous: false,
    };
    let b = NewRoom {
        id: RoomId::parse("klm-nopq-rst").unwrap(),
        name: "Members' assembly".into(),
        created_at: 1_700_000_100,
        owner_id: None,
        settings: "{}".into(),
        anonymous: false,
    };
    assert_eq!(store.create_room(&a).await.unwrap().name, a.name);
    store.create_room(&b).await.unwrap();

    // The same id again is a conflict, not a crash, and changes nothing.
    let dup = NewRoom {
        name: "other".into(),
        ..a.clone()
    };
    assert!(matches!(
        store.create_room(&dup).await,
        Err(StoreError::Conflict(_))
    ));

    let got = store.get_room(&a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.id, got.name, got.created_at),
        (a.id.clone(), a.name.clone(), a.created_at)
    );
    assert!(
        store
            .get_room(&RoomId::parse("nope-nope").unwrap())
            .await
            .unwrap()
            .is_none()
    );

    let listed: Vec<String> = store
        .list_rooms(10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(listed, ["klm-nopq-rst", "abc-defg-hij"]);
    assert_eq!(store.list_rooms(1).await.unwrap().len(), 1);

    assert!(store.delete_room(&a.id).await.unwrap());
    assert!(!store.delete_room(&a.id).await.unwrap());
    assert!(store.get_room(&a.id).await.unwrap().is_none());

    api_meetings(&*store).await;
    webhooks(&*store).await;
    accounts(&*store).await;
    recordings(&*store).await;
}

async fn accounts(store: &dyn Store) {
    assert_eq!(store.count_users().await.unwrap(), 0);
    let ada = NewUser {
        email: "ada@example.coop".into(),
        name: "Ada Lovelace".into(),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        is_admin: true,
        status: UserStatus::Active,
        created_at: 1_700_000_000,
    };
    let ada = store.create_user(&ada).await.unwrap();
    let bo = store
        .create_user(&NewUser {
            email: "bo@example.coop".into(),
            name: "Bo".into(),
            password_hash: None,
            is_admin: false,
            status: UserStatus::Pending,
            created_at: 1_700_000_001,
        })
        .await
        .unwrap();
    assert_ne!(ada.id, bo.id);
    let again = NewUser {
        name: "Someone else".into(),
        ..NewUser {
            email: "ada@example.coop".into(),
            name: String::new(),
            password_hash: None,
            is_admin: false,
            status: UserStatus::Active,
            created_at: 0,
        }
    };
    assert!(matches!(
        store.create_user(&again).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.user_by_email("ada@example.coop").await.unwrap(),
        Some(ada.clone())
    );
    assert_eq!(
        store.user_by_id(bo.id).await.unwrap().unwrap().status,
        UserStatus::Pending
    );
    assert!(
        store
            .user_by_email("nobody@example.coop")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.count_users().await.unwrap(), 2);

    // Search (pending first, any case, LIKE wildcards taken literally) and updates.
    let found: Vec<String> = store
        .search_users("EXAMPLE.coop", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    assert_eq!(found, ["bo@example.coop", "ada@example.coop"]);
    assert_eq!(store.search_users("lovelace", 10).await.unwrap().len(), 1);
    assert!(store.search_users("%", 10).await.unwrap().is_empty());
    assert!(store.search_users("_", 10).await.unwrap().is_empty());
    assert_eq!(store.search_users("", 1).await.unwrap().len(), 1);
    assert!(
        store
            .update_user(bo.id, UserStatus::Active, true)
            .await
            .unwrap()
    );
    let bo2 = store.user_by_id(bo.id).await.unwrap().unwrap();
    assert_eq!((bo2.status, bo2.is_admin), (UserStatus::Active, true));
    assert!(
        !store
            .update_user(999_999, UserStatus::Active, false)
            .await
            .unwrap()
    );

    // Sessions: found while valid, gone when expired or deleted.
    store
        .create_session("hash-1", ada.id, "csrf-1", 2_000)
        .await
        .unwrap();
    let (u, csrf) = store.session("hash-1", 1_999).await.unwrap().unwrap();
    assert_eq!((u.id, csrf.as_str()), (ada.id, "csrf-1"));
    assert!(store.session("hash-1", 2_000).await.unwrap().is_none());
    assert!(store.session("hash-2", 0).await.unwrap().is_none());
    store.delete_session("hash-1").await.unwrap();
    assert!(store.session("hash-1", 0).await.unwrap().is_none());

    // Organisations and memberships.
    let coop = NewOrganisation {
        name: "social.coop".into(),
        max_rooms_per_member: Some(2),
        max_participants: None,
        max_meeting_minutes: Some(90),
        created_at: 1,
    };
    let org = store.create_org(&coop).await.unwrap();
    assert!(matches!(
        store.create_org(&coop).await,
        Err(StoreError::Conflict(_))
    ));
    let other = store
        .create_org(&NewOrganisation {
            name: "Radical Routes".into(),
            max_rooms_per_member: None,
            max_participants: Some(50),
            max_meeting_minutes: None,
            created_at: 2,
        })
        .await
        .unwrap();
    let names: Vec<String> = store
        .list_orgs()
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(names, ["Radical Routes", "social.coop"]);
    store.set_org_member(org.id, ada.id, false).await.unwrap();
    store.set_org_member(org.id, ada.id, true).await.unwrap(); // an update, not a second row
    store.set_org_member(other.id, ada.id, false).await.unwrap();
    let mine = store.orgs_of(ada.id).await.unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(
        (
            mine[1].org.name.as_str(),
            mine[1].is_admin,
            mine[1].org.max_rooms_per_member,
            mine[1].source.as_str()
        ),
        ("social.coop", true, Some(2), SOURCE_MANUAL)
    );
    assert!(store.orgs_of(bo.id).await.unwrap().is_empty());
    assert_eq!(
        store.org_by_name("social.coop").await.unwrap().unwrap().id,
        org.id
    );
    assert_eq!(
        store.org_by_id(org.id).await.unwrap().unwrap().name,
        "social.coop"
    );
    assert!(store.org_by_name("Social.coop").await.unwrap().is_none());
    assert!(store.org_by_id(-1).await.unwrap().is_none());

    // Rooms owned by an account.
    let owned = NewRoom {
        id: RoomId::parse("own-room-one").unwrap(),
        name: "Ada's".into(),
        created_at: 1_700_000_500,
        owner_id: Some(ada.id),
        settings: "{}".into(),
        anonymous: false,
    };
    store.create_room(&owned).await.unwrap();
    let mine = store.rooms_of(ada.id).await.unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0].owner_id, Some(ada.id));
    assert!(store.rooms_of(bo.id).await.unwrap().is_empty());
    assert_eq!(mine[0].settings, "{}");
    assert!(
        store
            .set_room_settings(&owned.id, r#"{"waiting_room":true}"#)
            .await
            .unwrap()
    );
    let got = store.get_room(&owned.id).await.unwrap().unwrap();
    assert_eq!(got.settings, r#"{"waiting_room":true}"#);
    assert!(
        !store
            .set_room_settings(&RoomId::parse("no-such-room").unwrap(), "{}")
            .await
            .unwrap()
    );

    // Sharing: Bo co-owns Ada's room; sharing twice is one share; deleting the room ends it.
    store.share_room(&owned.id, bo.id).await.unwrap();
    store.share_room(&owned.id, bo.id).await.unwrap();
    let co: Vec<i64> = store
        .co_owners(&owned.id)
        .await
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(co, [bo.id]);
    let shared = store.rooms_shared_with(bo.id).await.unwrap();
    assert_eq!(shared.len(), 1);
    assert_eq!(shared[0].id, owned.id);
    assert!(store.rooms_shared_with(ada.id).await.unwrap().is_empty());
    assert!(store.unshare_room(&owned.id, bo.id).await.unwrap());
    assert!(!store.unshare_room(&owned.id, bo.id).await.unwrap());
    assert!(store.co_owners(&owned.id).await.unwrap().is_empty());
    store.share_room(&owned.id, bo.id).await.unwrap();
    let gone = NewRoom {
        id: RoomId::parse("gone-room-two").unwrap(),
        name: "Gone".into(),
        created_at: 1_700_000_600,
        owner_id: Some(ada.id),
        settings: "{}".into(),
        anonymous: false,
    };
    store.create_room(&gone).await.unwrap();
    store.share_room(&gone.id, bo.id).await.unwrap();
    assert!(store.delete_room(&gone.id).await.unwrap());
    assert_eq!(store.rooms_shared_with(bo.id).await.unwrap().len(), 1);

    // An organisation's rooms are its members' rooms; its members, admins first.
    let org_rooms = store.rooms_of_org(org.id).await.unwrap();
    assert_eq!(org_rooms.len(), 1);
    assert_eq!(org_rooms[0].id, owned.id);
    store.set_org_member(org.id, bo.id, false).await.unwrap();
    let members = store.org_members(org.id).await.unwrap();
    let who: Vec<(&str, bool)> = members
        .iter()
        .map(|m| (m.user.email.as_str(), m.is_admin))
        .collect();
    assert_eq!(
        who,
        [(ada.email.as_str(), true), (bo.email.as_str(), false)]
    );
    assert!(store.remove_org_member(org.id, bo.id).await.unwrap());
    assert!(!store.remove_org_member(org.id, bo.id).await.unwrap());
    assert_eq!(store.org_members(org.id).await.unwrap().len(), 1);

    // Single sign-on: memberships a provider's rules give are replaced at each sign-in, the
    // ones an admin set by hand are kept.
    let sso = "sso:coop-id";
    store
        .sync_memberships(bo.id, sso, &[(org.id, true), (other.id, false)])
        .await
        .unwrap();
    let got = store.orgs_of(bo.id).await.unwrap();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|m| m.source == sso));
    assert!(got.iter().any(|m| m.org.id == org.id && m.is_admin));
    store
        .sync_memberships(bo.id, sso, &[(other.id, false)])
        .await
        .unwrap();
    let got = store.orgs_of(bo.id).await.unwrap();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].org.id, other.id);
    // Ada is a manual admin of social.coop; a rule saying "member" does not change that, and
    // a sign-in with no rule for it does not remove it.
    store
        .sync_memberships(ada.id, sso, &[(org.id, false)])
        .await
        .unwrap();
    store.sync_memberships(ada.id, sso, &[]).await.unwrap();
    let ada_orgs = store.orgs_of(ada.id).await.unwrap();
    let social = ada_orgs.iter().find(|m| m.org.id == org.id).unwrap();
    assert_eq!(
        (social.is_admin, social.source.as_str()),
        (true, SOURCE_MANUAL)
    );

    // Identities: a provider's subject links to one account; saving again updates it.
    assert!(
        store
            .identity_user("coop-id", "sub-1")
            .await
            .unwrap()
            .is_none()
    );
    let mut ident = Identity {
        provider: "coop-id".into(),
        subject: "sub-1".into(),
        user_id: bo.id,
        explanation: r#"{"rules":[]}"#.into(),
        last_signin_at: 1_700_000_900,
    };
    store.save_identity(&ident).await.unwrap();
    ident.explanation = r#"{"rules":[1]}"#.into();
    ident.last_signin_at += 60;
    store.save_identity(&ident).await.unwrap();
    assert_eq!(
        store.identity_user("coop-id", "sub-1").await.unwrap(),
        Some(bo.id)
    );
    assert!(
        store
            .identity_user("other-id", "sub-1")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.identities_of(bo.id).await.unwrap(), [ident]);
    assert!(store.identities_of(ada.id).await.unwrap().is_empty());
    assert_eq!(
        store.identity_counts().await.unwrap(),
        [("coop-id".to_owned(), 1)]
    );

    // Platform admin from a provider: given and taken back by that provider only; an admin
    // set by hand stays whatever a provider says.
    store
        .update_user(bo.id, UserStatus::Active, false)
        .await
        .unwrap();
    assert_eq!(store.admin_source(bo.id).await.unwrap(), None);
    assert!(store.sync_platform_admin(bo.id, sso, true).await.unwrap());
    assert_eq!(
        store.admin_source(bo.id).await.unwrap().as_deref(),
        Some(sso)
    );
    assert!(
        store
            .sync_platform_admin(bo.id, "sso:other", false)
            .await
            .unwrap()
    );
    assert!(!store.sync_platform_admin(bo.id, sso, false).await.unwrap());
    assert!(store.sync_platform_admin(ada.id, sso, false).await.unwrap());
    assert!(store.sync_platform_admin(ada.id, sso, true).await.unwrap());
    assert!(store.sync_platform_admin(ada.id, sso, false).await.unwrap());
    assert_eq!(
        store.admin_source(ada.id).await.unwrap().as_deref(),
        Some(SOURCE_MANUAL)
    );
    // Admin through two providers: the one that granted last owns the role.
    assert!(store.sync_platform_admin(bo.id, sso, true).await.unwrap());
    assert!(
        store
            .sync_platform_admin(bo.id, "sso:other", true)
            .await
            .unwrap()
    );
    assert!(store.sync_platform_admin(bo.id, sso, false).await.unwrap());
    assert!(
        !store
            .sync_platform_admin(bo.id, "sso:other", false)
            .await
            .unwrap()
    );
    // Made admin by a provider, then confirmed by hand: the provider no longer takes it back.
    store.sync_platform_admin(bo.id, sso, true).await.unwrap();
    store
        .update_user(bo.id, UserStatus::Active, false)
        .await
        .unwrap();
    store
        .update_user(bo.id, UserStatus::Active, true)
        .await
        .unwrap();
    assert!(store.sync_platform_admin(bo.id, sso, false).await.unwrap());
    store
        .update_user(bo.id, UserStatus::Active, false)
        .await
        .unwrap();

    // An identity provider proves an address: the account's password and sessions go.
    store
        .create_session("claimed-session", ada.id, "csrf", 1_900_000_000)
        .await
        .unwrap();
    store.claim_account(ada.id).await.unwrap();
    let claimed = store.user_by_id(ada.id).await.unwrap().unwrap();
    assert_eq!(claimed.password_hash, None);
    assert!(
        store
            .session("claimed-session", 1_700_000_000)
            .await
            .unwrap()
            .is_none()
    );

    site_and_invitations(store, &org).await;
}

async fn site_and_invitations(store: &dyn Store, org: &plenary_store::Organisation) {
    // Site settings: set, replaced, listed by key.
    assert!(store.site_settings().await.unwrap().is_empty());
    store.set_site_setting("site_name", "Meet").await.unwrap();
    store.set_site_setting("signup", "open").await.unwrap();
    store
        .set_site_setting("site_name", "meet.coop «réunions»")
        .await
        .unwrap();
    assert_eq!(
        store.site_settings().await.unwrap(),
        [
            ("signup".to_owned(), "open".to_owned()),
            ("site_name".to_owned(), "meet.coop «réunions»".to_owned())
        ]
    );

    // Rooms found by name or link, any case; LIKE wildcards are plain text.
    let found = store.search_rooms("ASSEMBLY", 10).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "Members' assembly");
    assert_eq!(store.search_rooms("klm-nopq", 10).await.unwrap().len(), 1);
    assert!(store.search_rooms("%", 10).await.unwrap().is_empty());
    assert!(!store.search_rooms("", 10).await.unwrap().is_empty());

    // Invitations: used once, not after they expire, into their organisation.
    let new = |hash: &str, email: &str, expires_at| plenary_store::NewInvitation {
        token_hash: hash.into(),
        email: email.into(),
        org_id: Some(org.id),
        org_admin: true,
        invited_by: None,
        created_at: 1_700_000_000,
        expires_at,
    };
    let inv = store
        .create_invitation(&new("h1", "cy@example.coop", 1_700_100_000))
        .await
        .unwrap();
    let stale = store
        .create_invitation(&plenary_store::NewInvitation {
            org_id: None,
            org_admin: false,
            ..new("h2", "di@example.coop", 1_700_000_500)
        })
        .await
        .unwrap();
    assert_eq!(store.invitation("h1").await.unwrap(), Some(inv.clone()));
    assert!(store.invitation("nope").await.unwrap().is_none());
    assert_eq!(store.open_invitations(None).await.unwrap().len(), 2);
    assert_eq!(
        store.open_invitations(Some(org.id)).await.unwrap(),
        std::slice::from_ref(&inv)
    );
    let user = NewUser {
        email: "ignored@example.coop".into(),
        name: "Cy".into(),
        password_hash: None,
        is_admin: false,
        status: UserStatus::Active,
        created_at: 1_700_001_000,
    };
    assert!(matches!(
        store.accept_invitation("h2", &user, 1_700_001_000).await,
        Err(StoreError::Gone(_))
    ));
    // At the very second it expires, it is over.
    assert!(matches!(
        store.accept_invitation("h2", &user, 1_700_000_500).await,
        Err(StoreError::Gone(_))
    ));
    let cy = store
        .accept_invitation("h1", &user, 1_700_001_000)
        .await
        .unwrap();
    assert_eq!(cy.email, "cy@example.coop");
    assert_eq!(
        store.user_by_email("cy@example.coop").await.unwrap(),
        Some(cy.clone())
    );
    let cy_orgs = store.orgs_of(cy.id).await.unwrap();
    assert_eq!(cy_orgs.len(), 1);
    assert!(cy_orgs[0].is_admin && cy_orgs[0].org.id == org.id);
    assert!(matches!(
        store.accept_invitation("h1", &user, 1_700_001_001).await,
        Err(StoreError::Gone(_))
    ));
    let used = store.invitation("h1").await.unwrap().unwrap();
    assert_eq!(
        (used.used_by, used.used_at),
        (Some(cy.id), Some(1_700_001_000))
    );
    assert!(
        store
            .open_invitations(Some(org.id))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!store.delete_invitation(inv.id).await.unwrap());
    // An invitation for an address that has an account by now: a conflict, and the
    // invitation stays usable (nothing half-done).
    store
        .create_invitation(&new("h3", "cy@example.coop", 1_700_100_000))
        .await
        .unwrap();
    assert!(matches!(
        store.accept_invitation("h3", &user, 1_700_001_000).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        store
            .invitation("h3")
            .await
            .unwrap()
            .unwrap()
            .used_at
            .is_none()
    );
    assert!(store.delete_invitation(stale.id).await.unwrap());
    assert!(!store.delete_invitation(stale.id).await.unwrap());

    // Mapping rules added in the portal: per provider, oldest first, removed one by one.
    let rule = |provider: &str, kind: &str, value: &str| plenary_store::SsoRule {
        id: 0,
        provider: provider.into(),
        kind: kind.into(),
        value: value.into(),
        org: "Radical Routes".into(),
        is_admin: true,
        created_at: 1_700_000_000,
    };
    let r1 = store
        .add_sso_rule(&rule("coop-id", "group", "/rr"))
        .await
        .unwrap();
    let r2 = store
        .add_sso_rule(&rule("coop-id", "default", ""))
        .await
        .unwrap();
    store
        .add_sso_rule(&rule("other-id", "email_domain", "rr.org"))
        .await
        .unwrap();
    assert_ne!(r1.id, r2.id);
    assert_eq!(
        store.sso_rules("coop-id").await.unwrap(),
        [r1.clone(), r2.clone()]
    );
    assert!(!store.delete_sso_rule("other-id", r1.id).await.unwrap());
    assert!(store.delete_sso_rule("coop-id", r1.id).await.unwrap());
    assert_eq!(store.sso_rules("coop-id").await.unwrap(), [r2]);
    assert!(store.sso_rules("nobody").await.unwrap().is_empty());

    // Sign-ins in progress: taken once, not after they expire.
    store
        .save_sso_login("s1", "{\"p\":1}", 1_700_000_000, 1_700_000_600)
        .await
        .unwrap();
    store
        .save_sso_login("s2", "{}", 1_700_000_000, 1_700_000_600)
        .await
        .unwrap();
    assert!(
        store
            .take_sso_login("nope", 1_700_000_000)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .take_sso_login("s1", 1_700_000_000)
            .await
            .unwrap()
            .as_deref(),
        Some("{\"p\":1}")
    );
    assert!(
        store
            .take_sso_login("s1", 1_700_000_000)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .take_sso_login("s2", 1_700_000_600)
            .await
            .unwrap()
            .is_none()
    );
    // The same state twice is refused (a state is random: never by accident).
    store
        .save_sso_login("s3", "{}", 1_700_000_000, 1_700_000_600)
        .await
        .unwrap();
    assert!(
        store
            .save_sso_login("s3", "{}", 1_700_000_000, 1_700_000_600)
            .await
            .is_err()
    );
    // Saving drops the logins expired by then: s3 is gone even for a `now` before its end.
    store
        .save_sso_login("s4", "{}", 1_700_000_600, 1_700_001_200)
        .await
        .unwrap();
    assert!(
        store
            .take_sso_login("s3", 1_700_000_000)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .take_sso_login("s4", 1_700_000_700)
            .await
            .unwrap()
            .is_some()
    );
}

async fn api_meetings(store: &dyn Store) {
    let mut m = ApiMeeting {
        internal_id: "5f1c-1700000000000".into(),
        meeting_id: "co-op «hall»".into(),
        created_ms: 1_700_000_000_000,
        ended_ms: None,
        doc: r#"{"name":"Hall"}"#.into(),
    };
    let other = ApiMeeting {
        internal_id: "77aa-1700000000500".into(),
        meeting_id: "other".into(),
        created_ms: 1_700_000_000_500,
        ..m.clone()
    };
    store.save_api_meeting(&m).await.unwrap();
    store.save_api_meeting(&other).await.unwrap();
    assert_eq!(
        store.live_api_meetings().await.unwrap(),
        [m.clone(), other.clone()]
    );
    // Saving again updates the document and the end, nothing else.
    m.doc = r#"{"name":"Hall","started":true}"#.into();
    m.ended_ms = Some(1_700_000_100_000);
    store.save_api_meeting(&m).await.unwrap();
    assert_eq!(store.live_api_meetings().await.unwrap(), [other]);
}

async fn webhooks(store: &dyn Store) {
    let global = NewWebhook {
        callback_url: "https://lms.example/hook?x=1".into(),
        meeting_id: None,
        event_ids: vec![],
        raw: false,
        created_ms: 1,
    };
    let scoped = NewWebhook {
        callback_url: "https://lms.example/other".into(),
        meeting_id: Some("m1".into()),
        event_ids: vec!["user-joined".into(), "meeting-ended".into()],
        raw: true,
        created_ms: 2,
    };
    let g = store.create_webhook(&global).await.unwrap();
    let s = store.create_webhook(&scoped).await.unwrap();
    assert_ne!(g.id, s.id);
    assert!(matches!(
        store.create_webhook(&global).await,
        Err(StoreError::Conflict(_))
    ));
    let listed = store.list_webhooks().await.unwrap();
    assert_eq!(listed, [g.clone(), s.clone()]);
    assert_eq!(listed[1].event_ids, ["user-joined", "meeting-ended"]);
    assert!(listed[1].raw);
    assert!(store.delete_webhook(g.id).await.unwrap());
    assert!(!store.delete_webhook(g.id).await.unwrap());
    assert_eq!(store.list_webhooks().await.unwrap(), [s]);
}

async fn recordings(store: &dyn Store) {
    use plenary_store::{RecordingRow, RecordingStatus, RecordingUpdate};
    let room = RoomId::parse("abc-defg-hij").unwrap();
    let first = RecordingRow {
        id: "0123abcd-1700000000000".into(),
        room: room.clone(),
        meeting_id: "bbb-meeting «1»".into(),
        meeting_ms: 1_699_999_990_000,
        name: "Assembly ✓".into(),
        started_ms: 1_700_000_000_000,
        ended_ms: None,
        length_ms: 0,
        status: RecordingStatus::Recording,
        published: true,
        protected: false,
        meta: r#"{"origin":"greenlight"}"#.into(),
        folder: "abc-defg-hij/1700000000000".into(),
        bytes: 0,
        progress: 0,
        error: None,
        attempts: 0,
        lease_until: None,
        remote: false,
    };
    store.create_recording(&first).await.unwrap();
    assert!(matches!(
        store.create_recording(&first).await,
        Err(StoreError::Conflict(_))
    ));
    let second = RecordingRow {
        id: "0123abcd-1700000100000".into(),
        started_ms: 1_700_000_100_000,
        folder: "abc-defg-hij/1700000100000".into(),
        ..first.clone()
    };
    store.create_recording(&second).await.unwrap();
    assert_eq!(
        store.get_recording(&first.id).await.unwrap().as_ref(),
        Some(&first)
    );
    assert_eq!(store.get_recording("nope").await.unwrap(), None);
    let ids = |v: Vec<RecordingRow>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.recordings_of_room(&room).await.unwrap()),
        [second.id.clone(), first.id.clone()]
    );
    assert_eq!(
        ids(store
            .recordings_of_meeting(&first.meeting_id)
            .await
            .unwrap()),
        [second.id.clone(), first.id.clone()]
    );
    assert!(
        store
            .recordings_of_meeting("other")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(store.all_recordings(1).await.unwrap()),
        [second.id.as_str()]
    );

    // Nothing to compose while they record; a recording ends once.
    assert_eq!(
        store.claim_recording_job(1_000, 60_000).await.unwrap(),
        None
    );
    assert!(
        store
            .recording_ended(&first.id, 1_700_000_060_000, 60_000, 4_096)
            .await
            .unwrap()
    );
    assert!(!store.recording_ended(&first.id, 1, 1, 1).await.unwrap());
    assert_eq!(
        ids(store
            .recordings_in(RecordingStatus::Processing)
            .await
            .unwrap()),
        [first.id.as_str()]
    );

    // A claimed job is leased: not claimed again until its lease runs out.
    let job = store
        .claim_recording_job(1_000, 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (job.id.as_str(), job.attempts, job.lease_until),
        (first.id.as_str(), 1, Some(61_000))
    );
    assert_eq!(
        (job.length_ms, job.bytes, job.ended_ms),
        (60_000, 4_096, Some(1_700_000_060_000))
    );
    assert_eq!(
        store.claim_recording_job(2_000, 60_000).await.unwrap(),
        None
    );
    assert!(
        store
            .recording_progress(&first.id, 1, 500, 90_000)
            .await
            .unwrap()
    );
    assert_eq!(
        store.claim_recording_job(70_000, 60_000).await.unwrap(),
        None
    );
    // The worker died: after its lease, another takes the job.
    let again = store
        .claim_recording_job(90_001, 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.attempts, again.progress), (2, 500));
    // The lost worker comes back: its reports change nothing now.
    assert!(
        !store
            .recording_progress(&first.id, 1, 900, 999_999)
            .await
            .unwrap()
    );
    assert!(
        !store
            .recording_failed(&first.id, 1, "stale", false)
            .await
            .unwrap()
    );
    assert!(!store.recording_composed(&first.id, 1, 1).await.unwrap());

    // Failing without giving up queues it again, with the reason kept.
    assert!(
        store
            .recording_failed(&first.id, 2, "ffmpeg exited 1", false)
            .await
            .unwrap()
    );
    let queued = store.get_recording(&first.id).await.unwrap().unwrap();
    assert_eq!(
        (queued.status, queued.error.as_deref(), queued.lease_until),
        (RecordingStatus::Processing, Some("ffmpeg exited 1"), None)
    );
    store
        .claim_recording_job(100_000, 60_000)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .recording_failed(&first.id, 3, "no space", true)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get_recording(&first.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        RecordingStatus::Failed
    );
    assert_eq!(
        store.claim_recording_job(200_000, 60_000).await.unwrap(),
        None
    );
    // An admin retries; this time it is composed.
    assert!(store.retry_recording(&first.id).await.unwrap());
    assert!(!store.retry_recording(&first.id).await.unwrap());
    let job = store
        .claim_recording_job(200_000, 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.attempts, 1);
    assert!(store.recording_composed(&first.id, 1, 9_000).await.unwrap());
    let ready = store.get_recording(&first.id).await.unwrap().unwrap();
    assert_eq!(
        (ready.status, ready.progress, ready.bytes, ready.error),
        (RecordingStatus::Ready, 1000, 9_000, None)
    );
    // A late progress report from a lost worker does not move a ready recording.
    assert!(!store.recording_progress(&first.id, 1, 10, 1).await.unwrap());

    // Owners' changes: only what is named changes.
    let u = RecordingUpdate {
        published: Some(false),
        protected: Some(true),
        ..Default::default()
    };
    assert!(store.update_recording(&first.id, &u).await.unwrap());
    let u = RecordingUpdate {
        name: Some("Renamed".into()),
        meta: Some("{}".into()),
        ..Default::default()
    };
    assert!(store.update_recording(&first.id, &u).await.unwrap());
    let changed = store.get_recording(&first.id).await.unwrap().unwrap();
    assert_eq!(
        (
            changed.published,
            changed.protected,
            changed.name.as_str(),
            changed.meta.as_str()
        ),
        (false, true, "Renamed", "{}")
    );
    assert!(!store.update_recording("nope", &u).await.unwrap());

    // Its ready callback (an integration's: its meeting id is not the room's) is owed until
    // delivered.
    assert_eq!(
        store.recordings_to_notify().await.unwrap(),
        [first.id.as_str()]
    );
    assert!(store.recording_notified(&first.id).await.unwrap());
    assert!(store.recordings_to_notify().await.unwrap().is_empty());
    assert!(!store.recording_notified("nope").await.unwrap());
    assert!(store.recording_moved(&first.id).await.unwrap());
    assert!(
        store
            .get_recording(&first.id)
            .await
            .unwrap()
            .unwrap()
            .remote
    );
    assert!(store.delete_recording(&first.id).await.unwrap());
    assert!(!store.delete_recording(&first.id).await.unwrap());
    assert!(store.delete_recording(&second.id).await.unwrap());
    assert!(store.all_recordings(10).await.unwrap().is_empty());

    // An organisation's recording rules: the defaults until set, then what was set.
    let org = store
        .create_org(&NewOrganisation {
            name: "Recording co-op".into(),
            max_rooms_per_member: None,
            max_participants: None,
            max_meeting_minutes: None,
            created_at: 1,
        })
        .await
        .unwrap();
    use plenary_store::RecordingPolicy;
    assert_eq!(
        store.recording_policy(org.id).await.unwrap(),
        RecordingPolicy::default()
    );
    let p = RecordingPolicy {
        allowed: false,
        retention_days: Some(30),
        quota_bytes: Some(5_000_000_000),
    };
    store.set_recording_policy(org.id, &p).await.unwrap();
    assert_eq!(store.recording_policy(org.id).await.unwrap(), p);
    let p = RecordingPolicy {
        allowed: true,
        retention_days: None,
        quota_bytes: Some(1),
    };
    store.set_recording_policy(org.id, &p).await.unwrap();
    assert_eq!(store.recording_policy(org.id).await.unwrap(), p);
}

#[tokio::test]
async fn sqlite_story() {
    let dir = std::env::temp_dir().join(format!("plenary-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let url = format!("sqlite://{}", dir.join("nested/plenary.db").display());
    let store = plenary_store::open(&url).await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    story(store.clone()).await;
    store.close().await.unwrap();

    // What was accepted is there after a reopen.
    let store = plenary_store::open(&url).await.unwrap();
    assert_eq!(store.list_rooms(10).await.unwrap().len(), 2);
    assert_eq!(store.count_users().await.unwrap(), 3);
    store.close().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn postgres_story() {
    let db = Fresh::postgres("contract").await;
    assert_eq!(db.store.backend(), "postgres");
    story(db.store.clone()).await;
    db.finish().await;
}

#[tokio::test]
async fn unknown_schemes_are_refused_clearly() {
    let err = plenary_store::open("mysql://root:hunter2@localhost/db")
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("unsupported database URL"), "{msg}");
    assert!(
        !msg.contains("hunter2"),
        "the password leaked into the error: {msg}"
    );
}

#[tokio::test]
async fn an_unwritable_sqlite_path_is_an_error_not_a_panic() {
    let err = plenary_store::open("sqlite:///proc/plenary/x.db")
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::DataDir { .. } | StoreError::Database(_)),
        "{err}"
    );
}
