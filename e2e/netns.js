// A network namespace of our own for a browser whose network misbehaves on purpose: joined to
// this one by a veth pair (HOST_IP here, NS_IP inside), with an nftables ruleset inside (UDP
// blocked, say, or a share of it dropped), and a wrapper that starts Debian's Chromium in it.
// Needs root (or passwordless sudo), iproute2 and nftables; the test command installs them.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const SUDO = process.getuid() === 0 ? [] : ['sudo', '-n'];

/** Runs a command as root. */
function run(cmd, args) {
  const [bin, ...rest] = [...SUDO, cmd, ...args];
  return execFileSync(bin, rest, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/**
 * Makes the namespace `plnr-<tag>-<pid>` with `firewall` (an nft ruleset, or none) inside.
 * `subnet` (0–255) keeps two tests' addresses apart. `uplink`, an nft rule, filters what the
 * namespace sends where it arrives on this side (a netdev ingress hook): a packet it drops is
 * lost on the way, silently — a drop in the namespace's own output hook would hand the
 * sender an error, and WebRTC would simply send again. Returns its addresses, a Chromium
 * wrapper for it, and `remove()`.
 */
function makeNamespace(tag, subnet, firewall, { uplink } = {}) {
  const n = process.pid % 250;
  const ns = `plnr-${tag}-${process.pid}`;
  const id = `${tag.slice(0, 2)}${process.pid % 100000}`;
  const hostLink = `${id}h`;
  const nsLink = `${id}n`;
  const hostIp = `10.${subnet}.${n}.1`;
  const nsIp = `10.${subnet}.${n}.2`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `plenary-${tag}-`));
  const table = `plenary_uplink_${id}`;
  const remove = () => {
    try { run('ip', ['netns', 'del', ns]); } catch { /* not there */ }
    try { run('ip', ['link', 'del', hostLink]); } catch { /* gone with the namespace */ }
    try { run('nft', ['delete', 'table', 'netdev', table]); } catch { /* not there */ }
  };
  remove();
  run('ip', ['netns', 'add', ns]);
  run('ip', ['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', nsLink]);
  run('ip', ['link', 'set', nsLink, 'netns', ns]);
  run('ip', ['addr', 'add', `${hostIp}/30`, 'dev', hostLink]);
  run('ip', ['link', 'set', hostLink, 'up']);
  run('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', `${nsIp}/30`, 'dev', nsLink]);
  run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', nsLink, 'up']);
  run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  if (firewall) {
    const rules = path.join(dir, 'firewall.nft');
    fs.writeFileSync(rules, firewall);
    run('ip', ['netns', 'exec', ns, 'nft', '-f', rules]);
  }
  if (uplink) {
    const rules = path.join(dir, 'uplink.nft');
    fs.writeFileSync(rules, `table netdev ${table} {
  chain in { type filter hook ingress device "${hostLink}" priority 0; policy accept; ${uplink}; }
}`);
    run('nft', ['-f', rules]);
  }
  // Playwright talks to the browser over the inherited pipes, which `ip netns exec` keeps.
  const chromium = path.join(dir, 'chromium-in-netns');
  fs.writeFileSync(chromium, `#!/bin/sh\nexec ${SUDO.join(' ')} ip netns exec ${ns} /usr/bin/chromium "$@"\n`, { mode: 0o755 });
  return {
    ns, hostIp, nsIp, chromium,
    remove: () => {
      remove();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A server both sides of `net` reach (listening everywhere; ICE announces the host side's
 * address), a Chromium outside and one inside the namespace, and the admin signed in outside.
 * `env`: more of the server's settings. `close()` closes the browsers and stops the server
 * (the namespace stays: `net.remove()`).
 */
async function meetAcross(net, env = {}) {
  // Required here: netns.js alone (makeNamespace) needs neither.
  const { startServer, signInAdmin } = require('./server.js');
  const { launch, newPage } = require('./webrtc-helpers.js');
  const server = await startServer({ PLENARY_LISTEN: '0.0.0.0:0', PLENARY_PUBLIC_IP: net.hostIp, ...env });
  const hostUrl = server.url.replace('0.0.0.0', '127.0.0.1');
  const { browser: hostBrowser } = await launch();
  // The host side's address is not a secure origin by itself.
  const insideUrl = server.url.replace('0.0.0.0', net.hostIp);
  const { browser: nsBrowser } = await launch([`--unsafely-treat-insecure-origin-as-secure=${insideUrl}`], { executablePath: net.chromium });
  const admin = await signInAdmin(hostBrowser, { ...server, url: hostUrl }, newPage);
  return {
    server, hostUrl, insideUrl, hostBrowser, nsBrowser, admin,
    async close() {
      await nsBrowser.close();
      await hostBrowser.close();
      await server.stop();
    },
  };
}

module.exports = { SUDO, run, makeNamespace, meetAcross };
