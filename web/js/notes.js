// The meeting's shared minutes in the side panel: one Yjs document (a CRDT) that everyone
// edits at once without losing anyone's typing. Each local change goes to the server as a Yjs
// update; the server stores it, says `notes_saved`, and passes it on to the others, each edit
// numbered: a number skipped (a message lost) and every reconnect make the page ask for the
// whole document again, merge it and send what the server is missing. Viewers read only while
// a moderator locks the minutes (the server refuses their edits then; this only mirrors it).

import * as Y from '../vendor/yjs.mjs';
import { tr } from './i18n.js';

/** @typedef {import('./call.js').Call} Call */

/** @param {string} sel @returns {any} */
const $ = (sel) => document.querySelector(sel);

/** @param {Uint8Array} bytes */
function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** @param {string} b64 */
function fromBase64(b64) {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/**
 * The one change that turns `from` into `to`: where they differ, what goes and what comes.
 * @param {string} from @param {string} to @returns {{at: number, remove: number, insert: string}}
 */
export function change(from, to) {
  const high = (/** @type {string} */ s, /** @type {number} */ i) => i >= 0 && i < s.length && s.charCodeAt(i) >= 0xd800 && s.charCodeAt(i) <= 0xdbff;
  let start = 0;
  while (start < from.length && start < to.length && from[start] === to[start]) start++;
  // Never between the two halves of a character outside the BMP (an emoji, say).
  if (high(from, start - 1)) start--;
  let end = 0;
  while (end < from.length - start && end < to.length - start && from[from.length - 1 - end] === to[to.length - 1 - end]) end++;
  if (end > 0 && high(from, from.length - end - 1)) end--;
  return { at: start, remove: from.length - start - end, insert: to.slice(start, to.length - end) };
}

/** Edits from this page (the server's own and the others' come with other origins). */
const LOCAL = 'local';

/**
 * Wires the minutes pane to `call`. Returns what adds a block of Markdown at the end of the
 * minutes (a poll's results, a decision).
 * @param {Call} call @param {(text: string) => void} say
 * @returns {{append: (markdown: string) => void}}
 */
export function wireNotes(call, say) {
  const area = /** @type {HTMLTextAreaElement} */ ($('#notes-text'));
  /** @type {Y.Doc|null} */
  let doc = null;
  /** Edits sent on this connection and not yet acknowledged. */
  let unsaved = 0;
  /** The number of the last edit this page has (from `notes`, `notes_edit`, `notes_saved`). */
  let seq = 0;
  /** A `notes_sync` is on its way. */
  let syncing = false;
  /** This page changed the minutes since the server last acknowledged all of its edits. */
  let dirty = false;
  /** @type {ReturnType<typeof setTimeout>|undefined} */
  let syncTimer;
  /** The meeting's integration turned shared notes off. */
  let off = false;
  const sync = () => {
    syncing = true;
    call.notesSync();
    // No answer (lost on the way, or the server briefly unavailable): asked again.
    clearTimeout(syncTimer);
    syncTimer = setTimeout(() => { if (syncing) sync(); }, 5000);
  };

  const editable = () => doc !== null && (call.role === 'moderator' || !call.locks.notes);
  const showState = () => {
    area.readOnly = !editable();
    $('#notes-locked').hidden = !(doc !== null && call.role !== 'moderator' && call.locks.notes);
    $('#notes-status').textContent = doc === null ? tr(off ? 'client-notes-off' : 'client-notes-loading') : unsaved > 0 ? tr('client-notes-saving') : tr('client-notes-saved');
    $('#notes-lock-box').hidden = call.role !== 'moderator';
    $('#notes-lock').checked = call.locks.notes;
    $('#notes-all').hidden = call.role !== 'moderator';
    $('#notes-decision').disabled = !editable();
  };

  /** Shows the document's text, keeping the cursor where it was in the text around it. */
  const render = () => {
    if (!doc) return;
    const text = doc.getText('minutes');
    const value = text.toString();
    if (area.value === value) return;
    const focused = document.activeElement === area;
    const [s, e] = [area.selectionStart, area.selectionEnd];
    // Where the cursor is, as positions in the old text the other edits move with.
    const old = change(area.value, value);
    const shift = (/** @type {number} */ i) => (i <= old.at ? i : i >= old.at + old.remove ? i - old.remove + old.insert.length : old.at + old.insert.length);
    area.value = value;
    if (focused) area.setSelectionRange(shift(s), shift(e));
  };

  /** Takes the server's whole document: a fresh copy, or merged into this page's (after a reconnect, a missed edit). @param {string} state @param {number} at its last edit's number */
  const load = (state, at) => {
    syncing = false;
    clearTimeout(syncTimer);
    seq = at;
    // What was in flight is in this document or sent again below.
    unsaved = 0;
    const bytes = fromBase64(state);
    if (doc === null) {
      doc = new Y.Doc();
      const d = doc;
      d.on('update', (/** @type {Uint8Array} */ update, /** @type {any} */ origin) => {
        if (origin !== LOCAL || d !== doc) return;
        dirty = true;
        // While the server's copy is on its way, the merge sends this along with the rest.
        if (syncing) return;
        unsaved++;
        call.notesEdit(toBase64(update));
        showState();
      });
      d.getText('minutes').observe(() => render());
      Y.applyUpdate(d, bytes, 'server');
    } else {
      Y.applyUpdate(doc, bytes, 'server');
      // What this page typed or deleted that the server does not have yet (a drop mid-edit):
      // sent again (the server takes what it has already as a no-op).
      const missing = Y.encodeStateAsUpdate(doc, Y.encodeStateVectorFromUpdate(bytes));
      if (dirty) {
        unsaved++;
        call.notesEdit(toBase64(missing));
      }
    }
    render();
    showState();
  };

  area.addEventListener('input', () => {
    if (!doc || !editable()) {
      render();
      return;
    }
    const text = doc.getText('minutes');
    const c = change(text.toString(), area.value);
    doc.transact(() => {
      if (c.remove) text.delete(c.at, c.remove);
      if (c.insert) text.insert(c.at, c.insert);
    }, LOCAL);
  });

  /** Adds `markdown` as a block at the end. @param {string} markdown */
  const append = (markdown) => {
    if (!doc || !editable()) {
      say(tr('client-notes-cannot-edit'));
      return;
    }
    const text = doc.getText('minutes');
    const before = text.toString();
    const sep = before === '' || before.endsWith('\n\n') ? '' : before.endsWith('\n') ? '\n' : '\n\n';
    doc.transact(() => text.insert(text.length, `${sep}${markdown}\n`), LOCAL);
  };

  $('#notes-decision').onclick = () => {
    if (!doc || !editable()) return;
    // A decision line at the cursor's line end, ready to be written.
    const text = doc.getText('minutes');
    const value = text.toString();
    const lineEnd = value.indexOf('\n', area.selectionEnd);
    const at = lineEnd === -1 ? value.length : lineEnd;
    const head = `${at > 0 ? '\n' : ''}**${tr('client-notes-decision-label')}:** `;
    doc.transact(() => text.insert(at, head), LOCAL);
    area.focus();
    area.setSelectionRange(at + head.length, at + head.length);
  };
  $('#notes-download').onclick = () => {
    const blob = new Blob([area.value], { type: 'text/markdown;charset=utf-8' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `minutes-${call.room}.md`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  $('#notes-all').href = `/rooms/${encodeURIComponent(call.room)}/minutes`;
  $('#notes-lock').onchange = () => call.lock({ ...call.locks, notes: $('#notes-lock').checked });

  call.addEventListener('joined', () => {
    // A new connection: what was in flight on the old one is sent again by the merge.
    unsaved = 0;
    sync();
    showState();
  });
  /** Edit `n` came: the next one, or one was missed and the whole document is asked for. @param {number} n */
  const next = (n) => {
    if (n !== seq + 1 && !syncing) sync();
    seq = Math.max(seq, n);
  };
  call.addEventListener('notes', (e) => {
    const m = /** @type {CustomEvent} */ (e).detail;
    if (m.type === 'notes') load(m.state, m.seq);
    else if (m.type === 'notes_edit') {
      if (doc) Y.applyUpdate(doc, fromBase64(m.update), 'server');
      next(m.seq);
    } else if (m.type === 'notes_saved') {
      unsaved = Math.max(0, unsaved - 1);
      if (unsaved === 0 && !syncing) dirty = false;
      next(m.seq);
      showState();
    } else if (m.type === 'notes_refused') {
      // (Refusals of edits sent before a fresh start concern a copy that is gone.)
      if (doc === null) return;
      unsaved = Math.max(0, unsaved - 1);
      if (m.code === 'unavailable') {
        // Not stored this time: kept here, and sent again with the rest after a pause.
        setTimeout(sync, 2000);
      } else if (m.code === 'wrong_order') {
        // It followed an edit the server does not have: both go again with the merge.
        if (!syncing) sync();
      } else {
        // Locked meanwhile, too long, not taken: this page's copy has it, nobody else's. It
        // starts again from the server's (which holds every edit it took before this one).
        if (m.code === 'notes_full') say(tr('client-notes-full'));
        else if (m.code !== 'locked') say(tr('client-notes-cannot-edit'));
        unsaved = 0;
        dirty = false;
        doc = null;
        sync();
      }
      showState();
    }
  });
  call.addEventListener('locks', showState);
  call.addEventListener('role', showState);
  call.addEventListener('error', (e) => {
    // The minutes could not be read: shared notes are off in this meeting.
    const d = /** @type {CustomEvent} */ (e).detail;
    // (Unavailable: the sync timer asks again.)
    if (!syncing || doc !== null) return;
    if (d.code === 'forbidden') {
      syncing = false;
      clearTimeout(syncTimer);
      off = true;
      showState();
    }
  });
  showState();
  return { append };
}
