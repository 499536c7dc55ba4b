// The room page: the join screen (name, preview, device pickers), then the meeting.

import { api } from './protocol.js';
import { Call } from './call.js';
import { getCamera, getLocalMedia, listDevices } from './devices.js';
import { TileGrid } from './tiles.js';
import { wireStage } from './stage.js';
import { wireDevices } from './settings.js';
import { wireKeys } from './keys.js';
import { loadMessages, tr } from './i18n.js';
import { wirePanel } from './panel.js';
import { wirePolls } from './polls.js';
import { wireAgenda } from './agenda.js';
import { wireNotes } from './notes.js';
import { wireRecording } from './recording.js';
import { Diagnostics } from './diagnostics.js';
import { wireView } from './view.js';

/** @param {string} sel @returns {any} */
const $ = (sel) => document.querySelector(sel);
const roomId = decodeURIComponent(location.pathname.split('/').pop() || '');
const NAME_KEY = 'plenary.name';
// A join link from an integration (the BigBlueButton API) carries a signed token in the
// fragment, which browsers never send to the server: it fixes the name and role. It is kept
// for this tab (not in the address bar), so that a reload takes the same seat again: such a
// room admits only through its integration's links.
const TOKEN_KEY = `plenary.join.${roomId}`;
const linkToken = new URLSearchParams(location.hash.slice(1)).get('join') || sessionStorage.getItem(TOKEN_KEY);
if (linkToken) {
  sessionStorage.setItem(TOKEN_KEY, linkToken);
  history.replaceState(null, '', location.pathname);
}

/** The name a link token fixes, read from its (signed, here only displayed) claims. */
function tokenName() {
  try {
    const body = (linkToken || '').split('.')[0].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)).name || '';
  } catch {
    return '';
  }
}

/** @type {{call: Call|null, pc: RTCPeerConnection|null, local: import('./devices.js').LocalMedia|null, steps: string[]}} */
/** @type {any} */
const state = { call: null, pc: null, local: null, steps: [], diagnostics: null };
// Exposed for people debugging in the console and for the end-to-end tests.
/** @type {any} */ (window).plenary = state;

/** @param {string} id @param {string} text */
function say(id, text) {
  const el = $(id);
  el.textContent = text;
  el.hidden = !text;
}

function show(screen) {
  for (const s of ['#join', '#waiting', '#meeting', '#ended']) $(s).hidden = s !== screen;
}

async function init() {
  await loadMessages();
  show('#join');
  try {
    const room = await api('GET', `/api/rooms/${encodeURIComponent(roomId)}`);
    $('#room-name').textContent = room.name;
    $('#access-code-box').hidden = !room.access_code || Boolean(linkToken);
    document.title = `${room.name} · Plenary`;
    $('#room-link').value = location.href;
    showRecording(room.recording);
  } catch (err) {
    say('#join-error', err.code === 'not_found' ? tr('client-no-room') : tr('client-room-load-failed', { message: err.message }));
    $('#join-button').disabled = true;
    return;
  }
  const fixed = linkToken ? tokenName() : '';
  $('#name').value = fixed || localStorage.getItem(NAME_KEY) || '';
  $('#name').readOnly = Boolean(fixed);
  // Handlers first, so that an early click never falls through to a native form submit.
  $('#join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (state.local) join();
  });
  // Before joining, a new choice reopens the preview; in the meeting, `wire` handles it.
  $('#camera').addEventListener('change', () => state.call || preview());
  $('#microphone').addEventListener('change', () => state.call || preview());
  $('#join-button').disabled = true;
  watchRecording();
  await preview();
  $('#join-button').disabled = false;
}

/** How often the join screen asks again whether the meeting is being recorded, in ms. */
const RECORDING_CHECK_MS = 5000;

/**
 * Tells the person on the join screen that the meeting is being recorded (or paused), before
 * they join. @param {string|undefined} recording the room's `recording` (`off` when absent)
 */
function showRecording(recording) {
  const notice = $('#prejoin-recording');
  const state = recording === 'recording' || recording === 'paused' ? recording : 'off';
  notice.dataset.state = state;
  say('#prejoin-recording', state === 'recording' ? tr('client-prejoin-recording') : state === 'paused' ? tr('client-prejoin-recording-paused') : '');
}

