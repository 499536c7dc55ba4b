// A TCP proxy in front of the server, so that a test can cut a page's connections the way a
// network does (both directions dropped at once, no close handshake) and keep new ones out
// for a while.
const net = require('node:net');

/** Starts a proxy to `target` (`http://host:port`); resolves to {url, cut, close}. */
async function startProxy(target) {
  const { hostname, port } = new URL(target);
  const sockets = new Set();
  let refuseUntil = 0;
  const server = net.createServer((client) => {
    if (Date.now() < refuseUntil) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port: own } = /** @type {net.AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${own}`,
    /** Drops every open connection (a reset, as a network outage would) and refuses new ones for `refuseMs`. */
    cut(refuseMs = 0) {
      refuseUntil = Date.now() + refuseMs;
      for (const s of sockets) s.resetAndDestroy();
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

module.exports = { startProxy };
