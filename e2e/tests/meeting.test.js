// Three real browsers meet through Plenary's SFU: each receives the others' audio and video
// (checked through getStats), a mute is seen by the others, a leaver's tile goes away.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, signInAdmin } = require('../server.js');
const { launch, newPage, waitFirstMedia, assertFlowing, inboundStats } = require('../webrtc-helpers.js');
const { createRoomAs, join } = require('../meeting-helpers.js');

const ARTIFACTS = path.join(__dirname, '..', 'artifacts');
fs.mkdirSync(ARTIFACTS, { recursive: true });
const PC = 'window.plenary.pc';

let server;
let browser;
/** The admin's signed-in page: members create rooms; the others join as guests by the link. */
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

/** The admin creates a room on "My rooms"; returns its link. */
const createRoom = (name) => createRoomAs(admin, server, name);

const tileCount = (page) => page.locator('#tiles .tile').count();

test('three browsers see and hear each other; mute and leave are shown', async () => {
  const pages = [];
  for (const name of ['ada', 'ben', 'cleo']) pages.push(await newPage(browser, { logPrefix: name }));
  const [ada, ben, cleo] = pages;

  const link = await createRoom('E2E assembly');
  assert.match(link, /\/r\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/);

  const ids = {};
  ids.ada = await join(ada, link, 'Ada Lovelace', { screenshot: 'join.png' });
  ids.ben = await join(ben, link, 'Ben Franklin');
  // Cleo joins a meeting under way (Ada and Ben see each other already).
  await waitFirstMedia([ada, ben], PC, 1, 20000);
  ids.cleo = await join(cleo, link, 'Cleo');
  // The figure for the notes: from Cleo's click on Join to the first decoded frame of both
  // others' video (polled every 100 ms, so up to ~100 ms late).
  await waitFirstMedia([cleo], PC, 2, 20000);
  console.log(`join to first remote frame: ${Date.now() - cleo.joinClickedAt} ms (Cleo, two others' video decoding)`);

  // Media: every page decodes two remote videos and receives two remote audio tracks.
  const first = await waitFirstMedia(pages, PC, 2, 20000);
  console.log(`first media on all pages after ${first.ms} ms`);
  const flow = await assertFlowing(pages, PC, 2, 3000);
  console.table(flow.rows);
  assert.ok(flow.ok, `media not flowing on every page: ${JSON.stringify(flow.rows)}`);

  for (const p of pages) {
    await p.waitForFunction(() => document.querySelectorAll('#tiles .tile').length === 3);
    // Remote tiles play video (not the initials fallback).
    const remoteWithVideo = await p.locator('#tiles .tile:not(.self)[data-video="true"] video').count();
    assert.equal(remoteWithVideo, 2);
  }
  await ada.screenshot({ path: path.join(ARTIFACTS, 'meeting-3.png') });

  // Cleo mutes: Ada and Ben see the muted icon on Cleo's tile.
  await cleo.click('#mic-button');
  for (const p of [ada, ben]) {
    await p.waitForSelector(`#tiles .tile[data-participant-id="${ids.cleo}"][data-muted="true"] .muted-icon`, { state: 'visible', timeout: 5000 });
  }
  assert.equal(await cleo.getAttribute('#mic-button', 'data-on'), 'true');
  // Cleo's microphone track is disabled, so no sound is sent (muted in the browser itself).
  assert.equal(await cleo.evaluate(() => window.plenary.call.local.getAudioTracks()[0].enabled), false);
  await ada.screenshot({ path: path.join(ARTIFACTS, 'meeting-muted.png') });

  // Ben stops his camera: others see his initials instead of video.
  await ben.click('#cam-button');
  await ada.waitForSelector(`#tiles .tile[data-participant-id="${ids.ben}"][data-video="false"] .avatar`, { state: 'visible', timeout: 5000 });
  assert.equal(await ada.textContent(`#tiles .tile[data-participant-id="${ids.ben}"] .avatar`), 'BF');

  // Ben leaves: his tile disappears for Ada and Cleo; he sees the "left" screen.
  await ben.click('#leave-button');
  await ben.waitForSelector('#ended:not([hidden])');
  for (const p of [ada, cleo]) {
    await p.waitForSelector(`#tiles .tile[data-participant-id="${ids.ben}"]`, { state: 'detached', timeout: 5000 });
    assert.equal(await tileCount(p), 2);
  }
  // Ada and Cleo still exchange media after the renegotiation that removed Ben's tracks (once
  // Cleo unmutes: the SFU forwards nothing of a muted microphone).
  await cleo.click('#mic-button');
  await ada.waitForSelector(`#tiles .tile[data-participant-id="${ids.cleo}"][data-muted="false"]`, { timeout: 5000 });
  const after2 = await assertFlowing([ada, cleo], PC, 1, 2000);
  assert.ok(after2.ok, JSON.stringify(after2.rows));
  await ada.screenshot({ path: path.join(ARTIFACTS, 'meeting-after-leave.png') });
  await ben.screenshot({ path: path.join(ARTIFACTS, 'left.png') });
  for (const p of pages) await p.context().close();
});

