// One person's part in a meeting: the signalling connection, the RTCPeerConnection, and who
// is in the room. No DOM here: the UI listens to the events this dispatches.
//
// Negotiation: the client offers once (its microphone, camera, and a screen share's video
// and audio: always all four transceivers, so turning a device on or sharing later needs no
// renegotiation); after that only the server offers and the client answers (no glare).

import { PROTOCOL_VERSION, PlenaryError, Signalling, api, wsUrl } from './protocol.js';

/** How long the client keeps trying to get back into the meeting after losing it, in ms. */
const RECONNECT_FOR_MS = 30000;
/** How long ICE may stay disconnected before the client reconnects, in ms. */
const ICE_GRACE_MS = 4000;

/**
 * The camera's simulcast encodings, lowest first (rids `l`, `m`, `h`): a quarter, half and the
 * full picture. The server forwards one per receiver (see web/js/view.js).
 */
export const CAMERA_LAYERS = [
  { rid: 'l', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'm', scaleResolutionDownBy: 2, maxBitrate: 400_000 },
  { rid: 'h', scaleResolutionDownBy: 1, maxBitrate: 1_200_000 },
];

/**
 * @typedef {import('./protocol.js').ParticipantInfo} ParticipantInfo
 * @typedef {import('./protocol.js').ServerMessage} ServerMessage
 * @typedef {import('./protocol.js').ChatMessage} ChatMessage
 * @typedef {import('./protocol.js').Locks} Locks
 * @typedef {import('./protocol.js').Poll} Poll
 * @typedef {import('./protocol.js').PollSpec} PollSpec
 * @typedef {import('./protocol.js').Agenda} Agenda
 * @typedef {import('./protocol.js').AgendaItem} AgendaItem
 * @typedef {import('./protocol.js').Speakers} Speakers
 * @typedef {{id: number, name: string, audio: boolean, video: boolean, screen: boolean, reconnecting: boolean, speaking: boolean, quality: string, role?: string,
 *   stream: MediaStream, audioTrack: MediaStreamTrack|null, videoTrack: MediaStreamTrack|null,
 *   screenStream: MediaStream}} Remote
 */

/**
 * Events: `joined`, `participant` (detail: Remote, added or changed), `left` (detail: id),
 * `error` (detail: {code, message, fatal}), `ended` (detail: {reason}); in the meeting:
 * `chat` (detail: ChatMessage), `chat_deleted` (detail: id), `hands` (the queue in
 * `this.hands`), `reaction` (detail: {participant_id, reaction}), `moderator_request`
 * (detail: {request, by}), `role` (someone's role changed; detail: {participant_id, role}),
 * `locks` (the locks in `this.locks`), `screen` (this person's share started or stopped);
 * `reconnecting` (the connection dropped: getting back in by itself), `reconnected`,
 * `camera` (a new camera track is on), `quality` (someone's connection got better or worse), `speaking` (someone, this person too, started or stopped speaking; detail: {participant_id, speaking}),
 * `recording` (the meeting's recording started, paused, resumed or stopped, in `this.recording`;
 * detail: {state, by, previous}; on `joined` too when the meeting is being recorded).
 */
