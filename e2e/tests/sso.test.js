// Single sign-on end to end, through a real OpenID Connect provider (`oidc-provider`, npm):
// people sign in with the provider's own pages and land in the organisations and roles the
// mapping rules give them; the rules are re-applied at the next sign-in; a platform admin sees
// why; an organisation admin manages their people; the provider's admin group makes a platform
// admin, and leaving it takes the role back; a rule added in the portal applies at the next
// sign-in; an account made with a password for someone's address is claimed by its owner; a provider returning a bad token, one that is down
// and a refused sign-in each end with a clear message and no session.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, signInAdmin: signInServerAdmin, signUp } = require('../server.js');
const { launch, newPage } = require('../webrtc-helpers.js');
const { startProvider, freePort, PEOPLE, CLIENT_ID, CLIENT_SECRET } = require('../oidc-provider.js');

const ARTIFACTS = path.join(__dirname, '..', 'artifacts');
fs.mkdirSync(ARTIFACTS, { recursive: true });

let server;
let browser;
let good;
let tampered;
let configDir;

function providerToml(id, name, port, rules) {
  return `[[sso]]
id = "${id}"
name = "${name}"
issuer = "http://127.0.0.1:${port}"
client_id = "${CLIENT_ID}"
client_secret = "${CLIENT_SECRET}"
scopes = ["email", "profile", "groups"]
${rules}
`;
}

const RULES = `admin_groups = ["/plenary-admins"]

[[sso.rules]]
group = "/social.coop"
org = "social.coop"

[[sso.rules]]
group = "/social.coop/admins"
org = "social.coop"
role = "admin"

[[sso.rules]]
email_domain = "radicalroutes.org.uk"
org = "Radical Routes"

[[sso.rules]]
default = true
org = "Guests"
`;

before(async () => {
  const [goodPort, tamperedPort, downPort] = [await freePort(), await freePort(), await freePort()];
  configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plenary-sso-'));
  const config = path.join(configDir, 'plenary.toml');
  fs.writeFileSync(config, [
    providerToml('coop-id', 'Co-op ID', goodPort, RULES),
    providerToml('tampered', 'Tampered ID', tamperedPort, ''),
    providerToml('down', 'Down ID', downPort, ''),
  ].join('\n'));
  server = await startServer({ PLENARY_CONFIG: config, PLENARY_SIGNUP: 'open' });
  const redirect = (id) => `${server.url}/auth/sso/${id}/callback`;
  good = await startProvider({ port: goodPort, redirectUris: [redirect('coop-id')] });
  tampered = await startProvider({ port: tamperedPort, redirectUris: [redirect('tampered')], tamper: true });
  ({ browser } = await launch());
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await good?.stop();
  await tampered?.stop();
  if (configDir) fs.rmSync(configDir, { recursive: true, force: true });
});

/** Signs in through a provider's own pages (login, then consent) in a fresh browser. */
async function ssoSignIn(provider, login, { cancel = false } = {}) {
  const page = await newPage(browser, { logPrefix: `sso-${login}` });
  await page.goto(`${server.url}/signin`);
  await page.click(`a[data-provider="${provider}"]`);
  await page.waitForSelector('input[name="login"]');
  if (cancel) {
    await page.click('a[href*="/abort"]');
  } else {
    await page.fill('input[name="login"]', login);
    await page.fill('input[name="password"]', 'any password');
    await page.click('button[type="submit"]');
    await page.waitForURL((u) => u.href.startsWith(server.url) || u.pathname.startsWith('/interaction/'));
    if (!page.url().startsWith(server.url)) {
      await page.click('button[type="submit"]'); // consent
    }
  }
  await page.waitForURL((u) => u.href.startsWith(server.url) && !u.pathname.startsWith('/auth/sso/') || u.pathname.endsWith('/callback'));
  await page.waitForLoadState();
  return page;
}

/** `{ org: role }` from the "My organisations" list of /rooms. */
async function myOrgs(page) {
  await page.goto(`${server.url}/rooms`);
  assert.match(page.url(), /\/rooms$/, 'signed in');
  return page.$$eval('#my-orgs li', (lis) => Object.fromEntries(lis.map((li) => [li.dataset.org, li.querySelector('.role').textContent])));
}

function signInAdmin() {
  return signInServerAdmin(browser, server, newPage);
}

