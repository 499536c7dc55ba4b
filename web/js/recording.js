// The meeting's recording: the bar everyone sees while it is recorded (or paused), told to
// screen readers when it changes and by whom; the moderators' buttons: "Record the meeting"
// among their tools (the people pane), and on the bar, while recording, pause, resume and stop
// (stopping asks once more, in the page). The server checks every request: only moderators,
// and only where the room's settings allow recording.

import { tr } from './i18n.js';

/** @typedef {import('./call.js').Call} Call */

/** @param {string} sel @returns {any} */
const $ = (sel) => document.querySelector(sel);

/** How long a request waits for the server's answer (the recording's change, or a refusal), in ms. */
const ANSWER_MS = 10000;

/**
 * Wires the recording bar and buttons to `call`. `say(text)` shows a note to the person.
 * @param {Call} call @param {(text: string) => void} say
 */
export function wireRecording(call, say) {
  const indicator = $('#recording-indicator');
  const status = $('#recording-status');
  const start = $('#record-start');
  const pause = $('#record-pause');
  const resume = $('#record-resume');
  const stop = $('#record-stop');
  const confirm = $('#record-stop-confirm');
  const buttons = [start, pause, resume, stop, confirm];
  /** Stopping asked once more and not yet answered. */
  let confirming = false;
  /** The request sent and not yet answered, if any. @type {string|null} */
  let pending = null;
  /** @type {ReturnType<typeof setTimeout>|undefined} */
  let pendingTimer;

  /**
   * Whether `button`'s request waits for its answer (set with `waiting`): such a button does
   * nothing, but keeps the focus, which a disabled one would lose.
   * @param {HTMLButtonElement} button @param {boolean} [waiting]
   */
  const waits = (button, waiting) => {
    if (waiting !== undefined) button.setAttribute('aria-disabled', String(waiting));
    return button.getAttribute('aria-disabled') === 'true';
  };
  const answered = () => {
    pending = null;
    clearTimeout(pendingTimer);
    for (const b of buttons) waits(b, false);
  };
  /** Sends `action` from `button`, once until it is answered. @param {HTMLButtonElement} button @param {'start'|'pause'|'resume'|'stop'} action */
  const ask = (button, action) => {
    if (waits(button)) return;
    waits(button, true);
    pending = action;
    clearTimeout(pendingTimer);
    pendingTimer = setTimeout(answered, ANSWER_MS);
    call.record(action);
  };

  const render = () => {
    const state = call.recording;
    indicator.hidden = state === 'off';
    indicator.dataset.state = state;
    $('#recording-label').textContent = state === 'paused' ? tr('client-recording-paused') : tr('client-recording');
    const moderator = call.role === 'moderator';
    if (!moderator || state === 'off') confirming = false;
    // The focus stays on the recording's buttons when the one it was on goes away.
    const focused = buttons.find((b) => b === document.activeElement);
    start.hidden = !moderator || state !== 'off';
    pause.hidden = !moderator || state !== 'recording';
    resume.hidden = !moderator || state !== 'paused';
    stop.hidden = !moderator || state === 'off' || confirming;
    confirm.hidden = !moderator || state === 'off' || !confirming;
    if (focused?.hidden) buttons.find((b) => !b.hidden && b.offsetParent !== null)?.focus();
  };

  start.onclick = () => ask(start, 'start');
  pause.onclick = () => ask(pause, 'pause');
  resume.onclick = () => ask(resume, 'resume');
  // Stopping asks once more, in the page; Escape takes the question back.
  stop.onclick = () => {
    confirming = true;
    render();
    confirm.focus();
  };
  confirm.onclick = () => ask(confirm, 'stop');
  confirm.addEventListener('keydown', (/** @type {KeyboardEvent} */ e) => {
    if (e.key !== 'Escape') return;
    e.preventDefault();
    confirming = false;
    render();
    stop.focus();
  });

  call.addEventListener('recording', (e) => {
    const { state, by, previous } = /** @type {CustomEvent} */ (e).detail;
    confirming = false;
    answered();
    // A refusal shown earlier no longer holds.
    if ([tr('client-recording-not-allowed'), tr('client-recording-no-control')].includes($('#meeting-notes').textContent)) say('');
    // No name: the meeting was already so when this person came in (or came back).
    const text = !by
      ? { recording: tr('client-recording-now'), paused: tr('client-recording-now-paused'), off: tr('client-recording-off') }[/** @type {string} */ (state)]
      : state === 'recording'
        ? previous === 'paused'
          ? tr('client-recording-resumed', { name: by })
          : tr('client-recording-started', { name: by })
        : state === 'paused'
          ? tr('client-recording-paused-by', { name: by })
          : tr('client-recording-stopped', { name: by });
    status.textContent = text;
    indicator.title = text;
    render();
  });
  call.addEventListener('joined', render);
  call.addEventListener('role', render);
  call.addEventListener('error', (e) => {
    const d = /** @type {CustomEvent} */ (e).detail;
    // A request refused: the room (its settings, its organisation, the integration that made
    // it) does not allow it, or this person no longer moderates (the buttons go with the role).
    if (d.code === 'forbidden' && pending) {
      const action = pending;
      answered();
      if (call.role === 'moderator') say(tr(action === 'start' || action === 'resume' ? 'client-recording-not-allowed' : 'client-recording-no-control'));
    }
  });
  render();
}
