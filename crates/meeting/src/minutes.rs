//! A meeting's shared minutes: one Yjs document (a CRDT) that everyone in the meeting edits at
//! once, nobody's typing lost. The browsers run Yjs; this node keeps the document with `yrs`
//! (Yjs's Rust port) and the store keeps every edit: an edit is checked (plain text only:
//! `minutes_check`; it applies whole, needing nothing the document lacks), stored (commit
//! checked), and only then acknowledged and passed on to the others, numbered.
//! Viewers edit unless a moderator set the `notes` lock. Kept with the room after the meeting
//! (compacted when it ends), exported as Markdown and PDF by the portal.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;
use plenary_proto::clock::unix_millis;
use plenary_proto::{
    MAX_NOTES_BYTES, MAX_NOTES_EDIT_BYTES, NOTES_TEXT, ParticipantId, Role, RoomId, ServerMessage,
};
use plenary_store::{MinutesRow, Store, StoreError};
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Transact, Update};

use crate::Service;
use crate::actions::ActionError;
use crate::live::{Meetings, RoomEvent, ToConnection, broadcast_except};
use crate::minutes_check::{Checked, From, check_update};

/// Edits kept one by one before the document is stored whole again in their place.
const COMPACT_EVERY: u32 = 200;
/// How often at most a recording is given the minutes' text as it is.
const SNAPSHOT_EVERY: Duration = Duration::from_secs(10);

/// A running meeting's minutes (loaded from the store when first used).
#[derive(Debug, Default)]
pub(crate) struct Minutes {
    inner: tokio::sync::Mutex<Option<Loaded>>,
    /// A recording's snapshot of the text is on its way.
    snapshot_due: AtomicBool,
}

