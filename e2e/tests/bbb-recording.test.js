// A BigBlueButton integration's recording, end to end with clients nobody on the project
// wrote: bbbctl creates a meeting that records from its first join and names a
// recording-ready callback; a browser follows a bigbluebutton-js join link and meets; bbbctl
// ends the meeting; the callback arrives, signed with the shared secret (JWT HS256); then
// Greenlight's flow (callback → getRecordings by meetingID, bigbluebutton-js) and a
// Moodle-style listing (bbbctl) show the recording with its name and length; the video
// format's URL serves the MP4; bbbctl unpublishes, publishes and deletes it.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const bbbjs = require('bigbluebutton-js');
const { startServer } = require('../server.js');
const { bbbctlFor } = require('../bbbctl.js');
const { launch, newPage } = require('../webrtc-helpers.js');

const SECRET = 'e2e-bbb-recording-secret-71c3';

let server;
let browser;
let receiver;
/** @type {{ url: string, body: string }[]} */
const callbacks = [];
before(async () => {
  server = await startServer({ PLENARY_BBB_SECRETS: SECRET });
  ({ browser } = await launch());
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      callbacks.push({ url: req.url || '', body });
      res.end('ok');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
});
after(async () => {
  await browser?.close();
  await server?.stop();
  receiver?.close();
});

const bbbctl = bbbctlFor(() => server, SECRET);

