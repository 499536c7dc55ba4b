// Camera and microphone: getting them, falling back when one is missing or denied, and
// listing devices for the pickers. No DOM beyond the media APIs.

import { tr } from './i18n.js';

/**
 * @typedef {{stream: MediaStream, audioError: string|null, videoError: string|null}} LocalMedia
 */

/**
 * A person-readable reason for a getUserMedia failure.
 * @param {any} err @param {'camera'|'mic'} what
 */
function reason(err, what) {
  const name = err && err.name;
  const cam = what === 'camera';
  if (name === 'NotAllowedError' || name === 'SecurityError') return tr(cam ? 'client-camera-denied' : 'client-mic-denied');
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return tr(cam ? 'client-camera-missing' : 'client-mic-missing');
  if (name === 'NotReadableError') return tr(cam ? 'client-camera-busy' : 'client-mic-busy');
  return tr(cam ? 'client-camera-unavailable' : 'client-mic-unavailable');
}

/**
 * Gets microphone and camera, each on its own so that one failing leaves the other.
 * @param {{audioId?: string, videoId?: string}} [choice]
 * @returns {Promise<LocalMedia>}
 */
export async function getLocalMedia(choice = {}) {
  const stream = new MediaStream();
  let audioError = null;
  let videoError = null;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    const msg = tr('client-insecure');
    return { stream, audioError: msg, videoError: msg };
  }
  try {
    const a = await navigator.mediaDevices.getUserMedia({ audio: choice.audioId ? { deviceId: { exact: choice.audioId } } : true });
    for (const t of a.getAudioTracks()) stream.addTrack(t);
  } catch (err) {
    audioError = reason(err, 'mic');
  }
  const track = await getCamera(choice.videoId).catch((err) => {
    videoError = reason(err, 'camera');
    return null;
  });
  if (track) stream.addTrack(track);
  return { stream, audioError, videoError };
}

/** A camera track. @param {string} [deviceId] @returns {Promise<MediaStreamTrack>} */
export async function getCamera(deviceId) {
  // 720p: enough for a full-screen speaker, and what browsers need before they send all three
  // simulcast encodings (Chrome sends two below 960 × 540).
  const video = {
    width: { ideal: 1280 },
    height: { ideal: 720 },
    frameRate: { ideal: 24 },
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
  };
  const s = await navigator.mediaDevices.getUserMedia({ video });
  return s.getVideoTracks()[0];
}

/** A microphone track. @param {string} [deviceId] @returns {Promise<MediaStreamTrack>} */
export async function getMicrophone(deviceId) {
  const s = await navigator.mediaDevices.getUserMedia({ audio: deviceId ? { deviceId: { exact: deviceId } } : true });
  return s.getAudioTracks()[0];
}

/** Cameras, microphones and speakers, with labels once permission was given. */
export async function listDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return { cameras: [], microphones: [], speakers: [] };
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: all.filter((d) => d.kind === 'videoinput'),
    microphones: all.filter((d) => d.kind === 'audioinput'),
    speakers: all.filter((d) => d.kind === 'audiooutput'),
  };
}
