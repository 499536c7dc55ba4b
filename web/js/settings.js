// Devices during the meeting: switch camera, microphone and speaker without leaving, and say
// so clearly when a device goes away (unplugged, taken by another program).

import { tr } from './i18n.js';
import { getCamera, getMicrophone, listDevices } from './devices.js';

/** @typedef {import('./call.js').Call} Call */

/** @param {string} sel @returns {any} */
const $ = (sel) => document.querySelector(sel);

/** Whether this browser can choose where sound plays. */
const canChooseSpeaker = typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;

/**
 * @param {Call} call @param {() => void} changed the local tracks changed (the self tile and
 *   buttons follow) @param {(text: string) => void} say
 */
export function wireDevices(call, changed, say) {
  const dialog = /** @type {HTMLDialogElement} */ ($('#devices-dialog'));
  /** The speaker chosen, applied to every sound the page plays. */
  let sinkId = '';

  /** @param {HTMLSelectElement} select @param {MediaDeviceInfo[]} devices @param {string} current */
  const fill = (select, devices, current) => {
    select.replaceChildren(
      ...devices.filter((d) => d.deviceId).map((d, i) => new Option(d.label || tr('client-device-n', { n: i + 1 }), d.deviceId, false, d.deviceId === current)),
    );
    select.disabled = select.options.length === 0;
  };
  const refresh = async () => {
    const { cameras, microphones, speakers } = await listDevices();
    const cam = call.local.getVideoTracks()[0]?.getSettings().deviceId || $('#camera').value;
    const mic = call.local.getAudioTracks()[0]?.getSettings().deviceId || $('#microphone').value;
    fill($('#meeting-camera'), cameras, cam);
    fill($('#meeting-microphone'), microphones, mic);
    fill($('#meeting-speaker'), speakers, sinkId || 'default');
    $('#meeting-speaker-box').hidden = !canChooseSpeaker || speakers.length === 0;
  };

  /** Every sound the page plays goes to the chosen speaker. */
  const applySink = async () => {
    if (!canChooseSpeaker || !sinkId) return;
    for (const el of document.querySelectorAll('audio')) {
      const a = /** @type {HTMLAudioElement & {sinkId: string, setSinkId: (id: string) => Promise<void>}} */ (el);
      if (a.sinkId !== sinkId) await a.setSinkId(sinkId).catch(() => {});
    }
  };
  // Tiles come and go: new sounds follow the choice too.
  new MutationObserver(() => applySink()).observe($('#meeting'), { childList: true, subtree: true });

  /** A local track that ends by itself means its device went away. @param {MediaStreamTrack|undefined} track */
  const watch = (track) => {
    if (!track) return;
    track.addEventListener('ended', async () => {
      if (call.ended || !call.local.getTracks().includes(track)) return;
      if (track.kind === 'audio') {
        // Another microphone, if there is one: the meeting goes on.
        const other = await getMicrophone().catch(() => null);
        if (other) {
          await call.replaceAudio(other);
          watch(other);
          say(tr('client-mic-lost-replaced', { name: other.label || tr('client-microphone') }));
        } else {
          say(tr('client-mic-lost'));
        }
      } else {
        await call.setVideo(false, async () => null);
        say(tr('client-camera-lost'));
      }
      changed();
      if (dialog.open) refresh();
    });
  };
  watch(call.local.getAudioTracks()[0]);
  watch(call.local.getVideoTracks()[0]);
  call.addEventListener('camera', () => watch(call.local.getVideoTracks()[0]));

  $('#devices-button').onclick = async () => {
    await refresh();
    dialog.showModal();
  };
  $('#devices-close').onclick = () => dialog.close();
  navigator.mediaDevices?.addEventListener?.('devicechange', () => {
    if (dialog.open) refresh();
  });
  $('#meeting-camera').onchange = async () => {
    const id = $('#meeting-camera').value;
    // The camera button uses the same choice next time.
    $('#camera').value = id;
    if (!call.videoOn) return;
    const track = await getCamera(id).catch(() => null);
    if (track) {
      await call.replaceVideo(track);
      watch(track);
      changed();
    } else {
      say(tr('client-camera-unavailable'));
    }
  };
  $('#meeting-microphone').onchange = async () => {
    const id = $('#meeting-microphone').value;
    $('#microphone').value = id;
    const track = await getMicrophone(id).catch(() => null);
    if (track) {
      await call.replaceAudio(track);
      watch(track);
      changed();
    } else {
      say(tr('client-mic-unavailable'));
    }
  };
  $('#meeting-speaker').onchange = async () => {
    sinkId = $('#meeting-speaker').value;
    await applySink();
  };
}
