// The meeting's polls in the side panel: moderators ask (yes/no/abstain, a consent round, one
// or several of their options, the quick A/B/C/D, yes/no and true/false), everyone the poll is
// for answers once, and everyone sees the results (live, or once it closes). Who may vote,
// once each, secrecy and hidden results are all the server's to enforce; this only shows and
// asks.

import { tr } from './i18n.js';

/** @typedef {import('./call.js').Call} Call @typedef {import('./protocol.js').Poll} Poll @typedef {import('./protocol.js').PollSpec} PollSpec */

/** @param {string} sel @returns {any} */
const $ = (sel) => document.querySelector(sel);

/** The messages wording the fixed options of the kinds that have them. */
const FIXED = /** @type {Record<string, string>} */ ({
  yes: 'client-poll-yes', no: 'client-poll-no', abstain: 'client-poll-abstain',
  consent: 'client-poll-consent', concern: 'client-poll-concern', object: 'client-poll-object',
});
const FIXED_OPTIONS = /** @type {Record<string, string[]>} */ ({ yes_no: ['yes', 'no', 'abstain'], consent: ['consent', 'concern', 'object'] });

/** A poll's options as the person reads them. @param {PollSpec} spec @returns {string[]} */
export function optionLabels(spec) {
  const fixed = FIXED_OPTIONS[spec.kind];
  return fixed ? fixed.map((o) => tr(FIXED[o])) : spec.options || [];
}

