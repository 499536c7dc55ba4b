// Steps many meeting tests share: a member makes a room, a page joins it.
const fs = require('node:fs');
const path = require('node:path');

const ARTIFACTS = path.join(__dirname, 'artifacts');
fs.mkdirSync(ARTIFACTS, { recursive: true });

/** The signed-in `admin` page creates a room on "My rooms"; returns its link. */
async function createRoomAs(admin, server, name) {
  await admin.goto(`${server.url}/rooms`);
  await admin.fill('#room-name', name);
  await admin.click('#create-room');
  await admin.waitForURL(/\/rooms$/);
  const item = admin.locator('#rooms li', { has: admin.locator('.room-name', { hasText: name }) });
  return item.first().locator('input[readonly]').first().inputValue();
}

/** Opens the room link, waits for the preview, types a name and joins. */
async function join(page, link, name, { screenshot } = {}) {
  await page.goto(link);
  await page.waitForSelector('#join:not([hidden])');
  await page.waitForSelector('#join-button:enabled');
  await page.fill('#name', name);
  if (screenshot) {
    await page.waitForFunction(() => document.getElementById('preview').videoWidth > 0);
    await page.screenshot({ path: path.join(ARTIFACTS, screenshot) });
  }
  // For "join to first remote frame" figures: when the person clicked.
  page.joinClickedAt = Date.now();
  await page.click('#join-button');
  try {
    await page.waitForSelector('#meeting:not([hidden])', { timeout: 15000 });
  } catch (err) {
    // Say what the page shows and logged, not only that it timed out.
    const shown = await page.evaluate(() => ({
      joinError: document.getElementById('join-error').textContent,
      ended: document.getElementById('ended-reason').textContent,
      steps: window.plenary.steps,
    }));
    await page.screenshot({ path: path.join(ARTIFACTS, `join-timeout-${name}.png`) });
    throw new Error(`${name} did not get into the meeting: ${JSON.stringify(shown)}\n${(page.consoleLines || []).join('\n')}`);
  }
  return page.evaluate(() => window.plenary.call.you);
}

module.exports = { ARTIFACTS, createRoomAs, join };
