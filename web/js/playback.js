// The playback page: a recording's tracks (one file each) played in sync on one clock, the
// stage (a shared screen, else whoever speaks) large and people small, the chat replayed as
// the clock passes it, the shared minutes as they stood then, a "who spoke when" list to jump
// with, and the download's progress.

export {};

const player = /** @type {HTMLElement} */ (document.getElementById('player'));
const id = player.dataset.id;
const key = player.dataset.key;
const q = key ? `?k=${encodeURIComponent(key)}` : '';
const stage = document.getElementById('rec-stage');
const people = document.getElementById('rec-people');
const playButton = document.getElementById('rec-play');
const seek = /** @type {HTMLInputElement} */ (document.getElementById('rec-seek'));
const timeLabel = document.getElementById('rec-time');
const chat = /** @type {HTMLElement[]} */ ([...document.querySelectorAll('#rec-chat li')]);
/** The minutes as they were at each moment, in order. */
const notes = /** @type {HTMLElement[]} */ ([...document.querySelectorAll('#rec-notes pre')]);

/** Where the clock is (ms), and since when it runs. */
let position = 0;
let runningSince = null;
let timeline = null;
/** Per track: its element and when it plays. */
let tracks = [];
/** Per participant: [from, to] speaking intervals. */
let speaking = [];
let screens = [];

function now() {
  return runningSince === null ? position : position + (performance.now() - runningSince);
}

