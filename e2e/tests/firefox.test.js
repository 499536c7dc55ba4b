// Firefox and Chromium in one meeting: a Firefox ESR page (puppeteer-core over WebDriver BiDi)
// and a Chromium page (Playwright) join by the link, receive and decode each other's camera and
// microphone (getStats), each sees the other's screen share on its stage, and they chat both
// ways, a link arriving as a link.
//
// Firefox's getDisplayMedia has no fake source (its fake media engine knows only cameras and
// microphones): it captures a real X display. The test starts an Xvfb for Firefox (still
// headless) to share; the test command installs Xvfb.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const puppeteer = require('puppeteer-core');
const { startServer, signInAdmin } = require('../server.js');
const { launch, newPage, now } = require('../webrtc-helpers.js');
const { ARTIFACTS, createRoomAs, join } = require('../meeting-helpers.js');

const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';
const FIREFOX_PREFS = {
  'media.navigator.streams.fake': true, // fake camera and microphone
  'media.navigator.permission.disabled': true, // no prompt (for the screen too: no picker)
  'media.peerconnection.ice.loopback': true, // offer 127.0.0.1 candidates
  // Both needed: without a stored permission Firefox offers only its default-route address.
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
};

let server;
let chromium;
let admin;
/** @type {import('puppeteer-core').Browser} */
let firefox;
let xvfb;
/** The Firefox page's console, for failure messages. */
const ffConsole = [];

const XVFB = process.env.XVFB || 'Xvfb';