export class Call extends EventTarget {
  /**
   * @param {string} room
   * @param {MediaStream} local the local microphone/camera (may have no tracks)
   */
  constructor(room, local) {
    super();
    this.room = room;
    this.local = local;
    /** @type {number|null} */
    this.you = null;
    this.name = '';
    /** @type {Map<number, Remote>} */
    this.remotes = new Map();
    /** @type {Map<string, {participant: number, kind: string, source: string}>} mid → owner */
    this.mids = new Map();
    /** @type {RTCPeerConnection|null} */
    this.pc = null;
    /** @type {Signalling|null} */
    this.sig = null;
    /** @type {RTCRtpSender|null} */
    this.audioSender = null;
    /** @type {RTCRtpSender|null} */
    this.videoSender = null;
    /** @type {RTCRtpSender|null} */
    this.screenSender = null;
    /** @type {RTCRtpSender|null} */
    this.screenAudioSender = null;
    /** This person's screen share, while sharing. @type {MediaStream|null} */
    this.screen = null;
    this.audioOn = local.getAudioTracks().length > 0;
    this.videoOn = local.getVideoTracks().length > 0;
    /** Negotiation steps run one after another. @type {Promise<void>} */
    this.queue = Promise.resolve();
    this.ended = false;
    /** @type {string[]} */
    this.steps = [];
    /** Set when the server ended the meeting (not when we left or lost the connection). */
    this.meetingEnded = false;
    /** Why the call ended (`left` when the person left). @type {string|null} */
    this.endReason = null;
    /** Where the issuer of the join link wants people sent afterwards. @type {string|null} */
    this.logoutUrl = null;
    this.role = 'participant';
    /** The chat so far that this person may see. @type {ChatMessage[]} */
    this.chat = [];
    /** Raised hands, in order. @type {number[]} */
    this.hands = [];
    /** What viewers may not do. @type {Locks} */
    this.locks = { cameras: false, microphones: false, public_chat: false, private_chat: false, screen_share: false, hide_viewer_cameras: false };
    /** Guests waiting to be let in (moderators only). @type {Map<number, ParticipantInfo>} */
    this.lobby = new Map();
    /** What gets this person back into the meeting after a drop (from `joined`). */
    this.resumeKey = '';
    /** A media_state to send again after a too_fast refusal. @type {ReturnType<typeof setTimeout>|undefined} */
    this.resync = undefined;
    this.wsPath = '/ws';
    /** Getting back in after a drop. */
    this.reconnecting = false;
    /** When the last drop happened (performance.now()), for the reconnect time. */
    this.droppedAt = 0;
    /** How long each reconnect took, cut to `joined` again, in ms. @type {number[]} */
    this.reconnects = [];
    /** This person speaks now (as the server hears it). */
    this.speaking = false;
    /** How well this person's connection carries media (as the server sees it). */
    this.quality = 'good';
    /** Who else spoke last (the active speaker). @type {number|null} */
    this.lastSpeaker = null;
    /** Whether the meeting is being recorded. @type {import('./protocol.js').RecordingState} */
    this.recording = 'off';
    /** The meeting's polls by id, as the server last showed them. @type {Map<number, Poll>} */
    this.polls = new Map();
    /** The agenda and where the meeting is in it. @type {Agenda} */
    this.agenda = { items: [] };
    /** The speakers' list. @type {Speakers} */
    this.speakers = { queue: [], progressive: false };
    /** The polls this person voted in (from any of their devices), with their choices where this page knows them. @type {Map<number, number[]>} */
    this.voted = new Map();
  }

  /** Records a step of the join, for diagnosis. @param {string} what */
  step(what) {
    this.steps.push(`${Math.round(performance.now())}ms ${what}`);
  }

  /**
   * Gets a token (unless the join link carried one), connects and joins.
   * @param {string} name @param {string} [token] a join token from a link (BigBlueButton API)
   * @param {string} [accessCode] the room's access code, if it has one
   */
  async join(name, token, accessCode) {
    this.step('token');
    const body = accessCode ? { name, access_code: accessCode } : { name };
    const grant = token
      ? { token, ws_path: '/ws' }
      : await api('POST', `/api/rooms/${encodeURIComponent(this.room)}/join`, body);
    this.step('connect');
    this.wsPath = grant.ws_path;
    const m = await this.connect((sig) => {
      this.step('join');
      sig.join(this.room, name, grant.token);
    });
    const viewer = (m.role || 'participant') !== 'moderator';
    if ((m.start_muted || (viewer && m.locks?.microphones)) && this.audioOn) {
      // The meeting starts everyone muted (or viewers' microphones are locked); the
      // microphone stays open, so unmuting is instant.
      for (const t of this.local.getAudioTracks()) t.enabled = false;
      this.audioOn = false;
    }
    if (viewer && m.locks?.cameras && this.videoOn) {
      for (const t of this.local.getVideoTracks()) {
        t.stop();
        this.local.removeTrack(t);
      }
      this.videoOn = false;
    }
    this.step('offer');
    await this.startMedia();
    this.step('offered');
  }

