// The client's texts in the person's language, from the server's Fluent files
// (GET /i18n/messages.json: the language comes from the `lang` cookie or Accept-Language).
// Pages carry English in their markup and name the message in data-i18n attributes, so they
// read correctly even before (or without) the messages.

/** @type {Record<string, string>} */
let messages = {};

/** Loads the messages and translates the page; the pages await this before showing anything
 * that scripts write. Never fails: the markup's English stays on error. */
export async function loadMessages() {
  try {
    const r = await fetch('/i18n/messages.json', { credentials: 'same-origin' });
    if (!r.ok) return;
    const body = await r.json();
    messages = body.messages || {};
    if (body.lang) document.documentElement.lang = body.lang;
    applyI18n(document);
  } catch {
    // Offline or an old server: the English in the markup stays.
  }
}

/**
 * A message with `{name}` placeholders filled from `args`; the key itself if unknown.
 * @param {string} key @param {Record<string, string|number>} [args]
 */
export function tr(key, args = {}) {
  const text = messages[key];
  if (text === undefined) {
    console.warn('plenary: no message', key);
    return key;
  }
  return fill(text, args);
}

/** @param {string} text @param {Record<string, string|number>} args */
function fill(text, args) {
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in args ? String(args[name]) : m));
}

/** Translates `data-i18n` (text), `data-i18n-placeholder` and `data-i18n-label` (aria-label). @param {ParentNode} root */
export function applyI18n(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    const key = el.getAttribute('data-i18n');
    if (key && messages[key] !== undefined) el.textContent = messages[key];
  }
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) {
    const key = el.getAttribute('data-i18n-placeholder');
    if (key && messages[key] !== undefined) el.setAttribute('placeholder', messages[key]);
  }
  for (const el of root.querySelectorAll('[data-i18n-label]')) {
    const key = el.getAttribute('data-i18n-label');
    if (key && messages[key] !== undefined) el.setAttribute('aria-label', messages[key]);
  }
}
