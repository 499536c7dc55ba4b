// bbbctl (PyPI, installed into e2e/.venv by the test command): an independent BigBlueButton
// API client, run against a test server.
const { execFile } = require('node:child_process');
const path = require('node:path');

const BBBCTL = process.env.BBBCTL || path.join(__dirname, '.venv', 'bin', 'bbbctl');

/**
 * A function running bbbctl against `server` with `secret`: resolves with its stdout,
 * rejects with its output on failure.
 * @param {() => { url: string }} server the test server (asked at each call: started later)
 * @param {string} secret
 */
function bbbctlFor(server, secret) {
  return (/** @type {string[]} */ ...args) => {
    const env = { ...process.env, BBBCTL_SERVER: `${server().url}/bigbluebutton/api`, BBBCTL_SECRET: secret };
    return new Promise((resolve, reject) => {
      execFile(BBBCTL, args, { env }, (err, stdout, stderr) => {
        if (err) reject(new Error(`bbbctl ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
        else resolve(stdout);
      });
    });
  };
}

module.exports = { bbbctlFor };
