// @ts-check
/**
 * Call quality from the browser's side: every 10 s, a summary of the connection's WebRTC
 * `getStats` (loss either way, jitter, round trip, bitrates, video frames decoded and
 * dropped, what limits the sent video, the candidate type and protocol, reconnects) is sent to
 * the server, which keeps it for the meeting report. The last one goes with a problem report.
 */

/** How often a report is sent. */
export const REPORT_MS = 10_000;
/** When the first reading is taken after (re)joining. */
const BASELINE_MS = 1_000;

/**
 * Cumulative counters read from one `getStats`; per stream (SSRC) where loss is counted.
 * @typedef {{recv: number, sent: number, lost: number, resent: number}} Stream
 * @typedef {{at: number, inbound: Map<number, Stream>, outbound: Map<number, Stream>, remoteLoss: number|null, bytesIn: number, bytesOut: number, decoded: number, dropped: number, jitter: number|null, rtt: number|null, limitation: string|null, candidate: string|null, protocol: string|null}} Counters
 */

/** @param {RTCStatsReport} stats @returns {Counters} */
export function counters(stats) {
  /** @type {Counters} */
  const c = { at: 0, inbound: new Map(), outbound: new Map(), remoteLoss: null, bytesIn: 0, bytesOut: 0, decoded: 0, dropped: 0, jitter: null, rtt: null, limitation: null, candidate: null, protocol: null };
  /** @param {Map<number, Stream>} m @param {number} ssrc @returns {Stream} */
  const of = (m, ssrc) => {
    let st = m.get(ssrc);
    if (!st) {
      st = { recv: 0, sent: 0, lost: 0, resent: 0 };
      m.set(ssrc, st);
    }
    return st;
  };
  /** @type {any} */
  let pair = null;
  /** @type {Map<string, any>} */
  const byId = new Map();
  stats.forEach((/** @type {any} */ s) => {
    byId.set(s.id, s);
    c.at = Math.max(c.at, s.timestamp || 0);
    switch (s.type) {
      case 'inbound-rtp': {
        const m = of(c.inbound, s.ssrc);
        m.recv += s.packetsReceived || 0;
        m.lost += Math.max(0, s.packetsLost || 0);
        c.bytesIn += s.bytesReceived || 0;
        if (s.kind === 'video') {
          c.decoded += s.framesDecoded || 0;
          c.dropped += s.framesDropped || 0;
        } else if (typeof s.jitter === 'number') {
          c.jitter = Math.max(c.jitter ?? 0, s.jitter * 1000);
        }
        break;
      }
      case 'outbound-rtp': {
        const m = of(c.outbound, s.ssrc);
        m.sent += s.packetsSent || 0;
        // Sent again on a NACK: each one a packet the network lost on the way (video's
        // repairs hide that loss from the receiver reports).
        m.resent += s.retransmittedPacketsSent || 0;
        c.bytesOut += s.bytesSent || 0;
        if (s.kind === 'video' && s.qualityLimitationReason && s.qualityLimitationReason !== 'none') c.limitation = s.qualityLimitationReason;
        else if (s.kind === 'video' && !c.limitation) c.limitation = s.qualityLimitationReason || null;
        break;
      }
      case 'remote-inbound-rtp':
        // What the server's receiver reports say of what this client sent.
        of(c.outbound, s.ssrc).lost += Math.max(0, s.packetsLost || 0);
        if (typeof s.fractionLost === 'number') c.remoteLoss = Math.max(c.remoteLoss ?? 0, s.fractionLost);
        if (typeof s.roundTripTime === 'number' && c.rtt === null) c.rtt = s.roundTripTime * 1000;
        break;
      case 'transport':
        if (s.selectedCandidatePairId) pair = s.selectedCandidatePairId;
        break;
      default:
    }
  });
  const p = pair ? byId.get(pair) : [...byId.values()].find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
  if (p) {
    if (typeof p.currentRoundTripTime === 'number') c.rtt = p.currentRoundTripTime * 1000;
    const local = byId.get(p.localCandidateId);
    if (local) {
      c.candidate = local.candidateType || null;
      c.protocol = local.candidateType === 'relay' ? local.relayProtocol || local.protocol || null : local.protocol || null;
    }
  }
  return c;
}

/** A share within 0–1, or nothing. @param {number} part @param {number} whole */
function share(part, whole) {
  return whole > 0 ? Math.min(1, Math.max(0, part / whole)) : undefined;
}