/** Starts Xvfb on a display number it picks itself (its root window patterned, not black). */
function startXvfb() {
  const proc = spawn(XVFB, ['-displayfd', '3', '-screen', '0', '1280x720x24', '-nolisten', 'tcp', '-retro'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Xvfb gave no display in 10 s: ${err}`)), 10000);
    proc.stdio[3].on('data', (d) => {
      clearTimeout(timer);
      resolve({ proc, display: `:${String(d).trim()}` });
    });
    proc.on('exit', (code) => reject(new Error(`Xvfb exited with ${code}: ${err}`)));
  });
}

before(async () => {
  server = await startServer();
  ({ browser: chromium } = await launch());
  admin = await signInAdmin(chromium, server, newPage);
  // Without a display headless Firefox has no screen to capture (getDisplayMedia: NotFoundError).
  xvfb = await startXvfb();
  const env = { ...process.env, DISPLAY: xvfb.display };
  firefox = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    protocol: 'webDriverBiDi',
    defaultViewport: { width: 1280, height: 720 },
    extraPrefsFirefox: FIREFOX_PREFS,
    env,
  });
});
after(async () => {
  await firefox?.close();
  await chromium?.close();
  xvfb?.proc.kill();
  await server?.stop();
});

/** `page`'s inbound-rtp totals per kind (works on a Playwright and a puppeteer page alike). */
const inbound = (page) => page.evaluate(async () => {
  const out = { video: { tracks: 0, bytes: 0, frames: 0 }, audio: { tracks: 0, bytes: 0, frames: 0 } };
  (await window.plenary.pc.getStats()).forEach((s) => {
    if (s.type !== 'inbound-rtp' || !out[s.kind]) return;
    out[s.kind].tracks += 1;
    out[s.kind].bytes += s.bytesReceived || 0;
    out[s.kind].frames += s.framesDecoded || 0;
  });
  return out;
});

/** Both pages have decoded video and received audio from the other. */
const mediaBothWays = async (pages) => (await Promise.all(pages.map(inbound)))
  .every((s) => s.video.frames > 0 && s.audio.bytes > 0);

// Frames a video has shown: Math.max(getVideoPlaybackQuality().totalVideoFrames, mozPaintedFrames).
// Firefox counts no frames in getVideoPlaybackQuality() for a MediaStream (0 while the video
// plays); its mozPaintedFrames does. (Inlined in each page function: the page's CSP has no eval.)

/** In the page: the stage shows participant `id`'s screen, decoding. */
const stageShowsScreenOf = (id) => {
  const stage = document.getElementById('screen-stage');
  const v = /** @type {any} */ (stage.querySelector('video'));
  return !stage.hidden && stage.dataset.kind === 'screen' && stage.dataset.participantId === String(id)
    && v.videoWidth > 0 && Math.max(v.getVideoPlaybackQuality().totalVideoFrames, v.mozPaintedFrames || 0) > 3;
};
/** In the page: the stage's video has shown more than `n` frames. */
const stageShownMoreThan = (n) => {
  const v = /** @type {any} */ (document.querySelector('#screen-stage video'));
  return Math.max(v.getVideoPlaybackQuality().totalVideoFrames, v.mozPaintedFrames || 0) > n;
};
/** What the stage of `page` shows now, for failure messages. */
const stageState = (page) => page.evaluate(() => {
  const stage = document.getElementById('screen-stage');
  const v = /** @type {any} */ (stage.querySelector('video'));
  return { hidden: stage.hidden, kind: stage.dataset.kind, participantId: stage.dataset.participantId, videoWidth: v.videoWidth,
    framesShown: Math.max(v.getVideoPlaybackQuality().totalVideoFrames, v.mozPaintedFrames || 0), paused: v.paused,
    notes: document.getElementById('meeting-notes').textContent };
});
const stageFrames = (page) => page.evaluate(() => {
  const v = /** @type {any} */ (document.querySelector('#screen-stage video'));
  return Math.max(v.getVideoPlaybackQuality().totalVideoFrames, v.mozPaintedFrames || 0);
});

/** Runs `wait`; on a timeout, says `what`, with both pages' state and console. */
async function expect(what, wait, pages) {
  try {
    return await wait;
  } catch (err) {
    const states = await Promise.all(Object.entries(pages).map(async ([n, p]) => `${n}: ${JSON.stringify(await stageState(p).catch((e) => String(e)))}`));
    const chromeLog = Object.values(pages).flatMap((p) => p.consoleLines || []);
    throw new Error(`${what}: ${err.message}\n${states.join('\n')}\n--- console\n${[...ffConsole, ...chromeLog].slice(-60).join('\n')}`);
  }
}

test('Firefox and Chromium meet: media both ways, each one\'s screen on the other\'s stage, chat both ways', async (t) => {
  const link = await createRoomAs(admin, server, 'Across browsers');
  assert.match(link, /\/r\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/);

  // Chromium joins as a guest.
  const chrome = await newPage(chromium, { logPrefix: 'chromium' });
  const chromeId = await join(chrome, link, 'Chris Chromium');

  // Firefox joins by the link.
  const ff = await firefox.newPage();
  ff.on('console', (m) => ffConsole.push(`${new Date().toISOString()} [firefox] ${m.type()}: ${m.text().slice(0, 300)}`));
  ff.on('pageerror', (e) => ffConsole.push(`${new Date().toISOString()} [firefox] pageerror: ${e.message}`));
  const pages = { firefox: ff, chromium: chrome };
  await ff.goto(link);
  await ff.waitForSelector('#join:not([hidden])');
  await expect('Firefox: the join button never became enabled (no camera/microphone preview?)', ff.waitForSelector('#join-button:enabled', { timeout: 15000 }), pages);
  await ff.$eval('#name', (el) => { /** @type {HTMLInputElement} */ (el).value = ''; });
  await ff.type('#name', 'Fiona Firefox');
  const clickedAt = now();
  await ff.click('#join-button');
  await expect('Firefox did not get into the meeting', ff.waitForSelector('#meeting:not([hidden])', { timeout: 15000 }), pages);
  const ffId = await ff.evaluate(() => window.plenary.call.you);
  assert.ok(Number.isInteger(ffId) && ffId !== chromeId, `Firefox's id ${ffId}, Chromium's ${chromeId}`);
  assert.deepEqual(await ff.evaluate(() => [...window.plenary.call.remotes.values()].map((r) => r.name)), ['Chris Chromium']);

  // Media both ways: each page decodes the other's video and receives its audio, and both grow.
  for (;;) {
    if (await mediaBothWays([ff, chrome])) break;
    if (now() - clickedAt > 20000) {
      const stats = await Promise.all([inbound(ff), inbound(chrome)]);
      assert.fail(`no media both ways 20 s after Firefox's join click: firefox ${JSON.stringify(stats[0])}, chromium ${JSON.stringify(stats[1])}\n${ffConsole.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`Firefox's join click to media both ways: ${now() - clickedAt} ms`);
  const windowMs = 3000;
  const a = { firefox: await inbound(ff), chromium: await inbound(chrome) };
  await new Promise((r) => setTimeout(r, windowMs));
  const b = { firefox: await inbound(ff), chromium: await inbound(chrome) };
  for (const side of ['firefox', 'chromium']) {
    const from = side === 'firefox' ? 'Chromium' : 'Firefox';
    const growth = {
      videoFrames: b[side].video.frames - a[side].video.frames,
      videoBytes: b[side].video.bytes - a[side].video.bytes,
      audioBytes: b[side].audio.bytes - a[side].audio.bytes,
    };
    console.log(`${side} receives from ${from} over ${windowMs} ms: ${JSON.stringify(growth)}`);
    assert.ok(b[side].video.tracks >= 1 && b[side].audio.tracks >= 1, `${side} has no inbound video or audio: ${JSON.stringify(b[side])}`);
    assert.ok(growth.videoFrames > 0, `${side} decodes no more video frames from ${from}: ${JSON.stringify({ before: a[side], after: b[side] })}`);
    assert.ok(growth.audioBytes > 0, `${side} receives no more audio from ${from}: ${JSON.stringify({ before: a[side], after: b[side] })}`);
  }
  // Each page's tile of the other plays video.
  await expect('Firefox: no playing video on Chromium\'s tile', ff.waitForFunction((id) => {
    const v = document.querySelector(`#tiles .tile[data-participant-id="${id}"][data-video="true"] video`);
    return v && v.videoWidth > 0;
  }, { timeout: 10000 }, chromeId), pages);
  await chrome.waitForFunction((id) => document.querySelector(`#tiles .tile[data-participant-id="${id}"][data-video="true"] video`)?.videoWidth > 0, ffId, { timeout: 10000 });
  await ff.screenshot({ path: path.join(ARTIFACTS, 'firefox-meeting.png') });

  // Chromium shares its screen: Firefox sees it on its stage, decoding.
  await chrome.click('#share-button');
  await expect('Firefox: Chromium\'s screen not on the stage', ff.waitForFunction(stageShowsScreenOf, { timeout: 20000 }, chromeId), pages);
  const ffFrames = await stageFrames(ff);
  await expect('Firefox: Chromium\'s screen stopped decoding', ff.waitForFunction(stageShownMoreThan, { timeout: 10000 }, ffFrames + 5), pages);
  assert.match(await ff.$eval('#screen-caption', (el) => el.textContent), /Chris Chromium is sharing their screen/);
  await ff.screenshot({ path: path.join(ARTIFACTS, 'firefox-stage.png') });

  // Firefox shares its screen, taking over (asked first): Chromium sees it on its stage.
  await t.test('Firefox shares its screen: on Chromium\'s stage, decoding', async () => {
    await ff.click('#share-button');
    await ff.waitForSelector('#share-confirm:not([hidden])');
    assert.match(await ff.$eval('#share-confirm', (el) => el.textContent), /Chris Chromium is sharing: share instead/);
    await ff.click('#share-confirm');
    await expect('Firefox: its own share never started', ff.waitForFunction(() => window.plenary.call.screen !== null, { timeout: 10000 }), pages);
    await expect('Chromium: Firefox\'s screen not on the stage', chrome.waitForFunction(stageShowsScreenOf, ffId, { timeout: 20000 }), pages);
    const frames = await stageFrames(chrome);
    await expect('Chromium: Firefox\'s screen stopped decoding', chrome.waitForFunction(stageShownMoreThan, frames + 5, { timeout: 10000 }), pages);
    assert.match(await chrome.textContent('#screen-caption'), /Fiona Firefox is sharing their screen/);
    // Chromium's own share ended with the take-over.
    await chrome.waitForFunction(() => window.plenary.call.screen === null);
    assert.match(await chrome.textContent('#meeting-notes'), /Fiona Firefox stopped your screen share/);
    assert.match(await ff.$eval('#screen-caption', (el) => el.textContent), /You are sharing/);
    await chrome.screenshot({ path: path.join(ARTIFACTS, 'chromium-stage-firefox.png') });
  });

  // Chat: Firefox writes to everyone with a link; Chromium sees who and the link.
  const url = 'https://pad.example.coop/across-browsers';
  await ff.click('#chat-button');
  await ff.waitForSelector('#chat-text');
  await ff.type('#chat-text', `Notes: ${url}`);
  await ff.keyboard.press('Enter');
  await expect('Chromium: no unread chat badge', chrome.waitForSelector('#unread:not([hidden])', { timeout: 10000 }), pages);
  await chrome.click('#chat-button');
  const item = chrome.locator('#chat-list li').filter({ hasText: 'Notes:' }).first();
  await item.waitFor({ timeout: 10000 });
  assert.equal(await item.locator('.who').textContent(), 'Fiona Firefox');
  assert.equal(await item.locator('a').getAttribute('href'), url);
  assert.equal(await item.locator('a').textContent(), url);
  assert.equal(await item.getAttribute('data-to'), 'everyone');

  // Chromium replies; Firefox sees it, from Chromium.
  await chrome.fill('#chat-text', 'Got it, thanks from Chromium');
  await chrome.click('#chat-send');
  const reply = await expect('Firefox: Chromium\'s reply never arrived', ff.waitForFunction(() => [...document.querySelectorAll('#chat-list li')]
    .map((li) => ({ who: li.querySelector('.who')?.textContent, text: li.querySelector('.text')?.textContent }))
    .find((m) => m.text === 'Got it, thanks from Chromium'), { timeout: 10000 }), pages);
  assert.equal((await reply.jsonValue()).who, 'Chris Chromium');
  // Firefox's own message shows in its list, its link a link.
  assert.equal(await ff.$eval('#chat-list li a', (a) => a.getAttribute('href')), url);
  await ff.screenshot({ path: path.join(ARTIFACTS, 'firefox-chat.png') });
});