/** While the join screen shows, a recording that starts (or stops) meanwhile is shown too. */
function watchRecording() {
  setInterval(async () => {
    if (state.call || $('#join').hidden) return;
    try {
      showRecording((await api('GET', `/api/rooms/${encodeURIComponent(roomId)}`)).recording);
    } catch {
      // Asked again at the next tick; the meeting's own bar tells once in.
    }
  }, RECORDING_CHECK_MS);
}

/** (Re)opens the devices chosen in the pickers and shows the preview. */
async function preview() {
  if (state.local) for (const t of state.local.stream.getTracks()) t.stop();
  const local = await getLocalMedia({ audioId: $('#microphone').value || undefined, videoId: $('#camera').value || undefined });
  state.local = local;
  $('#preview').srcObject = local.stream;
  $('#preview-box').dataset.video = String(local.stream.getVideoTracks().length > 0);
  const notes = [];
  if (local.audioError) notes.push(tr('client-join-listen-only', { message: local.audioError }));
  if (local.videoError) notes.push(tr('client-join-without-video', { message: local.videoError }));
  say('#device-notes', notes.join(' '));
  const { cameras, microphones } = await listDevices();
  fill($('#camera'), cameras, local.stream.getVideoTracks()[0]);
  fill($('#microphone'), microphones, local.stream.getAudioTracks()[0]);
}

/** @param {HTMLSelectElement} select @param {MediaDeviceInfo[]} devices @param {MediaStreamTrack|undefined} current */
function fill(select, devices, current) {
  const chosen = current?.getSettings().deviceId || select.value;
  select.replaceChildren(
    ...devices.filter((d) => d.deviceId).map((d, i) => new Option(d.label || tr('client-device-n', { n: i + 1 }), d.deviceId, false, d.deviceId === chosen)),
  );
  select.disabled = select.options.length === 0;
}

/** How often someone early for a meeting only a moderator may open asks again, in ms. */
const NOT_STARTED_RETRY_MS = 3000;

async function join() {
  const name = $('#name').value.trim();
  if (!name) {
    say('#join-error', tr('client-enter-name'));
    return;
  }
  if (!linkToken) localStorage.setItem(NAME_KEY, name);
  say('#join-error', '');
  $('#join-button').disabled = true;
  const call = new Call(roomId, state.local.stream);
  state.call = call;
  state.steps = call.steps;
  const grid = new TileGrid($('#tiles'));
  state.grid = grid;
  wire(call, grid);
  const panel = wirePanel(call, (text) => say('#meeting-notes', text));
  const minutes = wireNotes(call, (text) => say('#meeting-notes', text));
  wirePolls(call, (text) => say('#meeting-notes', text), panel.open, minutes.append);
  wireAgenda(call, (text) => say('#meeting-notes', text));
  wireRecording(call, (text) => say('#meeting-notes', text));
  try {
    await call.join(name, linkToken || undefined, $('#access-code').value.trim() || undefined);
  } catch (err) {
    // Left from the waiting room, or the meeting ended meanwhile: the ended screen says so.
    if (call.meetingEnded || call.endReason === 'left') return;
    state.call = null;
    call.end('join failed');
    show('#join');
    $('#tiles').replaceChildren();
    $('#join-button').disabled = false;
    say('#join-error', joinError(err));
    await preview();
    // Early for a meeting only a moderator opens: held here, and in as soon as it is open.
    if (err.code === 'not_started') {
      $('#join-button').disabled = true;
      setTimeout(join, NOT_STARTED_RETRY_MS);
    }
    return;
  }
  state.pc = call.pc;
  show('#meeting');
  const notes = [];
  // Without a microphone one only listens; with one, a meeting that starts everyone muted
  // leaves it open and muted (unmuting is instant).
  if (call.local.getAudioTracks().length === 0) notes.push(tr('client-listen-only'));
  else if (!call.audioOn) notes.push(tr('client-joined-muted'));
  if (!call.videoOn) notes.push(tr('client-no-camera'));
  say('#meeting-notes', notes.join(' '));
  selfTile(call, grid);
  updateButtons(call);
}

/** Why the server ended the meeting, in the page's language where the reason is known. @param {string} reason */
function endedBecause(reason) {
  switch (reason) {
    case 'time_limit':
      return tr('client-time-limit');
    case 'room_deleted':
      return tr('client-room-deleted');
    case 'server_stopping':
      return tr('client-server-stopping');
    case 'ended_by_moderator':
      return tr('client-ended-by-moderator');
    default:
      return reason;
  }
}