test('with camera and microphone denied, a participant joins listen-only and still receives', async () => {
  const speaker = await newPage(browser, { logPrefix: 'speaker' });
  const link = await createRoom('Denied devices');
  const speakerId = await join(speaker, link, 'Speaker');

  // Chromium only gathers loopback ICE candidates once media permission is granted, so the
  // denial is made at the API: getUserMedia rejects as a browser does when the user says no.
  const listener = await newPage(browser, { logPrefix: 'listener' });
  await listener.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = async () => {
      throw new DOMException('Permission denied', 'NotAllowedError');
    };
  });
  await listener.goto(link);
  await listener.waitForSelector('#device-notes:not([hidden])');
  const note = await listener.textContent('#device-notes');
  assert.match(note, /microphone was denied.*listen-only/);
  assert.match(note, /camera was denied.*without video/);
  await listener.screenshot({ path: path.join(ARTIFACTS, 'join-denied.png') });
  const listenerId = await join(listener, link, 'Listener');
  assert.match(await listener.textContent('#meeting-notes'), /listen-only/);

  await waitFirstMedia([listener], PC, 1, 20000);
  const flow = await assertFlowing([listener], PC, 1, 2000);
  assert.ok(flow.ok, JSON.stringify(flow.rows));
  // The speaker sees the listener as muted, with initials.
  await speaker.waitForSelector(`#tiles .tile[data-participant-id="${listenerId}"][data-muted="true"][data-video="false"]`, { timeout: 5000 });
  assert.equal(await listener.isDisabled('#mic-button'), true);
  await listener.screenshot({ path: path.join(ARTIFACTS, 'meeting-listen-only.png') });
  assert.ok(speakerId > 0);
  await speaker.context().close();
  await listener.context().close();
});

test('in a room where everyone joins muted, the microphone is open, muted, and unmutes', async () => {
  const link = await createRoom('Muted start');
  // The owner turns "mute on join" on for the room.
  const item = admin.locator('#rooms li', { has: admin.locator('.room-name', { hasText: 'Muted start' }) }).first();
  await item.locator('summary').click();
  await item.locator('input[name="mute_on_join"]').check();
  await item.locator('form.settings button[type="submit"]').click();
  await admin.waitForURL(/\/rooms/);
  const page = await newPage(browser, { logPrefix: 'muted' });
  await join(page, link, 'Quiet');
  const note = await page.textContent('#meeting-notes');
  assert.match(note, /joined muted/);
  assert.doesNotMatch(note, /listen-only/);
  assert.equal(await page.isDisabled('#mic-button'), false);
  assert.equal((await page.textContent('#mic-button')).trim(), 'Unmute');
  assert.equal(await page.evaluate(() => window.plenary.call.local.getAudioTracks()[0].enabled), false);
  await page.click('#mic-button');
  assert.equal((await page.textContent('#mic-button')).trim(), 'Mute');
  assert.equal(await page.evaluate(() => window.plenary.call.local.getAudioTracks()[0].enabled), true);
  await page.context().close();
});