  /**
   * Opens the signalling connection, says `hello` on it, and waits for `joined`. Messages and
   * the close of a connection that was replaced since are ignored.
   * @param {(sig: Signalling) => void} hello @returns {Promise<any>}
   */
  async connect(hello) {
    const sig = new Signalling(wsUrl(this.wsPath));
    this.sig = sig;
    sig.addEventListener('message', (e) => {
      if (this.sig === sig) this.onMessage(/** @type {CustomEvent} */ (e).detail);
    });
    sig.addEventListener('close', () => {
      if (this.sig === sig) this.lost();
    });
    const joined = new Promise((resolve, reject) => {
      /** @param {Event} e */
      const on = (e) => {
        const m = /** @type {CustomEvent} */ (e).detail;
        if (m.type === 'joined') resolve(m);
        if (m.type === 'error' && m.fatal) reject(new PlenaryError(m.code, m.message));
      };
      sig.addEventListener('message', on);
      sig.addEventListener('close', () => reject(new PlenaryError('unavailable', 'the connection closed')));
    });
    // Never left unhandled, should the socket not open at all.
    joined.catch(() => {});
    await sig.opened;
    hello(sig);
    return joined;
  }

  /**
   * The connection (signalling or media) dropped. In the meeting, the client gets back in by
   * itself, with the same place (role, hand, chat), for up to RECONNECT_FOR_MS; before it,
   * the call ends.
   */
  lost() {
    if (this.ended || this.reconnecting) return;
    if (!this.resumeKey) {
      this.end('connection closed');
      return;
    }
    this.reconnecting = true;
    this.droppedAt = performance.now();
    this.step('reconnecting');
    const sig = this.sig;
    const pc = this.pc;
    this.sig = null;
    this.pc = null;
    sig?.close();
    pc?.close();
    this.queue = Promise.resolve();
    this.mids.clear();
    this.dispatchEvent(new CustomEvent('reconnecting'));
    this.getBackIn(Date.now() + RECONNECT_FOR_MS);
  }

