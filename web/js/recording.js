// The meeting's recording: the bar everyone sees while it is recorded (or paused), told to
// screen readers when it changes and by whom; the moderators' buttons: "Record the meeting"
// among their tools (the people pane), and on the bar, while recording, pause, resume and stop
// (stopping asks once more, in the page). The server checks every request: only moderators,
// and only where the room's settings allow recording.

import { tr } from './i18n.js';

/** @typedef {import('./call.js').Call} Call */

/** @param {string} sel @returns {any} */
const $ = (sel) => document.querySelector(sel);

/** How long a start waits for the server's answer (the recording, or a refusal), in ms. */
const START_ANSWER_MS = 10000;

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
  /** @type {ReturnType<typeof setTimeout>|undefined} */
  let startTimer;

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
    clearTimeout(startTimer);
    waits(start, false);
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
    if (confirm.hidden) waits(confirm, false);
    if (focused?.hidden) buttons.find((b) => !b.hidden && b.offsetParent !== null)?.focus();
  };

  start.onclick = () => {
    if (waits(start)) return;
    waits(start, true);
    clearTimeout(startTimer);
    startTimer = setTimeout(answered, START_ANSWER_MS);
    call.record('start');
  };
  pause.onclick = () => call.record('pause');
  resume.onclick = () => call.record('resume');
  // Stopping asks once more, in the page; Escape takes the question back.
  stop.onclick = () => {
    confirming = true;
    render();
    confirm.focus();
  };
  confirm.onclick = () => {
    if (waits(confirm)) return;
    waits(confirm, true);
    call.record('stop');
  };
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
    if ($('#meeting-notes').textContent === tr('client-recording-not-allowed')) say('');
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
    // A start refused: the room's settings do not allow recording (or this person no longer
    // moderates, and the buttons go away with the role).
    if (d.code === 'forbidden' && waits(start)) {
      answered();
      if (call.role === 'moderator') say(tr('client-recording-not-allowed'));
    }
  });
  render();
}
