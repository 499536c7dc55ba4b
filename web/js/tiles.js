// The tile grid: one tile per participant (video, or initials when the camera is off), name,
// muted icon. Stays usable from 1 to 25 tiles: the grid picks columns to fill the space. More
// than a page (25) are shown a page at a time, with buttons to turn pages: tiles on other pages
// are hidden, so the server sends them no video (see view.js); whoever speaks is on the stage.

import { tr } from './i18n.js';

/** Up to two initials for a name. @param {string} name */
export function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return letters.map((w) => Array.from(w)[0].toUpperCase()).join('') || '?';
}

/** Columns and rows for `n` tiles in a `w`×`h` area with 16:9 tiles. */
export function gridShape(n, w, h) {
  let best = { cols: 1, rows: Math.max(1, n), size: 0 };
  for (let cols = 1; cols <= Math.max(1, n); cols++) {
    const rows = Math.ceil(n / cols);
    const tileW = Math.min(w / cols, ((h / rows) * 16) / 9);
    if (tileW > best.size) best = { cols, rows, size: tileW };
  }
  return best;
}

/** Tiles on one page. */
export const PAGE_SIZE = 25;

export class TileGrid {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.root = root;
    /** @type {Map<string, HTMLElement>} */
    this.tiles = new Map();
    /** Tiles per page (a test may lower it). */
    this.pageSize = PAGE_SIZE;
    this.page = 0;
    // Page buttons, over the top of the grid.
    this.pager = document.createElement('div');
    this.pager.className = 'pager';
    this.pager.setAttribute('role', 'group');
    this.pager.hidden = true;
    this.pager.innerHTML = '<button type="button" class="secondary prev">‹</button><span class="page" aria-live="polite"></span><button type="button" class="secondary next">›</button>';
    root.after(this.pager);
    /** @type {HTMLButtonElement} */ (this.pager.querySelector('.prev')).onclick = () => this.turn(-1);
    /** @type {HTMLButtonElement} */ (this.pager.querySelector('.next')).onclick = () => this.turn(1);
    new ResizeObserver(() => this.layout()).observe(root);
  }

  /** Turns `by` pages (within the first and the last). @param {number} by */
  turn(by) {
    this.page += by;
    this.layout();
  }

  /**
   * Adds or updates a tile.
   * @param {string} key @param {{name: string, audio: boolean, video: boolean, stream: MediaStream|null,
   *   self?: boolean, participantId?: number|null, reconnecting?: boolean, speaking?: boolean, pinned?: boolean, quality?: string}} p
   */
  upsert(key, p) {
    let tile = this.tiles.get(key);
    if (!tile) {
      tile = document.createElement('figure');
      tile.className = 'tile';
      tile.innerHTML = `<video autoplay playsinline muted></video><audio autoplay></audio><span class="hand" aria-hidden="true"></span><span class="reaction" aria-hidden="true"></span><span class="reconnecting"></span><button type="button" class="pin secondary"></button>
        <div class="avatar" aria-hidden="true"></div>
        <figcaption><svg class="muted-icon" viewBox="0 0 24 24" width="14" height="14" role="img" aria-label="Microphone off"><title>Microphone off</title><path fill="currentColor" d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.9V21h2v-3.1A7 7 0 0 0 19 11h-2z"/><path stroke="#ff6b6b" stroke-width="2.5" d="M4 3l16 18"/></svg><span class="name"></span><span class="weak" aria-hidden="true"> ⚠</span></figcaption>`;
      this.tiles.set(key, tile);
      this.root.append(tile);
      this.layout();
    }
    tile.dataset.key = key;
    if (p.participantId != null) tile.dataset.participantId = String(p.participantId);
    tile.classList.toggle('self', !!p.self);
    tile.dataset.muted = String(!p.audio);
    tile.dataset.video = String(p.video);
    tile.dataset.reconnecting = String(!!p.reconnecting);
    tile.dataset.speaking = String(!!p.speaking);
    tile.dataset.quality = p.quality || 'good';
    const pin = /** @type {HTMLButtonElement} */ (tile.querySelector('.pin'));
    pin.hidden = !!p.self;
    pin.dataset.on = String(!!p.pinned);
    pin.textContent = p.pinned ? tr('client-unpin') : tr('client-pin');
    pin.setAttribute('aria-label', tr(p.pinned ? 'client-unpin-name' : 'client-pin-name', { name: p.name }));
    /** @type {HTMLElement} */ (tile.querySelector('.reconnecting')).textContent = p.reconnecting ? tr('client-reconnecting-them') : '';
    /** @type {HTMLElement} */ (tile.querySelector('.name')).textContent = p.self ? `${p.name} ${tr('client-you')}` : p.name;
    /** @type {HTMLElement} */ (tile.querySelector('.avatar')).textContent = initials(p.name);
    const video = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
    const audio = /** @type {HTMLAudioElement} */ (tile.querySelector('audio'));
    if (p.stream) {
      const videoOnly = new MediaStream(p.stream.getVideoTracks());
      if (!sameTracks(video.srcObject, videoOnly)) video.srcObject = videoOnly;
      if (!p.self) {
        const audioOnly = new MediaStream(p.stream.getAudioTracks());
        if (!sameTracks(audio.srcObject, audioOnly)) audio.srcObject = audioOnly;
      }
    }
  }

  /** @param {string} key */
  remove(key) {
    const tile = this.tiles.get(key);
    if (!tile) return;
    tile.remove();
    this.tiles.delete(key);
    this.layout();
  }

  layout() {
    const all = [...this.tiles.values()];
    const size = Math.max(1, this.pageSize);
    const pages = Math.max(1, Math.ceil(all.length / size));
    this.page = Math.min(Math.max(this.page, 0), pages - 1);
    all.forEach((tile, i) => {
      tile.hidden = Math.floor(i / size) !== this.page;
    });
    const n = all.filter((t) => !t.hidden).length;
    const { cols, rows } = gridShape(n, this.root.clientWidth || 800, this.root.clientHeight || 450);
    this.root.style.setProperty('--cols', String(cols));
    this.root.style.setProperty('--rows', String(rows));
    this.root.dataset.count = String(n);
    this.pager.hidden = pages < 2;
    this.root.dataset.pages = String(pages);
    /** @type {HTMLElement} */ (this.pager.querySelector('.page')).textContent = tr('client-page', { page: this.page + 1, pages });
    const prev = /** @type {HTMLButtonElement} */ (this.pager.querySelector('.prev'));
    const next = /** @type {HTMLButtonElement} */ (this.pager.querySelector('.next'));
    prev.disabled = this.page === 0;
    next.disabled = this.page >= pages - 1;
    prev.setAttribute('aria-label', tr('client-page-previous'));
    next.setAttribute('aria-label', tr('client-page-next'));
  }
}

/**
 * Whether `a` already plays exactly `b`'s tracks: the same track objects (after a reconnect a
 * new track can carry the old one's id).
 * @param {MediaProvider|null} a @param {MediaStream} b
 */
export function sameTracks(a, b) {
  if (!(a instanceof MediaStream)) return false;
  const x = a.getTracks();
  const y = b.getTracks();
  return x.length === y.length && x.every((t) => y.includes(t));
}
