// The portal end to end: sign up → create a room → set a waiting room and an access code →
// a guest in a second browser is refused with a wrong code, waits with the right one → the
// owner (moderator by owning the room) admits them → both are in the meeting. Then an
// organisation allowing one participant per meeting: a second person is refused, with a message.
// Then someone early for a meeting only its owner may open is held until the owner comes in.
// Then an invitation link brings someone into an organisation, and the site settings change
// what a visitor sees.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, signInAdmin, signUp } = require('../server.js');
const { launch, newPage } = require('../webrtc-helpers.js');

const ARTIFACTS = path.join(__dirname, '..', 'artifacts');
fs.mkdirSync(ARTIFACTS, { recursive: true });

let server;
let browser;
before(async () => {
  server = await startServer({ PLENARY_SIGNUP: 'open' });
  ({ browser } = await launch());
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('an owner admits a guest who came with the access code', async () => {
  const owner = await newPage(browser, { logPrefix: 'owner' });
  await owner.goto(`${server.url}/signin`);
  await owner.screenshot({ path: path.join(ARTIFACTS, 'portal-signin.png') });
  await signUp(owner, server, 'Olga Owner', 'olga@example.coop', 'long-enough-pw');
  await owner.fill('#room-name', 'Council');
  await owner.click('#create-room');
  await owner.waitForSelector('#rooms li');
  const link = await owner.inputValue('#rooms li input[readonly]');
  await owner.click('#rooms li summary');
  await owner.check('#rooms li input[name="waiting_room"]');
  await owner.fill('#rooms li input[name="viewer_code"]', 'view-2026');
  await owner.click('#rooms li form.settings button[type="submit"]');
  await owner.waitForSelector('#form-notice');
  await owner.screenshot({ path: path.join(ARTIFACTS, 'portal-rooms.png') });

  // The guest: a wrong code is refused, the right one leads to the waiting room.
  const guest = await newPage(browser, { logPrefix: 'guest' });
  await guest.goto(link);
  await guest.waitForSelector('#access-code-box:not([hidden])');
  await guest.waitForSelector('#join-button:enabled');
  await guest.fill('#name', 'Gus Guest');
  await guest.fill('#access-code', 'wrong-code');
  await guest.click('#join-button');
  await guest.waitForSelector('#join-error:not([hidden])');
  assert.equal(await guest.textContent('#join-error'), 'That access code is not right.');
  await guest.waitForSelector('#join-button:enabled');
  await guest.fill('#access-code', 'view-2026');
  await guest.click('#join-button');
  await guest.waitForSelector('#waiting:not([hidden])', { timeout: 15000 });

  // The owner opens the room (no code needed), sees the guest waiting and admits them.
  await owner.goto(link);
  await owner.waitForSelector('#join-button:enabled');
  assert.equal(await owner.locator('#access-code-box').isHidden(), false, 'the field shows, but the owner needs no code');
  await owner.fill('#name', 'Olga Owner');
  await owner.click('#join-button');
  await owner.waitForSelector('#meeting:not([hidden])', { timeout: 15000 });
  await owner.waitForSelector('#lobby:not([hidden]) li span:text("Gus Guest")', { timeout: 15000 });
  await owner.click('#lobby li button.admit');
  await guest.waitForSelector('#meeting:not([hidden])', { timeout: 15000 });
  for (const page of [owner, guest]) {
    await page.waitForFunction(() => document.querySelectorAll('#tiles .tile').length === 2, null, { timeout: 15000 });
  }
  await guest.screenshot({ path: path.join(ARTIFACTS, 'portal-admitted.png') });
});

test("an organisation's participant limit refuses one more, with a message", async () => {
  // The first admin (password printed at the first start) sets up an organisation that allows
  // one participant per meeting, with Lena as a member.
  const lena = await newPage(browser, { logPrefix: 'lena' });
  await signUp(lena, server, 'Lena Limited', 'lena@example.coop', 'long-enough-pw');
  const admin = await signInAdmin(browser, server, newPage);
  await admin.goto(`${server.url}/admin/orgs`);
  await admin.fill('#create-org input[name="name"]', 'Tiny Co-op');
  await admin.fill('#create-org input[name="max_participants"]', '1');
  await admin.click('#create-org button[type="submit"]');
  await admin.waitForSelector('#orgs tr[data-org="Tiny Co-op"]');
  await admin.selectOption('#add-member select[name="org"]', { label: 'Tiny Co-op' });
  await admin.fill('#add-member input[name="email"]', 'lena@example.coop');
  await admin.click('#add-member button[type="submit"]');
  await admin.waitForURL(/\/admin\/orgs$/);

  await lena.goto(`${server.url}/rooms`);
  await lena.fill('#room-name', 'Tiny meeting');
  await lena.click('#create-room');
  await lena.waitForSelector('#rooms li');
  const link = await lena.inputValue('#rooms li input[readonly]');
  await lena.goto(link);
  await lena.waitForSelector('#join-button:enabled');
  await lena.fill('#name', 'Lena');
  await lena.click('#join-button');
  await lena.waitForSelector('#meeting:not([hidden])', { timeout: 15000 });

  const second = await newPage(browser, { logPrefix: 'second' });
  await second.goto(link);
  await second.waitForSelector('#join-button:enabled');
  await second.fill('#name', 'One too many');
  await second.click('#join-button');
  await second.waitForSelector('#join-error:not([hidden])');
  assert.equal(await second.textContent('#join-error'), 'This meeting is full.');
  await second.screenshot({ path: path.join(ARTIFACTS, 'portal-limit.png') });
});

test('someone early for a meeting only a moderator may open is held, and in once it opens', async () => {
  const owner = await newPage(browser, { logPrefix: 'pia' });
  await signUp(owner, server, 'Pia Owner', 'pia@example.coop', 'long-enough-pw');
  await owner.fill('#room-name', 'Held');
  await owner.click('#create-room');
  await owner.waitForSelector('#rooms li');
  const link = await owner.inputValue('#rooms li input[readonly]');
  await owner.click('#rooms li summary');
  await owner.uncheck('#rooms li input[name="anyone_may_start"]');
  await owner.click('#rooms li form.settings button[type="submit"]');
  await owner.waitForSelector('#form-notice');

  const early = await newPage(browser, { logPrefix: 'early' });
  await early.goto(link);
  await early.waitForSelector('#join-button:enabled');
  await early.fill('#name', 'Erin Early');
  await early.click('#join-button');
  await early.waitForSelector('#join-error:not([hidden])');
  assert.equal(await early.textContent('#join-error'), 'This meeting has not started yet. You will join as soon as a moderator opens it.');
  await early.screenshot({ path: path.join(ARTIFACTS, 'portal-not-started.png') });

  await owner.goto(link);
  await owner.waitForSelector('#join-button:enabled');
  await owner.fill('#name', 'Pia Owner');
  await owner.click('#join-button');
  await owner.waitForSelector('#meeting:not([hidden])', { timeout: 15000 });
  // Erin asks again on her own and is in, without clicking anything.
  await early.waitForSelector('#meeting:not([hidden])', { timeout: 20000 });
  for (const page of [owner, early]) {
    await page.waitForFunction(() => document.querySelectorAll('#tiles .tile').length === 2, null, { timeout: 15000 });
  }
});

test('an invitation link brings one person into an organisation; site settings show to visitors', async () => {
  const admin = await signInAdmin(browser, server, newPage);
  await admin.goto(`${server.url}/admin/orgs`);
  await admin.fill('#create-org input[name="name"]', 'Invited Co-op');
  await admin.click('#create-org button[type="submit"]');
  await admin.waitForSelector('#orgs tr[data-org="Invited Co-op"]');
  await admin.goto(`${server.url}/admin/invitations`);
  await admin.fill('#invite input[name="email"]', 'nia@example.coop');
  await admin.selectOption('#invite select[name="org"]', { label: 'Invited Co-op' });
  await admin.click('#invite button[type="submit"]');
  await admin.waitForSelector('#invite-link');
  const link = await admin.inputValue('#invite-link');
  assert.match(link, /\/invite\/[A-Za-z0-9_-]{43}$/);
  await admin.screenshot({ path: path.join(ARTIFACTS, 'admin-invitations.png'), fullPage: true });

  const nia = await newPage(browser, { logPrefix: 'nia' });
  await nia.goto(link);
  assert.equal(await nia.textContent('#invitation'), 'You are invited to join Invited Co-op. Choose your name and a password.');
  assert.equal(await nia.inputValue('#email'), 'nia@example.coop');
  assert.equal(await nia.getAttribute('#email', 'readonly'), '');
  await nia.fill('#name', 'Nia Newcomer');
  await nia.fill('#password', 'long-enough-pw');
  await nia.screenshot({ path: path.join(ARTIFACTS, 'portal-invited.png') });
  await nia.click('#submit');
  await nia.waitForURL(/\/rooms$/);
  await nia.waitForSelector('#my-orgs li[data-org="Invited Co-op"]');
  // The link worked once.
  const again = await newPage(browser, { logPrefix: 'again' });
  const res = await again.goto(link);
  assert.equal(res.status(), 410);

  // Every room, for the platform admin.
  await admin.goto(`${server.url}/admin/rooms`);
  await admin.waitForSelector('#all-rooms tr[data-room]');
  await admin.screenshot({ path: path.join(ARTIFACTS, 'admin-rooms.png'), fullPage: true });

  // The site's name and welcome text, seen by a signed-out visitor.
  await admin.goto(`${server.url}/admin/settings`);
  await admin.fill('#site-name', 'meet.coop');
  await admin.fill('#welcome', 'Members of social.coop and Radical Routes: welcome.');
  await admin.click('#save-settings');
  await admin.waitForSelector('#form-notice');
  await admin.screenshot({ path: path.join(ARTIFACTS, 'admin-settings.png'), fullPage: true });
  const visitor = await newPage(browser, { logPrefix: 'visitor' });
  await visitor.goto(`${server.url}/signin`);
  assert.equal(await visitor.textContent('header .brand'), 'meet.coop');
  assert.equal(await visitor.textContent('#welcome'), 'Members of social.coop and Radical Routes: welcome.');
  assert.match(await visitor.title(), /· meet\.coop$/);
});
