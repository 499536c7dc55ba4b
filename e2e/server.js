// Starts the built `plenary` binary for a test: HTTP and media on free ports, a fresh data
// folder, and waits for its machine-readable ready line.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const BIN = process.env.PLENARY_BIN || path.join(__dirname, '..', 'target', 'debug', 'plenary');

async function startServer(env = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plenary-e2e-'));
  const proc = spawn(BIN, ['serve'], {
    env: {
      ...process.env,
      PLENARY_LISTEN: '127.0.0.1:0',
      PLENARY_MEDIA_PORT: '0',
      PLENARY_DATA_DIR: dataDir,
      PLENARY_LOG: process.env.PLENARY_LOG || 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const { url, output } = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server not ready after 20 s: ${out}`)), 20000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /PLENARY_READY http=(\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: `http://${m[1]}`, output: out });
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  return {
    url,
    /** What the server printed up to its ready line (e.g. the first admin's password). */
    output,
    async stop() {
      proc.kill('SIGINT');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Signs in, in a new page of `browser`, as the admin account the server made at its first
 * start (its password is printed once, in the server's output).
 */
async function signInAdmin(browser, server, newPage) {
  const password = /with the password (\S+)/.exec(server.output)[1];
  const page = await newPage(browser, { logPrefix: 'admin' });
  await page.goto(`${server.url}/signin`);
  await page.fill('#email', 'admin@localhost');
  await page.fill('#password', password);
  await page.click('#submit');
  await page.waitForURL(/\/rooms$/);
  return page;
}

/**
 * Signs up in `page` and then signs in (sign-up itself never signs in: its answer tells
 * nobody whether the address was free).
 */
async function signUp(page, server, name, email, password) {
  await page.goto(`${server.url}/signup`);
  await page.fill('#name', name);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('#submit');
  await page.waitForSelector('#form-notice');
  await page.fill('#password', password);
  await page.click('#submit');
  await page.waitForURL(/\/rooms$/);
}

module.exports = { startServer, signInAdmin, signUp };
