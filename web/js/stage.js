// The stage: one large picture beside the tiles. A shared screen first (with its audio), else
// the person pinned, else, with three or more people, whoever spoke last. The share button,
// with its "share instead?" question, lives here too.

import { tr } from './i18n.js';
import { sameTracks } from './tiles.js';

/** @typedef {import('./call.js').Call} Call @typedef {import('./call.js').Remote} Remote */

/** @param {string} sel @returns {any} */
const $ = (sel) => document.querySelector(sel);

/**
 * @param {Call} call @param {(r: Remote) => boolean} cameraShown whether this person's camera may be shown
 * @param {(text: string) => void} say
 */
export function wireStage(call, cameraShown, say) {
  const api = {
    /** The participant pinned to the stage, if any. @type {number|null} */
    pinned: /** @type {number|null} */ (null),
    /** Called when the pin changed (the tiles show it). */
    onPin: () => {},
    render: () => render(),
  };

  /** What the stage shows now, or null for the grid alone. */
  const pick = () => {
    if (call.screen) return { kind: 'screen', id: call.you, stream: call.screen, caption: tr('client-sharing-you') };
    const sharer = call.sharer();
    if (sharer && sharer.screenStream.getVideoTracks().length > 0) {
      return { kind: 'screen', id: sharer.id, stream: sharer.screenStream, caption: tr('client-sharing', { name: sharer.name }) };
    }
    const pinned = api.pinned !== null ? call.remotes.get(api.pinned) : undefined;
    if (pinned && cameraShown(pinned)) return { kind: 'person', id: pinned.id, stream: pinned.stream, caption: pinned.name };
    const speaker = call.lastSpeaker !== null ? call.remotes.get(call.lastSpeaker) : undefined;
    if (call.remotes.size >= 2 && speaker && cameraShown(speaker)) {
      return { kind: 'speaker', id: speaker.id, stream: speaker.stream, caption: speaker.name };
    }
    return null;
  };

  const render = () => {
    const stage = $('#screen-stage');
    const video = /** @type {HTMLVideoElement} */ (stage.querySelector('video'));
    const audio = /** @type {HTMLAudioElement} */ (stage.querySelector('audio'));
    if (api.pinned !== null && !call.remotes.has(api.pinned)) api.pinned = null;
    const shown = pick();
    stage.hidden = !shown;
    $('#meeting').dataset.sharing = String(!!shown);
    stage.dataset.participantId = shown ? String(shown.id) : '';
    stage.dataset.kind = shown ? shown.kind : '';
    if (!shown) {
      video.srcObject = null;
      audio.srcObject = null;
      return;
    }
    const videoOnly = new MediaStream(shown.stream.getVideoTracks());
    if (!sameTracks(video.srcObject, videoOnly)) video.srcObject = videoOnly;
    // Only a remote screen's own audio plays here (people's voices play from their tiles).
    const screenAudio = shown.kind === 'screen' && !call.screen ? shown.stream.getAudioTracks() : [];
    const audioOnly = new MediaStream(screenAudio);
    if (!sameTracks(audio.srcObject, audioOnly)) audio.srcObject = audioOnly;
    $('#screen-caption').textContent = shown.caption;
    $('#screen-stop').hidden = !call.screen;
  };

  // A tile's pin button pins that person to the stage, or unpins them.
  $('#tiles').addEventListener('click', (/** @type {MouseEvent} */ e) => {
    const button = /** @type {HTMLElement|null} */ (/** @type {HTMLElement} */ (e.target).closest('button.pin'));
    const tile = /** @type {HTMLElement|null} */ (button?.closest('.tile') || null);
    if (!button || !tile?.dataset.participantId) return;
    const id = Number(tile.dataset.participantId);
    api.pinned = api.pinned === id ? null : id;
    api.onPin();
    render();
  });
  call.addEventListener('speaking', render);
  wireShare(call, say);
  return api;
}

/** The share button: asks the browser for a screen, window or tab; asks before taking over. @param {Call} call @param {(text: string) => void} say */
function wireShare(call, say) {
  const button = $('#share-button');
  const confirm = $('#share-confirm');
  // Phones and some browsers cannot share a screen.
  button.hidden = !navigator.mediaDevices?.getDisplayMedia;
  const start = async () => {
    confirm.hidden = true;
    button.disabled = true;
    try {
      await call.startScreen(() => navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: true }));
    } catch (err) {
      // The person closed the browser's picker: nothing to say.
      const e = /** @type {any} */ (err);
      if (e?.name !== 'NotAllowedError' && e?.name !== 'AbortError') say(tr('client-share-failed', { message: e?.message || String(err) }));
    } finally {
      button.disabled = false;
    }
  };
  button.onclick = () => {
    if (call.screen) {
      call.stopScreen(true);
      return;
    }
    if (call.role !== 'moderator' && call.locks.screen_share) {
      say(tr('client-locked'));
      return;
    }
    const other = call.sharer();
    if (other) {
      // Someone is sharing: sharing now takes over from them, so ask once more, in the page.
      confirm.textContent = tr('client-share-take-over', { name: other.name });
      confirm.hidden = false;
      confirm.focus();
      return;
    }
    start();
  };
  confirm.onclick = start;
  $('#screen-stop').onclick = () => call.stopScreen(true);
}
