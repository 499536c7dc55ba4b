// The meeting's side panel and its controls: chat (public, to the moderators, private), the
// participant list with hands and, for moderators, their powers; the hand and reaction
// buttons; what moderators ask of this person. Every action is checked by the server; this
// only shows and asks.

import { tr } from './i18n.js';

/** @typedef {import('./call.js').Call} Call @typedef {import('./protocol.js').ChatMessage} ChatMessage */

/** @param {string} sel @returns {any} */
const $ = (sel) => document.querySelector(sel);

const REACTIONS = /** @type {Record<string, string>} */ ({ applause: '👏', thumbs_up: '👍', thumbs_down: '👎', laugh: '😄', surprised: '😮', heart: '❤️' });

/**
 * `text` as DOM nodes: plain text, with http(s) addresses as links that open elsewhere and
 * tell it nothing (no HTML is ever parsed from a message).
 * @param {string} text @returns {DocumentFragment}
 */
export function linkify(text) {
  const out = document.createDocumentFragment();
  const re = /\bhttps?:\/\/[^\s<>"'`]+/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    let url = m[0];
    // A sentence's closing punctuation is not part of the address.
    const trail = /[.,;:!?)\]]+$/.exec(url);
    if (trail) url = url.slice(0, -trail[0].length);
    const at = m.index ?? 0;
    out.append(text.slice(last, at));
    const a = document.createElement('a');
    a.href = url;
    a.textContent = url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
    out.append(a);
    last = at + url.length;
  }
  out.append(text.slice(last));
  return out;
}

/** The participant list offers a search from this many people. */
const SEARCH_FROM = 8;