  /** Tries to resume until `deadline` (Date.now() time), waiting longer between tries. @param {number} deadline */
  async getBackIn(deadline) {
    let wait = 250;
    while (!this.ended) {
      try {
        await this.connect((sig) => sig.send({ type: 'resume', v: PROTOCOL_VERSION, room: this.room, participant_id: this.you, key: this.resumeKey }));
        await this.startMedia();
        this.reconnecting = false;
        this.reconnects.push(Math.round(performance.now() - this.droppedAt));
        this.step('reconnected');
        this.dispatchEvent(new CustomEvent('reconnected'));
        return;
      } catch (err) {
        const code = /** @type {any} */ (err).code;
        const old = this.sig;
        this.sig = null;
        old?.close();
        // The meeting no longer holds this place (it ended, or too long passed): stop trying.
        if (this.ended || code === 'cannot_resume' || code === 'meeting_ended' || code === 'removed' || code === 'barred') {
          if (!this.ended) this.end(code === 'cannot_resume' ? 'could not get back into the meeting' : String(/** @type {any} */ (err).message), code);
          return;
        }
        if (Date.now() + wait > deadline) {
          this.end('the connection was lost', 'connection_lost');
          return;
        }
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, 2000);
      }
    }
  }

  async startMedia() {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    this.pc = pc;
    const audio = this.local.getAudioTracks()[0];
    const video = this.local.getVideoTracks()[0];
    this.audioSender = pc.addTransceiver(audio || 'audio', { direction: 'sendonly', streams: [this.local] }).sender;
    // The camera goes out in three sizes (simulcast): the server sends each person the one
    // their screen shows it at, and the smaller ones to weak links.
    this.videoSender = pc.addTransceiver(video || 'video', { direction: 'sendonly', streams: [this.local], sendEncodings: CAMERA_LAYERS }).sender;
    // Kept ready for a screen share (the server tells the others only once it carries media);
    // a share going on when the connection dropped carries on.
    this.screenSender = pc.addTransceiver(this.screen?.getVideoTracks()[0] || 'video', { direction: 'sendonly' }).sender;
    this.screenAudioSender = pc.addTransceiver(this.screen?.getAudioTracks()[0] || 'audio', { direction: 'sendonly' }).sender;
    pc.addEventListener('track', (e) => this.onTrack(e));
    /** @type {ReturnType<typeof setTimeout>|undefined} */
    let grace;
    pc.addEventListener('connectionstatechange', () => {
      if (this.pc !== pc) return;
      clearTimeout(grace);
      // Media that stops (a network change, a NAT that forgot us) is got back by reconnecting.
      if (pc.connectionState === 'failed') this.lost();
      if (pc.connectionState === 'disconnected') {
        grace = setTimeout(() => {
          if (this.pc === pc && pc.connectionState === 'disconnected') this.lost();
        }, ICE_GRACE_MS);
      }
    });
    this.sendMediaState();
    await this.negotiate(async () => {
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      this.sig?.send({ type: 'offer', sdp: offer.sdp });
    });
  }

  /** Runs a negotiation step after the previous one. @param {() => Promise<void>} step */
  negotiate(step) {
    this.queue = this.queue.then(step).catch((err) => {
      this.dispatchEvent(new CustomEvent('error', { detail: { code: 'negotiation', message: String(err), fatal: false } }));
    });
    return this.queue;
  }

  /** @param {ServerMessage} m */
  onMessage(m) {
    switch (m.type) {
      case 'joined': {
        // After a reconnect: whoever left meanwhile is gone.
        const present = new Set(m.participants.map((/** @type {ParticipantInfo} */ p) => p.id));
        for (const id of [...this.remotes.keys()]) {
          if (!present.has(id)) {
            this.remotes.delete(id);
            this.dispatchEvent(new CustomEvent('left', { detail: id }));
          }
        }
        this.resumeKey = m.resume_key || '';
        this.you = m.you;
        this.name = m.name;
        this.role = m.role || 'participant';
        this.logoutUrl = m.logout_url || null;
        for (const p of m.lobby || []) this.lobby.set(p.id, p);
        this.chat = m.chat || [];
        this.hands = m.hands || [];
        if (m.locks) this.locks = m.locks;
        this.setRecording(m.recording || 'off', '');
        this.polls = new Map((m.polls || []).map((p) => [p.id, p]));
        this.agenda = m.agenda || { items: [] };
        this.speakers = m.speakers || { queue: [], progressive: false };
        for (const id of m.voted || []) if (!this.voted.has(id)) this.voted.set(id, []);
        if (this.lobby.size) this.dispatchEvent(new CustomEvent('lobby'));
        for (const p of m.participants) this.upsert(p);
        // Back after a drop while sharing, but someone else shares now (they took over
        // meanwhile): this share ended, rather than taking it back from them unasked.
        if (this.screen && m.participants.some((/** @type {ParticipantInfo} */ p) => p.screen)) this.stopScreen(false);
        // Back after a drop: what a moderator turned off meanwhile stays off.
        if (m.media) {
          if (!m.media.audio && this.audioOn) this.setAudio(false);
          if (!m.media.video && this.videoOn) this.setVideo(false, async () => null);
          if (!m.media.screen && this.screen) this.stopScreen(false);
        }
        this.dispatchEvent(new CustomEvent('joined', { detail: m }));
        break;
      }
      case 'speaking': {
        if (m.participant_id === this.you) {
          this.speaking = m.speaking;
        } else {
          const r = this.remotes.get(m.participant_id);
          if (r) {
            r.speaking = m.speaking;
            if (m.speaking) this.lastSpeaker = r.id;
            this.dispatchEvent(new CustomEvent('participant', { detail: r }));
          }
        }
        this.dispatchEvent(new CustomEvent('speaking', { detail: m }));
        break;
      }
      case 'quality': {
        if (m.participant_id === this.you) this.quality = m.quality;
        const r = this.remotes.get(m.participant_id);
        if (r) {
          r.quality = m.quality;
          this.dispatchEvent(new CustomEvent('participant', { detail: r }));
        }
        this.dispatchEvent(new CustomEvent('quality', { detail: m }));
        break;
      }
      case 'participant_reconnecting':
      case 'participant_reconnected': {
        const r = this.remotes.get(m.participant_id);
        if (r) {
          r.reconnecting = m.type === 'participant_reconnecting';
          this.dispatchEvent(new CustomEvent('participant', { detail: r }));
        }
        break;
      }
      case 'participant_joined':
        this.upsert(m.participant);
        break;
      case 'participant_left':
        this.remotes.delete(m.participant_id);
        if (this.lastSpeaker === m.participant_id) this.lastSpeaker = null;
        this.dispatchEvent(new CustomEvent('left', { detail: m.participant_id }));
        break;
      case 'media_state': {
        const r = this.remotes.get(m.participant_id);
        if (r) this.upsert({ id: r.id, name: r.name, audio: m.audio, video: m.video, screen: !!m.screen });
        break;
      }
      case 'track_added':
        this.mids.set(m.mid, { participant: m.participant_id, kind: m.kind, source: m.source || (m.kind === 'audio' ? 'microphone' : 'camera') });
        break;
      case 'track_removed':
        this.mids.delete(m.mid);
        break;
      case 'answer':
        this.negotiate(() => this.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp }));
        break;
      case 'offer':
        this.negotiate(async () => {
          const pc = this.pc;
          await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
          const answer = await pc.createAnswer();
          await pc.setLocalDescription(answer);
          this.sig?.send({ type: 'answer', sdp: answer.sdp });
        });
        break;
      case 'waiting':
        this.dispatchEvent(new CustomEvent('waiting', { detail: m }));
        break;
      case 'guest_waiting':
        this.lobby.set(m.participant.id, m.participant);
        this.dispatchEvent(new CustomEvent('lobby'));
        break;
      case 'lobby_left':
        this.lobby.delete(m.participant_id);
        this.dispatchEvent(new CustomEvent('lobby'));
        break;
      case 'ended':
        this.meetingEnded = true;
        this.end(m.reason);
        break;
      case 'chat':
        this.chat.push(m.message);
        this.dispatchEvent(new CustomEvent('chat', { detail: m.message }));
        break;
      case 'chat_deleted':
        this.chat = this.chat.filter((c) => c.id !== m.id);
        this.dispatchEvent(new CustomEvent('chat_deleted', { detail: m.id }));
        break;
      case 'hands':
        this.hands = m.queue;
        this.dispatchEvent(new CustomEvent('hands'));
        break;
      case 'reaction':
        this.dispatchEvent(new CustomEvent('reaction', { detail: m }));
        break;
      case 'moderator_request':
        // A moderator's mute and camera-off are done here; an unmute is only asked.
        if (m.request === 'mute') this.setAudio(false);
        if (m.request === 'camera_off') this.setVideo(false, async () => null);
        // The server already counts the share as stopped (a moderator, a lock, or a new share).
        if (m.request === 'stop_screen') this.stopScreen(false);
        this.dispatchEvent(new CustomEvent('moderator_request', { detail: m }));
        break;
      case 'role_changed': {
        if (m.participant_id === this.you) this.role = m.role;
        const r = this.remotes.get(m.participant_id);
        if (r) r.role = m.role;
        this.dispatchEvent(new CustomEvent('role', { detail: m }));
        break;
      }
      case 'locks':
        this.locks = m.locks;
        this.dispatchEvent(new CustomEvent('locks'));
        break;
      case 'recording':
        this.setRecording(m.state, m.by);
        break;
      case 'agenda':
        this.agenda = m.agenda;
        this.dispatchEvent(new CustomEvent('agenda'));
        break;
      case 'speakers':
        this.speakers = m.speakers;
        this.dispatchEvent(new CustomEvent('speakers'));
        break;
      case 'poll':
        this.polls.set(m.poll.id, m.poll);
        this.dispatchEvent(new CustomEvent('poll', { detail: m.poll }));
        break;
      case 'poll_voted':
        this.voted.set(m.id, m.choices);
        this.dispatchEvent(new CustomEvent('poll', { detail: this.polls.get(m.id) }));
        break;
      case 'notes':
      case 'notes_edit':
      case 'notes_saved':
      case 'notes_refused':
        this.dispatchEvent(new CustomEvent('notes', { detail: m }));
        break;
      case 'notice':
        this.dispatchEvent(new CustomEvent('notice', { detail: m.code }));
        break;
      case 'error':
        // The server lost this client's media: reconnecting gets it back.
        if (m.code === 'media_lost') {
          this.lost();
          break;
        }
        // Switched on too often just now: the server keeps the last state it took, so tell it
        // the current one again a little later (once).
        if (m.code === 'too_fast' && !this.resync) {
          this.resync = setTimeout(() => { this.resync = undefined; this.sendMediaState(); }, 3000);
        }
        // A share refused because screen sharing was locked meanwhile ends here too.
        if (m.code === 'locked' && this.screen && this.role !== 'moderator' && this.locks.screen_share) this.stopScreen(false);
        this.dispatchEvent(new CustomEvent('error', { detail: m }));
        if (m.fatal) this.end(m.message, m.code);
        break;
      default:
        break;
    }
  }

  /** Lets a waiting guest in (moderators). @param {number} id */
  admit(id) {
    this.sig?.send({ type: 'admit', participant_id: id });
  }

  /** Turns a waiting guest away (moderators). @param {number} id */
  deny(id) {
    this.sig?.send({ type: 'deny', participant_id: id });
  }

  /** @param {ParticipantInfo} p */
  upsert(p) {
    let r = this.remotes.get(p.id);
    if (!r) {
      r = { ...p, screen: !!p.screen, reconnecting: !!p.reconnecting, speaking: !!p.speaking, quality: p.quality || 'good', stream: new MediaStream(), audioTrack: null, videoTrack: null, screenStream: new MediaStream() };
      this.remotes.set(p.id, r);
    } else {
      Object.assign(r, { name: p.name, audio: p.audio, video: p.video, screen: !!p.screen });
      if (p.reconnecting !== undefined) r.reconnecting = p.reconnecting;
      if (p.role) r.role = p.role;
    }
    this.dispatchEvent(new CustomEvent('participant', { detail: r }));
  }

  /** @param {RTCTrackEvent} e */
  onTrack(e) {
    const mid = e.transceiver.mid;
    const owner = mid !== null ? this.mids.get(mid) : undefined;
    // The server names the publisher in the stream id too ("p<id>"), should the
    // track_added message ever come late.
    const fromStream = e.streams[0] && /^p(\d+)$/.exec(e.streams[0].id);
    const id = owner ? owner.participant : fromStream ? Number(fromStream[1]) : null;
    const r = id !== null ? this.remotes.get(id) : undefined;
    if (!r) return;
    // A screen's tracks go to their own stream, shown on the stage rather than the tile.
    const source = owner?.source || '';
    if (source === 'screen' || source === 'screen_audio') {
      for (const t of r.screenStream.getTracks()) if (t.kind === e.track.kind) r.screenStream.removeTrack(t);
      r.screenStream.addTrack(e.track);
      this.dispatchEvent(new CustomEvent('participant', { detail: r }));
      return;
    }
    if (e.track.kind === 'audio') r.audioTrack = e.track;
    else r.videoTrack = e.track;
    for (const t of r.stream.getTracks()) if (t.kind === e.track.kind) r.stream.removeTrack(t);
    r.stream.addTrack(e.track);
    this.dispatchEvent(new CustomEvent('participant', { detail: r }));
  }

  sendMediaState() {
    this.sig?.send({ type: 'media_state', audio: this.audioOn, video: this.videoOn, screen: this.screen !== null });
  }

  /** Someone else sharing now, if anyone. */
  sharer() {
    for (const r of this.remotes.values()) if (r.screen) return r;
    return null;
  }

  /**
   * Shares a screen, window or tab from `getStream` (the browser asks the person which).
   * Taking over from someone else sharing is the caller's question to ask first.
   * @param {() => Promise<MediaStream>} getStream
   */
  async startScreen(getStream) {
    const stream = await getStream();
    const video = stream.getVideoTracks()[0];
    if (!video) {
      for (const t of stream.getTracks()) t.stop();
      throw new Error('no video in the shared stream');
    }
    this.stopScreen(false);
    // Text and slides stay sharp rather than smooth: full resolution, a low frame rate.
    if ('contentHint' in video) video.contentHint = 'detail';
    await this.screenSender?.replaceTrack(video);
    const sender = this.screenSender;
    if (sender) {
      const p = sender.getParameters();
      p.degradationPreference = 'maintain-resolution';
      for (const e of p.encodings || []) e.maxFramerate = 15;
      await sender.setParameters(p).catch(() => {});
    }
    await this.screenAudioSender?.replaceTrack(stream.getAudioTracks()[0] || null);
    this.screen = stream;
    // The browser's own "Stop sharing" bar ends the track.
    video.addEventListener('ended', () => {
      if (this.screen === stream) this.stopScreen(true);
    });
    this.sendMediaState();
    this.dispatchEvent(new CustomEvent('screen'));
  }

  /** Stops sharing. @param {boolean} tell whether the server still needs telling */
  stopScreen(tell) {
    const stream = this.screen;
    if (!stream) return;
    this.screen = null;
    for (const t of stream.getTracks()) t.stop();
    this.screenSender?.replaceTrack(null).catch(() => {});
    this.screenAudioSender?.replaceTrack(null).catch(() => {});
    if (tell) this.sendMediaState();
    this.dispatchEvent(new CustomEvent('screen'));
  }

  /** Mutes or unmutes the microphone. @param {boolean} on */
  setAudio(on) {
    const t = this.local.getAudioTracks()[0];
    if (!t) return false;
    t.enabled = on;
    this.audioOn = on;
    this.sendMediaState();
    return true;
  }

  /**
   * Turns the camera on (with a fresh track from `getTrack`) or off (the camera is released).
   * @param {boolean} on @param {() => Promise<MediaStreamTrack|null>} getTrack
   */
  async setVideo(on, getTrack) {
    for (const t of this.local.getVideoTracks()) {
      t.stop();
      this.local.removeTrack(t);
    }
    let track = null;
    if (on) {
      track = await getTrack();
      if (track) this.local.addTrack(track);
    }
    await this.videoSender?.replaceTrack(track);
    this.videoOn = !!track;
    this.sendMediaState();
    if (track) this.dispatchEvent(new CustomEvent('camera'));
    return this.videoOn;
  }

  /** Replaces the camera track (another device), the camera staying on. @param {MediaStreamTrack} track */
  async replaceVideo(track) {
    for (const t of this.local.getVideoTracks()) {
      t.stop();
      this.local.removeTrack(t);
    }
    this.local.addTrack(track);
    await this.videoSender?.replaceTrack(track);
    this.videoOn = true;
    this.sendMediaState();
  }

  /** Replaces the microphone track (another device). @param {MediaStreamTrack} track */
  async replaceAudio(track) {
    for (const t of this.local.getAudioTracks()) {
      t.stop();
      this.local.removeTrack(t);
    }
    track.enabled = this.audioOn;
    this.local.addTrack(track);
    await this.audioSender?.replaceTrack(track);
  }

  /**
   * Sends a chat message.
   * @param {import('./protocol.js').ChatTo} to @param {string} text @param {number} [participantId]
   */
  sendChat(to, text, participantId) {
    this.sig?.send(participantId === undefined ? { type: 'chat', to, text } : { type: 'chat', to, participant_id: participantId, text });
  }

  /** (Moderators) sets the agenda's items. @param {AgendaItem[]} items */
  setAgenda(items) {
    this.sig?.send({ type: 'agenda_set', items });
  }

  /** (Moderators) moves to item `index` (null: none). @param {number|null} index */
  agendaGo(index) {
    this.sig?.send(index === null ? { type: 'agenda_go' } : { type: 'agenda_go', index });
  }

  /** (Moderators) gives the floor to the next on the speakers' list. */
  speakerNext() {
    this.sig?.send({ type: 'speaker_next' });
  }

  /** (Moderators, or the speaker) ends the current turn. */
  speakerDone() {
    this.sig?.send({ type: 'speaker_done' });
  }

  /** (Moderators) how the speakers' list runs. @param {boolean} progressive @param {number|null} limitS */
  speakersSet(progressive, limitS) {
    this.sig?.send(limitS ? { type: 'speakers_set', progressive, limit_s: limitS } : { type: 'speakers_set', progressive });
  }

  /** Asks for the whole shared minutes (answered with `notes`). */
  notesSync() {
    this.sig?.send({ type: 'notes_sync' });
  }

  /** Sends an edit of the minutes (a Yjs update, base64). @param {string} update */
  notesEdit(update) {
    this.sig?.send({ type: 'notes_edit', update });
  }

  /** (Moderators) asks a poll. @param {PollSpec} spec */
  openPoll(spec) {
    this.sig?.send({ type: 'poll_open', poll: spec });
  }

  /** Answers poll `id` with option indices. @param {number} id @param {number[]} choices */
  vote(id, choices) {
    this.sig?.send({ type: 'poll_vote', id, choices });
  }

  /** (Moderators) closes poll `id`. @param {number} id */
  closePoll(id) {
    this.sig?.send({ type: 'poll_close', id });
  }

  /** (Moderators) deletes a chat message. @param {number} id */
  deleteChat(id) {
    this.sig?.send({ type: 'chat_delete', id });
  }

  /** Raises or lowers one's hand. @param {boolean} raised */
  setHand(raised) {
    this.sig?.send({ type: 'hand', raised });
  }

  /** (Moderators) lowers someone's hand, or every hand. @param {number} [participantId] */
  lowerHand(participantId) {
    this.sig?.send(participantId === undefined ? { type: 'lower_hand' } : { type: 'lower_hand', participant_id: participantId });
  }

  /** @param {string} reaction */
  react(reaction) {
    this.sig?.send({ type: 'react', reaction });
  }

  /** (Moderators) acts on one participant. @param {number} participantId @param {string} action */
  moderate(participantId, action) {
    this.sig?.send({ type: 'moderate', participant_id: participantId, action });
  }

  /** (Moderators) mutes everyone but the moderators. */
  muteAll() {
    this.sig?.send({ type: 'mute_all' });
  }

  /** (Moderators) sets the locks. @param {Locks} locks */
  lock(locks) {
    this.sig?.send({ type: 'lock', locks });
  }

  /** The meeting's recording is now `state` (`by` changed it; empty: it already was so). @param {import('./protocol.js').RecordingState} state @param {string} by */
  setRecording(state, by) {
    const previous = this.recording;
    this.recording = state;
    if (state !== previous || by) this.dispatchEvent(new CustomEvent('recording', { detail: { state, by, previous } }));
  }

  /** (Moderators) starts, pauses, resumes or stops recording the meeting. @param {'start'|'pause'|'resume'|'stop'} action */
  record(action) {
    this.sig?.send({ type: 'record', action });
  }

  /** (Moderators) ends the meeting for everyone. */
  endForAll() {
    this.sig?.send({ type: 'end_meeting' });
  }

  /** Reports a problem to the admins, with what this client last measured. @param {string} note @param {import('./protocol.js').QualityReport|null} report */
  reportProblem(note, report) {
    this.sig?.send(report ? { type: 'problem_report', note, report } : { type: 'problem_report', note });
  }

  /** Leaves on purpose. */
  leave() {
    this.sig?.send({ type: 'leave' });
    this.end('left');
  }

  /** @param {string} reason @param {string} [code] */
  end(reason, code) {
    if (this.ended) return;
    this.ended = true;
    this.endReason = reason;
    this.pc?.close();
    this.sig?.close();
    for (const t of this.local.getTracks()) t.stop();
    this.dispatchEvent(new CustomEvent('ended', { detail: { reason, code } }));
  }
}