struct Loaded {
    doc: Doc,
    /// Whose seat each Yjs client id's edits came from since the document was loaded: nobody
    /// writes under another's id (which would hide that person's next edit).
    owners: std::collections::HashMap<u64, String>,
    /// The last edit's number in the store.
    seq: i64,
    /// Edits stored one by one since the document was last stored whole.
    since_compact: u32,
    /// The stored size: the whole document's and the edits' since (at least its encoded size).
    bytes: usize,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("seq", &self.seq)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

/// Applies one Yjs update to `doc`, whole: one that is malformed, or needs edits the document
/// does not have (they would wait in it, unseen), is an error. `yrs` is only given updates
/// `minutes_check` passed, and a panic in it is caught.
fn apply(doc: &Doc, update: &[u8], from: From) -> Result<(), Broken> {
    let checked = check_update(update, from).map_err(|_| Broken::Refused)?;
    apply_checked(doc, update, &checked)
}

/// [`apply`] for an update `check_update` read already (as `checked`).
fn apply_checked(doc: &Doc, update: &[u8], checked: &Checked) -> Result<(), Broken> {
    let known = doc.transact().state_vector();
    if !checked.fits(|client| u64::from(known.get(&yrs::block::ClientID::new(client)))) {
        return Err(Broken::Gap);
    }
    let applied = catch_unwind(AssertUnwindSafe(|| {
        let decoded = Update::decode_v1(update).map_err(|_| Broken::Partial)?;
        let mut txn = doc.transact_mut();
        txn.apply_update(decoded).map_err(|_| Broken::Partial)?;
        if txn.has_missing_updates() {
            return Err(Broken::Partial);
        }
        Ok(())
    }));
    applied.unwrap_or(Err(Broken::Partial))
}

/// Why an update did not apply.
#[derive(Debug, PartialEq, Eq)]
enum Broken {
    /// Not plain text: the document is untouched.
    Refused,
    /// It needs edits the document does not have: untouched.
    Gap,
    /// `yrs` failed part-way: the document is not to be trusted (loaded again from the store).
    Partial,
}

/// A fresh document with the minutes' text in it.
fn new_doc() -> Doc {
    let doc = Doc::new();
    doc.get_or_insert_text(NOTES_TEXT);
    doc
}

/// The stored minutes as a document.
fn doc_of(row: &MinutesRow) -> Result<Doc, StoreError> {
    let doc = new_doc();
    let corrupt = |_| StoreError::Corrupt("a stored edit of the minutes does not apply".into());
    if !row.state.is_empty() {
        apply(&doc, &row.state, From::Store).map_err(corrupt)?;
    }
    for (_, edit) in &row.edits {
        apply(&doc, edit, From::Client).map_err(corrupt)?;
    }
    Ok(doc)
}

/// The whole document, as one update (`None`: `yrs` failed on it).
fn encode(doc: &Doc) -> Option<Vec<u8>> {
    catch_unwind(AssertUnwindSafe(|| {
        doc.transact()
            .encode_state_as_update_v1(&StateVector::default())
    }))
    .ok()
}

/// The minutes' text of a whole document's state.
pub fn text_of(doc_state: &[u8]) -> Option<String> {
    let doc = new_doc();
    apply(&doc, doc_state, From::Store).ok()?;
    Some(text(&doc))
}

fn text(doc: &Doc) -> String {
    catch_unwind(AssertUnwindSafe(|| {
        let t = doc.get_or_insert_text(NOTES_TEXT);
        t.get_string(&doc.transact())
    }))
    .unwrap_or_default()
}

/// `doc` as one update, if it reads back as the same text (else its edits stay as they are).
fn compacted(doc: &Doc) -> Option<Vec<u8>> {
    let state = encode(doc)?;
    (text_of(&state)? == text(doc)).then_some(state)
}

/// The text of the stored minutes of meeting `meeting_ms` in `room` (`None`: it has none).
pub async fn minutes_text(
    store: &dyn Store,
    room: &RoomId,
    meeting_ms: i64,
) -> Result<Option<String>, StoreError> {
    match store.minutes(room, meeting_ms).await? {
        Some(row) => Ok(Some(text(&doc_of(&row)?))),
        None => Ok(None),
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl Meetings {
    /// The minutes of the meeting `who` is in, and its id; for an edit, refused to a viewer
    /// while the `notes` lock is on.
    fn minutes_for(
        &self,
        room: &RoomId,
        who: ParticipantId,
        edit: bool,
    ) -> Result<(i64, Arc<Minutes>, String), ActionError> {
        let mut state = self.lock();
        let (members, m) = crate::actions::in_meeting(&mut state, room, who)?;
        let me = members.get(&who).ok_or(ActionError::NotInMeeting)?;
        if edit && m.locks.notes && me.p.role != Role::Moderator {
            return Err(ActionError::Locked);
        }
        Ok((m.started_ms, m.minutes.clone(), me.claims.seat.clone()))
    }

    /// Sends `msg` to participant `who` only, behind what was queued for them before; never
    /// dropped (their own edits' answers and the minutes they asked for must reach them): with
    /// their queue full, as soon as it has room (a page that sees numbers out of order resyncs).
    pub fn tell(&self, room: &RoomId, who: ParticipantId, msg: ServerMessage) {
        let state = self.lock();
        if let Some(me) = state.rooms.get(room).and_then(|m| m.get(&who)) {
            crate::live::deliver_surely(&me.outbox, ToConnection::Message(msg));
        }
    }

    /// An edit by `who` is stored as edit `seq`: everyone else in meeting `meeting_ms` gets it.
    /// Returns whether that meeting is being recorded.
    fn pass_on(
        &self,
        room: &RoomId,
        meeting_ms: i64,
        who: ParticipantId,
        update: String,
        seq: i64,
    ) -> bool {
        let state = self.lock();
        let Some(m) = state
            .meetings
            .get(room)
            .filter(|m| m.started_ms == meeting_ms)
        else {
            return false;
        };
        if let Some(members) = state.rooms.get(room) {
            broadcast_except(members, who, &ServerMessage::NotesEdit { update, seq });
        }
        !m.recording.is_off()
    }
}

impl Service {
    /// The minutes, loaded from the store on first use (refused where an integration turned
    /// shared notes off).
    async fn loaded<'a>(
        &self,
        inner: &'a mut Option<Loaded>,
        room: &RoomId,
        meeting_ms: i64,
    ) -> Result<&'a mut Loaded, ActionError> {
        if inner.is_none() {
            let unavailable = |e: StoreError| {
                tracing::error!(error = %e, %room, "could not load the minutes");
                ActionError::Unavailable
            };
            let r = self.store.get_room(room).await.map_err(unavailable)?;
            let off = r.is_some_and(|r| {
                crate::RoomSettings::parse(&r.settings)
                    .integration
                    .is_some_and(|i| i.notes_disabled)
            });
            if off {
                return Err(ActionError::NotesDisabled);
            }
            let row = self
                .store
                .minutes(room, meeting_ms)
                .await
                .map_err(unavailable)?;
            *inner = Some(match row {
                Some(row) => Loaded {
                    doc: doc_of(&row).map_err(unavailable)?,
                    owners: Default::default(),
                    seq: row.edits.last().map_or(row.compacted_seq, |(s, _)| *s),
                    since_compact: row.edits.len() as u32,
                    bytes: row.state.len() + row.edits.iter().map(|(_, e)| e.len()).sum::<usize>(),
                },
                None => Loaded {
                    doc: new_doc(),
                    owners: Default::default(),
                    seq: 0,
                    since_compact: 0,
                    bytes: 0,
                },
            });
        }
        inner.as_mut().ok_or(ActionError::Unavailable)
    }

    /// Sends `who` the whole minutes (`notes`).
    pub async fn notes_sync(&self, room: &RoomId, who: ParticipantId) -> Result<(), ActionError> {
        let (meeting_ms, minutes, _) = self.live.minutes_for(room, who, false)?;
        let mut inner = minutes.inner.lock().await;
        let loaded = self.loaded(&mut inner, room, meeting_ms).await?;
        let state = b64(&encode(&loaded.doc).ok_or(ActionError::Unavailable)?);
        let seq = loaded.seq;
        self.live
            .tell(room, who, ServerMessage::Notes { state, seq });
        Ok(())
    }

    /// `who`'s edit of the minutes (a Yjs update, base64): checked, applied, stored, then
    /// acknowledged to them and passed on to everyone else.
    pub async fn notes_edit(
        &self,
        room: &RoomId,
        who: ParticipantId,
        update: String,
    ) -> Result<(), ActionError> {
        // Base64 of the largest edit is 4/3 its size.
        if update.len() > MAX_NOTES_EDIT_BYTES / 3 * 4 + 4 {
            return Err(ActionError::BadNotes);
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&update)
            .map_err(|_| ActionError::BadNotes)?;
        if bytes.len() > MAX_NOTES_EDIT_BYTES {
            return Err(ActionError::BadNotes);
        }
        let checked = check_update(&bytes, From::Client).map_err(|why| {
            tracing::info!(%room, why = why.0, "an edit of the minutes refused");
            ActionError::BadNotes
        })?;
        let (meeting_ms, minutes, seat) = self.live.minutes_for(room, who, true)?;
        let mut inner = minutes.inner.lock().await;
        // Asked again now it is this edit's turn: a lock set meanwhile holds.
        self.live.minutes_for(room, who, true)?;
        let loaded = self.loaded(&mut inner, room, meeting_ms).await?;
        // Full: the document stored whole may be smaller (what was deleted is gone from it);
        // an edit that only deletes is always taken.
        if checked
            .clients()
            .any(|c| loaded.owners.get(&c).is_some_and(|o| *o != seat))
        {
            return Err(ActionError::BadNotes);
        }
        if checked.inserts && loaded.bytes + bytes.len() > MAX_NOTES_BYTES {
            if loaded.since_compact > 0 {
                self.compact(loaded, room, meeting_ms).await;
            }
            if loaded.bytes + bytes.len() > MAX_NOTES_BYTES {
                return Err(ActionError::NotesFull);
            }
        }
        match apply_checked(&loaded.doc, &bytes, &checked) {
            Ok(()) => {}
            // An edit after one this node does not have (the client resyncs and sends both).
            Err(Broken::Gap) => return Err(ActionError::NotesGap),
            // (Refused: not here, it was read already.)
            Err(Broken::Partial | Broken::Refused) => {
                // Part of it may be in: the document is loaded again from the store.
                *inner = None;
                return Err(ActionError::BadNotes);
            }
        };
        let seq = loaded.seq + 1;
        if let Err(e) = self
            .store
            .add_minutes_edit(room, meeting_ms, seq, &bytes, unix_millis())
            .await
        {
            tracing::error!(error = %e, %room, "could not store an edit of the minutes");
            // The document here has it, the store not: loaded again from the store next time.
            *inner = None;
            return Err(ActionError::Unavailable);
        }
        loaded.seq = seq;
        for c in checked.clients() {
            loaded.owners.entry(c).or_insert_with(|| seat.clone());
        }
        loaded.bytes += bytes.len();
        loaded.since_compact += 1;
        let recording = self.live.pass_on(room, meeting_ms, who, update, seq);
        self.live.tell(room, who, ServerMessage::NotesSaved { seq });
        if loaded.since_compact >= COMPACT_EVERY {
            self.compact(loaded, room, meeting_ms).await;
        }
        drop(inner);
        if recording && !minutes.snapshot_due.swap(true, Ordering::SeqCst) {
            let (live, room) = (self.live.clone(), room.clone());
            tokio::spawn(async move {
                tokio::time::sleep(SNAPSHOT_EVERY).await;
                minutes.snapshot_due.store(false, Ordering::SeqCst);
                let text = match &*minutes.inner.lock().await {
                    Some(l) => text(&l.doc),
                    None => return,
                };
                live.publish(RoomEvent::Notes { room, text });
            });
        }
        Ok(())
    }

    /// Stores the document whole in place of its edits (kept as they are if that fails).
    async fn compact(&self, loaded: &mut Loaded, room: &RoomId, meeting_ms: i64) {
        let Some(state) = compacted(&loaded.doc) else {
            tracing::error!(%room, "the minutes do not read back whole; their edits stay");
            return;
        };
        match self
            .store
            .compact_minutes(room, meeting_ms, &state, loaded.seq)
            .await
        {
            Ok(true) => {
                loaded.since_compact = 0;
                loaded.bytes = state.len();
            }
            Ok(false) => tracing::warn!(%room, "the stored minutes are newer than these"),
            // The edits stay stored one by one: nothing is lost, it is tried again later.
            Err(e) => tracing::warn!(error = %e, %room, "could not compact the minutes"),
        }
    }

    /// The meeting `meeting_ms` of `room` ended: its stored minutes are compacted into one
    /// document (if that fails, they stay stored edit by edit, and read so).
    pub(crate) async fn compact_ended_minutes(&self, room: &RoomId, meeting_ms: i64) {
        // A stopping server's meetings end after its store closed: the edits stay as they are.
        if *self.live.stopping().borrow() {
            return;
        }
        let row = match self.store.minutes(room, meeting_ms).await {
            Ok(Some(row)) if !row.edits.is_empty() => row,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, %room, "could not read an ended meeting's minutes");
                return;
            }
        };
        let through = row.edits.last().map_or(0, |(s, _)| *s);
        let state = match doc_of(&row).map(|doc| compacted(&doc)) {
            Ok(Some(state)) => state,
            Ok(None) => {
                tracing::error!(%room, "an ended meeting's minutes do not read back whole");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, %room, "an ended meeting's minutes do not load");
                return;
            }
        };
        if let Err(e) = self
            .store
            .compact_minutes(room, meeting_ms, &state, through)
            .await
            .map(|_| ())
        {
            tracing::warn!(error = %e, %room, "could not compact an ended meeting's minutes");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::Text;

    fn edit(doc: &Doc, at: u32, s: &str) -> Vec<u8> {
        let t = doc.get_or_insert_text(NOTES_TEXT);
        let before = doc.transact().state_vector();
        t.insert(&mut doc.transact_mut(), at, s);
        doc.transact().encode_state_as_update_v1(&before)
    }

    #[test]
    fn edits_apply_whole_in_order_and_garbage_is_refused() {
        let a = Doc::with_client_id(1);
        let e1 = edit(&a, 0, "hello");
        let e2 = edit(&a, 5, " world");
        let server = new_doc();
        // Out of order: the second needs the first, so it is refused until then.
        assert_eq!(apply(&server, &e2, From::Client), Err(Broken::Gap));
        let server = new_doc();
        apply(&server, &e1, From::Client).unwrap();
        apply(&server, &e2, From::Client).unwrap();
        assert_eq!(text(&server), "hello world");
        assert_eq!(
            text_of(&compacted(&server).unwrap()).as_deref(),
            Some("hello world")
        );
        assert_eq!(
            apply(&server, b"\xff\xff\xff\xff", From::Client),
            Err(Broken::Refused)
        );
        assert_eq!(apply(&server, b"", From::Client), Err(Broken::Refused));
        assert_eq!(text(&server), "hello world");
    }
}
