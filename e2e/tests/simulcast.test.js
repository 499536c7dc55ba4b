// Simulcast in real browsers: Chromium publishes its camera in three encodings (rids l, m, h,
// as the publisher's outbound-rtp statistics show); a viewer showing it in a small tile gets a
// small encoding, and pinning it to the stage switches to the full one within 3 s. The viewer
// tells the server its tile sizes (the `view` message); the SFU switches at a keyframe.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { startServer, signInAdmin } = require('../server.js');
const { launch, newPage, waitFirstMedia } = require('../webrtc-helpers.js');
const { ARTIFACTS, createRoomAs, join } = require('../meeting-helpers.js');

const PC = 'window.plenary.pc';

let server;
let browser;
let admin;
before(async () => {
  server = await startServer();
  ({ browser } = await launch());
  admin = await signInAdmin(browser, server, newPage);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The rids of the camera's encodings that have sent frames. */
const ridsSending = (page) =>
  page.evaluate(async () => {
    const stats = await window.plenary.pc.getStats();
    const rids = [];
    stats.forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video' && r.rid && r.framesEncoded > 0) rids.push(`${r.rid}:${r.frameWidth}`);
    });
    return rids.sort();
  });

/** The width of the remote camera the page decodes now. */
const frameWidth = (page) =>
  page.evaluate(async () => {
    const stats = await window.plenary.pc.getStats();
    let width = 0;
    stats.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video' && r.framesDecoded > 0) width = Math.max(width, r.frameWidth || 0);
    });
    return width;
  });

/** Polls `f` until `ok(value)`, or fails after `ms` with the last value. */
async function until(f, ok, ms, what) {
  const start = Date.now();
  let v;
  while (Date.now() - start < ms) {
    v = await f();
    if (ok(v)) return { v, ms: Date.now() - start };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: still ${JSON.stringify(v)} after ${ms} ms`);
}

test('the camera goes out in three layers; a small tile gets a small one, a pin the full one', async () => {
  const link = await createRoomAs(admin, server, 'Layers');
  const pub = await newPage(browser, { logPrefix: 'pub' });
  // A small window: the publisher's tile is a thumbnail.
  const viewer = await newPage(browser, { logPrefix: 'viewer', viewport: { width: 640, height: 360 } });
  const pubId = await join(pub, link, 'Pia Publisher');
  await join(viewer, link, 'Vic Viewer');
  await waitFirstMedia([viewer], PC, 1, 20000);

  const three = await until(() => ridsSending(pub), (r) => r.length === 3, 15000, 'three encodings sending').catch(async (err) => {
    const detail = await pub.evaluate(async () => {
      const stats = await window.plenary.pc.getStats();
      const out = [];
      stats.forEach((r) => {
        if (r.type === 'outbound-rtp' && r.kind === 'video') out.push({ rid: r.rid, active: r.active, frames: r.framesEncoded, w: r.frameWidth, limit: r.qualityLimitationReason, target: r.targetBitrate });
        if (r.type === 'candidate-pair' && r.nominated) out.push({ available: r.availableOutgoingBitrate });
      });
      return out;
    });
    throw new Error(`${err.message}: ${JSON.stringify(detail)}`);
  });
  console.log(`camera encodings (rid:width): ${three.v.join(' ')}`);

  const tileWidth = await viewer.evaluate((id) => document.querySelector(`#tiles .tile[data-participant-id="${id}"]`).getBoundingClientRect().width, pubId);
  const small = await until(() => frameWidth(viewer), (w) => w > 0 && w <= 320, 10000, 'a small layer in a small tile').catch(async (err) => {
    const view = await viewer.evaluate(async () => (await import('/static/js/view.js')).measureView(document));
    throw new Error(`${err.message}; the view: ${JSON.stringify(view)}; console: ${(viewer.consoleLines || []).slice(-20).join(' | ')}`);
  });
  console.log(`a ${Math.round(tileWidth)} px tile receives ${small.v} px wide frames`);

  // Pinned: the stage is large, the full encoding comes within 3 s.
  const tile = `#tiles .tile[data-participant-id="${pubId}"]`;
  await viewer.hover(tile);
  await viewer.click(`${tile} button.pin`);
  await viewer.waitForSelector(`#screen-stage[data-kind="person"][data-participant-id="${pubId}"]`);
  const big = await until(() => frameWidth(viewer), (w) => w >= 640, 3000, 'the full layer once pinned');
  console.log(`pinned: ${big.v} px wide frames after ${big.ms} ms`);
  await viewer.screenshot({ path: path.join(ARTIFACTS, 'simulcast-pinned.png') });

  // Unpinned again: back to a small layer.
  await viewer.click(`${tile} button.pin`);
  await until(() => frameWidth(viewer), (w) => w > 0 && w <= 320, 10000, 'a small layer again');
  for (const p of [pub, viewer]) await p.context().close();
});