/** `s` without accents, in lower case, for matching names. @param {string} s */
function fold(s) {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** @param {number} ms */
function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** The panel's panes, each with its tab (`#tab-…`) and its button in the controls (`#…-button`). @typedef {'chat'|'people'|'polls'|'agenda'|'notes'} Pane */
/** @type {Pane[]} */
const PANES = ['chat', 'people', 'polls', 'agenda', 'notes'];

/**
 * Wires the panel and its buttons to `call`. `say(text)` shows a note to the person. Returns
 * what opens a pane (or closes the panel).
 * @param {Call} call @param {(text: string) => void} say
 * @returns {{open: (which: Pane|null) => void, current: () => Pane|null}}
 */
export function wirePanel(call, say) {
  let unread = 0;
  /** @param {Pane|null} which */
  const open = (which) => {
    $('#panel').hidden = which === null;
    for (const pane of PANES) {
      $(`#${pane}-pane`).hidden = which !== pane;
      $(`#tab-${pane}`).setAttribute('aria-pressed', String(which === pane));
      $(`#${pane}-button`).setAttribute('aria-expanded', String(which === pane));
    }
    if (which === 'chat') {
      unread = 0;
      showUnread();
      $('#chat-text').focus();
    }
  };
  const showUnread = () => {
    $('#unread').textContent = String(unread);
    $('#unread').hidden = unread === 0;
  };
  /** @returns {Pane|null} */
  const current = () => ($('#panel').hidden ? null : PANES.find((p) => !$(`#${p}-pane`).hidden) ?? null);
  for (const pane of PANES) {
    $(`#${pane}-button`).onclick = () => open(current() === pane ? null : pane);
    $(`#tab-${pane}`).onclick = () => open(pane);
  }
  $('#panel-close').onclick = () => open(null);

  /** @param {number|undefined} id */
  const nameOf = (id) => (id === call.you ? call.name : call.remotes.get(id ?? -1)?.name ?? '?');

  /** @param {ChatMessage} m */
  const chatItem = (m) => {
    const li = document.createElement('li');
    li.dataset.chatId = String(m.id);
    li.dataset.to = m.to;
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = m.name;
    const when = document.createElement('span');
    when.className = 'when';
    when.textContent = clock(m.at_ms);
    li.append(who, when);
    if (m.to !== 'everyone') {
      const p = document.createElement('span');
      p.className = 'private';
      p.textContent = m.to === 'moderators' ? tr('client-chat-to-moderators') : tr('client-chat-private', { name: m.from === call.you ? nameOf(m.to_participant) : m.name });
      li.append(p);
    }
    const text = document.createElement('span');
    text.className = 'text';
    text.append(linkify(m.text));
    li.append(text);
    if (call.role === 'moderator') {
      const del = document.createElement('button');
      del.type = 'button';
      del.className = 'link delete';
      del.textContent = tr('client-chat-delete');
      del.onclick = () => call.deleteChat(m.id);
      li.append(' ', del);
    }
    return li;
  };
  const renderChat = () => {
    $('#chat-list').replaceChildren(...call.chat.map(chatItem));
    $('#chat-list').scrollTop = $('#chat-list').scrollHeight;
  };
  const renderRecipients = () => {
    const chosen = $('#chat-to').value;
    const options = [new Option(tr('client-chat-to-everyone'), 'everyone'), new Option(tr('client-chat-to-moderators'), 'moderators')];
    for (const r of call.remotes.values()) options.push(new Option(tr('client-chat-to-person', { name: r.name }), `p${r.id}`));
    $('#chat-to').replaceChildren(...options);
    if ([...$('#chat-to').options].some((o) => o.value === chosen)) $('#chat-to').value = chosen;
  };
  const renderLocks = () => {
    const viewer = call.role !== 'moderator';
    $('#chat-locked').hidden = !(viewer && call.locks.public_chat);
    $('#lock-chat').checked = call.locks.public_chat;
    $('#lock-mics').checked = call.locks.microphones;
    $('#lock-screen').checked = call.locks.screen_share;
    $('#lock-cams').checked = call.locks.cameras;
    $('#lock-see-cams').checked = call.locks.hide_viewer_cameras;
    $('#cam-button').disabled = viewer && call.locks.cameras && !call.videoOn;
    $('#mic-button').disabled = call.local.getAudioTracks().length === 0 || (viewer && call.locks.microphones && !call.audioOn);
  };

  $('#chat-form').addEventListener('submit', (/** @type {Event} */ e) => {
    e.preventDefault();
    const text = $('#chat-text').value.trim();
    if (!text) return;
    const to = $('#chat-to').value;
    if (to.startsWith('p')) call.sendChat('participant', text, Number(to.slice(1)));
    else call.sendChat(to, text);
    $('#chat-text').value = '';
  });
  // Enter sends, Shift+Enter makes a new line.
  $('#chat-text').addEventListener('keydown', (/** @type {KeyboardEvent} */ e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      $('#chat-form').requestSubmit();
    }
  });

  /** @param {number} id @param {string} action @param {string} key */
  const action = (id, action, key) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'secondary';
    b.dataset.action = action;
    b.textContent = tr(key);
    b.onclick = () => call.moderate(id, action);
    return b;
  };
  const renderPeople = () => {
    const moderator = call.role === 'moderator';
    $('#moderator-tools').hidden = !moderator;
    const everyone = [{ id: call.you ?? -1, name: call.name, audio: call.audioOn, video: call.videoOn, screen: call.screen !== null, speaking: call.speaking, quality: call.quality, role: call.role }, ...call.remotes.values()];
    // A large meeting's list can be searched by name (accents and case aside).
    $('#people-search').hidden = everyone.length < SEARCH_FROM;
    const query = fold($('#people-search').value.trim());
    const people = query && everyone.length >= SEARCH_FROM ? everyone.filter((p) => fold(p.name).includes(query)) : everyone;
    $('#people-none').hidden = people.length > 0;
    const items = people.map((p) => {
      const li = document.createElement('li');
      li.dataset.participantId = String(p.id);
      const name = document.createElement('span');
      name.textContent = p.id === call.you ? `${p.name} ${tr('client-you')}` : p.name;
      const state = document.createElement('span');
      state.className = 'state';
      const hand = call.hands.indexOf(p.id);
      state.textContent = [
        p.role === 'moderator' ? tr('client-moderator') : '',
        p.audio ? '' : tr('client-muted'),
        p.screen ? tr('client-sharing-state') : '',
        p.speaking ? tr('client-speaking') : '',
        p.quality === 'fair' ? tr('client-quality-fair') : p.quality === 'poor' ? tr('client-quality-poor') : '',
        hand >= 0 ? tr('client-hand-n', { n: hand + 1 }) : '',
      ].filter(Boolean).join(' · ');
      li.append(name, state);
      if (moderator && p.id !== call.you) {
        const actions = document.createElement('div');
        actions.className = 'actions';
        actions.append(
          action(p.id, 'mute', 'client-mod-mute'),
          action(p.id, 'ask_unmute', 'client-mod-ask-unmute'),
          action(p.id, 'camera_off', 'client-mod-camera-off'),
          ...(p.screen ? [action(p.id, 'stop_screen', 'client-mod-stop-share')] : []),
          p.role === 'moderator' ? action(p.id, 'demote', 'client-mod-demote') : action(p.id, 'promote', 'client-mod-promote'),
          action(p.id, 'remove', 'client-mod-remove'),
          action(p.id, 'remove_and_bar', 'client-mod-bar'),
        );
        if (hand >= 0) {
          const lower = document.createElement('button');
          lower.type = 'button';
          lower.className = 'secondary';
          lower.dataset.action = 'lower_hand';
          lower.textContent = tr('client-lower-hand');
          lower.onclick = () => call.lowerHand(p.id);
          actions.append(lower);
        }
        li.append(actions);
      }
      return li;
    });
    $('#people-list').replaceChildren(...items);
  };
  const renderHands = () => {
    const mine = call.you !== null && call.hands.includes(call.you);
    $('#hand-button').dataset.on = String(mine);
    $('#hand-button').textContent = mine ? tr('client-lower-hand') : tr('client-raise-hand');
    for (const tile of document.querySelectorAll('#tiles .tile')) {
      const id = Number(/** @type {HTMLElement} */ (tile).dataset.participantId);
      const at = call.hands.indexOf(id);
      const el = /** @type {HTMLElement} */ (tile);
      if (at >= 0) {
        el.dataset.hand = String(at + 1);
        /** @type {HTMLElement} */ (tile.querySelector('.hand')).textContent = `✋ ${at + 1}`;
      } else {
        delete el.dataset.hand;
      }
    }
    renderPeople();
  };
  const renderAll = () => {
    renderChat();
    renderRecipients();
    renderLocks();
    renderHands();
  };

  $('#hand-button').onclick = () => call.setHand(!(call.you !== null && call.hands.includes(call.you)));
  $('#react-button').onclick = () => call.react('applause');
  $('#mute-all').onclick = () => call.muteAll();
  $('#lower-hands').onclick = () => call.lowerHand();
  $('#lock-chat').onchange = () => call.lock({ ...call.locks, public_chat: $('#lock-chat').checked, private_chat: $('#lock-chat').checked });
  $('#lock-mics').onchange = () => call.lock({ ...call.locks, microphones: $('#lock-mics').checked });
  $('#lock-cams').onchange = () => call.lock({ ...call.locks, cameras: $('#lock-cams').checked });
  $('#lock-see-cams').onchange = () => call.lock({ ...call.locks, hide_viewer_cameras: $('#lock-see-cams').checked });
  $('#lock-screen').onchange = () => call.lock({ ...call.locks, screen_share: $('#lock-screen').checked });
  // Ending for everyone asks once more, in the page.
  $('#end-all').onclick = () => {
    $('#end-all').hidden = true;
    $('#end-all-confirm').hidden = false;
  };
  $('#end-all-confirm').onclick = () => call.endForAll();

  call.addEventListener('joined', renderAll);
  call.addEventListener('participant', () => {
    renderRecipients();
    renderPeople();
  });
  call.addEventListener('left', () => {
    renderRecipients();
    renderPeople();
  });
  call.addEventListener('chat', (e) => {
    const m = /** @type {CustomEvent} */ (e).detail;
    $('#chat-list').append(chatItem(m));
    $('#chat-list').scrollTop = $('#chat-list').scrollHeight;
    if (current() !== 'chat' && m.from !== call.you) {
      unread += 1;
      showUnread();
    }
  });
  call.addEventListener('chat_deleted', renderChat);
  call.addEventListener('hands', renderHands);
  call.addEventListener('screen', renderPeople);
  call.addEventListener('speaking', renderPeople);
  call.addEventListener('quality', renderPeople);
  $('#people-search').addEventListener('input', renderPeople);
  call.addEventListener('locks', renderLocks);
  call.addEventListener('role', () => {
    renderAll();
  });
  call.addEventListener('reaction', (e) => {
    const { participant_id: id, reaction } = /** @type {CustomEvent} */ (e).detail;
    const key = id === call.you ? 'self' : `p${id}`;
    const tile = /** @type {HTMLElement|null} */ (document.querySelector(`#tiles .tile[data-key="${key}"]`));
    if (!tile) return;
    tile.dataset.reaction = reaction;
    /** @type {HTMLElement} */ (tile.querySelector('.reaction')).textContent = REACTIONS[reaction] || '';
    setTimeout(() => delete tile.dataset.reaction, 3000);
  });
  call.addEventListener('moderator_request', (e) => {
    const { request, by } = /** @type {CustomEvent} */ (e).detail;
    const key = { mute: 'client-mod-muted-you', ask_unmute: 'client-mod-asks-unmute', camera_off: 'client-mod-camera-off-you', stop_screen: 'client-mod-stopped-share' }[/** @type {string} */ (request)];
    if (key) say(tr(key, { name: by }));
  });
  call.addEventListener('error', (e) => {
    const d = /** @type {CustomEvent} */ (e).detail;
    if (d.fatal) return;
    if (d.code === 'locked') say(tr('client-locked'));
    if (d.code === 'too_fast') say(tr('client-too-fast'));
  });
  return { open, current };
}