/** What to tell the person when joining failed. @param {any} err */
function joinError(err) {
  switch (err.code) {
    case 'guest_denied':
      return tr('client-guest-denied');
    case 'access_code_required':
      $('#access-code-box').hidden = false;
      return tr('client-code-required');
    case 'wrong_access_code':
      return tr('client-wrong-code');
    case 'too_many_attempts':
      return tr('client-too-many');
    case 'room_full':
      return tr('client-room-full');
    case 'server_busy':
      return tr('client-server-busy');
    case 'not_started':
      return tr('client-not-started');
    case 'sign_in_required':
      return tr('client-sign-in-required');
    case 'integration_only':
      return tr('client-integration-only');
    case 'barred':
      return tr('client-barred');
    case 'invalid_token':
      if (linkToken) sessionStorage.removeItem(TOKEN_KEY);
      return tr('client-link-invalid');
    default:
      return tr('client-join-failed', { message: err.message });
  }
}

/** @param {Call} call @param {TileGrid} grid */
function selfTile(call, grid) {
  grid.upsert('self', { name: call.name, audio: call.audioOn, video: call.videoOn, stream: call.local, self: true, participantId: call.you, speaking: call.speaking });
}

/** @param {Call} call @param {TileGrid} grid */
function wire(call, grid) {
  /** Viewers may see only moderators' cameras: the server forwards no other. @param {import('./call.js').Remote} r */
  const cameraShown = (r) => r.video && !(call.role !== 'moderator' && call.locks.hide_viewer_cameras && r.role !== 'moderator');
  const stage = wireStage(call, cameraShown, (text) => say('#meeting-notes', text));
  wireView(call, document);
  /** @param {import('./call.js').Remote} r */
  const tile = (r) => {
    grid.upsert(`p${r.id}`, { name: r.name, audio: r.audio, video: cameraShown(r), stream: r.stream, participantId: r.id, reconnecting: r.reconnecting, speaking: r.speaking, pinned: stage.pinned === r.id, quality: r.quality });
  };
  stage.onPin = () => {
    for (const r of call.remotes.values()) tile(r);
  };
  call.addEventListener('speaking', () => selfTile(call, grid));
  // (To moderators) the server is near its capacity: newcomers may be turned away. And the
  // admins have a problem this person reported.
  call.addEventListener('notice', (e) => {
    const code = /** @type {CustomEvent} */ (e).detail;
    if (code === 'near_capacity') say('#meeting-notes', tr('client-near-capacity'));
    if (code === 'problem_reported') say('#meeting-notes', tr('client-problem-sent'));
  });
  // Call quality: a summary of the connection every 10 s (again after a reconnect), and the
  // problem report that sends the last one.
  const diagnostics = new Diagnostics(call);
  state.diagnostics = diagnostics;
  call.addEventListener('joined', () => diagnostics.start());
  call.addEventListener('ended', () => diagnostics.stop());
  const problem = /** @type {HTMLDialogElement} */ ($('#problem-dialog'));
  $('#problem-button').onclick = () => {
    $('#problem-note').value = '';
    problem.showModal();
  };
  $('#problem-cancel').onclick = () => problem.close();
  $('#problem-form').onsubmit = () => {
    call.reportProblem($('#problem-note').value.trim(), diagnostics.last);
  };
  // The connection dropped: the client gets back in by itself; the person is told meanwhile.
  call.addEventListener('reconnecting', () => {
    $('#reconnecting').hidden = false;
  });
  call.addEventListener('reconnected', () => {
    $('#reconnecting').hidden = true;
    state.pc = call.pc;
    selfTile(call, grid);
    updateButtons(call);
  });
  call.addEventListener('participant', (e) => {
    tile(/** @type {CustomEvent} */ (e).detail);
    stage.render();
  });
  for (const event of ['locks', 'role']) call.addEventListener(event, () => {
    for (const r of call.remotes.values()) tile(r);
  });
  call.addEventListener('left', (e) => {
    grid.remove(`p${/** @type {CustomEvent} */ (e).detail}`);
    stage.render();
  });
  call.addEventListener('screen', () => {
    stage.render();
    updateButtons(call);
  });
  call.addEventListener('waiting', () => show('#waiting'));
  call.addEventListener('lobby', () => renderLobby(call));
  $('#waiting-leave').onclick = () => call.leave();
  // A moderator muted this person or turned the camera off: the buttons and tile follow.
  call.addEventListener('moderator_request', () => {
    selfTile(call, grid);
    updateButtons(call);
  });
  call.addEventListener('error', (e) => {
    const d = /** @type {CustomEvent} */ (e).detail;
    if (!d.fatal) console.warn('plenary:', d.code, d.message);
  });
  call.addEventListener('ended', (e) => {
    const { reason, code } = /** @type {CustomEvent} */ (e).detail;
    $('#ended-reason').textContent = call.meetingEnded
      ? endedBecause(reason)
      : reason === 'left'
        ? tr('client-you-left')
        : code === 'replaced'
          ? tr('client-replaced')
          : code === 'connection_lost' || code === 'cannot_resume'
            ? tr('client-connection-lost')
          : code === 'removed'
            ? tr('client-removed')
            : code === 'barred'
              ? tr('client-barred')
              : tr('client-connection-ended', { reason });
    $('#ended').dataset.meetingEnded = String(call.meetingEnded);
    // A meeting that has ended cannot be joined again with this link.
    $('#rejoin-button').hidden = call.meetingEnded || Boolean(linkToken);
    const back = $('#logout-link');
    back.hidden = !call.logoutUrl;
    if (call.logoutUrl) back.href = call.logoutUrl;
    show('#ended');
  });
  $('#mic-button').onclick = () => {
    if (!call.setAudio(!call.audioOn)) say('#meeting-notes', tr('client-no-mic-listen-only'));
    selfTile(call, grid);
    updateButtons(call);
  };
  $('#cam-button').onclick = async () => {
    $('#cam-button').disabled = true;
    const on = await call.setVideo(!call.videoOn, () => getCamera($('#camera').value || undefined).catch(() => null));
    if (!on && !call.videoOn) say('#meeting-notes', call.local.getVideoTracks().length ? '' : tr('client-camera-is-off'));
    $('#cam-button').disabled = false;
    selfTile(call, grid);
    updateButtons(call);
  };
  $('#leave-button').onclick = () => call.leave();
  // Closing the tab or going elsewhere is leaving (a dropped connection is held instead).
  window.addEventListener('pagehide', () => {
    if (!call.ended) call.leave();
  });
  $('#rejoin-button').onclick = () => location.reload();
  wireKeys();
  wireDevices(
    call,
    () => {
      selfTile(call, grid);
      updateButtons(call);
    },
    (text) => say('#meeting-notes', text),
  );
}

