// The meeting's agenda and speakers' list in the side panel: the item under discussion with
// its time box, the speaker with their speaking time, and who is next. Moderators move through
// the agenda, edit it, and give the floor; the speaker ends their own turn. Every action is
// checked by the server; this only shows and asks.

import { tr } from './i18n.js';

/** @typedef {import('./call.js').Call} Call @typedef {import('./protocol.js').AgendaItem} AgendaItem */

/** @param {string} sel @returns {any} */
const $ = (sel) => document.querySelector(sel);

/** `ms` as m:ss. @param {number} ms */
export function elapsed(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The agenda as the edit box shows it: an item per line, ` | minutes` after a time box. @param {AgendaItem[]} items */
export function agendaText(items) {
  return items.map((i) => (i.minutes ? `${i.title} | ${i.minutes}` : i.title)).join('\n');
}

/** The edit box's items: an item per non-empty line; a trailing `| minutes` is its time box. @param {string} text @returns {AgendaItem[]} */
export function agendaItems(text) {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const m = /^(.*)\|\s*(\d+)\s*$/.exec(l);
    return m ? { title: m[1].trim(), minutes: Number(m[2]) } : { title: l };
  });
}

/**
 * Wires the agenda pane to `call`.
 * @param {Call} call @param {(text: string) => void} say
 */
export function wireAgenda(call, say) {
  /** @param {number} id */
  const nameOf = (id) => (id === call.you ? call.name : call.remotes.get(id)?.name ?? '?');

  const renderAgenda = () => {
    const moderator = call.role === 'moderator';
    const { items, current } = call.agenda;
    $('#agenda-tools').hidden = !moderator;
    $('#agenda-none').hidden = items.length > 0;
    $('#agenda-next').disabled = items.length === 0 || (current ?? -1) >= items.length - 1;
    if (!$('#agenda-edit').open) $('#agenda-text').value = agendaText(items);
    const list = items.map((item, i) => {
      const li = document.createElement('li');
      li.dataset.index = String(i);
      if (i === current) li.setAttribute('aria-current', 'step');
      const title = document.createElement('span');
      title.textContent = item.minutes ? tr('client-agenda-item-minutes', { name: item.title, n: item.minutes }) : item.title;
      li.append(title);
      if (moderator && i !== current) {
        const go = document.createElement('button');
        go.type = 'button';
        go.className = 'link';
        go.textContent = tr('client-agenda-go');
        go.onclick = () => call.agendaGo(i);
        li.append(' ', go);
      }
      return li;
    });
    $('#agenda-list').replaceChildren(...list);
    tick();
  };

  const renderSpeakers = () => {
    const moderator = call.role === 'moderator';
    const s = call.speakers;
    $('#speaker-tools').hidden = !moderator;
    $('#speaker-done').hidden = !(s.current !== undefined && (moderator || s.current === call.you));
    $('#speakers-progressive').checked = s.progressive;
    if (document.activeElement !== $('#speakers-limit')) $('#speakers-limit').value = s.limit_s ? String(Math.round(s.limit_s / 60)) : '';
    $('#speaker-next').disabled = s.queue.length === 0;
    $('#speakers-none').hidden = s.queue.length > 0;
    const queue = s.queue.map((id) => {
      const li = document.createElement('li');
      li.dataset.participantId = String(id);
      li.textContent = id === call.you ? `${nameOf(id)} ${tr('client-you')}` : nameOf(id);
      return li;
    });
    $('#speaker-queue').replaceChildren(...queue);
    tick();
  };

  /** The timers: the item's against its time box, the speaker's against the speaking time. */
  const tick = () => {
    const now = Date.now();
    const { items, current, since_ms: since } = call.agenda;
    const item = current !== undefined ? items[current] : undefined;
    const now1 = $('#agenda-now');
    if (item && since) {
      const spent = now - since;
      const over = item.minutes !== undefined && spent > item.minutes * 60000;
      now1.dataset.over = String(over);
      now1.textContent = item.minutes
        ? tr('client-agenda-now-boxed', { name: item.title, time: elapsed(spent), n: item.minutes })
        : tr('client-agenda-now', { name: item.title, time: elapsed(spent) });
    } else {
      now1.textContent = '';
    }
    const s = call.speakers;
    const now2 = $('#speaker-now');
    if (s.current !== undefined && s.since_ms) {
      const spent = now - s.since_ms;
      now2.dataset.over = String(s.limit_s !== undefined && spent > s.limit_s * 1000);
      now2.textContent = s.limit_s
        ? tr('client-speaker-now-limited', { name: nameOf(s.current), time: elapsed(spent), n: Math.round(s.limit_s / 60) })
        : tr('client-speaker-now', { name: nameOf(s.current), time: elapsed(spent) });
    } else {
      now2.textContent = '';
    }
  };
  setInterval(tick, 1000);

  $('#agenda-next').onclick = () => call.agendaGo((call.agenda.current ?? -1) + 1);
  $('#agenda-form').addEventListener('submit', (/** @type {Event} */ e) => {
    e.preventDefault();
    call.setAgenda(agendaItems($('#agenda-text').value));
    $('#agenda-edit').open = false;
  });
  $('#speaker-next').onclick = () => call.speakerNext();
  $('#speaker-done').onclick = () => call.speakerDone();
  const settings = () => {
    const minutes = Number($('#speakers-limit').value);
    call.speakersSet($('#speakers-progressive').checked, minutes > 0 ? Math.round(minutes * 60) : null);
  };
  $('#speakers-progressive').onchange = settings;
  $('#speakers-limit').onchange = settings;

  call.addEventListener('joined', () => {
    renderAgenda();
    renderSpeakers();
  });
  call.addEventListener('role', () => {
    renderAgenda();
    renderSpeakers();
  });
  call.addEventListener('agenda', renderAgenda);
  call.addEventListener('speakers', () => {
    const before = $('#speaker-now').dataset.speaker;
    renderSpeakers();
    const now = call.speakers.current;
    $('#speaker-now').dataset.speaker = now === undefined ? '' : String(now);
    if (now === call.you && before !== String(now)) say(tr('client-speaker-you'));
  });
  call.addEventListener('participant', renderSpeakers);
  call.addEventListener('left', renderSpeakers);
  call.addEventListener('error', (e) => {
    const d = /** @type {CustomEvent} */ (e).detail;
    if (d.code === 'bad_message' && /agenda|speaking time/.test(d.message)) say(tr('client-agenda-refused', { message: d.message }));
  });
}