test('a facilitator chairs: chat (public, private, links, no HTML), hands in order, mute, promote, lock, remove, end for all', async () => {
  const link = await createRoom('Assembly');
  const chair = await signInAdmin(browser, server, newPage);
  const ann = await newPage(browser, { logPrefix: 'ann' });
  const bob = await newPage(browser, { logPrefix: 'bob' });
  await join(chair, link, 'Chair');
  const annId = await join(ann, link, 'Ann');
  const bobId = await join(bob, link, 'Bob');

  // Public chat with a link and some HTML: the link is a link, the HTML stays text.
  await ann.click('#chat-button');
  await ann.fill('#chat-text', 'Agenda: https://pad.example.coop/agenda. <img src=x onerror="window.pwned=1">');
  await ann.press('#chat-text', 'Enter');
  await bob.waitForSelector('#unread:not([hidden])');
  assert.equal(await bob.textContent('#unread'), '1');
  await bob.click('#chat-button');
  const item = bob.locator('#chat-list li').first();
  await item.waitFor();
  assert.equal(await item.locator('a').getAttribute('href'), 'https://pad.example.coop/agenda');
  assert.equal(await item.locator('a').getAttribute('rel'), 'noopener noreferrer nofollow');
  assert.equal(await bob.locator('#chat-list img').count(), 0, 'no HTML from a message');
  assert.match(await item.locator('.text').textContent(), /<img src=x onerror=/);
  assert.equal(await bob.evaluate(() => /** @type {any} */ (window).pwned), undefined);
  assert.equal(await bob.textContent('#unread'), '0');
  // Private, Ann to Bob: the chair never sees it.
  await ann.selectOption('#chat-to', `p${bobId}`);
  await ann.fill('#chat-text', 'just between us');
  await ann.click('#chat-send');
  await bob.waitForSelector('#chat-list li[data-to="participant"]');
  await ann.selectOption('#chat-to', 'everyone');
  await ann.fill('#chat-text', 'for all again');
  await ann.click('#chat-send');
  await chair.click('#chat-button');
  await chair.waitForSelector('#chat-list li:has-text("for all again")');
  assert.equal(await chair.locator('#chat-list li:has-text("just between us")').count(), 0);
  await chair.screenshot({ path: path.join(ARTIFACTS, 'meeting-chat.png') });

  // Hands, in the order raised, on the tiles and in the list.
  await bob.click('#hand-button');
  await bob.waitForSelector('#hand-button[data-on="true"]');
  await ann.click('#hand-button');
  await chair.click('#people-button');
  await chair.waitForSelector(`#people-list li[data-participant-id="${annId}"] .state:has-text("hand 2")`);
  assert.match(await chair.textContent(`#people-list li[data-participant-id="${bobId}"] .state`), /hand 1/);
  assert.equal(await chair.getAttribute(`#tiles .tile[data-participant-id="${bobId}"]`, 'data-hand'), '1');
  await chair.screenshot({ path: path.join(ARTIFACTS, 'meeting-people.png') });

  // The chair mutes Ann: her microphone is off.
  await chair.click(`#people-list li[data-participant-id="${annId}"] button[data-action="mute"]`);
  await ann.waitForFunction(() => window.plenary.call.local.getAudioTracks()[0]?.enabled === false);
  assert.equal((await ann.textContent('#mic-button')).trim(), 'Unmute');
  assert.match(await ann.textContent('#meeting-notes'), /Chair muted your microphone/);

  // Promoted, Bob turns Ann's camera off.
  await chair.click(`#people-list li[data-participant-id="${bobId}"] button[data-action="promote"]`);
  await bob.click('#people-button');
  await bob.waitForSelector('#moderator-tools:not([hidden])');
  await bob.click(`#people-list li[data-participant-id="${annId}"] button[data-action="camera_off"]`);
  await ann.waitForFunction(() => window.plenary.call.videoOn === false);
  await bob.screenshot({ path: path.join(ARTIFACTS, 'meeting-moderator.png') });

  // The chat locked for participants: Ann is told, and the server refuses her.
  await chair.check('#lock-chat');
  await ann.waitForSelector('#chat-locked:not([hidden])');
  await ann.fill('#chat-text', 'still here?');
  await ann.click('#chat-send');
  await ann.waitForFunction(() => /locked that/.test(document.getElementById('meeting-notes').textContent));

  // Removed, Ann leaves the meeting; the others see her go.
  await chair.click(`#people-list li[data-participant-id="${annId}"] button[data-action="remove"]`);
  await ann.waitForSelector('#ended:not([hidden])');
  assert.match(await ann.textContent('#ended-reason'), /removed you/);
  await bob.waitForSelector(`#tiles .tile[data-participant-id="${annId}"]`, { state: 'detached' });

  // Ended for everyone, after a confirmation.
  await chair.click('#end-all');
  await chair.click('#end-all-confirm');
  await bob.waitForSelector('#ended:not([hidden])');
  assert.match(await bob.textContent('#ended-reason'), /ended the meeting for everyone/);
  for (const p of [chair, ann, bob]) await p.context().close();
});

