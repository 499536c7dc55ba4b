// Helpers for WebRTC end-to-end tests with playwright-core and Debian's Chromium.
// Adapted from the shared, proven recipe (shared/e2e/webrtc-helpers.js).
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const CHROME_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // fake camera (green test pattern w/ timer) + fake mic (beep), auto-accept the gUM prompt
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  // let WebRTC gather 127.0.0.1/::1 host candidates (only honoured when network
  // enumeration is allowed, i.e. camera/mic permission is *granted*, see newPage below)
  '--allow-loopback-in-peer-connection',
  // belt and braces: never replace host IPs by <uuid>.local mDNS names
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  // headless tabs in the background must not throttle timers/rendering
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
  '--autoplay-policy=no-user-gesture-required',
];

const now = () => Number(process.hrtime.bigint() / 1000000n);

// E2E_DROP_FLAGS=--allow-loopback-in-peer-connection,... removes flags (to reproduce gotchas)
// E2E_EXTRA_FLAGS="--enable-logging=stderr --v=1" adds flags (see DEBUG=pw:browser to see stderr)
const DROP = (process.env.E2E_DROP_FLAGS || '').split(',').filter(Boolean);
const EXTRA = (process.env.E2E_EXTRA_FLAGS || '').split(' ').filter(Boolean);

async function launch(extraArgs = [], opts = {}) {
  const t0 = now();
  const browser = await chromium.launch({
    // opts.executablePath: e.g. a wrapper that runs Chromium in a network namespace
    executablePath: opts.executablePath || CHROMIUM,
    headless: true,
    args: [...CHROME_FLAGS, ...extraArgs, ...EXTRA].filter((f) => !DROP.includes(f)),
    // playwright creates (and deletes) an empty temp --user-data-dir itself
    env: { ...process.env, ...(opts.env || {}) },
    timeout: 30000,
  });
  return { browser, launchMs: now() - t0 };
}

async function newPage(browser, { logPrefix, viewport, locale } = {}) {
  const ctx = await browser.newContext({
    viewport: viewport || { width: 1280, height: 720 },
    locale: locale || 'en-US',
    ignoreHTTPSErrors: true, // only matters when a test serves HTTPS with a self-signed cert
    // Granting the permission is what switches Chromium from "default route only,
    // mDNS-obfuscated" candidate gathering to full enumeration (incl. loopback).
    permissions: process.env.E2E_NO_GRANT ? [] : ['camera', 'microphone'],
  });
  const page = await ctx.newPage();
  if (logPrefix) {
    // Every page's console is kept for diagnosis (artifacts/<prefix>.console.log).
    page.consoleLines = [];
    page.on('console', (m) => {
      const line = `[${logPrefix}] ${m.type()}: ${m.text().slice(0, 300)}`;
      page.consoleLines.push(`${new Date().toISOString()} ${line}`);
      if (process.env.E2E_CONSOLE) console.log(line);
    });
    page.on('pageerror', (e) => console.log(`[${logPrefix}] pageerror: ${e.message}`));
  }
  return page;
}

// Sum inbound-rtp bytes/packets/frames per kind for the page's RTCPeerConnection
// (pcExpr is a JS expression evaluated in the page that yields the RTCPeerConnection).
async function inboundStats(page, pcExpr) {
  return page.evaluate(async (pcExpr) => {
    // eslint-disable-next-line no-eval
    const pc = (0, eval)(pcExpr);
    const r = await pc.getStats();
    const out = { video: { tracks: 0, bytes: 0, packets: 0, frames: 0, decoding: 0 }, audio: { tracks: 0, bytes: 0, packets: 0, frames: 0, decoding: 0 },
      outVideoBytes: 0, outAudioBytes: 0, pair: null };
    r.forEach((s) => {
      if (s.type === 'inbound-rtp' && out[s.kind]) {
        out[s.kind].tracks += 1;
        out[s.kind].bytes += s.bytesReceived || 0;
        out[s.kind].packets += s.packetsReceived || 0;
        out[s.kind].frames += s.framesDecoded || 0;
        if (s.kind === 'video' ? s.framesDecoded > 0 : s.bytesReceived > 0) out[s.kind].decoding += 1;
      }
      if (s.type === 'outbound-rtp') {
        if (s.kind === 'video') out.outVideoBytes += s.bytesSent || 0;
        if (s.kind === 'audio') out.outAudioBytes += s.bytesSent || 0;
      }
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
        const l = r.get(s.localCandidateId); const rc = r.get(s.remoteCandidateId);
        out.pair = `${l && l.address}:${l && l.port}(${l && l.candidateType}) -> ${rc && rc.address}:${rc && rc.port}(${rc && rc.candidateType})`;
        out.pairProtocol = l && l.protocol;
      }
    });
    return out;
  }, pcExpr);
}

// Poll until every page receives `expectTracks` video and audio inbound tracks with bytes > 0.
async function waitFirstMedia(pages, pcExpr, expectTracks, timeoutMs = 20000) {
  const t0 = now();
  for (;;) {
    const stats = await Promise.all(pages.map((p) => inboundStats(p, pcExpr)));
    const ok = stats.every((s) => s.video.tracks >= expectTracks && s.audio.tracks >= expectTracks
      && s.video.bytes > 0 && s.audio.bytes > 0 && s.video.decoding >= expectTracks);
    if (ok) return { ms: now() - t0, stats };
    if (now() - t0 > timeoutMs) {
      const err = new Error(`no media on all pages after ${timeoutMs}ms: ${JSON.stringify(stats)}`);
      err.stats = stats; throw err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Assert bytesReceived (video+audio) grow on every page across `windowMs`.
async function assertFlowing(pages, pcExpr, expectTracks, windowMs = 3000) {
  const a = await Promise.all(pages.map((p) => inboundStats(p, pcExpr)));
  await new Promise((r) => setTimeout(r, windowMs));
  const b = await Promise.all(pages.map((p) => inboundStats(p, pcExpr)));
  const rows = a.map((s, i) => {
    const e = b[i];
    return {
      page: i,
      videoTracks: e.video.tracks, audioTracks: e.audio.tracks, videoDecoding: e.video.decoding,
      videoKbps: Math.round(((e.video.bytes - s.video.bytes) * 8) / windowMs),
      audioKbps: Math.round(((e.audio.bytes - s.audio.bytes) * 8) / windowMs),
      videoFps: +(((e.video.frames - s.video.frames) * 1000) / windowMs / Math.max(1, e.video.tracks)).toFixed(1),
      pair: e.pair,
    };
  });
  const failures = rows.filter((r) => !(r.videoTracks >= expectTracks && r.audioTracks >= expectTracks
    && r.videoDecoding >= expectTracks && r.videoKbps > 0 && r.audioKbps > 0 && r.videoFps > 0));
  return { rows, ok: failures.length === 0 };
}

module.exports = { CHROME_FLAGS, launch, newPage, inboundStats, waitFirstMedia, assertFlowing, now };
