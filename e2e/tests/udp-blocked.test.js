// When UDP is blocked, media falls back to TCP: a Chromium runs in a network namespace whose
// firewall (nftables) drops every UDP packet, and meets a Chromium outside it. Its media must
// flow both ways over ICE-TCP to the media port. Needs root (or sudo), iproute2 and nftables;
// the test command installs them.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const dgram = require('node:dgram');
const path = require('node:path');
const { newPage, waitFirstMedia, assertFlowing, inboundStats } = require('../webrtc-helpers.js');
const { ARTIFACTS, createRoomAs, join } = require('../meeting-helpers.js');
const { SUDO, run, makeNamespace, meetAcross } = require('../netns.js');

const PC = 'window.plenary.pc';
// Inside the namespace: drop UDP both ways; TCP (HTTP, WebSocket, ICE-TCP) passes.
const FIREWALL = `table inet plenary_test {
  chain out { type filter hook output priority 0; policy accept; meta l4proto udp drop; }
  chain in { type filter hook input priority 0; policy accept; meta l4proto udp drop; }
}`;

let server;
let hostBrowser;
let nsBrowser;
let admin;
let net;
let across;
let HOST_IP;
let NS;

before(async () => {
  net = makeNamespace('udp', 215, FIREWALL);
  ({ hostIp: HOST_IP, ns: NS } = net);
  // The outside page uses 127.0.0.1, the inside one HOST_IP; ICE candidates (UDP and TCP, one
  // port) announce HOST_IP, which both sides can reach.
  across = await meetAcross(net);
  ({ server, hostBrowser, nsBrowser, admin } = across);
});

after(async () => {
  await across?.close();
  net?.remove();
});

test('the firewall inside the namespace drops UDP (and lets TCP through)', async () => {
  // A UDP datagram sent from inside to a socket outside never arrives.
  const sock = dgram.createSocket('udp4');
  await new Promise((r) => sock.bind(0, HOST_IP, r));
  let got = 0;
  sock.on('message', () => { got += 1; });
  const send = `require('dgram').createSocket('udp4').send('x', ${sock.address().port}, '${HOST_IP}', (e) => process.exit(e ? 1 : 0))`;
  for (let i = 0; i < 5; i++) {
    const child = spawn(SUDO[0] || 'ip', [...SUDO.slice(1), ...(SUDO.length ? ['ip'] : []), 'netns', 'exec', NS, process.execPath, '-e', send], { stdio: 'ignore' });
    await new Promise((r) => child.on('exit', r));
  }
  await new Promise((r) => setTimeout(r, 500));
  sock.close();
  assert.equal(got, 0, 'UDP got through the namespace firewall');
  // TCP does: the inside reaches the server's HTTP port.
  const port = new URL(server.url).port;
  const out = run('ip', ['netns', 'exec', NS, process.execPath, '-e',
    `fetch('http://${HOST_IP}:${port}/').then(r => console.log(r.status))`]);
  assert.equal(out.trim(), '200');
});

test('with UDP blocked, a browser meets others over ICE-TCP on the media port, media both ways', async () => {
  const hostUrl = server.url.replace('0.0.0.0', '127.0.0.1');
  const link = await createRoomAs(admin, { url: hostUrl }, 'Behind a firewall');
  const outside = await newPage(hostBrowser, { logPrefix: 'outside' });
  const inside = await newPage(nsBrowser, { logPrefix: 'inside' });
  await join(outside, link, 'Olga Outside');
  const t0 = Date.now();
  await join(inside, link.replace('127.0.0.1', HOST_IP).replace('0.0.0.0', HOST_IP), 'Ivan Inside');

  const first = await waitFirstMedia([inside, outside], PC, 1, 30000);
  console.log(`behind the UDP block: join to media both ways ${Date.now() - t0} ms (${first.ms} ms after the join returned)`);
  const flow = await assertFlowing([inside, outside], PC, 1, 3000);
  console.table(flow.rows);
  assert.ok(flow.ok, `media not flowing both ways: ${JSON.stringify(flow.rows)}`);

  const insideStats = await inboundStats(inside, PC);
  const outsideStats = await inboundStats(outside, PC);
  assert.equal(insideStats.pairProtocol, 'tcp', `inside's pair: ${insideStats.pair}`);
  assert.equal(outsideStats.pairProtocol, 'udp', `outside's pair: ${outsideStats.pair}`);
  const metrics = await (await fetch(`${hostUrl}/metrics`)).text();
  assert.match(metrics, /^plenary_media_tcp_connections [1-9]/m);
  await inside.screenshot({ path: path.join(ARTIFACTS, 'udp-blocked-tcp.png') });
  for (const p of [inside, outside]) await p.context().close();
});