test('screen share: on the stage for the others, a take-over asks first, a moderator stops it, the lock holds', async () => {
  const link = await createRoom('Show and tell');
  const chair = await signInAdmin(browser, server, newPage);
  const ann = await newPage(browser, { logPrefix: 'ann' });
  const bob = await newPage(browser, { logPrefix: 'bob' });
  await join(chair, link, 'Chair');
  const annId = await join(ann, link, 'Ann');
  const bobId = await join(bob, link, 'Bob');
  await waitFirstMedia([chair], PC, 2, 20000);
  // Nobody shares yet: the chair receives two cameras, and no idle screen tracks.
  assert.equal((await inboundStats(chair, PC)).video.tracks, 2);

  const noScreen = () => document.getElementById('screen-stage').dataset.kind !== 'screen';
  /** The stage on `page` shows a decoding video from `id`. */
  const stageShows = (page, id) => page.waitForFunction((id) => {
    const stage = document.getElementById('screen-stage');
    const v = stage.querySelector('video');
    return !stage.hidden && stage.dataset.kind === 'screen' && stage.dataset.participantId === String(id) && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 3;
  }, id, { timeout: 20000 });

  await ann.click('#share-button');
  await stageShows(bob, annId);
  await stageShows(chair, annId);
  assert.match(await bob.textContent('#screen-caption'), /Ann is sharing their screen/);
  // The screen is its own track, not Ann's camera.
  const tracks = await bob.evaluate((id) => {
    const r = window.plenary.call.remotes.get(id);
    return { screen: r.screenStream.getVideoTracks()[0]?.id, camera: r.videoTrack?.id };
  }, annId);
  assert.ok(tracks.screen && tracks.camera && tracks.screen !== tracks.camera, JSON.stringify(tracks));
  assert.match(await ann.textContent('#screen-caption'), /You are sharing/);
  assert.equal((await ann.textContent('#share-button')).trim(), 'Stop sharing');
  await chair.click('#people-button');
  await chair.waitForSelector(`#people-list li[data-participant-id="${annId}"] .state:has-text("sharing the screen")`);
  await bob.screenshot({ path: path.join(ARTIFACTS, 'meeting-screen-share.png') });

  // Bob shares too: asked first, then his share takes over and Ann's stops.
  await bob.click('#share-button');
  await bob.waitForSelector('#share-confirm:not([hidden])');
  assert.match(await bob.textContent('#share-confirm'), /Ann is sharing: share instead/);
  await bob.click('#share-confirm');
  await stageShows(chair, bobId);
  await ann.waitForFunction(() => window.plenary.call.screen === null);
  await stageShows(ann, bobId);
  assert.match(await ann.textContent('#meeting-notes'), /Bob stopped your screen share/);
  assert.equal((await ann.textContent('#share-button')).trim(), 'Share screen');

  // The chair stops Bob's share from the people list: the stage goes away everywhere.
  await chair.click(`#people-list li[data-participant-id="${bobId}"] button[data-action="stop_screen"]`);
  await bob.waitForFunction(() => window.plenary.call.screen === null);
  // (The stage then shows the last speaker: three people are here.)
  await ann.waitForFunction(noScreen);
  await chair.waitForFunction(noScreen);

  // The browser's own "stop sharing" ends the share too.
  await ann.click('#share-button');
  await stageShows(bob, annId);
  await ann.evaluate(() => window.plenary.call.screen.getVideoTracks()[0].dispatchEvent(new Event('ended')));
  await bob.waitForFunction(noScreen);

  // Locked for participants: Ann is told and nothing is shared; the chair still shares.
  await chair.check('#lock-screen');
  await ann.waitForFunction(() => window.plenary.call.locks.screen_share);
  await ann.click('#share-button');
  await ann.waitForFunction(() => /locked that/.test(document.getElementById('meeting-notes').textContent));
  assert.equal(await ann.evaluate(() => window.plenary.call.screen), null);
  await chair.click('#share-button');
  await stageShows(ann, await chair.evaluate(() => window.plenary.call.you));
  for (const p of [chair, ann, bob]) await p.context().close();
});

