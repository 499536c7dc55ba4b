// Plenary signalling protocol: the WebSocket and its messages. No DOM here.
// The protocol is documented in docs/protocol.md; the Rust definition is crates/proto.

export const PROTOCOL_VERSION = 2;

/**
 * @typedef {{id: number, name: string, audio: boolean, video: boolean, screen?: boolean, reconnecting?: boolean, speaking?: boolean, quality?: 'good'|'fair'|'poor', role?: 'moderator'|'participant'}} ParticipantInfo
 * @typedef {'audio'|'video'} MediaKind
 * @typedef {'off'|'recording'|'paused'} RecordingState
 * @typedef {'everyone'|'moderators'|'participant'} ChatTo
 * @typedef {{id: number, from?: number, name: string, to: ChatTo, to_participant?: number, text: string, at_ms: number}} ChatMessage
 * @typedef {{cameras: boolean, microphones: boolean, public_chat: boolean, private_chat: boolean, screen_share: boolean, hide_viewer_cameras: boolean, notes?: boolean}} Locks
 * @typedef {{question: string, kind: 'yes_no'|'single'|'multiple'|'consent', options?: string[], secret?: boolean, voters?: 'everyone'|'signed_in'|'members', quorum?: number, duration_s?: number, hide_results?: boolean}} PollSpec
 * @typedef {{id: number, spec: PollSpec, by: string, opened_ms: number, closes_ms?: number, closed_ms?: number, votes: number, counts?: number[], names?: string[][]}} Poll
 * @typedef {{title: string, minutes?: number}} AgendaItem
 * @typedef {{items: AgendaItem[], current?: number, since_ms?: number}} Agenda
 * @typedef {{current?: number, since_ms?: number, queue: number[], progressive: boolean, limit_s?: number}} Speakers
 * @typedef {{type: 'joined', v: number, you: number, name: string, room: string, participants: ParticipantInfo[], role?: 'moderator'|'participant', start_muted?: boolean, logout_url?: string, lobby?: ParticipantInfo[], chat?: ChatMessage[], hands?: number[], locks?: Locks, resume_key?: string, media?: {audio: boolean, video: boolean, screen: boolean}, recording?: RecordingState, polls?: Poll[], voted?: number[], agenda?: Agenda, speakers?: Speakers}
 *   | {type: 'participant_joined', participant: ParticipantInfo}
 *   | {type: 'participant_left', participant_id: number}
 *   | {type: 'media_state', participant_id: number, audio: boolean, video: boolean, screen?: boolean}
 *   | {type: 'offer', sdp: string}
 *   | {type: 'answer', sdp: string}
 *   | {type: 'track_added', participant_id: number, kind: MediaKind, mid: string, source?: 'microphone'|'camera'|'screen'|'screen_audio'}
 *   | {type: 'track_removed', participant_id: number, kind: MediaKind, mid: string, source?: string}
 *   | {type: 'error', code: string, message: string, fatal: boolean}
 *   | {type: 'ended', reason: string}
 *   | {type: 'waiting', you: number, name: string}
 *   | {type: 'guest_waiting', participant: ParticipantInfo}
 *   | {type: 'lobby_left', participant_id: number}
 *   | {type: 'chat', message: ChatMessage}
 *   | {type: 'chat_deleted', id: number}
 *   | {type: 'hands', queue: number[]}
 *   | {type: 'reaction', participant_id: number, reaction: string}
 *   | {type: 'moderator_request', request: 'mute'|'ask_unmute'|'camera_off'|'stop_screen', by: string}
 *   | {type: 'role_changed', participant_id: number, role: 'moderator'|'participant'}
 *   | {type: 'locks', locks: Locks}
 *   | {type: 'notes', state: string, seq: number}
 *   | {type: 'notes_edit', update: string, seq: number}
 *   | {type: 'notes_saved', seq: number}
 *   | {type: 'notes_refused', code: string, message: string}
 *   | {type: 'recording', state: RecordingState, by: string}
 *   | {type: 'notice', code: 'near_capacity'|'problem_reported'}
 *   | {type: 'participant_reconnecting', participant_id: number}
 *   | {type: 'participant_reconnected', participant_id: number}
 *   | {type: 'speaking', participant_id: number, speaking: boolean}
 *   | {type: 'quality', participant_id: number, quality: 'good'|'fair'|'poor'}
 *   | {type: 'agenda', agenda: Agenda}
 *   | {type: 'speakers', speakers: Speakers}
 *   | {type: 'poll', poll: Poll}
 *   | {type: 'poll_voted', id: number, choices: number[]}
 *   | {type: 'pong'}} ServerMessage
 * @typedef {{token: string, room: string, name: string, ws_path: string, protocol_version: number}} JoinGrant
 * @typedef {{loss_in?: number, loss_out?: number, jitter_ms?: number, rtt_ms?: number, kbps_in?: number, kbps_out?: number, frames_decoded?: number, frames_dropped?: number, limitation?: string, candidate?: string, protocol?: string, reconnects?: number}} QualityReport
 */

/** An error the API or the server reported, with its stable code. */
export class PlenaryError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * Calls the JSON API.
 * @param {string} method @param {string} path @param {object} [body]
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = data.error || {};
    throw new PlenaryError(e.code || `http_${res.status}`, e.message || `HTTP ${res.status}`);
  }
  return data;
}

/**
 * The signalling connection. Dispatches one DOM-free `message` event per server message
 * (`event.detail` is the ServerMessage) and `close` when the socket ends.
 */
export class Signalling extends EventTarget {
  /** @param {string} url WebSocket URL */
  constructor(url) {
    super();
    this.ws = new WebSocket(url);
    this.ws.addEventListener('message', (e) => {
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      this.dispatchEvent(new CustomEvent('message', { detail: msg }));
    });
    this.ws.addEventListener('close', (e) => {
      this.dispatchEvent(new CustomEvent('close', { detail: { code: e.code, reason: e.reason } }));
    });
    /** @type {Promise<void>} */
    this.opened = new Promise((resolve, reject) => {
      this.ws.addEventListener('open', () => resolve(), { once: true });
      this.ws.addEventListener('error', () => reject(new PlenaryError('unavailable', 'cannot reach the server')), { once: true });
    });
  }

  /** @param {object} msg a ClientMessage */
  send(msg) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** @param {string} room @param {string} name @param {string} token */
  join(room, name, token) {
    this.send({ type: 'join', v: PROTOCOL_VERSION, room, name, token });
  }

  close() {
    this.ws.close();
  }
}

/** The WebSocket URL for a path on this page's server. @param {string} path */
export function wsUrl(path) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}
