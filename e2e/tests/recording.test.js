// A meeting recorded from start to download, in real browsers: the room's owner may record only
// once the room's settings allow it; everyone sees (and hears announced) that the meeting is
// recorded, and someone about to join is told before joining; a screen share and a chat message
// go into the recording; after the stop the owner watches it (the clock runs, the chat comes
// back at its time, seeking jumps), downloads the composed MP4 (H.264 and AAC, as long as the
// recording), and a stranger gets neither.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, signInAdmin } = require('../server.js');
const { launch, newPage, waitFirstMedia } = require('../webrtc-helpers.js');
const { ARTIFACTS, createRoomAs, join } = require('../meeting-helpers.js');

const PC = 'window.plenary.pc';
/** How long the meeting is recorded, in ms. */
const RECORD_MS = 20000;

let server;
let browser;
before(async () => {
  server = await startServer();
  ({ browser } = await launch());
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** What the room's public information (read by the join screen) says of its recording. */
const apiRecording = async (room) => (await (await fetch(`${server.url}/api/rooms/${room}`)).json()).recording;

/**
 * Clicks `sel` in `page` and returns when the click happened (Date.now(), the page's own
 * clock: the same machine's), not when Playwright's click returned (it waits for the element
 * to keep still first, which takes up to 2 s in a busy page).
 */
async function clickAt(page, sel) {
  await page.evaluate((sel) => {
    document.querySelector(sel).addEventListener('click', () => { /** @type {any} */ (window).clickedAt = Date.now(); }, { once: true, capture: true });
  }, sel);
  await page.click(sel);
  return page.evaluate(() => /** @type {any} */ (window).clickedAt);
}

/** The recording bar of `page`: shown or not, and its state. */
const indicator = (page) => page.evaluate(() => {
  const el = document.getElementById('recording-indicator');
  return { hidden: el.hidden, state: el.dataset.state, label: document.getElementById('recording-label').textContent.trim() };
});

/** Waits until `page`'s recording bar says `state` (hidden for `off`). */
const barSays = (page, state) => page.waitForFunction((state) => {
  const el = document.getElementById('recording-indicator');
  return state === 'off' ? el.hidden : !el.hidden && el.dataset.state === state;
}, state, { timeout: 10000 });

/** The playback page's stage video: where it is, and which track it plays. */
const stageVideo = (page) => page.evaluate(() => {
  const v = /** @type {HTMLVideoElement|null} */ (document.querySelector('#rec-stage video'));
  return v && { currentTime: v.currentTime, paused: v.paused, src: v.getAttribute('src'), source: v.dataset.source, width: v.videoWidth };
});

test('a recorded meeting: allowed by the room, shown to all, told before joining, watched, downloaded, refused to strangers', async () => {
  // The owner (signed in, so a moderator of their room) makes a room; recording is off by default.
  const owner = await signInAdmin(browser, server, newPage);
  const link = await createRoomAs(owner, server, 'Recorded assembly');
  const room = new URL(link).pathname.split('/').pop();
  // The owner's second tab, for the room's settings and, later, its recordings.
  const portal = await owner.context().newPage();
  const guest = await newPage(browser, { logPrefix: 'guest' });
  await join(owner, link, 'Chair');
  const guestId = await join(guest, link, 'Guest');
  await waitFirstMedia([owner, guest], PC, 1, 20000);

  // Nobody records yet: no bar; the moderators' tools (in the people pane) offer to record.
  assert.deepEqual(await indicator(guest), { hidden: true, state: 'off', label: 'Recording' });
  for (const p of [owner, guest]) {
    await p.click('#people-button');
    await p.waitForSelector('#people-pane:not([hidden])');
  }
  await owner.waitForSelector('#record-start:visible');
  assert.equal(await guest.isVisible('#record-start'), false, 'the guest is offered to record');

  // The room's settings do not allow recording yet: the server refuses, and the owner is told.
  await owner.click('#record-start');
  await owner.waitForFunction(() => /Recording is not allowed in this room/.test(document.getElementById('meeting-notes').textContent), null, { timeout: 5000 });
  assert.equal((await indicator(owner)).hidden, true);
  assert.equal((await indicator(guest)).hidden, true);
  assert.equal(await apiRecording(room), 'off');
  await owner.waitForSelector('#record-start[aria-disabled="false"]');

  /** The owner allows recording in the room's settings, or no longer. @param {boolean} allowed */
  const allowRecording = async (allowed) => {
    await portal.goto(`${server.url}/rooms`);
    const item = portal.locator(`#rooms li[data-room="${room}"]`);
    await item.locator('summary').click();
    await item.locator('input[name="recording_allowed"]').setChecked(allowed);
    // Who may watch: the room's owners (the default).
    assert.equal(await item.locator('select[name="recordings_audience"]').inputValue(), 'owners');
    await item.locator('form.settings button[type="submit"]').click();
    await portal.waitForURL(/\/rooms/);
    assert.equal(await portal.locator(`#rooms li[data-room="${room}"] input[name="recording_allowed"]`).isChecked(), allowed);
  };
  await allowRecording(true);

  // Recording: both see the bar; the change is announced with who made it.
  const startedAt = await clickAt(owner, '#record-start');
  for (const p of [owner, guest]) await barSays(p, 'recording');
  assert.equal((await indicator(guest)).label, 'Recording');
  assert.match(await guest.textContent('#recording-status'), /Chair started recording the meeting/);
  assert.equal(await guest.getAttribute('#recording-status', 'aria-live'), 'polite');
  assert.equal(await owner.isVisible('#record-start'), false);
  assert.equal(await owner.isVisible('#record-pause'), true);
  assert.equal(await owner.isVisible('#record-stop'), true);
  assert.equal(await owner.evaluate(() => document.activeElement?.id), 'record-pause', 'the focus moves on to the bar');
  for (const id of ['#record-pause', '#record-resume', '#record-stop']) {
    assert.equal(await guest.isVisible(id), false, `the guest sees ${id} on the bar`);
  }
  await guest.screenshot({ path: path.join(ARTIFACTS, 'recording-bar.png') });
  await owner.screenshot({ path: path.join(ARTIFACTS, 'recording-moderator.png') });

  // Someone about to join is told before joining, then sees the bar once in.
  const late = await newPage(browser, { logPrefix: 'late' });
  assert.equal(await apiRecording(room), 'recording');
  await late.goto(link);
  await late.waitForSelector('#prejoin-recording:not([hidden])', { timeout: 5000 });
  assert.match(await late.textContent('#prejoin-recording'), /This meeting is being recorded/);
  assert.equal(await late.isVisible('#meeting'), false, 'told on the join screen, before joining');
  await late.screenshot({ path: path.join(ARTIFACTS, 'recording-prejoin.png') });
  await join(late, link, 'Late');
  assert.deepEqual(await indicator(late), { hidden: false, state: 'recording', label: 'Recording' });
  assert.match(await late.textContent('#recording-status'), /This meeting is being recorded/);
  await late.click('#leave-button');
  await late.context().close();

  // Paused and resumed (the guest sees both).
  await owner.click('#record-pause');
  await barSays(guest, 'paused');
  assert.equal((await indicator(guest)).label, 'Recording paused');
  assert.match(await guest.textContent('#recording-status'), /Chair paused the recording/);
  assert.equal(await apiRecording(room), 'paused');
  await owner.waitForSelector('#record-resume:visible');
  // With recording no longer allowed in the room, nobody resumes: the owner is told.
  await allowRecording(false);
  await owner.click('#record-resume');
  await owner.waitForFunction(() => /Recording is not allowed in this room/.test(document.getElementById('meeting-notes').textContent), null, { timeout: 5000 });
  assert.equal((await indicator(guest)).state, 'paused');
  await owner.waitForSelector('#record-resume[aria-disabled="false"]');
  await allowRecording(true);
  await owner.click('#record-resume');
  await barSays(guest, 'recording');
  assert.match(await guest.textContent('#recording-status'), /Chair resumed the recording/);

  // The guest shares a screen (Chromium's fake capture) and posts to the chat.
  await guest.click('#share-button');
  await owner.waitForFunction((id) => {
    const stage = document.getElementById('screen-stage');
    return stage.dataset.kind === 'screen' && stage.dataset.participantId === String(id) && stage.querySelector('video').videoWidth > 0;
  }, guestId, { timeout: 20000 });
  await sleep(2000);
  const chatText = 'Minutes: the motion carries';
  await guest.click('#chat-button');
  await guest.fill('#chat-text', chatText);
  await guest.press('#chat-text', 'Enter');
  await owner.click('#chat-button');
  await owner.waitForSelector(`#chat-list li:has-text("${chatText}")`);

  // After about 20 s the owner stops, answering the question in the page.
  await sleep(Math.max(0, startedAt + RECORD_MS - Date.now()));
  // By keyboard first: Enter asks, Escape takes the question back (still recording).
  await owner.focus('#record-stop');
  await owner.keyboard.press('Enter');
  await owner.waitForSelector('#record-stop-confirm:visible');
  assert.equal(await owner.evaluate(() => document.activeElement?.id), 'record-stop-confirm');
  await owner.keyboard.press('Escape');
  await owner.waitForSelector('#record-stop:visible');
  assert.equal(await owner.isVisible('#record-stop-confirm'), false);
  assert.equal(await owner.evaluate(() => document.activeElement?.id), 'record-stop');
  await owner.click('#record-stop');
  await owner.waitForSelector('#record-stop-confirm:visible');
  assert.equal(await owner.isVisible('#record-stop'), false);
  assert.equal((await indicator(guest)).state, 'recording', 'not stopped before the answer');
  const stoppedAt = await clickAt(owner, '#record-stop-confirm');
  for (const p of [owner, guest]) await barSays(p, 'off');
  assert.match(await guest.textContent('#recording-status'), /Chair stopped the recording/);
  await owner.click('#people-button');
  await owner.waitForSelector('#record-start:visible');
  assert.equal(await apiRecording(room), 'off');

  // The owner's room's recordings: the row, once playable, offers "Watch".
  let recId;
  for (;;) {
    await portal.goto(`${server.url}/rooms/${room}/recordings`);
    const watch = portal.locator('#recordings tr[data-recording] a[href^="/recordings/"]:not([href$="/download"])');
    if (await watch.count() > 0) {
      console.log(`recording: stop→"Watch" offered ${Date.now() - stoppedAt} ms`);
      recId = await portal.locator('#recordings tr[data-recording]').first().getAttribute('data-recording');
      await watch.first().click();
      break;
    }
    if (Date.now() - stoppedAt > 20000) assert.fail(`no playable recording 20 s after the stop: ${await portal.textContent('main')}`);
    await sleep(250);
  }
  await portal.waitForURL(new RegExp(`/recordings/${recId}$`));
  for (;;) {
    if (await portal.locator('#player').count() > 0) break;
    if (Date.now() - stoppedAt > 20000) assert.fail(`the playback page shows no player: ${await portal.textContent('main')}`);
    await sleep(250);
    await portal.reload();
  }
  const { timeline, recording } = await portal.evaluate(async (id) => (await fetch(`/recordings/${id}/timeline.json`)).json(), recId);
  const chatAt = Number(await portal.getAttribute(`#rec-chat li:has-text("${chatText}")`, 'data-at'));
  assert.ok(chatAt > 3000 && chatAt < recording.length_ms, `the chat message at ${chatAt} ms of ${recording.length_ms}`);
  assert.equal(await portal.isVisible(`#rec-chat li:has-text("${chatText}")`), false, 'the chat is hidden before its time');

  // Play: the stage's video runs.
  const playAt = await clickAt(portal, '#rec-play');
  console.log(`recording: stop→play pressed ${playAt - stoppedAt} ms`);
  await portal.waitForFunction(() => (document.querySelector('#rec-stage video')?.currentTime || 0) > 0, null, { timeout: 15000 }).catch(async (err) => {
    await portal.screenshot({ path: path.join(ARTIFACTS, 'recording-not-playing.png') });
    throw new Error(`the playback page's stage does not play (${err.message}): ${JSON.stringify({ stage: await stageVideo(portal), recording, timeline })}\n${(portal.consoleLines || []).join('\n')}`);
  });
  console.log(`recording: stop→playing ${Date.now() - stoppedAt} ms`);
  const a = await stageVideo(portal);
  await sleep(1500);
  const b = await stageVideo(portal);
  assert.ok(b.src === a.src ? b.currentTime - a.currentTime > 0.5 : b.currentTime > 0, `the stage video does not advance: ${JSON.stringify({ a, b })}`);
  assert.ok(b.width > 0, `the stage video shows nothing: ${JSON.stringify(b)}`);

  // Seeking past the chat message: it shows, and the stage jumps there (the screen share, then).
  // (A whole second: the range input rounds its value to its step.)
  const to = Math.floor(Math.min(chatAt + 2000, recording.length_ms - 2000) / 1000) * 1000;
  assert.ok(to > chatAt, `seeking to ${to} ms passes the chat at ${chatAt} ms`);
  await portal.click('#rec-play'); // paused, so the position stays where the seek put it
  await portal.evaluate((s) => {
    const seek = /** @type {HTMLInputElement} */ (document.getElementById('rec-seek'));
    seek.value = String(s);
    seek.dispatchEvent(new Event('input', { bubbles: true }));
  }, to / 1000);
  await portal.waitForSelector(`#rec-chat li:has-text("${chatText}"):visible`, { timeout: 3000 });
  await sleep(500);
  const at = await stageVideo(portal);
  const track = timeline.tracks.find((t) => at.src.includes(`/media/${encodeURIComponent(t.file)}`));
  assert.ok(track, `the stage plays no track of the timeline: ${at.src}`);
  assert.equal(track.source, 'screen', 'a shared screen takes the stage');
  const expected = (to - track.start_ms) / 1000;
  assert.ok(Math.abs(at.currentTime - expected) < 1, `seeked to ${to} ms: the stage video is at ${at.currentTime} s, expected ${expected} s`);
  assert.match(await portal.textContent('#rec-time'), new RegExp(`^0:${String(Math.floor(to / 1000)).padStart(2, '0')} /`));
  await portal.screenshot({ path: path.join(ARTIFACTS, 'recording-playback.png') });

  // The composed MP4 appears on the page; the owner downloads it.
  await portal.waitForSelector('#rec-download', { timeout: 60000 });
  console.log(`recording: stop→download offered ${Date.now() - stoppedAt} ms`);
  const href = await portal.getAttribute('#rec-download', 'href');
  const res = await portal.context().request.get(`${server.url}${href}`);
  assert.equal(res.status(), 200);
  const mp4 = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'plenary-rec-')), 'meeting.mp4');
  fs.writeFileSync(mp4, await res.body());
  const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name:format=duration', '-of', 'json', mp4]).toString());
  // (Beside the chapters' data track.)
  const codecs = probe.streams.filter((s) => s.codec_type === 'audio' || s.codec_type === 'video').map((s) => `${s.codec_type}:${s.codec_name}`).sort();
  assert.deepEqual(codecs, ['audio:aac', 'video:h264'], JSON.stringify(probe));
  const { length_ms: lengthMs } = (await (await portal.context().request.get(`${server.url}/recordings/${recId}/timeline.json`)).json()).recording;
  const duration = Number(probe.format.duration);
  assert.ok(Math.abs(duration - lengthMs / 1000) <= 1, `the MP4 lasts ${duration} s, the recording ${lengthMs} ms`);
  // As long as from the start to the stop (the pause included: it is a gap in the recording).
  assert.ok(Math.abs(lengthMs - (stoppedAt - startedAt)) < 1500, `the recording lasts ${lengthMs} ms, ${stoppedAt - startedAt} ms passed from start to stop`);
  console.log(`recording: ${lengthMs} ms recorded, MP4 ${duration} s, ${fs.statSync(mp4).size} bytes`);
  if (!process.env.E2E_KEEP) fs.rmSync(path.dirname(mp4), { recursive: true, force: true });
  else console.log(mp4);

  // A stranger (no cookies) may neither watch nor download.
  const stranger = await browser.newContext();
  for (const p of [`/recordings/${recId}`, `/recordings/${recId}/timeline.json`, `/recordings/${recId}/download`]) {
    assert.equal((await stranger.request.get(`${server.url}${p}`)).status(), 403, p);
  }
  await stranger.close();
  for (const p of [owner, guest]) await p.context().close();
});
