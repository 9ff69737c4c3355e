/**
 * A Koa app that already has users and organizations, becoming an OpenID provider for other apps
 * by mounting orgconnect at /oauth.
 *
 *   node --import tsx examples/koa-host/server.ts
 *
 * Env: PORT (3000; 0 = any free port), HOST (127.0.0.1), ISSUER (http://HOST:PORT/oauth),
 * RP_CLIENT_ID / RP_CLIENT_SECRET / RP_REDIRECT_URI: the relying party of examples/relying-party.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import mount from 'koa-mount';

import { createProvider } from '../../lib/index.js'; // in your app: from 'orgconnect'
import { directory } from '../shared/users.js';
import { relyingPartyApp } from '../shared/relying-party-app.js';

const server = createServer();
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', resolve));
const { address, port } = server.address() as AddressInfo;
const origin = `http://${address}:${port}`;
const issuer = process.env.ISSUER ?? `${origin}/oauth`;
const issuerPath = new URL(issuer).pathname.replace(/\/$/, ''); // '/oauth'

const orgconnect = await createProvider({
  issuer,
  directory,
  applications: [relyingPartyApp],
});

const app = new Koa();
app.keys = [process.env.HOST_COOKIE_KEY ?? randomBytes(32).toString('base64url')]; // the host's own keys

// RFC 8414 clients look for a path issuer's metadata at the root: hand that path to the mount.
app.use(async (ctx, next) => {
  if (ctx.path === `/.well-known/oauth-authorization-server${issuerPath}`) ctx.path = `${issuerPath}/.well-known/oauth-authorization-server`;
  await next();
});

// The provider: every URL under the issuer (discovery, endpoints, its pages). It answers every
// request under /oauth it knows; routes that must win are registered before this line.
app.use(mount(issuerPath, orgconnect.app));

// The host's own routes, with their body parser after the mount.
app.use(bodyParser());
const router = new Router();
router.get('/', (ctx) => {
  ctx.type = 'html';
  ctx.body = `<p>Koa host. Its OpenID provider: <a href="${issuerPath}/.well-known/openid-configuration">discovery</a></p>`;
});
router.post('/api/echo', (ctx) => {
  ctx.body = { received: ctx.request.body };
});
app.use(router.routes());

server.on('request', app.callback());
console.log(`koa-host listening on ${origin} (issuer ${issuer})`);

const stop = async () => {
  server.closeAllConnections();
  server.close();
  await orgconnect.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