/** The waiting room's guests, with admit/deny buttons (moderators only). @param {Call} call */
function renderLobby(call) {
  const items = [...call.lobby.values()].map((p) => {
    const li = document.createElement('li');
    li.dataset.participant = String(p.id);
    const name = document.createElement('span');
    name.textContent = p.name;
    const admit = document.createElement('button');
    admit.type = 'button';
    admit.className = 'admit';
    admit.textContent = tr('client-admit');
    admit.onclick = () => call.admit(p.id);
    const deny = document.createElement('button');
    deny.type = 'button';
    deny.className = 'deny secondary';
    deny.textContent = tr('client-deny');
    deny.onclick = () => call.deny(p.id);
    li.append(name, admit, deny);
    return li;
  });
  $('#lobby-list').replaceChildren(...items);
  $('#lobby').hidden = items.length === 0;
}

/** @param {Call} call */
function updateButtons(call) {
  // Each button's name says what it does next; `data-on` only styles the unusual state (a
  // pressed state would contradict a name that changes).
  const mic = $('#mic-button');
  mic.dataset.on = String(!call.audioOn);
  mic.textContent = call.audioOn ? tr('client-mute') : tr('client-unmute');
  mic.disabled = call.local.getAudioTracks().length === 0;
  const cam = $('#cam-button');
  cam.dataset.on = String(!call.videoOn);
  cam.textContent = call.videoOn ? tr('client-stop-camera') : tr('client-start-camera');
  const share = $('#share-button');
  share.dataset.on = String(call.screen !== null);
  share.textContent = call.screen ? tr('client-stop-share') : tr('client-share-screen');
  if (call.screen) $('#share-confirm').hidden = true;
}

$('#copy-link')?.addEventListener('click', () => navigator.clipboard?.writeText($('#room-link').value));
init();
