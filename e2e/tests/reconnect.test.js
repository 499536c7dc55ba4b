// A page's connection is cut the way a network drops it (a TCP proxy in front of the server
// resets everything): the page gets back into the meeting by itself, with its hand, and media
// flows both ways again; the others see "reconnecting…" during a longer outage and never a
// leave. The time from the cut to media again goes to artifacts/reconnect.json.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, signInAdmin } = require('../server.js');
const { startProxy } = require('../proxy.js');
const { launch, newPage, waitFirstMedia } = require('../webrtc-helpers.js');
const { ARTIFACTS, createRoomAs, join } = require('../meeting-helpers.js');

const PC = 'window.plenary.call.pc';
let server;
let proxy;
let browser;
let admin;
before(async () => {
  server = await startServer();
  proxy = await startProxy(server.url);
  ({ browser } = await launch());
  admin = await signInAdmin(browser, server, newPage);
});
after(async () => {
  await browser?.close();
  await proxy?.close();
  await server?.stop();
});

/** Frames decoded so far by `page`'s tile of participant `id`. */
const tileFrames = (page, id) => page.evaluate((id) => {
  const v = document.querySelector(`#tiles .tile[data-participant-id="${id}"] video`);
  return v ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
}, id);

test('a cut connection comes back by itself: same place, hand kept, media both ways, no leave seen', async () => {
  const link = await createRoomAs(admin, server, 'Patchy network');
  const ann = await newPage(browser, { logPrefix: 'ann' });
  const bob = await newPage(browser, { logPrefix: 'bob' });
  // Ann reaches the server through the proxy; Bob directly.
  const annId = await join(ann, link.replace(server.url, proxy.url), 'Ann');
  const bobId = await join(bob, link, 'Bob');
  await waitFirstMedia([ann, bob], PC, 1, 20000);
  await ann.click('#hand-button');
  await bob.waitForSelector(`#tiles .tile[data-participant-id="${annId}"][data-hand="1"]`);
  await bob.evaluate(() => {
    window.leftSeen = [];
    window.plenary.call.addEventListener('left', (e) => window.leftSeen.push(e.detail));
  });
  await bob.evaluate((id) => {
    window.oldTrack = window.plenary.call.remotes.get(id).videoTrack;
  }, annId);

  // A short cut: back in at once.
  const cutAt = Date.now();
  proxy.cut();
  await ann.waitForFunction(() => window.plenary.call.reconnects.length === 1, null, { timeout: 20000 });
  const backInMs = Date.now() - cutAt;
  await waitFirstMedia([ann], PC, 1, 20000);
  const annMediaMs = Date.now() - cutAt;
  // Bob decodes Ann's new video track.
  // (A new track object: its id, named after the publisher and source, stays the same.)
  await bob.waitForFunction((id) => window.plenary.call.remotes.get(id).videoTrack !== window.oldTrack, annId, { timeout: 20000 });
  const frames = await tileFrames(bob, annId);
  await bob.waitForFunction(([id, n]) => {
    const v = document.querySelector(`#tiles .tile[data-participant-id="${id}"] video`);
    return v && v.getVideoPlaybackQuality().totalVideoFrames > n + 5;
  }, [annId, frames], { timeout: 20000 });
  const bothWaysMs = Date.now() - cutAt;
  assert.equal(await ann.evaluate(() => window.plenary.call.you), annId, 'the same participant');
  assert.equal(await ann.getAttribute('#hand-button', 'data-on'), 'true', 'the hand is still up');
  assert.equal(await bob.getAttribute(`#tiles .tile[data-participant-id="${annId}"]`, 'data-hand'), '1');
  assert.equal(await ann.locator(`#tiles .tile[data-participant-id="${bobId}"]`).count(), 1);

  // A longer outage (new connections refused for 3 s): Ann is told, Bob sees her reconnecting.
  proxy.cut(3000);
  await ann.waitForSelector('#reconnecting:not([hidden])');
  await bob.waitForSelector(`#tiles .tile[data-participant-id="${annId}"][data-reconnecting="true"]`);
  assert.match(await bob.textContent(`#tiles .tile[data-participant-id="${annId}"] .reconnecting`), /reconnecting/);
  await bob.screenshot({ path: path.join(ARTIFACTS, 'meeting-reconnecting.png') });
  await bob.waitForSelector(`#tiles .tile[data-participant-id="${annId}"][data-reconnecting="false"]`, { timeout: 20000 });
  await ann.waitForSelector('#reconnecting', { state: 'hidden' });
  await waitFirstMedia([ann], PC, 1, 20000);
  assert.deepEqual(await bob.evaluate(() => window.leftSeen), [], 'Bob never saw Ann leave');
  const reconnects = await ann.evaluate(() => window.plenary.call.reconnects);
  const timings = { backInMs, annMediaMs, bothWaysMs, clientReconnectsMs: reconnects };
  fs.writeFileSync(path.join(ARTIFACTS, 'reconnect.json'), JSON.stringify(timings, null, 2));
  console.log(`reconnect timings: ${JSON.stringify(timings)}`);
  for (const p of [ann, bob]) await p.context().close();
});