test('speaking is shown from the audio level; the last speaker takes the stage; a pin overrides', async () => {
  const link = await createRoom('Who speaks');
  const pages = [];
  for (const name of ['ann', 'bob', 'cid']) pages.push(await newPage(browser, { logPrefix: name }));
  const [ann, bob, cid] = pages;
  const annId = await join(ann, link, 'Ann');
  const bobId = await join(bob, link, 'Bob');
  const cidId = await join(cid, link, 'Cid');
  await waitFirstMedia(pages, PC, 2, 20000);
  const tile = (id) => `#tiles .tile[data-participant-id="${id}"]`;
  // The fake microphone's tone is voice to the SFU: Bob and Cid speak, on Ann's tiles.
  await ann.waitForSelector(`${tile(bobId)}[data-speaking="true"]`);
  await ann.waitForSelector(`${tile(cidId)}[data-speaking="true"]`);
  // Bob mutes: he stops speaking for everyone, his own tile too.
  await bob.click('#mic-button');
  await ann.waitForSelector(`${tile(bobId)}[data-speaking="false"]`);
  await bob.waitForSelector('#tiles .tile.self[data-speaking="false"]');
  // Cid stops and starts again: the last to start speaking, on Ann's stage.
  await cid.click('#mic-button');
  await ann.waitForSelector(`${tile(cidId)}[data-speaking="false"]`);
  await cid.click('#mic-button');
  await ann.waitForSelector(`#screen-stage[data-kind="speaker"][data-participant-id="${cidId}"]`);
  await ann.waitForFunction(() => document.querySelector('#screen-stage video').videoWidth > 0);
  await ann.click('#people-button');
  await ann.waitForSelector(`#people-list li[data-participant-id="${cidId}"] .state:has-text("speaking")`);
  await ann.screenshot({ path: path.join(ARTIFACTS, 'meeting-speaker.png') });
  // Ann pins Bob: he is on the stage although Cid speaks; unpinned, Cid is back.
  await ann.hover(tile(bobId));
  await ann.click(`${tile(bobId)} button.pin`);
  await ann.waitForSelector(`#screen-stage[data-kind="person"][data-participant-id="${bobId}"]`);
  assert.equal(await ann.getAttribute(`${tile(bobId)} button.pin`, 'data-on'), 'true');
  await ann.click(`${tile(bobId)} button.pin`);
  await ann.waitForSelector(`#screen-stage[data-kind="speaker"][data-participant-id="${cidId}"]`);
  for (const p of pages) await p.context().close();
});

test('a large meeting\'s participant list is searchable by name, accents aside', async () => {
  const link = await createRoom('Big assembly');
  const ann = await newPage(browser, { logPrefix: 'ann' });
  await join(ann, link, 'Ann');
  // Seven more people, each on their own signalling connection (no media), from one page.
  const crowd = await newPage(browser, { logPrefix: 'crowd' });
  await crowd.goto(link);
  const room = new URL(link).pathname.split('/').pop();
  await crowd.evaluate(async (room) => {
    window.crowd = [];
    for (const name of ['Zoë Quinn', 'Ödön Varga', 'Chloé', 'Bea', 'Carl', 'Dee', 'Eli']) {
      const grant = await (await fetch(`/api/rooms/${room}/join`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) })).json();
      const ws = new WebSocket(`ws://${location.host}${grant.ws_path}`);
      await new Promise((r) => ws.addEventListener('open', r, { once: true }));
      ws.send(JSON.stringify({ type: 'join', v: 2, room, name, token: grant.token }));
      window.crowd.push(ws);
    }
  }, room);
  await ann.click('#people-button');
  await ann.waitForFunction(() => document.querySelectorAll('#people-list li').length === 8);
  await ann.waitForSelector('#people-search:not([hidden])');
  await ann.fill('#people-search', 'zoe');
  await ann.waitForFunction(() => document.querySelectorAll('#people-list li').length === 1);
  assert.match(await ann.textContent('#people-list li'), /Zoë Quinn/);
  await ann.fill('#people-search', 'odon');
  await ann.waitForFunction(() => /Ödön/.test(document.querySelector('#people-list li')?.textContent || ''));
  await ann.fill('#people-search', 'nobody');
  await ann.waitForSelector('#people-none:not([hidden])');
  await ann.fill('#people-search', '');
  await ann.waitForFunction(() => document.querySelectorAll('#people-list li').length === 8);
  for (const p of [ann, crowd]) await p.context().close();
});

