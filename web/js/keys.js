// The meeting by keyboard: one-letter shortcuts for the controls (not while typing), a list of
// them under "?", and the phone layout's "More" menu.

/** @param {string} sel @returns {any} */
const $ = (sel) => document.querySelector(sel);

/** Key → the control it presses. */
const SHORTCUTS = /** @type {Record<string, string>} */ ({
  m: '#mic-button',
  v: '#cam-button',
  h: '#hand-button',
  c: '#chat-button',
  p: '#people-button',
  s: '#share-button',
  d: '#devices-button',
});

/** Whether the person is typing somewhere (a shortcut must not steal the letter). @param {EventTarget|null} t */
function typing(t) {
  const el = /** @type {HTMLElement|null} */ (t instanceof HTMLElement ? t : null);
  return !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
}

export function wireKeys() {
  const help = /** @type {HTMLDialogElement} */ ($('#keys-dialog'));
  $('#keys-button').onclick = () => help.showModal();
  $('#keys-close').onclick = () => help.close();
  const more = $('#more-button');
  more.onclick = () => {
    const open = $('#controls').dataset.more !== 'open';
    $('#controls').dataset.more = open ? 'open' : '';
    more.setAttribute('aria-expanded', String(open));
  };
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat || typing(e.target)) return;
    if ($('#meeting').hidden || document.querySelector('dialog[open]')) return;
    if (e.key === '?') {
      e.preventDefault();
      help.showModal();
      return;
    }
    const sel = SHORTCUTS[e.key.toLowerCase()];
    const button = sel ? /** @type {HTMLButtonElement|null} */ ($(sel)) : null;
    if (!button || button.disabled || button.hidden) return;
    e.preventDefault();
    button.click();
    // The chat opened by keyboard is ready to write in.
    if (sel === '#chat-button' && !$('#chat-pane').hidden) $('#chat-text').focus();
  });
}
