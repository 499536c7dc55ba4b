//! Nothing acknowledged is lost: when the database cannot commit a write, the caller gets an
//! error, never a success. Each write path runs with a "commit trap" armed on its table — a
//! constraint checked only when the transaction commits (SQLite: a deferred foreign key a
//! trigger violates; PostgreSQL: a deferred constraint trigger that raises) — so the statement
//! itself succeeds and only the commit fails, as on a full disk. Then the trap is disarmed and
//! the test checks that nothing was stored. Run on both backends.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::sync::Arc;

use common::Fresh;

use plenary_proto::RoomId;
use plenary_store::{
    ApiMeeting, NewInvitation, NewOrganisation, NewRoom, NewUser, NewWebhook, SsoRule, Store,
    UserStatus,
};

/// Arms and disarms commit traps on one backend.
trait Traps {
    async fn arm(&self, table: &str);
    async fn disarm(&self, table: &str);
}

struct SqliteTraps(plenary_store::SqliteStore);

impl Traps for SqliteTraps {
    async fn arm(&self, table: &str) {
        let mut sql = String::from(
            "CREATE TABLE IF NOT EXISTS trap_target (id INTEGER PRIMARY KEY);
             CREATE TABLE IF NOT EXISTS trap (ref INTEGER REFERENCES trap_target (id) DEFERRABLE INITIALLY DEFERRED);",
        );
        for (i, event) in ["INSERT", "UPDATE", "DELETE"].iter().enumerate() {
            sql.push_str(&format!(
                "CREATE TRIGGER trap_{table}_{i} AFTER {event} ON {table} BEGIN INSERT INTO trap VALUES (-1); END;"
            ));
        }
        self.0.execute_raw(&sql).await.unwrap();
    }
    async fn disarm(&self, table: &str) {
        let sql: String = (0..3)
            .map(|i| format!("DROP TRIGGER trap_{table}_{i};"))
            .collect();
        self.0.execute_raw(&sql).await.unwrap();
    }
}

struct PgTraps(plenary_store::PostgresStore);

impl Traps for PgTraps {
    async fn arm(&self, table: &str) {
        self.0
            .execute_raw(&format!(
                "CREATE OR REPLACE FUNCTION trap_fail() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'commit trap'; END $$ LANGUAGE plpgsql;
                 CREATE CONSTRAINT TRIGGER trap_{table} AFTER INSERT OR UPDATE OR DELETE ON {table}
                 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION trap_fail();"
            ))
            .await
            .unwrap();
    }
    async fn disarm(&self, table: &str) {
        self.0
            .execute_raw(&format!("DROP TRIGGER trap_{table} ON {table};"))
            .await
            .unwrap();
    }
}

/// Runs `write` with the trap armed on `table`: it must fail.
macro_rules! refused {
    ($traps:expr, $table:literal, $write:expr) => {{
        $traps.arm($table).await;
        let r = $write.await;
        $traps.disarm($table).await;
        assert!(
            r.is_err(),
            "{}: a write whose commit failed was acknowledged: {r:?}",
            stringify!($write)
        );
    }};
}

fn user(email: &str) -> NewUser {
    NewUser {
        email: email.into(),
        name: "Ada".into(),
        password_hash: None,
        is_admin: false,
        status: UserStatus::Active,
        created_at: 1_700_000_000,
    }
}