test('by keyboard only: join, mute, raise hand, chat; the shortcuts are listed', async () => {
  const link = await createRoom('Keyboard');
  const kim = await newPage(browser, { logPrefix: 'kim' });
  const lou = await newPage(browser, { logPrefix: 'lou' });
  await join(lou, link, 'Lou');
  await kim.goto(link);
  await kim.waitForSelector('#join-button:enabled');
  // Tab to the name field, type, Enter joins.
  await kim.evaluate(() => document.activeElement?.blur());
  for (let i = 0; i < 10 && !(await kim.evaluate(() => document.activeElement?.id === 'name')); i++) await kim.keyboard.press('Tab');
  assert.equal(await kim.evaluate(() => document.activeElement?.id), 'name', 'the name field is reachable by Tab');
  await kim.keyboard.type('Kim');
  await kim.keyboard.press('Enter');
  await kim.waitForSelector('#meeting:not([hidden])');
  const kimId = await kim.evaluate(() => window.plenary.call.you);
  // M mutes, H raises the hand, C opens the chat ready to write, Enter sends.
  await kim.keyboard.press('m');
  await kim.waitForFunction(() => window.plenary.call.audioOn === false);
  assert.equal((await kim.textContent('#mic-button')).trim(), 'Unmute');
  await kim.keyboard.press('h');
  await lou.waitForSelector(`#tiles .tile[data-participant-id="${kimId}"][data-hand="1"]`);
  await kim.keyboard.press('c');
  await kim.waitForFunction(() => document.activeElement?.id === 'chat-text');
  // Letters typed in the chat are text, not shortcuts.
  await kim.keyboard.type('hello from the keyboard');
  await kim.keyboard.press('Enter');
  await lou.click('#chat-button');
  await lou.waitForSelector('#chat-list li:has-text("hello from the keyboard")');
  assert.equal(await kim.evaluate(() => window.plenary.call.audioOn), false, 'typing "m" in the chat did not unmute');
  // Every control is reachable by Tab, and ? lists the shortcuts.
  await kim.evaluate(() => document.activeElement?.blur());
  const reached = new Set();
  for (let i = 0; i < 60; i++) {
    await kim.keyboard.press('Tab');
    reached.add(await kim.evaluate(() => document.activeElement?.id || ''));
  }
  for (const id of ['mic-button', 'cam-button', 'hand-button', 'chat-button', 'people-button', 'devices-button', 'leave-button']) {
    assert.ok(reached.has(id), `${id} is reachable by Tab`);
  }
  await kim.evaluate(() => document.activeElement?.blur());
  await kim.keyboard.press('?');
  await kim.waitForSelector('#keys-dialog[open]');
  assert.match(await kim.textContent('#keys-dialog'), /Mute or unmute the microphone/);
  await kim.keyboard.press('Escape');
  await kim.waitForSelector('#keys-dialog[open]', { state: 'detached' });
  for (const p of [kim, lou]) await p.context().close();
});

test('on a 390×844 phone: controls in one row of at least 44 px, the rest behind More', async () => {
  const link = await createRoom('Phone');
  const phone = await newPage(browser, { logPrefix: 'phone', viewport: { width: 390, height: 844 } });
  const other = await newPage(browser, { logPrefix: 'other' });
  await join(other, link, 'Desk');
  await join(phone, link, 'Phone');
  await waitFirstMedia([phone], PC, 1, 20000);
  const layout = () => phone.evaluate(() => {
    const shown = [...document.querySelectorAll('#controls button')].filter((b) => b.offsetParent !== null);
    return {
      ids: shown.map((b) => b.id),
      minHeight: Math.min(...shown.map((b) => b.getBoundingClientRect().height)),
      rows: new Set(shown.map((b) => Math.round(b.getBoundingClientRect().top))).size,
      overflow: document.documentElement.scrollWidth > window.innerWidth,
    };
  });
  const closed = await layout();
  assert.ok(closed.minHeight >= 44, JSON.stringify(closed));
  assert.equal(closed.rows, 1, JSON.stringify(closed));
  assert.equal(closed.overflow, false);
  assert.ok(closed.ids.includes('more-button') && !closed.ids.includes('people-button'), JSON.stringify(closed));
  await phone.screenshot({ path: path.join(ARTIFACTS, 'meeting-phone.png') });
  await phone.click('#more-button');
  const open = await layout();
  assert.ok(open.ids.includes('people-button') && open.ids.includes('devices-button'), JSON.stringify(open));
  assert.ok(open.minHeight >= 44, JSON.stringify(open));
  assert.equal(open.overflow, false);
  await phone.screenshot({ path: path.join(ARTIFACTS, 'meeting-phone-more.png') });
  await phone.click('#people-button');
  await phone.waitForSelector('#people-pane:not([hidden])');
  await phone.screenshot({ path: path.join(ARTIFACTS, 'meeting-phone-people.png') });
  for (const p of [phone, other]) await p.context().close();
});