function clock(ms) {
  const s = Math.floor(ms / 1000);
  const two = (n) => String(n).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`
    : `${Math.floor(s / 60)}:${two(s % 60)}`;
}

function on(spans, t) {
  return spans.some(([a, b]) => a <= t && t <= b);
}

function intervals(events, kind, flag) {
  const open = new Map();
  const out = [];
  for (const e of [...events].sort((a, b) => a.at_ms - b.at_ms)) {
    if (e.type === kind && e[flag]) {
      if (!open.has(e.participant)) open.set(e.participant, e.at_ms);
    } else if ((e.type === kind && !e[flag]) || e.type === 'left') {
      if (open.has(e.participant)) {
        out.push({ participant: e.participant, from: open.get(e.participant), to: e.at_ms });
        open.delete(e.participant);
      }
    }
  }
  for (const [participant, from] of open) out.push({ participant, from, to: timeline.length_ms });
  return out;
}

function build() {
  speaking = intervals(timeline.events, 'speaking', 'speaking');
  screens = intervals(timeline.events, 'screen', 'on');
  tracks = timeline.tracks.map((t) => {
    const el = document.createElement(t.kind === 'video' ? 'video' : 'audio');
    el.src = `/recordings/${id}/media/${encodeURIComponent(t.file)}${q}`;
    el.preload = 'auto';
    if (el instanceof HTMLVideoElement) {
      el.muted = true; // sound comes from the audio tracks
      el.playsInline = true;
      el.dataset.participant = t.participant;
      el.dataset.source = t.source;
      const name = timeline.people.find((p) => p.participant === t.participant)?.name ?? '';
      el.title = name;
      el.setAttribute('aria-label', name);
    } else {
      el.hidden = true;
      player.append(el);
    }
    return { ...t, el };
  });
  seek.max = String(timeline.length_ms / 1000);
}

/** Who has the stage at `t`: a screen being shared, else the last to start speaking. */
function layout(t) {
  // (A track starts some milliseconds in: shown from a second before, on its first frame.)
  const visible = tracks.filter((tr) => tr.kind === 'video' && t + 1000 >= tr.start_ms && t <= tr.end_ms
    && (tr.source === 'screen'
      ? (screens.length ? screens.some((s) => s.participant === tr.participant && s.from <= t + 1000 && t <= s.to) : on(tr.spans, Math.max(t, tr.start_ms)))
      : on(tr.spans, Math.max(t, tr.start_ms))));
  const screen = visible.find((tr) => tr.source === 'screen');
  const talking = speaking.filter((s) => s.from <= t && t <= s.to).sort((a, b) => b.from - a.from)[0]
    ?? speaking.filter((s) => s.to <= t).sort((a, b) => b.to - a.to)[0];
  const speakerCam = talking && visible.find((tr) => tr.source === 'camera' && tr.participant === talking.participant);
  const main = screen ?? speakerCam ?? visible[0];
  return { main, others: visible.filter((tr) => tr !== main) };
}

function place(t) {
  const { main, others } = layout(t);
  if (main && main.el.parentElement !== stage) stage.replaceChildren(main.el);
  if (!main) stage.replaceChildren();
  for (const tr of others) if (tr.el.parentElement !== people) people.append(tr.el);
  for (const el of [...people.children]) if (!others.some((tr) => tr.el === el)) el.remove();
}

/** Every element where the clock says, playing or not as the clock does. */
function sync(force) {
  const t = now();
  for (const tr of tracks) {
    const inside = t >= tr.start_ms && t < tr.end_ms + 500;
    const want = Math.max(0, (t - tr.start_ms) / 1000);
    if (!inside) {
      if (!tr.el.paused) tr.el.pause();
      continue;
    }
    if (force || Math.abs(tr.el.currentTime - want) > 0.3) {
      try { tr.el.currentTime = want; } catch { /* not loaded yet */ }
    }
    if (runningSince !== null && tr.el.paused) tr.el.play().catch(() => {});
    if (runningSince === null && !tr.el.paused) tr.el.pause();
  }
  place(t);
  for (const li of chat) li.hidden = Number(li.dataset.at) > t;
  // The minutes as they stood then: the last snapshot before the clock.
  const shown = notes.filter((n) => Number(n.dataset.at) <= t).pop();
  for (const n of notes) n.hidden = n !== shown;
  timeLabel.textContent = `${clock(t)} / ${clock(timeline.length_ms)}`;
  if (document.activeElement !== seek) seek.value = String(t / 1000);
  if (runningSince !== null && t >= timeline.length_ms) stop(timeline.length_ms);
}

function start() {
  if (now() >= timeline.length_ms) position = 0;
  runningSince = performance.now();
  playButton.textContent = player.dataset.pause;
  sync(true);
}

function stop(at) {
  position = at ?? now();
  runningSince = null;
  playButton.textContent = player.dataset.play;
  sync(false);
}

function jump(ms) {
  position = Math.max(0, Math.min(ms, timeline.length_ms));
  if (runningSince !== null) runningSince = performance.now();
  sync(true);
}

playButton.addEventListener('click', () => (runningSince === null ? start() : stop()));
seek.addEventListener('input', () => jump(Number(seek.value) * 1000));
document.addEventListener('click', (e) => {
  const at = e.target instanceof Element ? e.target.closest('button[data-at]') : null;
  if (at instanceof HTMLElement) jump(Number(at.dataset.at));
});

/** While the download is made: its progress and an estimate from how fast it moves. */
async function watchProgress() {
  const line = document.getElementById('rec-progress');
  if (!line) return;
  let first = null;
  const base = line.textContent ?? '';
  for (;;) {
    await new Promise((r) => setTimeout(r, 2000));
    const res = await fetch(`/recordings/${id}/timeline.json${q}`);
    if (!res.ok) return;
    const { recording } = await res.json();
    if (recording.state === 'ready') {
      const a = document.createElement('a');
      a.className = 'button';
      a.id = 'rec-download';
      a.href = `/recordings/${id}/download${q}`;
      a.textContent = player.dataset.download;
      line.replaceWith(a);
      return;
    }
    if (recording.state !== 'processing') return;
    const p = recording.progress / 1000;
    const at = performance.now();
    first ??= { p, at };
    let text = base.replace(/\([\u2068\u2069\d\s]+%\)/, `(${Math.floor(p * 100)} %)`);
    if (p > first.p) {
      const left = ((1 - p) * (at - first.at)) / (p - first.p) / 1000;
      text += ` ${player.dataset.eta.replace('SECONDS', String(Math.ceil(left)))}`;
    }
    line.textContent = text;
  }
}

const res = await fetch(`/recordings/${id}/timeline.json${q}`);
if (res.ok) {
  ({ timeline } = await res.json());
  if (timeline) {
    build();
    sync(true);
    setInterval(() => sync(false), 250);
  }
}
watchProgress();