test('tiles beyond a page are hidden and get no video; turning the page brings it', async () => {
  const link = await createRoomAs(admin, server, 'Pages');
  const pages = [];
  for (const name of ['ann', 'bob', 'cat']) pages.push(await newPage(browser, { logPrefix: name }));
  const [ann, bob, cat] = pages;
  await join(ann, link, 'Ann');
  const bobId = await join(bob, link, 'Bob');
  const catId = await join(cat, link, 'Cat');
  await waitFirstMedia([ann], PC, 2, 20000);
  // Bob pinned on Ann's stage (else whoever speaks last is there, and shown).
  const bobTile = `#tiles .tile[data-participant-id="${bobId}"]`;
  await ann.hover(bobTile);
  await ann.click(`${bobTile} button.pin`);
  await ann.waitForSelector(`#screen-stage[data-kind="person"][data-participant-id="${bobId}"]`);
  // Two tiles a page on Ann's screen: her own and Bob's; Cat's is on the second page.
  await ann.evaluate(() => {
    window.plenary.grid.pageSize = 2;
    window.plenary.grid.layout();
  });
  const hidden = (id) => ann.evaluate((x) => document.querySelector(`#tiles .tile[data-participant-id="${x}"]`).hidden, id);
  assert.equal(await hidden(catId), true);
  assert.equal(await hidden(bobId), false);
  assert.match(await ann.textContent('.pager .page'), /1.*2/);
  /** Frames decoded of each remote camera, by the track's stream (the publisher's id). */
  const decoded = () =>
    ann.evaluate(async () => {
      const pc = window.plenary.pc;
      const byTrack = {};
      for (const t of pc.getTransceivers()) {
        const stream = t.receiver.track && [...window.plenary.call.remotes.values()].find((r) => r.stream.getTracks().includes(t.receiver.track));
        if (stream && t.receiver.track.kind === 'video') byTrack[t.receiver.track.id] = stream.id;
      }
      const out = {};
      (await pc.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video' && byTrack[r.trackIdentifier] != null) out[byTrack[r.trackIdentifier]] = r.framesDecoded || 0;
      });
      return out;
    });
  // Cat's video stops reaching Ann (off her screen), Bob's goes on.
  await new Promise((r) => setTimeout(r, 2000));
  const a = await decoded();
  await new Promise((r) => setTimeout(r, 2000));
  const b = await decoded();
  const view = await ann.evaluate(async () => (await import('/static/js/view.js')).measureView(document));
  assert.ok(b[bobId] - a[bobId] > 20, `Bob's video plays: ${JSON.stringify([a, b])}; Ann's view: ${JSON.stringify(view)}`);
  assert.ok((b[catId] || 0) - (a[catId] || 0) <= 1, `Cat's tile is off screen and gets no video: ${JSON.stringify([a, b])}`);
  // The next page: Cat's tile shows, and her video comes.
  await ann.click('.pager .next');
  assert.equal(await hidden(catId), false);
  const start = await decoded();
  await until(decoded, (d) => (d[catId] || 0) - (start[catId] || 0) > 10, 5000, "Cat's video on the second page");
  await ann.screenshot({ path: path.join(ARTIFACTS, 'tiles-second-page.png') });
  for (const p of pages) await p.context().close();
});