async fn story(store: Arc<dyn Store>, traps: impl Traps) {
    let s = &*store;
    // Rows some writes need.
    let owner = s.create_user(&user("owner@example.coop")).await.unwrap();
    let org = s
        .create_org(&NewOrganisation {
            name: "social.coop".into(),
            max_rooms_per_member: None,
            max_participants: None,
            max_meeting_minutes: None,
            created_at: 1,
        })
        .await
        .unwrap();
    let room = NewRoom {
        id: RoomId::parse("abc-defg-hij").unwrap(),
        name: "R".into(),
        created_at: 1,
        owner_id: Some(owner.id),
        settings: "{}".into(),
        anonymous: false,
    };

    // Writes that return rows.
    refused!(traps, "users", s.create_user(&user("ada@example.coop")));
    assert!(s.user_by_email("ada@example.coop").await.unwrap().is_none());

    let new_org = NewOrganisation {
        name: "Radical Routes".into(),
        ..s.org_by_id(org.id)
            .await
            .unwrap()
            .map(|o| NewOrganisation {
                name: o.name,
                max_rooms_per_member: None,
                max_participants: None,
                max_meeting_minutes: None,
                created_at: 2,
            })
            .unwrap()
    };
    refused!(traps, "organisations", s.create_org(&new_org));
    assert!(s.org_by_name("Radical Routes").await.unwrap().is_none());

    let hook = NewWebhook {
        callback_url: "http://127.0.0.1:9/hook".into(),
        meeting_id: None,
        event_ids: Vec::new(),
        raw: false,
        created_ms: 1,
    };
    refused!(traps, "webhooks", s.create_webhook(&hook));
    assert!(s.list_webhooks().await.unwrap().is_empty());

    let inv = NewInvitation {
        token_hash: "h1".into(),
        email: "new@example.coop".into(),
        org_id: Some(org.id),
        org_admin: false,
        invited_by: Some(owner.id),
        created_at: 1,
        expires_at: i64::MAX / 2,
    };
    refused!(traps, "invitations", s.create_invitation(&inv));
    assert!(s.invitation("h1").await.unwrap().is_none());

    let rule = SsoRule {
        id: 0,
        provider: "coop".into(),
        kind: "group".into(),
        value: "/x".into(),
        org: "social.coop".into(),
        is_admin: false,
        created_at: 1,
    };
    refused!(traps, "sso_rules", s.add_sso_rule(&rule));
    assert!(s.sso_rules("coop").await.unwrap().is_empty());

    s.save_sso_login("state", "{}", 1, i64::MAX / 2)
        .await
        .unwrap();
    refused!(traps, "sso_logins", s.take_sso_login("state", 2));
    // The failed take removed nothing: the login can still be taken once.
    assert!(s.take_sso_login("state", 2).await.unwrap().is_some());

    s.create_invitation(&inv).await.unwrap();
    refused!(
        traps,
        "users",
        s.accept_invitation("h1", &user("ignored@example.coop"), 5)
    );
    assert!(s.user_by_email("new@example.coop").await.unwrap().is_none());
    assert!(s.invitation("h1").await.unwrap().unwrap().used_at.is_none());

    // Plain writes, for good measure.
    refused!(traps, "rooms", s.create_room(&room));
    assert!(s.get_room(&room.id).await.unwrap().is_none());
    s.create_room(&room).await.unwrap();
    refused!(traps, "rooms", s.set_room_settings(&room.id, "{\"x\":1}"));
    assert_eq!(s.get_room(&room.id).await.unwrap().unwrap().settings, "{}");
    refused!(
        traps,
        "sessions",
        s.create_session("sess", owner.id, "csrf", i64::MAX / 2)
    );
    assert!(s.session("sess", 1).await.unwrap().is_none());
    let m = ApiMeeting {
        internal_id: "i".into(),
        meeting_id: "m".into(),
        created_ms: 1,
        ended_ms: None,
        doc: "{}".into(),
    };
    refused!(traps, "api_meetings", s.save_api_meeting(&m));
    assert!(s.live_api_meetings().await.unwrap().is_empty());

    // Admission, API tokens, membership requests.
    refused!(
        traps,
        "seats",
        s.add_seat("seat-1", &room.id, i64::MAX / 2, 1)
    );
    assert_eq!(
        s.take_seat("seat-1", &room.id, "n:1", None, 2)
            .await
            .unwrap(),
        plenary_store::SeatTaken::Unknown
    );
    s.add_seat("seat-1", &room.id, i64::MAX / 2, 1)
        .await
        .unwrap();
    refused!(
        traps,
        "seats",
        s.take_seat("seat-1", &room.id, "n:1", Some(5), 2)
    );
    assert_eq!(s.held_seats(&room.id).await.unwrap(), 0);
    let token = plenary_store::NewApiToken {
        token_hash: "t".into(),
        name: "loadgen".into(),
        user_id: owner.id,
        created_at: 1,
    };
    refused!(traps, "api_tokens", s.create_api_token(&token));
    assert!(s.api_tokens().await.unwrap().is_empty());
    let other = s.create_user(&user("bo@example.coop")).await.unwrap();
    s.request_membership(org.id, other.id, false, Some(owner.id), 1)
        .await
        .unwrap();
    refused!(
        traps,
        "org_members",
        s.answer_membership_request(org.id, other.id, true)
    );
    assert!(s.orgs_of(other.id).await.unwrap().is_empty());
    assert_eq!(
        s.membership_requests(None, Some(other.id))
            .await
            .unwrap()
            .len(),
        1
    );
    let anon = NewRoom {
        id: RoomId::parse("anon-room-one").unwrap(),
        anonymous: true,
        ..room.clone()
    };
    s.create_room(&anon).await.unwrap();
    refused!(
        traps,
        "rooms",
        s.delete_unused_anonymous_rooms(i64::MAX / 2)
    );
    assert!(s.get_room(&anon.id).await.unwrap().is_some());
}

#[tokio::test]
async fn sqlite_commit_failures_are_errors() {
    let db = Fresh::sqlite("durability").await;
    let traps = SqliteTraps(plenary_store::SqliteStore::connect(&db.url).await.unwrap());
    story(db.store.clone(), traps).await;
    db.finish().await;
}

#[tokio::test]
async fn postgres_commit_failures_are_errors() {
    let db = Fresh::postgres("durability").await;
    let traps = PgTraps(
        plenary_store::PostgresStore::connect(&db.url)
            .await
            .unwrap(),
    );
    story(db.store.clone(), traps).await;
    db.finish().await;
}
