// @ts-check
/**
 * Call quality from the browser's side: every 10 s, a summary of the connection's WebRTC
 * `getStats` (loss either way, jitter, round trip, bitrates, video frames decoded and
 * dropped, what limits the sent video, the candidate type and protocol, reconnects) is sent to
 * the server, which keeps it for the meeting report. The last one goes with a problem report.
 */

/** How often a report is sent. */
export const REPORT_MS = 10_000;

/**
 * Cumulative counters read from one `getStats`.
 * @typedef {{at: number, recv: number, lost: number, bytesIn: number, sent: number, remoteLost: number, remoteLoss: number|null, bytesOut: number, decoded: number, dropped: number, jitter: number|null, rtt: number|null, limitation: string|null, candidate: string|null, protocol: string|null}} Counters
 */

/** @param {RTCStatsReport} stats @returns {Counters} */
export function counters(stats) {
  /** @type {Counters} */
  const c = { at: 0, recv: 0, lost: 0, bytesIn: 0, sent: 0, remoteLost: 0, remoteLoss: null, bytesOut: 0, decoded: 0, dropped: 0, jitter: null, rtt: null, limitation: null, candidate: null, protocol: null };
  /** @type {any} */
  let pair = null;
  /** @type {Map<string, any>} */
  const byId = new Map();
  stats.forEach((/** @type {any} */ s) => {
    byId.set(s.id, s);
    c.at = Math.max(c.at, s.timestamp || 0);
    switch (s.type) {
      case 'inbound-rtp':
        c.recv += s.packetsReceived || 0;
        c.lost += Math.max(0, s.packetsLost || 0);
        c.bytesIn += s.bytesReceived || 0;
        if (s.kind === 'video') {
          c.decoded += s.framesDecoded || 0;
          c.dropped += s.framesDropped || 0;
        } else if (typeof s.jitter === 'number') {
          c.jitter = Math.max(c.jitter ?? 0, s.jitter * 1000);
        }
        break;
      case 'outbound-rtp':
        c.sent += s.packetsSent || 0;
        c.bytesOut += s.bytesSent || 0;
        if (s.kind === 'video' && s.qualityLimitationReason && s.qualityLimitationReason !== 'none') c.limitation = s.qualityLimitationReason;
        else if (s.kind === 'video' && !c.limitation) c.limitation = s.qualityLimitationReason || null;
        break;
      case 'remote-inbound-rtp':
        // What the server's receiver reports say of what this client sent.
        c.remoteLost += Math.max(0, s.packetsLost || 0);
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

/**
 * The report of the interval between two readings.
 * @param {Counters} a @param {Counters} b @param {number} reconnects
 * @returns {import('./protocol.js').QualityReport}
 */
export function summary(a, b, reconnects) {
  const secs = Math.max(0.001, (b.at - a.at) / 1000);
  const recv = b.recv - a.recv;
  const lost = b.lost - a.lost;
  const sent = b.sent - a.sent;
  /** @type {import('./protocol.js').QualityReport} */
  const r = { reconnects };
  const lossIn = share(lost, lost + recv);
  if (lossIn !== undefined) r.loss_in = lossIn;
  // Uplink: the reports' lost count over what was sent, else their last fraction.
  const lossOut = share(b.remoteLost - a.remoteLost, sent) ?? (b.remoteLoss ?? undefined);
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
  }

  start() {
    this.stop();
    this.tick();
    this.timer = setInterval(() => this.tick(), REPORT_MS);
  }

  stop() {
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
