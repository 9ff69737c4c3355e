/**
 * An Express app that already has users and organizations, becoming an OpenID provider for other
 * apps by mounting orgconnect at /oauth.
 *
 *   node --import tsx examples/express-host/server.ts
 *
 * Env: PORT (3000; 0 = any free port), HOST (127.0.0.1), ISSUER (http://HOST:PORT/oauth),
 * RP_CLIENT_ID / RP_CLIENT_SECRET / RP_REDIRECT_URI: the relying party of examples/relying-party.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

import express from 'express';

import { mountOrgconnect } from '../../lib/http/express.js'; // in your app: from 'orgconnect/express'
import { createProvider } from '../../lib/index.js'; // in your app: from 'orgconnect'
import { directory } from '../shared/users.js';
import { relyingPartyApp } from '../shared/relying-party-app.js';

const server = createServer();
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', resolve));
const { address, port } = server.address() as AddressInfo;
const origin = `http://${address}:${port}`;
const issuer = process.env.ISSUER ?? `${origin}/oauth`;

/* The host's own sign-in: a session id in a cookie. */
const sessions = new Map<string, string>();
const sessionUser = (req: IncomingMessage) => {
  const id = /(?:^|;\s*)host_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  return id ? sessions.get(id) : undefined;
};

const orgconnect = await createProvider({
  issuer,
  directory,
  applications: [relyingPartyApp],
  // Users signed in to this app see no second login form at the provider.
  currentUser: (req) => sessionUser(req),
});

const app = express();

// Routes that must win over the provider's are registered before the mount.
app.get('/', async (req, res) => {
  const userId = sessionUser(req);
  const user = userId ? await directory.findUser(userId) : undefined;
  res.type('html').send(
    user
      ? `<p>Signed in to the host as ${user.email}. <a href="/logout">Sign out</a></p>`
      : `<form method="post" action="/login"><input name="email"><input name="password" type="password"><button>Sign in</button></form>`,
  );
});

// The provider: every URL under the issuer (discovery, endpoints, its pages).
mountOrgconnect(app, orgconnect);

// Body parsers after the mount, or on the host's own routes: the provider reads its own bodies.
app.post('/login', express.urlencoded({ extended: false }), async (req, res) => {
  const form = req.body as { email?: string; password?: string };
  const user = await directory.authenticate(String(form.email ?? ''), String(form.password ?? ''));
  if (!user) return void res.status(401).send('Incorrect email or password');
  const id = randomBytes(24).toString('base64url');
  sessions.set(id, user.id);
  res.cookie('host_session', id, { httpOnly: true, sameSite: 'lax', path: '/' });
  res.redirect(303, '/');
});
app.get('/logout', (req, res) => {
  const id = /(?:^|;\s*)host_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  if (id) sessions.delete(id);
  res.clearCookie('host_session', { path: '/' });
  res.redirect(303, '/');
});

server.on('request', app);
console.log(`express-host listening on ${origin} (issuer ${issuer})`);

const stop = async () => {
  server.closeAllConnections();
  server.close();
  await orgconnect.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