test('people land in the organisations and roles the rules give; an admin sees why', async () => {
  const admin = await signInAdmin();
  for (const org of ['social.coop', 'Radical Routes', 'Guests']) {
    await admin.goto(`${server.url}/admin/orgs`);
    await admin.fill('#create-org input[name="name"]', org);
    await admin.click('#create-org button[type="submit"]');
    await admin.waitForSelector(`#orgs tr[data-org="${org}"]`);
  }

  const alice = await ssoSignIn('coop-id', 'alice');
  assert.deepEqual(await myOrgs(alice), { 'social.coop': 'admin' });
  await alice.screenshot({ path: path.join(ARTIFACTS, 'sso-signed-in.png') });
  const bob = await ssoSignIn('coop-id', 'bob');
  assert.deepEqual(await myOrgs(bob), { 'social.coop': 'member' });
  const carol = await ssoSignIn('coop-id', 'carol');
  assert.deepEqual(await myOrgs(carol), { 'Radical Routes': 'member' });
  const dave = await ssoSignIn('coop-id', 'dave');
  assert.deepEqual(await myOrgs(dave), { Guests: 'member' });

  // Rules are re-applied at each sign-in: Bob joins the admins group at the provider.
  PEOPLE.bob.groups = ['/social.coop', '/social.coop/admins'];
  const bobAgain = await ssoSignIn('coop-id', 'bob');
  assert.deepEqual(await myOrgs(bobAgain), { 'social.coop': 'admin' });
  // …and leaves the co-op: the membership the rules gave goes, the default applies.
  PEOPLE.bob.groups = [];
  const bobLeft = await ssoSignIn('coop-id', 'bob');
  assert.deepEqual(await myOrgs(bobLeft), { Guests: 'member' });

  // The platform admin sees why Alice is an admin of social.coop.
  await admin.goto(`${server.url}/admin/users?q=alice`);
  await admin.click('#users a:text("Alice Admin")');
  await admin.waitForSelector('section.identity[data-provider="coop-id"]');
  const rows = await admin.$$eval('section.identity tr.applied', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
  assert.deepEqual(rows, [
    ['group "/social.coop"', 'social.coop', 'member', 'yes', 'the groups contain it'],
    ['group "/social.coop/admins"', 'social.coop', 'admin', 'yes', 'the groups contain it'],
  ]);
  assert.equal(await admin.textContent('#memberships tr[data-org="social.coop"] .source'), 'from the rules of Co-op ID');
  assert.match(await admin.textContent('section.identity'), /\/social\.coop\/admins/);
  await admin.screenshot({ path: path.join(ARTIFACTS, 'sso-why.png'), fullPage: true });

  // Alice administers social.coop herself: she asks Dave to join; once Dave accepts on his
  // rooms page he is a member.
  await alice.goto(`${server.url}/rooms`);
  await alice.click('#my-orgs li[data-org="social.coop"] a');
  await alice.waitForSelector('#members');
  const orgPage = alice.url();
  await alice.fill('#add-member input[name="email"]', PEOPLE.dave.email);
  await alice.click('#add-member button[type="submit"]');
  await alice.waitForSelector('#form-notice');
  assert.equal(await alice.locator(`#members tr[data-member="${PEOPLE.dave.email}"]`).count(), 0, 'not a member before he accepts');
  await dave.goto(`${server.url}/rooms`);
  await dave.click('#requests li[data-org="social.coop"] button[value="accept"]');
  await dave.waitForURL(/\/rooms$/);
  await alice.goto(orgPage);
  await alice.waitForSelector(`#members tr[data-member="${PEOPLE.dave.email}"]`);
  assert.equal(await alice.textContent(`#members tr[data-member="${PEOPLE.dave.email}"] .source`), 'accepted by the member');
  await alice.screenshot({ path: path.join(ARTIFACTS, 'sso-org.png'), fullPage: true });
  assert.deepEqual(await myOrgs(dave), { Guests: 'member', 'social.coop': 'member' });
  // Dave is no admin of it: its page is closed to him.
  const orgUrl = alice.url();
  const res = await dave.goto(orgUrl);
  assert.equal(res.status(), 403);
});

test('a bad token, a provider that is down, and a refused sign-in: a clear error, no session', async () => {
  const bad = await ssoSignIn('tampered', 'alice');
  assert.match(await bad.textContent('#form-error'), /Tampered ID sent a sign-in that could not be verified/);
  await bad.screenshot({ path: path.join(ARTIFACTS, 'sso-bad-token.png') });
  await bad.goto(`${server.url}/rooms`);
  assert.match(bad.url(), /\/signin$/, 'not signed in');

  const page = await newPage(browser, { logPrefix: 'sso-down' });
  await page.goto(`${server.url}/signin`);
  await page.click('a[data-provider="down"]');
  await page.waitForSelector('#form-error');
  assert.match(await page.textContent('#form-error'), /Down ID cannot be reached right now/);
  await page.goto(`${server.url}/rooms`);
  assert.match(page.url(), /\/signin$/, 'not signed in');

  const cancelled = await ssoSignIn('coop-id', 'carol', { cancel: true });
  assert.match(await cancelled.textContent('#form-error'), /Co-op ID did not sign you in/);
});

test("the provider's admin group makes a platform admin; leaving it takes the role back", async () => {
  PEOPLE.carol.groups = ['/plenary-admins'];
  const carol = await ssoSignIn('coop-id', 'carol');
  await carol.goto(`${server.url}/admin/providers`);
  assert.equal(await carol.textContent('#provider-coop-id .accounts'), '4');
  await carol.click('#provider-coop-id form.check button');
  await carol.waitForSelector('#check-coop-id');
  assert.equal(await carol.textContent('#check-coop-id'), 'The provider answers and its configuration can be used.');
  await carol.click('#provider-down form.check button');
  await carol.waitForSelector('#check-down');
  assert.match(await carol.textContent('#check-down'), /cannot be used/);
  // Carol maps Dave's domain to Radical Routes here: no restart, from his next sign-in.
  await carol.goto(`${server.url}/admin/providers`);
  await carol.click('#provider-coop-id details.add-rule summary');
  await carol.selectOption('#add-rule-coop-id select[name="kind"]', 'email_domain');
  await carol.fill('#add-rule-coop-id input[name="value"]', 'elsewhere.example');
  await carol.selectOption('#add-rule-coop-id select[name="org"]', 'Radical Routes');
  await carol.click('#add-rule-coop-id button[type="submit"]');
  await carol.waitForSelector('#provider-coop-id li.added');
  await carol.screenshot({ path: path.join(ARTIFACTS, 'admin-providers.png'), fullPage: true });
  const daveAgain = await ssoSignIn('coop-id', 'dave');
  // The new rule matched, so the default (Guests) no longer applies; Alice's hand-set
  // membership stays.
  assert.deepEqual(await myOrgs(daveAgain), { 'Radical Routes': 'member', 'social.coop': 'member' });
  // The why page says where the role comes from.
  await carol.goto(`${server.url}/admin/users?q=carol`);
  await carol.click('#users a:text("Carol Router")');
  await carol.waitForSelector('#platform-admin');
  assert.equal(await carol.textContent('#platform-admin'), 'platform admin (from Co-op ID)');
  assert.match(await carol.textContent('section.identity[data-provider="coop-id"] .admin-groups'), /contain \/plenary-admins/);

  // Carol leaves the group at the provider: at her next sign-in she is no admin any more.
  PEOPLE.carol.groups = [];
  const carolAgain = await ssoSignIn('coop-id', 'carol');
  const res = await carolAgain.goto(`${server.url}/admin/users`);
  assert.equal(res.status(), 403);
});

test("an account someone made with a password for a co-op's address is claimed by its owner", async () => {
  // Mallory signs up with Erin's address (sign-up checks no address)…
  const mallory = await newPage(browser, { logPrefix: 'mallory' });
  await signUp(mallory, server, 'Not Erin', PEOPLE.erin.email, 'mallorys-password');
  // …then Erin signs in through the provider, which vouches for the address.
  const erin = await ssoSignIn('coop-id', 'erin');
  assert.deepEqual(await myOrgs(erin), { 'social.coop': 'member' });
  // Mallory's session and password are gone.
  await mallory.goto(`${server.url}/rooms`);
  assert.match(mallory.url(), /\/signin$/, 'signed out');
  await mallory.fill('#email', PEOPLE.erin.email);
  await mallory.fill('#password', 'mallorys-password');
  await mallory.click('#submit');
  await mallory.waitForSelector('#form-error');
  assert.match(mallory.url(), /\/signin$/);
});