/** Streams with fewer packets than this in an interval say nothing of its loss. */
const FEW_PACKETS = 20;

/**
 * The worst stream's loss between two readings. Received: each stream's packets lost over its
 * packets (received and lost). Sent: the packets lost on the way — those the server's reports
 * count lost and those resent on its NACKs — over the packets sent. One number per direction;
 * the worst stream shows the network.
 * @param {Map<number, Stream>} a @param {Map<number, Stream>} b @param {boolean} sent
 */
function worstLoss(a, b, sent) {
  /** @type {number|undefined} */
  let worst;
  for (const [ssrc, now] of b) {
    const then = a.get(ssrc) || { recv: 0, sent: 0, lost: 0, resent: 0 };
    const lost = Math.max(0, now.lost - then.lost) + (sent ? Math.max(0, now.resent - then.resent) : 0);
    const packets = sent ? now.sent - then.sent : now.recv - then.recv + lost;
    if (packets < FEW_PACKETS) continue;
    const s = share(lost, packets);
    if (s !== undefined) worst = Math.max(worst ?? 0, s);
  }
  return worst;
}

/**
 * The report of the interval between two readings.
 * @param {Counters} a @param {Counters} b @param {number} reconnects
 * @returns {import('./protocol.js').QualityReport}
 */
export function summary(a, b, reconnects) {
  const secs = Math.max(0.001, (b.at - a.at) / 1000);
  /** @type {import('./protocol.js').QualityReport} */
  const r = { reconnects };
  const lossIn = worstLoss(a.inbound, b.inbound, false);
  if (lossIn !== undefined) r.loss_in = lossIn;
  // Uplink: what the server's receiver reports counted lost, else their last fraction.
  const lossOut = worstLoss(a.outbound, b.outbound, true) ?? (b.remoteLoss ?? undefined);
  if (lossOut !== undefined) r.loss_out = Math.min(1, Math.max(0, lossOut));
  if (b.jitter !== null) r.jitter_ms = b.jitter;
  if (b.rtt !== null) r.rtt_ms = b.rtt;
  r.kbps_in = Math.max(0, ((b.bytesIn - a.bytesIn) * 8) / secs / 1000);
  r.kbps_out = Math.max(0, ((b.bytesOut - a.bytesOut) * 8) / secs / 1000);
  if (b.decoded || b.dropped) {
    r.frames_decoded = Math.max(0, b.decoded - a.decoded);
    r.frames_dropped = Math.max(0, b.dropped - a.dropped);
  }
  if (b.limitation && ['none', 'cpu', 'bandwidth', 'other'].includes(b.limitation)) r.limitation = b.limitation;
  if (b.candidate && ['host', 'srflx', 'prflx', 'relay'].includes(b.candidate)) r.candidate = b.candidate;
  if (b.protocol === 'udp' || b.protocol === 'tcp') r.protocol = b.protocol;
  return r;
}

/** Sends a call's reports while it lasts. */
export class Diagnostics {
  /** @param {import('./call.js').Call} call */
  constructor(call) {
    this.call = call;
    /** @type {{pc: RTCPeerConnection, c: Counters}|null} */
    this.prev = null;
    /** The last report sent. @type {import('./protocol.js').QualityReport|null} */
    this.last = null;
    /** @type {ReturnType<typeof setInterval>|undefined} */
    this.timer = undefined;
    /** @type {ReturnType<typeof setTimeout>|undefined} */
    this.baseline = undefined;
  }

  start() {
    this.stop();
    // The first reading (once the media connection exists) is only a baseline: the first
    // report covers the 10 s after it.
    this.baseline = setTimeout(() => this.tick(), BASELINE_MS);
    this.timer = setInterval(() => this.tick(), REPORT_MS);
  }

  stop() {
    clearTimeout(this.baseline);
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async tick() {
    const { pc, sig } = this.call;
    if (!pc || !sig || this.call.reconnecting || this.call.ended) return;
    let c;
    try {
      c = counters(await pc.getStats());
    } catch {
      return;
    }
    // A new peer connection (after a reconnect) starts its counters again.
    const prev = this.prev && this.prev.pc === pc ? this.prev.c : null;
    this.prev = { pc, c };
    if (!prev) return;
    this.last = summary(prev, c, this.call.reconnects.length);
    this.call.sig?.send({ type: 'quality_report', report: this.last });
  }
}