test('the tile layout stays usable from 1 to 25 participants', async () => {
  const page = await newPage(browser);
  await page.goto(server.url);
  const sizes = await page.evaluate(async () => {
    const { TileGrid } = await import('/static/js/tiles.js');
    document.body.innerHTML = '<section id="meeting"><div id="tiles" class="tiles"></div></section>';
    const root = document.getElementById('tiles');
    const grid = new TileGrid(root);
    const out = [];
    for (let n = 1; n <= 25; n++) {
      grid.upsert(`t${n}`, { name: `Person ${n}`, audio: n % 3 !== 0, video: false, stream: null });
      grid.layout();
      const boxes = [...root.querySelectorAll('.tile')].map((t) => t.getBoundingClientRect());
      const inside = boxes.every((b) => b.left >= 0 && b.top >= 0 && b.right <= innerWidth + 0.5 && b.bottom <= innerHeight + 0.5);
      const overlap = boxes.some((a, i) => boxes.some((b, j) => i < j && a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1));
      out.push({ n, minW: Math.min(...boxes.map((b) => b.width)), minH: Math.min(...boxes.map((b) => b.height)), inside, overlap });
    }
    return out;
  });
  for (const s of sizes) {
    assert.ok(s.inside, `tiles overflow the window at ${s.n}`);
    assert.ok(!s.overlap, `tiles overlap at ${s.n}`);
    assert.ok(s.minW >= 150 && s.minH >= 90, `tiles too small at ${s.n}: ${s.minW}×${s.minH}`);
  }
  await page.screenshot({ path: path.join(ARTIFACTS, 'layout-25.png') });
  await page.context().close();
});

test('signed out, the front page offers sign-in and explains how to join; nobody creates rooms', async () => {
  const page = await newPage(browser);
  await page.goto(server.url);
  await page.waitForSelector('#landing-sign-in');
  assert.match(await page.textContent('#landing-invited'), /link/);
  assert.equal(await page.locator('#create-form').count(), 0, 'no room creation for visitors');
  await page.screenshot({ path: path.join(ARTIFACTS, 'landing.png') });
  // The API refuses too, whatever the page shows.
  const status = await page.evaluate(async () => (await fetch('/api/rooms', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status);
  assert.equal(status, 401);
  // Signed in, the front page is "My rooms".
  await admin.goto(server.url);
  await admin.waitForURL(/\/rooms$/);
  await page.context().close();
});

test('the meeting client speaks the browser\'s language', async () => {
  const expected = {
    'fr-FR': ['Rejoindre la réunion', 'Cette salle n’existe pas. Vérifiez le lien.', 'Se connecter'],
    'de-DE': ['Teilnehmen', 'Diesen Raum gibt es nicht. Bitte den Link prüfen.', 'Anmelden'],
    'es-ES': ['Entrar en la reunión', 'Esta sala no existe. Revisa el enlace.', 'Iniciar sesión'],
  };
  const link = await createRoom('Langues');
  for (const [locale, [join, missing, signIn]] of Object.entries(expected)) {
    const page = await newPage(browser, { locale });
    await page.goto(server.url);
    assert.equal((await page.textContent('#landing-sign-in')).trim(), signIn, locale);
    await page.goto(link);
    await page.waitForSelector('#join-button:enabled');
    assert.equal(await page.textContent('#join-button'), join, locale);
    assert.equal(await page.evaluate(() => document.documentElement.lang), locale.slice(0, 2));
    if (locale === 'fr-FR') await page.screenshot({ path: path.join(ARTIFACTS, 'join-fr.png') });
    await page.goto(`${server.url}/r/no-such-room`);
    await page.waitForSelector('#join-error:not([hidden])');
    assert.equal(await page.textContent('#join-error'), missing, locale);
    await page.context().close();
  }
});

test('a bad room link says so', async () => {
  const page = await newPage(browser);
  await page.goto(`${server.url}/r/no-such-room`);
  await page.waitForSelector('#join-error:not([hidden])');
  assert.match(await page.textContent('#join-error'), /does not exist/);
  assert.equal(await page.isDisabled('#join-button'), true);
  await page.context().close();
});
