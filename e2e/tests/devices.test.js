// Devices during a meeting, with two fake cameras, three microphones and three speakers: the
// camera and microphone switch without leaving (the other page keeps decoding), the speaker
// choice reaches every sound the page plays, and a device that goes away is said.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { startServer, signInAdmin } = require('../server.js');
const { launch, newPage, waitFirstMedia, inboundStats } = require('../webrtc-helpers.js');
const { ARTIFACTS, createRoomAs, join } = require('../meeting-helpers.js');

const PC = 'window.plenary.call.pc';
let server;
let browser;
let admin;
before(async () => {
  server = await startServer();
  ({ browser } = await launch(['--use-fake-device-for-media-stream=device-count=2']));
  admin = await signInAdmin(browser, server, newPage);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** What `page` sends from: its local tracks' devices. */
const localDevices = (page) => page.evaluate(() => ({
  camera: window.plenary.call.local.getVideoTracks()[0]?.getSettings().deviceId,
  mic: window.plenary.call.local.getAudioTracks()[0]?.getSettings().deviceId,
  sent: window.plenary.call.pc.getSenders().map((s) => s.track?.getSettings().deviceId).filter(Boolean),
}));

test('camera, microphone and speaker switch mid-meeting; a lost device is said', async () => {
  const link = await createRoomAs(admin, server, 'Switchboard');
  const ann = await newPage(browser, { logPrefix: 'ann' });
  const bob = await newPage(browser, { logPrefix: 'bob' });
  await join(ann, link, 'Ann');
  await join(bob, link, 'Bob');
  await waitFirstMedia([ann, bob], PC, 1, 20000);
  const before = await localDevices(ann);

  await ann.click('#devices-button');
  await ann.waitForSelector('#devices-dialog[open]');
  const cameras = await ann.$$eval('#meeting-camera option', (o) => o.map((x) => x.value));
  const mics = await ann.$$eval('#meeting-microphone option', (o) => o.map((x) => x.value));
  assert.equal(cameras.length, 2, JSON.stringify(cameras));
  assert.ok(mics.length >= 2, JSON.stringify(mics));
  assert.equal(await ann.inputValue('#meeting-camera'), before.camera);
  await ann.screenshot({ path: path.join(ARTIFACTS, 'meeting-devices.png') });

  // The other camera: sent at once on the same connection; Bob keeps decoding.
  const otherCam = cameras.find((c) => c !== before.camera);
  await ann.selectOption('#meeting-camera', otherCam);
  await ann.waitForFunction((id) => window.plenary.call.local.getVideoTracks()[0]?.getSettings().deviceId === id, otherCam);
  const frames = (await inboundStats(bob, PC)).video.frames;
  await bob.waitForFunction(async ([pc, n]) => {
    let f = 0;
    (await eval(pc).getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') f += s.framesDecoded || 0; });
    return f > n + 20;
  }, [PC, frames], { timeout: 20000 });
  // Another microphone.
  const otherMic = mics.find((m) => m !== before.mic);
  await ann.selectOption('#meeting-microphone', otherMic);
  await ann.waitForFunction((id) => window.plenary.call.local.getAudioTracks()[0]?.getSettings().deviceId === id, otherMic);
  const now = await localDevices(ann);
  assert.ok(now.sent.includes(otherCam) && now.sent.includes(otherMic), JSON.stringify(now));

  // Another speaker: every sound on the page (Bob's tile) plays there.
  const speakers = await ann.$$eval('#meeting-speaker option', (o) => o.map((x) => x.value));
  assert.ok(speakers.length >= 2, JSON.stringify(speakers));
  const speaker = speakers.find((s) => s !== 'default');
  await ann.selectOption('#meeting-speaker', speaker);
  await ann.waitForFunction((id) => [...document.querySelectorAll('#tiles audio')].some((a) => a.sinkId === id), speaker);
  await ann.click('#devices-close');

  // The camera goes away (unplugged): Ann is told, her camera is off, Bob sees it off.
  await ann.evaluate(() => window.plenary.call.local.getVideoTracks()[0].dispatchEvent(new Event('ended')));
  await ann.waitForFunction(() => /camera went away/.test(document.getElementById('meeting-notes').textContent));
  assert.equal(await ann.evaluate(() => window.plenary.call.videoOn), false);
  await bob.waitForSelector('#tiles .tile:not(.self)[data-video="false"]');
  // The microphone goes away: another one is taken, and Ann is told which.
  await ann.evaluate(() => window.plenary.call.local.getAudioTracks()[0].dispatchEvent(new Event('ended')));
  await ann.waitForFunction(() => /microphone went away; .+ is used instead/.test(document.getElementById('meeting-notes').textContent));
  assert.equal(await ann.evaluate(() => window.plenary.call.local.getAudioTracks()[0]?.readyState), 'live');
  for (const p of [ann, bob]) await p.context().close();
});