/** Polls `what` until it returns something truthy (or fails after `ms`). */
async function eventually(label, ms, what) {
  const until = Date.now() + ms;
  for (;;) {
    const got = await what();
    if (got) return got;
    if (Date.now() > until) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Checks a JWT HS256's signature with `secret`; returns its payload. */
function verifyJwt(token, secret) {
  const [header, payload, signature] = token.split('.');
  assert.deepEqual(JSON.parse(Buffer.from(header, 'base64url').toString()), { alg: 'HS256', typ: 'JWT' });
  const expected = crypto.createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  assert.equal(signature, expected, 'the callback is signed with the shared secret');
  return JSON.parse(Buffer.from(payload, 'base64url').toString());
}

test('a recording made through the BBB API: callback, listings, playback, publish and delete', async () => {
  const api = bbbjs.api(`${server.url}/bigbluebutton`, SECRET);
  const port = /** @type {import('node:net').AddressInfo} */ (receiver.address()).port;
  const readyUrl = `http://127.0.0.1:${port}/ready?room=budget`;

  await bbbctl(
    'meeting', 'create', 'rec-budget', 'Budget assembly',
    '--record', '--autoStartRecording', '--no-allowStartStopRecording',
    '--meta', `bbb-recording-ready-url=${readyUrl}`, '--meta', 'gl-listed=true',
  );
  const { moderatorPW } = JSON.parse(await bbbctl('--format', 'json', 'meeting', 'info', 'rec-budget'));
  const page = await newPage(browser, { logPrefix: 'ada' });
  await page.goto(api.administration.join('Ada Lovelace', 'rec-budget', moderatorPW, { userID: 'ada-1' }));
  await page.waitForSelector('#join-button:enabled');
  await page.click('#join-button');
  await page.waitForSelector('#meeting:not([hidden])', { timeout: 15000 });
  // autoStartRecording: recording from the first join, and everyone is shown it.
  await page.waitForSelector('#recording-indicator:not([hidden])', { timeout: 10000 });
  // As in BBB, a recording still being made is listed only when asked for, as processing
  // (the recorder stores it just after the indicator lights up: waited for).
  const during = await eventually('the recording listed as processing', 10000, async () => {
    const got = await bbbjs.http(api.recording.getRecordings({ meetingID: 'rec-budget', state: 'processing' }));
    return got.recordings && got.recordings.length === 1 ? got : null;
  });
  assert.equal(during.returncode, 'SUCCESS');
  assert.equal(during.recordings[0].state, 'processing');
  const listedByDefault = await bbbjs.http(api.recording.getRecordings({ meetingID: 'rec-budget' }));
  assert.equal((listedByDefault.recordings || []).length, 0);
  await page.waitForTimeout(6000);
  await bbbctl('meeting', 'end', 'rec-budget');
  await page.waitForSelector('#ended:not([hidden])', { timeout: 15000 });

  // The recording-ready callback, once the MP4 is ready: a JWT of {meeting_id, record_id}.
  const cb = await eventually('the recording-ready callback', 120000, () => callbacks.find((c) => c.url.startsWith('/ready')));
  assert.equal(cb.url, '/ready?room=budget');
  const token = new URLSearchParams(cb.body).get('signed_parameters');
  assert.ok(token, `a signed_parameters field: ${cb.body}`);
  const claims = verifyJwt(token, SECRET);
  assert.equal(claims.meeting_id, 'rec-budget');
  assert.match(claims.record_id, /^[0-9a-f]{40}-\d{13}$/, 'recordID = sha1(meetingID)-millis');
  assert.equal(claims.record_id.split('-')[0], crypto.createHash('sha1').update('rec-budget').digest('hex'));

  // Greenlight: getRecordings by meetingID after the callback (bigbluebutton-js).
  const listed = await bbbjs.http(api.recording.getRecordings({ meetingID: 'rec-budget' }));
  assert.equal(listed.returncode, 'SUCCESS');
  assert.equal(listed.recordings.length, 1);
  const rec = listed.recordings[0];
  assert.equal(rec.recordID, claims.record_id);
  assert.equal(rec.name, 'Budget assembly');
  assert.equal(rec.published, true);
  assert.equal(rec.state, 'published');
  assert.equal(rec.metadata['gl-listed'], true);
  const formats = Array.isArray(rec.playback.format) ? rec.playback.format : [rec.playback.format];
  const video = formats.find((f) => f.type === 'video');
  assert.ok(video, `a video format: ${JSON.stringify(formats)}`);
  assert.equal(video.length, 1, 'about 7 s: one minute, as BBB rounds lengths');
  assert.ok(formats.some((f) => f.type === 'presentation'));
  // The video format's URL serves the MP4 itself, ranges and all, to whoever has the link.
  const mp4 = await fetch(video.url, { headers: { range: 'bytes=0-11' } });
  assert.equal(mp4.status, 206);
  assert.equal(mp4.headers.get('content-type'), 'video/mp4');
  assert.equal(Buffer.from(await mp4.arrayBuffer()).subarray(4, 8).toString(), 'ftyp');
  // Without the link's key, nobody gets it.
  const bare = await fetch(video.url.replace(/\?k=[^&]+/, ''), { redirect: 'manual' });
  assert.ok([302, 303, 403, 404].includes(bare.status), `no key: ${bare.status}`);
  assert.notEqual(bare.headers.get('content-type'), 'video/mp4');

  // Moodle's view: a listing with name and length (bbbctl, its own XML parsing).
  const human = await bbbctl('record', 'list', '--meeting', 'rec-budget');
  assert.match(human, /Budget assembly/);
  assert.match(human, new RegExp(claims.record_id));
  const info = JSON.parse(await bbbctl('--format', 'json', 'record', 'info', claims.record_id));
  assert.equal(info.name, 'Budget assembly');
  assert.equal(String(info.published), 'true');

  // Unpublish, publish, delete: each seen by the other client.
  await bbbctl('record', 'unpublish', claims.record_id);
  const hidden = await bbbjs.http(api.recording.getRecordings({ recordID: claims.record_id }));
  assert.equal(hidden.recordings[0].published, false);
  assert.equal(hidden.recordings[0].state, 'unpublished');
  await bbbctl('record', 'publish', claims.record_id);
  const shown = await bbbjs.http(api.recording.getRecordings({ recordID: claims.record_id }));
  assert.equal(shown.recordings[0].published, true);
  await bbbctl('record', 'delete', claims.record_id);
  const gone = await bbbjs.http(api.recording.getRecordings({ meetingID: 'rec-budget' }));
  assert.equal(gone.returncode, 'SUCCESS');
  assert.equal((gone.recordings || []).length, 0);
  assert.equal(gone.messageKey, 'noRecordings');
  const after = await fetch(video.url, { redirect: 'manual' });
  assert.notEqual(after.status, 200, 'a deleted recording is not served');
});
