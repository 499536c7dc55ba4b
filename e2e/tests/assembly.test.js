// Deciding together in the meeting, in three real browsers: a moderator asks a consent round,
// the others' pages put it in front of them, each answers once, the moderator closes it and
// everyone sees the same counts; an agenda and a speakers' list; shared minutes typed by three
// people at once, with a poll's results and a decision, exported as Markdown.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { startServer, signInAdmin } = require('../server.js');
const { launch, newPage } = require('../webrtc-helpers.js');
const { ARTIFACTS, createRoomAs, join } = require('../meeting-helpers.js');

let server;
let browser;
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

/** The poll's results as a page shows them: "label: n" per option. */
const results = (page, id) => page.locator(`#poll-list .poll[data-poll-id="${id}"] .poll-results .count`).allTextContents();

test('a consent round: asked by the moderator, answered once on each page, closed with the same results for all', async () => {
  const link = await createRoomAs(admin, server, 'E2E consent round');
  const ada = await newPage(browser, { logPrefix: 'ada' });
  const ben = await newPage(browser, { logPrefix: 'ben' });
  await join(admin, link, 'Mo Derator');
  await join(ada, link, 'Ada');
  await join(ben, link, 'Ben');

  // Guests have no "new poll" form; the moderator has.
  await ada.click('#polls-button');
  assert.equal(await ada.locator('#poll-new').isHidden(), true);
  await ada.click('#panel-close');
  await admin.click('#polls-button');
  await admin.locator('#poll-new summary').click();
  await admin.fill('#poll-question', 'Do we consent to the new rota?');
  await admin.selectOption('#poll-kind', 'consent');
  await admin.fill('#poll-quorum', '2');
  await admin.click('#poll-ask');
  const poll = admin.locator('#poll-list .poll[data-state="open"]');
  await poll.waitFor();
  const id = await poll.getAttribute('data-poll-id');

  // On the others' pages the poll comes to the front by itself; each answers.
  for (const [page, choice] of [[ada, 'Consent'], [ben, 'Concern']]) {
    const item = page.locator(`#poll-list .poll[data-poll-id="${id}"]`);
    await item.waitFor({ state: 'visible', timeout: 5000 });
    assert.match(await item.locator('h3').textContent(), /new rota/);
    await item.getByLabel(choice, { exact: true }).check();
    await item.getByRole('button', { name: 'Vote' }).click();
    await item.locator('.poll-you').waitFor();
    assert.equal(await item.locator('.poll-you').textContent(), `You voted: ${choice}`);
    // Voted: no second ballot on this page.
    assert.equal(await item.locator('form.poll-vote').count(), 0);
  }
  await admin.waitForFunction((id) => window.plenary.call.polls.get(Number(id))?.votes === 2, id);
  assert.match(await admin.locator(`#poll-list .poll[data-poll-id="${id}"] .poll-total`).textContent(), /Quorum of 2 met/);
  await ada.screenshot({ path: path.join(ARTIFACTS, 'poll-consent-open.png') });

  await admin.locator(`#poll-list .poll[data-poll-id="${id}"] .poll-close`).click();
  for (const page of [admin, ada, ben]) {
    await page.locator(`#poll-list .poll[data-poll-id="${id}"][data-state="closed"]`).waitFor({ timeout: 5000 });
    assert.deepEqual(await results(page, id), ['Consent: 1', 'Concern: 1', 'Objection: 0']);
    // A named poll: who chose what shows with the results.
    assert.deepEqual(await page.locator(`#poll-list .poll[data-poll-id="${id}"] .poll-results .names`).allTextContents(), ['Ada', 'Ben']);
  }
  await admin.screenshot({ path: path.join(ARTIFACTS, 'poll-consent-closed.png') });
  for (const p of [ada, ben]) await p.close();
});

