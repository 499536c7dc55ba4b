// Black-box conformance of the BigBlueButton API with two clients nobody on the project
// wrote: `bbbctl` (PyPI, signs with SHA-1, standard-library URL encoding) and
// `bigbluebutton-js` (npm, encodes spaces as %20, parses XML with fast-xml-parser).
// create → join link → a headless browser follows it into a live meeting → the clients see
// that attendee with the right role → end → the browser is told the meeting ended.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const bbbjs = require('bigbluebutton-js');
const { startServer } = require('../server.js');
const { bbbctlFor } = require('../bbbctl.js');
const { launch, newPage } = require('../webrtc-helpers.js');

const ARTIFACTS = path.join(__dirname, '..', 'artifacts');
fs.mkdirSync(ARTIFACTS, { recursive: true });
const SECRET = 'e2e-bbb-secret-5f0c2a9d';

let server;
let browser;
before(async () => {
  server = await startServer({ PLENARY_BBB_SECRETS: SECRET });
  ({ browser } = await launch());
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const bbbctl = bbbctlFor(() => server, SECRET);

const info = async (id) => JSON.parse(await bbbctl('--format', 'json', 'meeting', 'info', id));

test('bbbctl and bigbluebutton-js drive a meeting that a browser joins', async () => {
  const api = bbbjs.api(`${server.url}/bigbluebutton`, SECRET);

  // Create with bbbctl; bigbluebutton-js sees it.
  await bbbctl('meeting', 'create', 'coop-assembly', 'Co-op assembly', '--meta', 'origin=e2e', '--record');
  const listed = await bbbjs.http(api.monitoring.getMeetings());
  assert.equal(listed.returncode, 'SUCCESS');
  assert.deepEqual(listed.meetings.map((m) => m.meetingID), ['coop-assembly']);
  const before = await info('coop-assembly');
  assert.equal(before.running, false);
  assert.equal(before.recording, true);
  assert.equal(before.metadata.origin, 'e2e');

  // A moderator join link from bigbluebutton-js (by password, name with a space: %20).
  const joinUrl = api.administration.join('Ada Lovelace', 'coop-assembly', before.moderatorPW, { userID: 'ada-77' });
  const page = await newPage(browser, { logPrefix: 'ada' });
  await page.goto(joinUrl);
  assert.match(page.url(), /\/r\/bbb-[a-z0-9]+$/, 'redirected into the meeting page, token out of the address bar');
  await page.waitForSelector('#join-button:enabled');
  assert.equal(await page.inputValue('#name'), 'Ada Lovelace');
  assert.equal(await page.locator('#name').getAttribute('readonly'), '');
  await page.click('#join-button');
  await page.waitForSelector('#meeting:not([hidden])', { timeout: 15000 });
  await page.screenshot({ path: path.join(ARTIFACTS, 'bbb-joined.png') });

  // Both clients see Ada, as moderator, in a running meeting.
  let seen;
  for (let i = 0; i < 100; i++) {
    seen = await info('coop-assembly');
    if (seen.participantCount === 1) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(seen.running, true);
  assert.equal(seen.attendees.length, 1, JSON.stringify(seen));
  assert.equal(seen.attendees[0].fullName, 'Ada Lovelace');
  assert.equal(seen.attendees[0].role, 'MODERATOR');
  assert.equal(seen.attendees[0].userID, 'ada-77');
  const viaJs = await bbbjs.http(api.monitoring.getMeetingInfo('coop-assembly'));
  assert.equal(viaJs.returncode, 'SUCCESS');
  assert.equal(viaJs.moderatorCount, 1);
  assert.equal(viaJs.attendees.attendee.role, 'MODERATOR');
  const running = await bbbjs.http(api.monitoring.isMeetingRunning('coop-assembly'));
  assert.equal(running.running, true);

  // A reload of the meeting page takes Ada's seat again (the link's token is kept for the
  // tab, out of the address bar): still one participant, not two, and not refused.
  await page.reload();
  await page.waitForSelector('#join-button:enabled');
  assert.equal(await page.inputValue('#name'), 'Ada Lovelace');
  await page.click('#join-button');
  await page.waitForSelector('#meeting:not([hidden])', { timeout: 15000 });
  for (let i = 0; i < 100; i++) {
    seen = await info('coop-assembly');
    if (seen.participantCount === 1) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(seen.participantCount, 1, JSON.stringify(seen));
  // The room's own API never admits to a BBB meeting.
  const roomId = new URL(page.url()).pathname.split('/').pop();
  const refused = await fetch(`${server.url}/api/rooms/${roomId}/join`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"Outsider"}' });
  assert.equal(refused.status, 403);
  assert.equal((await refused.json()).error.code, 'integration_only');

  // A viewer link from bbbctl (role=VIEWER, createTime) also works, as a 302 target.
  const viewerLink = (await bbbctl('meeting', 'join', 'coop-assembly', 'Ben')).trim();
  const r = await fetch(viewerLink, { redirect: 'manual' });
  assert.equal(r.status, 302);
  assert.match(r.headers.get('location') || '', /\/r\/bbb-[a-z0-9]+#join=/);

  // End with bbbctl: the browser is told the meeting ended.
  await bbbctl('meeting', 'end', 'coop-assembly');
  await page.waitForSelector('#ended:not([hidden])', { timeout: 15000 });
  assert.equal(await page.locator('#ended').getAttribute('data-meeting-ended'), 'true');
  assert.match(await page.textContent('#ended-reason'), /meeting was ended/);
  assert.equal(await page.locator('#rejoin-button').isHidden(), true);
  await page.screenshot({ path: path.join(ARTIFACTS, 'bbb-ended.png') });
  const after = await bbbjs.http(api.monitoring.isMeetingRunning('coop-assembly'));
  assert.equal(after.running, false);
  const gone = await bbbjs.http(api.monitoring.getMeetingInfo('coop-assembly'));
  assert.equal(gone.returncode, 'FAILED');
  assert.equal(gone.messageKey, 'notFound');
  await bbbctl('meeting', 'list'); // an empty list is not an error for bbbctl
});

test('a guest of an ASK_MODERATOR meeting waits until the moderator admits them', async () => {
  const api = bbbjs.api(`${server.url}/bigbluebutton`, SECRET);
  const created = await bbbjs.http(api.administration.create('Guests welcome', 'coop-guests', { guestPolicy: 'ASK_MODERATOR' }));
  assert.equal(created.returncode, 'SUCCESS');

  const mod = await newPage(browser, { logPrefix: 'mod' });
  await mod.goto(api.administration.join('Mo Derator', 'coop-guests', created.moderatorPW, { userID: 'mo-1' }));
  await mod.waitForSelector('#join-button:enabled');
  await mod.click('#join-button');
  await mod.waitForSelector('#meeting:not([hidden])', { timeout: 15000 });
  assert.equal(await mod.locator('#lobby').isHidden(), true, 'nobody waits yet');

  // The guest's link (guest=true) leads to the waiting room.
  const guest = await newPage(browser, { logPrefix: 'guest' });
  await guest.goto(api.administration.join('Gita Guest', 'coop-guests', created.attendeePW, { guest: true, userID: 'gita-2' }));
  await guest.waitForSelector('#join-button:enabled');
  await guest.click('#join-button');
  await guest.waitForSelector('#waiting:not([hidden])', { timeout: 15000 });
  await guest.screenshot({ path: path.join(ARTIFACTS, 'bbb-waiting.png') });

  // The moderator sees them waiting and admits them.
  await mod.waitForSelector('#lobby:not([hidden]) li span:text("Gita Guest")', { timeout: 15000 });
  await mod.screenshot({ path: path.join(ARTIFACTS, 'bbb-lobby.png') });
  let seen = await info('coop-guests');
  assert.equal(seen.participantCount, 1, 'a waiting guest is not in the meeting');
  await mod.click('#lobby li button.admit');
  await guest.waitForSelector('#meeting:not([hidden])', { timeout: 15000 });
  await mod.waitForSelector('#lobby', { state: 'hidden' });
  for (let i = 0; i < 100 && seen.participantCount !== 2; i++) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await info('coop-guests');
  }
  const roles = Object.fromEntries(seen.attendees.map((a) => [a.fullName, a.role]));
  assert.deepEqual(roles, { 'Mo Derator': 'MODERATOR', 'Gita Guest': 'VIEWER' });

  // A second guest is turned away and told so.
  const other = await newPage(browser, { logPrefix: 'other' });
  await other.goto(api.administration.join('Olaf Other', 'coop-guests', created.attendeePW, { guest: true }));
  await other.waitForSelector('#join-button:enabled');
  await other.click('#join-button');
  await other.waitForSelector('#waiting:not([hidden])', { timeout: 15000 });
  await mod.waitForSelector('#lobby:not([hidden]) li span:text("Olaf Other")', { timeout: 15000 });
  await mod.click('#lobby li button.deny');
  await other.waitForSelector('#join-error:not([hidden])', { timeout: 15000 });
  assert.match(await other.textContent('#join-error'), /did not let you in/);
  await bbbctl('meeting', 'end', 'coop-guests');
});
