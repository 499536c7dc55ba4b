//! Shared minutes over real signalling, with Yjs documents on the clients' side too (`yrs`,
//! the same CRDT as the browsers' Yjs): three clients typing at once converge on one text with
//! nobody's insertions lost (randomised, seeded: `PLENARY_TEST_SEED` replays a run), compacted
//! on the way and when the meeting ends; viewers edit until a moderator locks the minutes; bad
//! and hostile edits are refused without harm; acknowledged edits are kept across a restart
//! and exported as Markdown and PDF to the room's managers only.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::TestServer;
use common::ws::{Ws, error_code, join_as, next_ok, notes_refused, send};
use futures_util::StreamExt;
use plenary_proto::RoomId;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, ReadTxn, Text, Transact, Update};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A participant with their own copy of the minutes.
struct Writer {
    ws: Ws,
    doc: Doc,
    /// Edits sent, and how many the server acknowledged.
    sent: u32,
    saved: u32,
}

impl Writer {
    /// Joins and loads the minutes (`notes_sync` → `notes`).
    async fn join(server: &TestServer, room: &RoomId, name: &str, owner: bool, id: u64) -> Self {
        let (mut ws, _) = join_as(server, room, name, owner).await;
        send(&mut ws, json!({"type":"notes_sync"}).to_string()).await;
        let notes = next_ok(&mut ws, "notes").await;
        let doc = Doc::with_client_id(id);
        doc.get_or_insert_text("minutes");
        apply(&doc, notes["state"].as_str().unwrap());
        Writer {
            ws,
            doc,
            sent: 0,
            saved: 0,
        }
    }

    fn text(&self) -> String {
        let t = self.doc.get_or_insert_text("minutes");
        t.get_string(&self.doc.transact())
    }

    /// Changes the local copy with `f` and sends the change as one edit.
    async fn edit(&mut self, f: impl FnOnce(&yrs::TextRef, &mut yrs::TransactionMut)) {
        let t = self.doc.get_or_insert_text("minutes");
        let before = self.doc.transact().state_vector();
        f(&t, &mut self.doc.transact_mut());
        let update = self.doc.transact().encode_state_as_update_v1(&before);
        send(
            &mut self.ws,
            json!({"type":"notes_edit","update":B64.encode(update)}).to_string(),
        )
        .await;
        self.sent += 1;
    }

    /// Takes in what has arrived (others' edits, acknowledgements) within `wait`.
    async fn take_in(&mut self, wait: Duration) {
        while let Ok(Some(Ok(frame))) = tokio::time::timeout(wait, self.ws.next()).await {
            let Message::Text(t) = frame else { continue };
            let m: Value = serde_json::from_str(t.as_str()).unwrap();
            match m["type"].as_str() {
                Some("notes_edit") => apply(&self.doc, m["update"].as_str().unwrap()),
                Some("notes_saved") => self.saved += 1,
                Some("error" | "notes_refused") => panic!("an edit was refused: {m}"),
                _ => {}
            }
        }
    }
}

fn apply(doc: &Doc, b64: &str) {
    let update = Update::decode_v1(&B64.decode(b64).unwrap()).unwrap();
    doc.transact_mut().apply_update(update).unwrap();
}

/// lib0's variable-length unsigned integer.
fn var_uint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// A Yjs update (v1) with one item under the root `minutes`: content `ref_` and its `body`.
fn crafted(clock: u64, ref_: u8, body: &[u8]) -> String {
    let mut u = Vec::new();
    for n in [1, 1, 77, clock] {
        var_uint(&mut u, n); // one client, one struct, client 77, its clock
    }
    u.push(ref_);
    var_uint(&mut u, 1); // parent by name
    var_uint(&mut u, 7);
    u.extend_from_slice(b"minutes");
    u.extend_from_slice(body);
    var_uint(&mut u, 0); // no deletes
    json!({"type":"notes_edit","update":B64.encode(u)}).to_string()
}

/// The places in `text` between whole tokens (`<…>`): where a new token may go.
fn boundaries(text: &str) -> Vec<u32> {
    let mut at = vec![0];
    at.extend(
        text.char_indices()
            .filter(|(_, c)| *c == '>')
            .map(|(i, _)| i as u32 + 1),
    );
    at
}