test('an agenda with time boxes and a speakers\' list: the moderator moves on and gives the floor, everyone sees it', async () => {
  const link = await createRoomAs(admin, server, 'E2E agenda');
  const ada = await newPage(browser, { logPrefix: 'ada' });
  const ben = await newPage(browser, { logPrefix: 'ben' });
  await join(admin, link, 'Mo Derator');
  const adaId = await join(ada, link, 'Ada');
  await join(ben, link, 'Ben');

  await admin.click('#agenda-button');
  await admin.locator('#agenda-edit summary').click();
  await admin.fill('#agenda-text', 'Welcome | 5\nBudget 2027 | 20\nAny other business');
  await admin.click('#agenda-save');
  await admin.locator('#agenda-list li').nth(2).waitFor();
  await admin.click('#agenda-next');
  for (const page of [ada, ben]) {
    await page.click('#agenda-button');
    await page.waitForFunction(() => /Now: Welcome · 0:\d\d of 5 min/.test(document.getElementById('agenda-now').textContent));
    assert.deepEqual(await page.locator('#agenda-list li').allTextContents(), ['Welcome (5 min)', 'Budget 2027 (20 min)', 'Any other business']);
    // Only moderators move through the agenda.
    assert.equal(await page.locator('#agenda-tools').isHidden(), true);
  }
  await admin.click('#agenda-next');
  await ben.waitForFunction(() => document.getElementById('agenda-now').textContent.startsWith('Now: Budget 2027'));

  // Hands make the speakers' list; the moderator gives the floor to the first.
  await ada.click('#hand-button');
  await ben.click('#hand-button');
  await admin.waitForFunction(() => document.querySelectorAll('#speaker-queue li').length === 2);
  assert.deepEqual(await admin.locator('#speaker-queue li').allTextContents(), ['Ada', 'Ben']);
  await admin.click('#speaker-next');
  for (const page of [admin, ada, ben]) {
    await page.waitForFunction(() => /^Speaking: Ada · 0:\d\d$/.test(document.getElementById('speaker-now').textContent));
  }
  assert.equal(await ada.evaluate((id) => window.plenary.call.hands.includes(id), adaId), false, "Ada's hand is lowered");
  assert.deepEqual(await ben.locator('#speaker-queue li').allTextContents(), ['Ben (you)']);
  await ben.screenshot({ path: path.join(ARTIFACTS, 'agenda-speakers.png') });
  // Ada ends her own turn.
  await ada.click('#speaker-done');
  await ben.waitForFunction(() => document.getElementById('speaker-now').textContent === '');
  for (const p of [ada, ben]) await p.close();
});