/** @param {number} ms */
function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** @param {string} s */
function csvField(s) {
  // A leading = + - @ would make a spreadsheet run it as a formula (as the server's export).
  const t = /^[=+\-@]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

/** A poll's results as CSV: one row per option. @param {Poll} p @returns {string} */
export function pollCsv(p) {
  const labels = optionLabels(p.spec);
  const rows = [['question', 'option', 'votes', 'names'].join(',')];
  labels.forEach((label, i) => {
    rows.push([p.spec.question, label, String(p.counts?.[i] ?? ''), (p.names?.[i] || []).join('; ')].map(csvField).join(','));
  });
  return rows.join('\n') + '\n';
}

/** A closed poll's results as a Markdown block for the minutes, in the reader's language. @param {Poll} p @returns {string} */
export function pollMarkdown(p) {
  const labels = optionLabels(p.spec);
  const lines = [`**${tr('client-poll-minutes-title', { question: p.spec.question })}**`];
  labels.forEach((label, i) => {
    const names = p.names?.[i] || [];
    lines.push(`- ${label}: ${p.counts?.[i] ?? 0}${names.length ? ` (${names.join(', ')})` : ''}`);
  });
  const total = [tr('client-poll-votes', { n: p.votes })];
  if (p.spec.quorum) total.push(tr(p.votes >= p.spec.quorum ? 'client-poll-quorum-met' : 'client-poll-quorum-not-met', { n: p.spec.quorum }));
  if (p.spec.secret) total.push(tr('client-poll-secret-note'));
  lines.push(`- ${total.join(' · ')}`);
  return lines.join('\n');
}

/** The spec the moderator's form describes. @returns {PollSpec} */
function formSpec() {
  const kind = $('#poll-kind').value;
  /** @type {PollSpec} */
  const spec = { question: $('#poll-question').value.trim(), kind: 'single', options: [] };
  if (kind === 'yes_no' || kind === 'consent') spec.kind = kind;
  else if (kind === 'abcd') spec.options = ['A', 'B', 'C', 'D'];
  else if (kind === 'quick_yes_no') spec.options = [tr('client-poll-yes'), tr('client-poll-no')];
  else if (kind === 'true_false') spec.options = [tr('client-poll-true'), tr('client-poll-false')];
  else {
    spec.kind = kind === 'multiple' ? 'multiple' : 'single';
    spec.options = $('#poll-options').value.split('\n').map((/** @type {string} */ o) => o.trim()).filter(Boolean);
  }
  spec.voters = $('#poll-voters').value;
  spec.secret = $('#poll-secret').checked;
  spec.hide_results = $('#poll-hide').checked;
  const quorum = Number($('#poll-quorum').value);
  if (quorum > 0) spec.quorum = quorum;
  const minutes = Number($('#poll-minutes').value);
  if (minutes > 0) spec.duration_s = Math.round(minutes * 60);
  return spec;
}

/**
 * Wires the polls pane to `call`. `say(text)` shows a note; `openPanel('polls')` shows the
 * pane (a newly asked poll is put in front of everyone, as BigBlueButton does).
 * @param {Call} call @param {(text: string) => void} say @param {(which: 'polls') => void} openPanel
 * @param {(markdown: string) => void} toMinutes adds a block to the shared minutes
 */
export function wirePolls(call, say, openPanel, toMinutes) {
  const showKind = () => {
    $('#poll-options-box').hidden = !['single', 'multiple'].includes($('#poll-kind').value);
    // Guests are known by their page only: a new page is a new guest, who may vote again.
    $('#poll-guests-note').hidden = $('#poll-voters').value !== 'everyone';
  };
  $('#poll-kind').onchange = showKind;
  $('#poll-voters').onchange = showKind;
  $('#poll-form').addEventListener('submit', (/** @type {Event} */ e) => {
    e.preventDefault();
    const spec = formSpec();
    if (spec.kind !== 'yes_no' && spec.kind !== 'consent' && (spec.options || []).length < 2) {
      say(tr('client-poll-need-options'));
      return;
    }
    call.openPoll(spec);
    $('#poll-new').open = false;
    $('#poll-question').value = '';
    $('#poll-options').value = '';
  });

  /** @param {Poll} p */
  const item = (p) => {
    const li = document.createElement('li');
    li.className = 'poll';
    li.dataset.pollId = String(p.id);
    li.dataset.state = p.closed_ms ? 'closed' : 'open';
    const q = document.createElement('h3');
    q.textContent = p.spec.question;
    const meta = document.createElement('p');
    meta.className = 'note';
    meta.textContent = [
      tr('client-poll-by', { name: p.by }),
      p.closed_ms ? tr('client-poll-closed') : tr('client-poll-open'),
      p.spec.secret ? tr('client-poll-secret-note') : '',
      !p.closed_ms && p.closes_ms ? tr('client-poll-closes-at', { time: clock(p.closes_ms) }) : '',
    ].filter(Boolean).join(' · ');
    li.append(q, meta);
    const labels = optionLabels(p.spec);
    const mine = call.voted.get(p.id);
    if (!p.closed_ms && mine === undefined) {
      const form = document.createElement('form');
      form.className = 'poll-vote';
      const multiple = p.spec.kind === 'multiple';
      labels.forEach((label, i) => {
        const l = document.createElement('label');
        const input = document.createElement('input');
        input.type = multiple ? 'checkbox' : 'radio';
        input.name = `poll-${p.id}`;
        input.value = String(i);
        l.append(input, ' ', label);
        form.append(l);
      });
      const vote = document.createElement('button');
      vote.type = 'submit';
      vote.textContent = tr('client-poll-vote');
      form.append(vote);
      form.onsubmit = (e) => {
        e.preventDefault();
        const choices = [...form.querySelectorAll('input:checked')].map((i) => Number(/** @type {HTMLInputElement} */ (i).value));
        if (choices.length) call.vote(p.id, choices);
      };
      li.append(form);
    } else if (mine !== undefined) {
      const you = document.createElement('p');
      you.className = 'poll-you';
      you.textContent = mine.length ? tr('client-poll-you-chose', { choice: mine.map((c) => labels[c]).join(', ') }) : tr('client-poll-you-voted');
      li.append(you);
    }
    const total = document.createElement('p');
    total.className = 'poll-total';
    total.textContent = [
      tr('client-poll-votes', { n: p.votes }),
      p.spec.quorum ? tr(p.votes >= p.spec.quorum ? 'client-poll-quorum-met' : 'client-poll-quorum-not-met', { n: p.spec.quorum }) : '',
    ].filter(Boolean).join(' · ');
    li.append(total);
    if (p.counts) {
      const results = document.createElement('ul');
      results.className = 'poll-results';
      labels.forEach((label, i) => {
        const r = document.createElement('li');
        const n = p.counts?.[i] ?? 0;
        const bar = document.createElement('meter');
        bar.min = 0;
        bar.max = Math.max(1, p.votes);
        bar.value = n;
        const text = document.createElement('span');
        text.className = 'count';
        text.textContent = `${label}: ${n}`;
        r.append(text, bar);
        const names = p.names?.[i] || [];
        if (names.length) {
          const who = document.createElement('span');
          who.className = 'names';
          who.textContent = names.join(', ');
          r.append(who);
        }
        results.append(r);
      });
      li.append(results);
      const csv = document.createElement('button');
      csv.type = 'button';
      csv.className = 'secondary poll-csv';
      csv.textContent = tr('client-poll-download');
      csv.onclick = () => {
        const a = document.createElement('a');
        a.href = URL.createObjectURL(new Blob([pollCsv(p)], { type: 'text/csv' }));
        a.download = `poll-${p.id}.csv`;
        a.click();
        URL.revokeObjectURL(a.href);
      };
      li.append(csv);
    } else {
      const hidden = document.createElement('p');
      hidden.className = 'note';
      hidden.textContent = tr('client-poll-hidden');
      li.append(hidden);
    }
    if (call.role === 'moderator' && p.closed_ms && p.counts) {
      const add = document.createElement('button');
      add.type = 'button';
      add.className = 'secondary poll-to-minutes';
      add.textContent = tr('client-poll-to-minutes');
      add.onclick = () => {
        toMinutes(pollMarkdown(p));
        say(tr('client-poll-in-minutes'));
      };
      li.append(add);
    }
    if (call.role === 'moderator' && !p.closed_ms) {
      const close = document.createElement('button');
      close.type = 'button';
      close.className = 'secondary poll-close';
      close.textContent = tr('client-poll-close');
      close.onclick = () => call.closePoll(p.id);
      li.append(close);
    }
    return li;
  };

  const render = () => {
    $('#poll-new').hidden = call.role !== 'moderator';
    // A ballot half filled in stays so while others vote (each vote re-renders the list).
    const ticked = new Set([...document.querySelectorAll('#poll-list form.poll-vote input:checked')].map((i) => /** @type {HTMLInputElement} */ (i).name + '/' + /** @type {HTMLInputElement} */ (i).value));
    const polls = [...call.polls.values()].sort((a, b) => b.id - a.id);
    $('#poll-list').replaceChildren(...polls.map(item));
    for (const i of document.querySelectorAll('#poll-list form.poll-vote input')) {
      const input = /** @type {HTMLInputElement} */ (i);
      if (ticked.has(input.name + '/' + input.value)) input.checked = true;
    }
    $('#poll-none').hidden = polls.length > 0;
  };

  /** Polls already shown to this person (a reconnect does not ask again). */
  const seen = new Set();
  call.addEventListener('joined', () => {
    for (const id of call.polls.keys()) seen.add(id);
    showKind();
    render();
  });
  call.addEventListener('role', render);
  call.addEventListener('poll', (e) => {
    const p = /** @type {Poll|undefined} */ (/** @type {CustomEvent} */ (e).detail);
    if (p && !seen.has(p.id)) {
      seen.add(p.id);
      // Put in front of the others (the asker has it in front already).
      if (!p.closed_ms && !(call.role === 'moderator' && p.by === call.name)) {
        openPanel('polls');
        say(tr('client-poll-asked', { name: p.by, question: p.spec.question }));
      }
    }
    render();
  });
  call.addEventListener('error', (e) => {
    const d = /** @type {CustomEvent} */ (e).detail;
    const key = /** @type {Record<string, string>} */ ({ not_eligible: 'client-poll-not-eligible', already_voted: 'client-poll-already-voted', poll_closed: 'client-poll-is-closed', unknown_poll: 'client-poll-is-closed', bad_choice: 'client-poll-bad-choice' })[d.code];
    if (key) say(tr(key));
    // A poll the server would not take (a question too long, two options alike…): its reason.
    else if (d.code === 'bad_message' && /poll|option|question|quorum|timer/.test(d.message) && !/agenda/.test(d.message)) say(tr('client-poll-refused', { message: d.message }));
  });
}