fn seed() -> u64 {
    std::env::var("PLENARY_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random())
}

/// The stored text of the room's only meeting with minutes.
async fn stored_text(server: &TestServer, room: &RoomId) -> String {
    let store = &server.running.as_ref().unwrap().state.store;
    let list = store.minutes_of(room).await.unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    plenary_meeting::minutes::minutes_text(&**store, room, list[0].meeting_ms)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn three_writers_at_once_converge_and_nobody_loses_an_insertion() {
    let seed = seed();
    println!("PLENARY_TEST_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let server = TestServer::start().await;
    let room = server.create_room("Minutes").await;
    let mut writers = vec![
        Writer::join(&server, &room, "Mo", true, 101).await,
        Writer::join(&server, &room, "Ann", false, 102).await,
        Writer::join(&server, &room, "Bo", false, 103).await,
    ];
    // Who wrote what is still there: (writer, token).
    let mut kept: Vec<(usize, String)> = Vec::new();
    let mut deleted: Vec<String> = Vec::new();
    // More edits than are kept one by one: the minutes are compacted on the way.
    for step in 0..260 {
        let w = rng.random_range(0..writers.len());
        // Mostly typing on a copy that has not heard the others' latest edits yet.
        if rng.random_bool(0.25) {
            writers[w].take_in(Duration::from_millis(5)).await;
        }
        let mine: Vec<String> = kept
            .iter()
            .filter(|(k, _)| *k == w)
            .map(|(_, t)| t.clone())
            .collect();
        if !mine.is_empty() && rng.random_bool(0.1) {
            // Deletes one of their own tokens, whole.
            let token = mine[rng.random_range(0..mine.len())].clone();
            let text = writers[w].text();
            let at = text.find(&token).unwrap() as u32;
            writers[w]
                .edit(|t, txn| t.remove_range(txn, at, token.len() as u32))
                .await;
            kept.retain(|(_, t)| *t != token);
            deleted.push(token);
        } else {
            let token = format!("<w{w}-{step}>");
            let places = boundaries(&writers[w].text());
            let at = places[rng.random_range(0..places.len())];
            writers[w].edit(|t, txn| t.insert(txn, at, &token)).await;
            kept.push((w, token));
        }
    }
    // Everyone hears everything: each edit acknowledged, every copy the same.
    for w in &mut writers {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while w.saved < w.sent && tokio::time::Instant::now() < deadline {
            w.take_in(Duration::from_millis(100)).await;
        }
        assert_eq!(w.saved, w.sent, "seed {seed}: every edit acknowledged");
    }
    let stored = stored_text(&server, &room).await;
    for (i, w) in writers.iter_mut().enumerate() {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while w.text() != stored && tokio::time::Instant::now() < deadline {
            w.take_in(Duration::from_millis(100)).await;
        }
        assert_eq!(
            w.text(),
            stored,
            "seed {seed}: writer {i} converged on the stored text"
        );
    }
    for (_, token) in &kept {
        assert_eq!(
            stored.matches(token.as_str()).count(),
            1,
            "seed {seed}: {token} in {stored}"
        );
    }
    for token in &deleted {
        assert!(
            !stored.contains(token.as_str()),
            "seed {seed}: {token} deleted"
        );
    }
    let tokens: usize = stored.matches('<').count();
    assert_eq!(
        tokens,
        kept.len(),
        "seed {seed}: nothing but the tokens: {stored}"
    );
    // Compacted once on the way (200 edits), and whole when the meeting ends.
    let store = server.running.as_ref().unwrap().state.store.clone();
    let meeting = store.minutes_of(&room).await.unwrap()[0].meeting_ms;
    let row = store.minutes(&room, meeting).await.unwrap().unwrap();
    assert!(
        !row.state.is_empty() && row.edits.len() < 100,
        "{} edits",
        row.edits.len()
    );
    for w in &mut writers {
        send(&mut w.ws, json!({"type":"leave"}).to_string()).await;
    }
    let mut compacted = false;
    for _ in 0..100 {
        let row = store.minutes(&room, meeting).await.unwrap().unwrap();
        if row.edits.is_empty() {
            compacted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(compacted, "the ended meeting's minutes are compacted");
    assert_eq!(
        stored_text(&server, &room).await,
        stored,
        "seed {seed}: the same text, whole"
    );
    server.stop().await;
}

#[tokio::test]
async fn viewers_edit_until_a_moderator_locks_and_bad_edits_are_refused() {
    let server = TestServer::start().await;
    let room = server.create_room("Locked minutes").await;
    let mut mo = Writer::join(&server, &room, "Mo", true, 1).await;
    let mut ann = Writer::join(&server, &room, "Ann", false, 2).await;
    ann.edit(|t, txn| t.insert(txn, 0, "Ann's line. ")).await;
    next_ok(&mut ann.ws, "notes_saved").await;
    // A viewer may not lock.
    send(
        &mut ann.ws,
        json!({"type":"lock","locks":{"notes":true}}).to_string(),
    )
    .await;
    assert_eq!(error_code(&mut ann.ws).await, "forbidden");
    send(
        &mut mo.ws,
        json!({"type":"lock","locks":{"notes":true}}).to_string(),
    )
    .await;
    let locks = next_ok(&mut ann.ws, "locks").await;
    assert_eq!(locks["locks"]["notes"], true, "{locks}");
    ann.edit(|t, txn| t.insert(txn, 0, "SNEAKED ")).await;
    assert_eq!(notes_refused(&mut ann.ws).await, "locked");
    // The moderator still writes.
    mo.take_in(Duration::from_millis(200)).await;
    mo.edit(|t, txn| t.insert(txn, 0, "Decision: adopted. "))
        .await;
    next_ok(&mut mo.ws, "notes_saved").await;
    assert_eq!(
        stored_text(&server, &room).await,
        "Decision: adopted. Ann's line. "
    );
    // Not base64, not a Yjs update, too large: refused, the connection stays.
    for update in [
        "%%%".to_owned(),
        B64.encode(b"\xff\xfe\xfd garbage"),
        "A".repeat(200_000),
    ] {
        send(
            &mut mo.ws,
            json!({"type":"notes_edit","update":update}).to_string(),
        )
        .await;
        assert_eq!(notes_refused(&mut mo.ws).await, "bad_message");
    }
    // Well-formed updates that are not plain text, or would break the document: values nested
    // 20 000 deep (a stack overflow in yrs), JSON (stored in a form that does not read back),
    // an unknown type (browsers cannot read it), a clock at the edge (an overflow in yrs).
    let mut nested = Vec::new();
    var_uint(&mut nested, 1);
    nested.extend(std::iter::repeat_n(117u8, 20_000));
    let mut text = Vec::new();
    var_uint(&mut text, 1);
    text.push(b'x');
    for hostile in [
        crafted(0, 8, &nested),
        crafted(0, 2, &[0, 1, b'x']),
        crafted(0, 7, &[15]),
        crafted(0xFFFF_FFFE, 4, &text),
    ] {
        send(&mut mo.ws, hostile).await;
        assert_eq!(notes_refused(&mut mo.ws).await, "bad_message");
    }
    // An edit that needs one the server never got (client 77's first): refused, not kept
    // waiting unseen.
    send(&mut mo.ws, crafted(5, 4, &text)).await;
    assert_eq!(notes_refused(&mut mo.ws).await, "wrong_order");
    // Nobody writes under another's Yjs client id (Ann's is 2): it would hide Ann's next edit.
    send(&mut mo.ws, json!({"type":"notes_sync"}).to_string()).await;
    let now = next_ok(&mut mo.ws, "notes").await;
    let forger = Doc::with_client_id(2);
    apply(&forger, now["state"].as_str().unwrap());
    let forged = {
        let t = forger.get_or_insert_text("minutes");
        let before = forger.transact().state_vector();
        t.insert(&mut forger.transact_mut(), 0, "FORGED ");
        forger.transact().encode_state_as_update_v1(&before)
    };
    send(
        &mut mo.ws,
        json!({"type":"notes_edit","update":B64.encode(forged)}).to_string(),
    )
    .await;
    assert_eq!(notes_refused(&mut mo.ws).await, "bad_message");

    send(&mut mo.ws, json!({"type":"ping"}).to_string()).await;
    assert_eq!(next_ok(&mut mo.ws, "pong").await["type"], "pong");
    // Refusals are answers, not errors: 60 of them do not use up the connection's allowance.
    for _ in 0..60 {
        send(&mut mo.ws, crafted(0, 7, &[15])).await;
        assert_eq!(notes_refused(&mut mo.ws).await, "bad_message");
    }
    send(&mut mo.ws, json!({"type":"ping"}).to_string()).await;
    assert_eq!(next_ok(&mut mo.ws, "pong").await["type"], "pong");
    assert_eq!(
        stored_text(&server, &room).await,
        "Decision: adopted. Ann's line. "
    );
    // Unlocked: the viewer writes again.
    send(
        &mut mo.ws,
        json!({"type":"lock","locks":{"notes":false}}).to_string(),
    )
    .await;
    next_ok(&mut ann.ws, "locks").await;
    // Her copy took the refused edit: she loads the minutes again, as the client does.
    send(&mut ann.ws, json!({"type":"notes_sync"}).to_string()).await;
    let fresh = next_ok(&mut ann.ws, "notes").await;
    ann.doc = Doc::with_client_id(3);
    apply(&ann.doc, fresh["state"].as_str().unwrap());
    assert_eq!(ann.text(), "Decision: adopted. Ann's line. ");
    let end = ann.text().len() as u32;
    ann.edit(|t, txn| t.insert(txn, end, "Thanks.")).await;
    next_ok(&mut ann.ws, "notes_saved").await;
    assert_eq!(
        stored_text(&server, &room).await,
        "Decision: adopted. Ann's line. Thanks."
    );
    server.stop().await;
}

/// A GET with the browser's cookies, as bytes.
async fn get_bytes(
    server: &TestServer,
    b: &common::browser::Browser,
    path: &str,
) -> (u16, String, Vec<u8>) {
    let r = common::browser::client()
        .get(format!("http://{}{path}", server.http))
        .header("cookie", b.header())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn acknowledged_minutes_outlive_the_server_and_export_to_the_rooms_managers() {
    let dir = std::env::temp_dir().join(format!("plenary-minutes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let settings = |s: &mut plenary_server::Settings| s.data_dir = dir.clone();
    let server = TestServer::start_with(settings).await;
    let room = server.create_room("Kept minutes").await;
    let mut mo = Writer::join(&server, &room, "Mo", true, 7).await;
    let lines = [
        "# Budget 2027\n",
        "- Ann presented the figures\n",
        "**Decision:** the budget is adopted by consent. Grüße, ça va?\n",
    ];
    for line in lines {
        let end = mo.text().len() as u32;
        mo.edit(|t, txn| t.insert(txn, end, line)).await;
        next_ok(&mut mo.ws, "notes_saved").await;
    }
    // Acknowledged, then the server is stopped and started again.
    let (email, password) = common::browser::first_admin(&server);
    drop(mo);
    server.stop().await;
    let server = TestServer::start_with(settings).await;
    let text = stored_text(&server, &room).await;
    assert_eq!(text, lines.concat());

    let mut owner = common::browser::Browser::default();
    owner.sign_in(&server, &email, &password).await;
    let page = owner.get(&server, &format!("/rooms/{room}/minutes")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Budget 2027"), "{}", page.body);
    let store = &server.running.as_ref().unwrap().state.store;
    let meeting = store.minutes_of(&room).await.unwrap()[0].meeting_ms;
    let (status, kind, md) = get_bytes(
        &server,
        &owner,
        &format!("/rooms/{room}/minutes/{meeting}.md"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/markdown"), "{kind}");
    let md = String::from_utf8(md).unwrap();
    assert!(md.contains(&text), "{md}");
    assert!(md.starts_with("# Minutes of Kept minutes"), "{md}");

    let (status, kind, pdf) = get_bytes(
        &server,
        &owner,
        &format!("/rooms/{room}/minutes/{meeting}.pdf"),
    )
    .await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"));
    // Read back by an independent reader (poppler's pdftotext).
    let file = dir.join("minutes.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed by scripts/test");
    assert!(out.status.success());
    let read = String::from_utf8_lossy(&out.stdout);
    for words in [
        "Minutes of Kept minutes",
        "Budget 2027",
        "Ann presented the figures",
        "Decision: the budget is adopted by consent. Grüße, ça va?",
    ] {
        assert!(read.contains(words), "{words:?} in {read}");
    }

    // Nobody else gets them.
    let outsider = store
        .create_user(&plenary_store::NewUser {
            email: "oz@example.org".into(),
            name: "Oz".into(),
            password_hash: Some(
                plenary_accounts::password::hash_password("minutes-pass-1").unwrap(),
            ),
            is_admin: false,
            status: plenary_store::UserStatus::Active,
            created_at: 1,
        })
        .await
        .unwrap();
    assert!(outsider.id > 0);
    let mut oz = common::browser::Browser::default();
    oz.sign_in(&server, "oz@example.org", "minutes-pass-1")
        .await;
    for path in [
        format!("/rooms/{room}/minutes"),
        format!("/rooms/{room}/minutes/{meeting}.md"),
        format!("/rooms/{room}/minutes/{meeting}.pdf"),
    ] {
        let (status, _, body) = get_bytes(&server, &oz, &path).await;
        assert_eq!(status, 403, "{path}");
        assert!(!String::from_utf8_lossy(&body).contains("Budget"), "{path}");
    }
    let anonymous = common::browser::Browser::default();
    let (status, _, _) = get_bytes(
        &server,
        &anonymous,
        &format!("/rooms/{room}/minutes/{meeting}.md"),
    )
    .await;
    assert!((300..400).contains(&status), "{status}: sent to sign in");
    let (status, _, _) = get_bytes(&server, &owner, &format!("/rooms/{room}/minutes/1.md")).await;
    assert_eq!(status, 404);
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