test('the minutes: three people typing at once, a poll\'s results and a decision added, exported as Markdown', async () => {
  const link = await createRoomAs(admin, server, 'E2E minutes');
  const roomId = new URL(link).pathname.split('/').pop();
  const ada = await newPage(browser, { logPrefix: 'ada' });
  const ben = await newPage(browser, { logPrefix: 'ben' });
  const pages = [admin, ada, ben];
  await join(admin, link, 'Mo Derator');
  await join(ada, link, 'Ada');
  await join(ben, link, 'Ben');
  for (const page of pages) {
    await page.click('#notes-button');
    await page.waitForFunction(() => document.getElementById('notes-status').textContent === 'Saved');
  }
  // Viewers have no lock; the moderator has.
  assert.equal(await ada.locator('#notes-lock-box').isHidden(), true);
  assert.equal(await admin.locator('#notes-lock-box').isVisible(), true);

  // Everyone types at once, each at the end of what they see.
  const lines = {
    mo: 'Mo: we start with the rota. ',
    ada: 'Ada: I can take Mondays. ',
    ben: 'Ben: Fridays suit me 😀, grüße. ',
  };
  await Promise.all([[admin, lines.mo], [ada, lines.ada], [ben, lines.ben]].map(async ([page, text]) => {
    await page.click('#notes-text');
    await page.keyboard.press('Control+End');
    await page.locator('#notes-text').pressSequentially(text, { delay: 15 });
  }));
  // The same text on every page, with nobody's typing lost.
  const same = async () => {
    for (const page of pages) {
      await page.waitForFunction(() => document.getElementById('notes-status').textContent === 'Saved');
    }
    const deadline = Date.now() + 10000;
    for (;;) {
      const texts = await Promise.all(pages.map((p) => p.locator('#notes-text').inputValue()));
      if (texts.every((t) => t === texts[0])) return texts[0];
      if (Date.now() > deadline) assert.fail(`the pages differ: ${JSON.stringify(texts)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  let text = await same();
  for (const line of Object.values(lines)) assert.equal(text.split(line).length, 2, `${JSON.stringify(line)} once, whole, in ${JSON.stringify(text)}`);
  await ben.screenshot({ path: path.join(ARTIFACTS, 'minutes-three-writers.png') });

  // A consent round's results go into the minutes, and the decision after them.
  await admin.click('#polls-button');
  await admin.locator('#poll-new summary').click();
  await admin.fill('#poll-question', 'Do we consent to the rota?');
  await admin.selectOption('#poll-kind', 'consent');
  await admin.click('#poll-ask');
  const poll = admin.locator('#poll-list .poll[data-state="open"]');
  await poll.waitFor();
  const id = await poll.getAttribute('data-poll-id');
  for (const page of [ada, ben]) {
    const item = page.locator(`#poll-list .poll[data-poll-id="${id}"]`);
    await item.waitFor({ state: 'visible', timeout: 5000 });
    await item.getByLabel('Consent', { exact: true }).check();
    await item.getByRole('button', { name: 'Vote' }).click();
    await item.locator('.poll-you').waitFor();
  }
  await admin.waitForFunction((id) => window.plenary.call.polls.get(Number(id))?.votes === 2, id);
  await admin.locator(`#poll-list .poll[data-poll-id="${id}"] .poll-close`).click();
  const closed = admin.locator(`#poll-list .poll[data-poll-id="${id}"][data-state="closed"]`);
  await closed.locator('.poll-to-minutes').click();
  await admin.click('#notes-button');
  await admin.click('#notes-decision');
  await admin.keyboard.type('The rota is adopted by consent.');
  text = await same();
  assert.match(text, /\*\*Poll: Do we consent to the rota\?\*\*\n- Consent: 2 \(Ada, Ben\)\n- Concern: 0\n- Objection: 0\n- Votes: 2/);
  assert.match(text, /\*\*Decision:\*\* The rota is adopted by consent\./);
  // (The poll put Ada's Polls pane in front.)
  await ada.click('#tab-notes');
  await ada.screenshot({ path: path.join(ARTIFACTS, 'minutes-decision.png') });

  // Locked: a viewer reads only.
  await admin.check('#notes-lock');
  await ada.waitForFunction(() => document.getElementById('notes-text').readOnly);
  assert.equal(await ada.locator('#notes-locked').isVisible(), true);

  // The room's manager exports them as Markdown from the room's minutes page.
  const list = await admin.request.get(`${server.url}/rooms/${roomId}/minutes`);
  assert.equal(list.status(), 200);
  const href = /href="(\/rooms\/[^"]+\.md)"/.exec(await list.text())?.[1];
  assert.ok(href, 'a Markdown link on the minutes page');
  const md = await admin.request.get(`${server.url}${href}`);
  assert.equal(md.status(), 200);
  const exported = await md.text();
  assert.match(exported, /^# Minutes of E2E minutes/);
  assert.match(exported, /\*\*Decision:\*\* The rota is adopted by consent\./);
  assert.match(exported, /- Consent: 2 \(Ada, Ben\)/);
  for (const line of Object.values(lines)) assert.ok(exported.includes(line), line);
  // A viewer's page has no way to it: the portal refuses them (a guest is not signed in).
  const refused = await ada.request.get(`${server.url}${href}`, { maxRedirects: 0 });
  assert.notEqual(refused.status(), 200);
  for (const p of [ada, ben]) await p.close();
});
