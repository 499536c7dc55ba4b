// Call quality, end to end: a Chromium in a network namespace, 15 % of whose UDP is lost on
// the way out (a lossy uplink, as on a weak mobile link), meets a Chromium outside. Its
// client's reports (every 10 s, from getStats) must make the room owner's meeting report say,
// in words, that its uplink lost packets; its "report a problem" note must reach the report
// and the operators' view; after it, the organisation's usage report, the platform's ranking
// and the status page (screenshots of each). Needs root (or sudo), iproute2 and nftables.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { newPage, waitFirstMedia } = require('../webrtc-helpers.js');
const { ARTIFACTS, createRoomAs, join } = require('../meeting-helpers.js');
const { makeNamespace, meetAcross } = require('../netns.js');

const PC = 'window.plenary.pc';
const DROP_PERCENT = 15;
// What the namespace sends over UDP (the browser's media and ICE): a share lost on the way.
const UPLINK = `meta protocol ip ip protocol udp numgen random mod 100 < ${DROP_PERCENT} drop`;

let server;
let hostBrowser;
let nsBrowser;
let admin;
let net;
let across;

before(async () => {
  net = makeNamespace('loss', 216, null, { uplink: UPLINK });
  across = await meetAcross(net, { PLENARY_MEDIA_TCP: 'false' });
  ({ server, hostBrowser, nsBrowser, admin } = across);
});

after(async () => {
  await across?.close();
  net?.remove();
});

test('a lossy uplink is named in the meeting report, with the problem its person reported', async () => {
  const hostUrl = server.url.replace('0.0.0.0', '127.0.0.1');
  // An organisation with the admin in it: the meeting counts for it in the usage reports.
  await admin.goto(`${hostUrl}/admin/orgs`);
  await admin.fill('#create-org input[name=name]', 'Radical Routes');
  await admin.click('#create-org button[type=submit]');
  await admin.waitForSelector('tr[data-org="Radical Routes"]');
  const orgId = (await admin.locator('tr[data-org="Radical Routes"] a').getAttribute('href')).split('/').pop();
  await admin.selectOption('#add-member select[name=org]', orgId);
  await admin.fill('#add-member input[name=email]', 'admin@localhost');
  await admin.check('#add-member input[name=org_admin]');
  await admin.click('#add-member button[type=submit]');
  await admin.waitForLoadState();
  const link = await createRoomAs(admin, { url: hostUrl }, 'Across the sea');
  const roomId = link.split('/r/')[1];
  const outside = await newPage(hostBrowser, { logPrefix: 'outside' });
  const inside = await newPage(nsBrowser, { logPrefix: 'inside' });
  await join(outside, link, 'Olga Outside');
  await join(inside, link.replace('127.0.0.1', net.hostIp).replace('0.0.0.0', net.hostIp), 'Ivan Inside');
  await waitFirstMedia([inside, outside], PC, 1, 30000);

  // "Report a problem", from inside.
  if (!(await inside.isVisible('#problem-button'))) await inside.click('#more-button');
  await inside.click('#problem-button');
  await inside.fill('#problem-note', 'Olga says my voice breaks up');
  await inside.click('#problem-send');
  await inside.waitForFunction(() => document.getElementById('meeting-notes').textContent.includes('the admins have your report'));

  // The owner's meeting report, once two reports of the inside client are in (every 10 s).
  const deadline = Date.now() + 60000;
  let problems = '';
  while (Date.now() < deadline) {
    await admin.goto(`${hostUrl}/rooms/${roomId}/quality`);
    const meeting = admin.locator('#quality-meetings a').first();
    if (await meeting.count()) {
      await meeting.click();
      problems = (await admin.locator('#quality-problems, #quality-no-problems').first().textContent()) || '';
      if (problems.includes("Ivan Inside's uplink lost")) break;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
  console.log(`the meeting report says: ${problems}`);
  if (!problems.includes('uplink')) {
    console.log(await inside.evaluate(async () => {
      const out = [];
      (await window.plenary.call.pc.getStats()).forEach((s) => {
        if (['outbound-rtp', 'remote-inbound-rtp'].includes(s.type)) out.push({ type: s.type, kind: s.kind, ssrc: s.ssrc, sent: s.packetsSent, resent: s.retransmittedPacketsSent, lost: s.packetsLost, fl: s.fractionLost, nack: s.nackCount });
      });
      return JSON.stringify({ out, last: window.plenary.diagnostics.last, audio: window.plenary.call.audioOn });
    }));
  }
  const m = /Ivan Inside's uplink lost (\d+) %/.exec(problems);
  assert.ok(m, `no uplink loss named for the lossy browser: ${problems}`);
  const percent = Number(m[1]);
  assert.ok(percent >= 5 && percent <= 40, `uplink loss ${percent} % for a ${DROP_PERCENT} % drop`);
  assert.ok(!problems.includes("Olga Outside's uplink"), `the outside browser has no lossy uplink: ${problems}`);
  assert.match(await admin.locator('#quality-reported').textContent(), /Olga says my voice breaks up/);
  assert.ok((await admin.locator(`#person-${await inside.evaluate(() => window.plenary.call.you)} rect[data-state]`).count()) >= 1);
  await admin.screenshot({ path: path.join(ARTIFACTS, 'meeting-report.png'), fullPage: true });

  await admin.goto(`${hostUrl}/admin/status`);
  assert.match(await admin.locator('#status-reported').textContent(), /Olga says my voice breaks up/);
  await admin.screenshot({ path: path.join(ARTIFACTS, 'admin-status.png'), fullPage: true });
  for (const p of [inside, outside]) await p.context().close();

  // After the meeting: its organisation's report, the platform's ranking, the status page.
  // (The ledger writes every half second: the page is read until the meeting is in.)
  let meetings = '';
  for (let i = 0; i < 20 && meetings !== '1'; i++) {
    await admin.goto(`${hostUrl}/orgs/${orgId}/usage`);
    meetings = (await admin.locator('#usage-totals [data-key=meetings]').textContent()).trim();
    if (meetings !== '1') await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(meetings, '1');
  assert.equal((await admin.locator('#usage-totals [data-key=distinct_participants]').textContent()).trim(), '2');
  await admin.screenshot({ path: path.join(ARTIFACTS, 'usage-organisation.png'), fullPage: true });
  await admin.goto(`${hostUrl}/admin/usage`);
  assert.match(await admin.locator('#usage-orgs').textContent(), /Radical Routes/);
  await admin.screenshot({ path: path.join(ARTIFACTS, 'usage-platform.png'), fullPage: true });
  const anyone = await newPage(hostBrowser);
  await anyone.goto(`${hostUrl}/status`);
  // Up, or degraded while the node's last reading still holds the lossy meeting's loss (the
  // states themselves are checked exactly in crates/server/tests/status.rs).
  assert.match(await anyone.locator('#status-overall').getAttribute('class'), /^status-overall status-(up|degraded)$/);
  await anyone.screenshot({ path: path.join(ARTIFACTS, 'status-page.png'), fullPage: true });
  await anyone.context().close();
});
