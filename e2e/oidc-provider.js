// A real OpenID Connect provider for the tests: `oidc-provider` (npm), with one confidential
// client and test people whose `groups` claims exercise Plenary's mapping rules. Its built-in
// development sign-in pages accept any password for a known login.
const net = require('node:net');

/** The people the provider knows: login → claims. */
const PEOPLE = {
  alice: { name: 'Alice Admin', email: 'alice@social.coop', email_verified: true, groups: ['/social.coop', '/social.coop/admins'] },
  bob: { name: 'Bob Member', email: 'bob@social.coop', email_verified: true, groups: ['/social.coop'] },
  carol: { name: 'Carol Router', email: 'carol@radicalroutes.org.uk', email_verified: true, groups: [] },
  dave: { name: 'Dave Elsewhere', email: 'dave@elsewhere.example', email_verified: true, groups: [] },
  erin: { name: 'Erin Owner', email: 'erin@social.coop', email_verified: true, groups: ['/social.coop'] },
};

const CLIENT_ID = 'plenary';
const CLIENT_SECRET = 'test-client-secret-0123456789abcdef';

/** A TCP port nobody listens on right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts a provider at http://127.0.0.1:<port>. With `tamper`, it corrupts the signature of
 * every ID token it hands out (a provider returning a bad token).
 */
async function startProvider({ port, redirectUris, tamper = false }) {
  const { default: Provider } = await import('oidc-provider');
  const issuer = `http://127.0.0.1:${port}`;
  const people = new Map(Object.entries(PEOPLE));
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: redirectUris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
    }],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    // As Keycloak does: the profile claims in the ID token too (Plenary also asks userinfo).
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    cookies: { keys: ['plenary-test-cookie-key'] },
    async findAccount(ctx, id) {
      const claims = people.get(id);
      if (!claims) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...claims }; } };
    },
  });
  if (tamper) {
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.path === '/token' && ctx.body && typeof ctx.body.id_token === 'string') {
        const [h, p, sig] = ctx.body.id_token.split('.');
        const flipped = (sig[5] === 'A' ? 'B' : 'A');
        ctx.body = { ...ctx.body, id_token: `${h}.${p}.${sig.slice(0, 5)}${flipped}${sig.slice(6)}` };
      }
    });
  }
  const server = await new Promise((resolve) => {
    const s = provider.listen(port, '127.0.0.1', () => resolve(s));
  });
  return {
    issuer,
    async stop() {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}

module.exports = { startProvider, freePort, PEOPLE, CLIENT_ID, CLIENT_SECRET };
