// How this client shows the others' video, told to the server as a `view` message: the size
// (in device pixels) of each person's tile and of the stage, and whether each is on screen at
// all. The server sends each camera in the simulcast layer that size needs, and nothing to a
// tile that is not on screen (another page of tiles, a hidden tab). Measured twice a second,
// sent only when it changed.

/** @typedef {import('./call.js').Call} Call */

/** @typedef {{participant_id: number, source: 'camera'|'screen', width: number, height: number, visible: boolean}} TileReport */

/** The most tiles one message may carry (the server's MAX_VIEW_TILES). */
const MAX_TILES = 256;
const EVERY_MS = 500;
/** At least this long between two views (the server takes at most 10 a second). */
const GAP_MS = 250;
/** The view is said again this often even unchanged: a view the server did not take, or
 * forgot (a person it shows got back in after a drop), is not lost for good. */
const AGAIN_MS = 5000;

/**
 * What is on screen now. `sharing` lists who shares a screen: a share not on the stage is
 * said to be off screen (else the server would keep sending it as last said).
 * @param {Document} doc @param {number[]} [sharing] @returns {TileReport[]}
 */
export function measureView(doc, sharing = []) {
  /** @type {Map<string, TileReport>} */
  const tiles = new Map();
  const dpr = doc.defaultView?.devicePixelRatio || 1;
  const vw = doc.defaultView?.innerWidth || 0;
  const vh = doc.defaultView?.innerHeight || 0;
  const tabHidden = doc.visibilityState === 'hidden';
  /** @param {number} id @param {'camera'|'screen'} source @param {Element} el */
  const add = (id, source, el) => {
    const key = `${id}/${source}`;
    const t = tiles.get(key) || { participant_id: id, source, width: 0, height: 0, visible: false };
    const r = el.getBoundingClientRect();
    const onScreen = !tabHidden && r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < vh && r.left < vw;
    if (onScreen) {
      t.visible = true;
      t.width = Math.max(t.width, Math.round(r.width * dpr));
      t.height = Math.max(t.height, Math.round(r.height * dpr));
    }
    tiles.set(key, t);
  };
  for (const tile of doc.querySelectorAll('#tiles .tile:not(.self)')) {
    const id = Number(/** @type {HTMLElement} */ (tile).dataset.participantId);
    // The tile, not its video: a camera turned on shows at once in the space already there.
    if (id) add(id, 'camera', tile);
  }
  for (const id of sharing) tiles.set(`${id}/screen`, { participant_id: id, source: 'screen', width: 0, height: 0, visible: false });
  const stage = /** @type {HTMLElement|null} */ (doc.querySelector('#screen-stage'));
  const shown = Number(stage?.dataset.participantId);
  if (stage && !stage.hidden && shown) {
    const video = stage.querySelector('video') || stage;
    add(shown, stage.dataset.kind === 'screen' ? 'screen' : 'camera', video);
  }
  return [...tiles.values()].slice(0, MAX_TILES);
}

/** Keeps the server told of this page's view. @param {Call} call @param {Document} doc */
export function wireView(call, doc) {
  let last = '';
  let sentAt = 0;
  /** @type {ReturnType<typeof setTimeout>|undefined} */
  let later;
  const tell = () => {
    const sharing = [...call.remotes.values()].filter((r) => r.screen).map((r) => r.id);
    const tiles = measureView(doc, sharing).filter((t) => t.participant_id !== call.you);
    const said = JSON.stringify(tiles);
    if (!call.sig || (said === last && Date.now() - sentAt < AGAIN_MS)) return;
    const wait = sentAt + GAP_MS - Date.now();
    if (wait > 0) {
      clearTimeout(later);
      later = setTimeout(tell, wait);
      return;
    }
    last = said;
    sentAt = Date.now();
    call.sig.send({ type: 'view', tiles });
  };
  // After a reconnect the server knows nothing of the view: say it again.
  call.addEventListener('reconnected', () => {
    last = '';
    tell();
  });
  doc.addEventListener('visibilitychange', tell);
  const timer = setInterval(tell, EVERY_MS);
  call.addEventListener('ended', () => clearInterval(timer));
  return { tell };
}
