import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { expect } from 'chai';
import express from 'express';
import { decodeJwt } from 'jose';
import Koa from 'koa';
import mount from 'koa-mount';

import { mountOrgconnect } from '../lib/http/express.js';
import { createProvider, type CurrentUser, type OrgconnectProvider } from '../lib/index.js';
import { demoSeed } from './helpers/provider.js';
import { DEMO, discover, signIn } from './helpers/relying-party.js';
import { UserAgent } from './helpers/user-agent.js';

/*
 * The provider session follows the host's user (currentUser), in an Express host and a Koa host:
 * user A signs in to the host and to a relying party, signs out of the host, user B signs in to
 * the host; B's next sign-in at the relying party must be B's, never A's.
 */

interface Host {
  origin: string;
  orgconnect: OrgconnectProvider;
  /** Signs the browser in to the host as this user (undefined: signs it out). */
  signInToHost(agent: UserAgent, userId: string | undefined): Promise<void>;
  close(): Promise<void>;
}

async function listening(handler: (req: IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<{ server: Server; origin: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** Express: the host's session is a cookie naming a server-side session (a Map here). */
async function expressHost(): Promise<Host> {
  const sessions = new Map<string, string>();
  const sessionUser = (req: IncomingMessage) => sessions.get(/(?:^|;\s*)host_sid=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] ?? '');
  const app = express();
  const { server, origin } = await listening(app);
  const orgconnect = await createProvider({ issuer: `${origin}/oauth`, seed: demoSeed, currentUser: (req) => sessionUser(req) });
  app.get('/host/login', (req, res) => {
    const sid = `sid-${Math.random().toString(36).slice(2)}`;
    if (typeof req.query.user === 'string') sessions.set(sid, req.query.user);
    res.setHeader('set-cookie', `host_sid=${sid}; Path=/; HttpOnly`);
    res.end('ok');
  });
  app.get('/host/logout', (_req, res) => res.redirect(orgconnect.logoutUrl({ returnTo: '/host/signed-out' })));
  mountOrgconnect(app, orgconnect);
  return {
    origin,
    orgconnect,
    async signInToHost(agent, userId) {
      await agent.request(`${origin}/host/login${userId ? `?user=${userId}` : ''}`);
    },
    async close() {
      await closeServer(server);
      await orgconnect.close();
    },
  };
}

/** Koa: the host's user is in a cookie signed with the host's own keys, read from `ctx` (as koa-session would). */
async function koaHost(): Promise<Host> {
  const app = new Koa();
  app.keys = ['the-host-app-own-cookie-signing-key'];
  // Koa composes its middleware when callback() is called: ask for it per request, once all is added.
  let handler: ReturnType<Koa['callback']> | undefined;
  const { server, origin } = await listening((req, res) => (handler ??= app.callback())(req, res));
  const currentUser: CurrentUser = (_req, _res, ctx) => ctx.cookies.get('host_user', { signed: true });
  const orgconnect = await createProvider({ issuer: `${origin}/oauth`, seed: demoSeed, currentUser });
  app.use(async (ctx, next) => {
    if (ctx.path === '/host/login') {
      const user = typeof ctx.query.user === 'string' ? ctx.query.user : '';
      ctx.cookies.set('host_user', user || null, { signed: true });
      ctx.body = 'ok';
      return;
    }
    if (ctx.path === '/host/logout') return ctx.redirect(orgconnect.logoutUrl({ returnTo: '/host/signed-out' }));
    await next();
  });
  app.use(mount('/oauth', orgconnect.app));
  return {
    origin,
    orgconnect,
    async signInToHost(agent, userId) {
      await agent.request(`${origin}/host/login${userId ? `?user=${userId}` : ''}`);
    },
    async close() {
      await closeServer(server);
      await orgconnect.close();
    },
  };
}

for (const [name, start] of [['Express', expressHost], ['Koa', koaHost]] as const) {
  describe(`the provider session follows the host's user [${name} host]`, () => {
    let host: Host;
    before(async () => {
      host = await start();
    });
    after(() => host?.close());

    const rp = async () => discover(host.orgconnect.issuer, DEMO.portal.clientId, DEMO.portal.secret);

    it('A then B in one browser: B gets B, silently; prompt=none after the host signs out is login_required, never A', async () => {
      const agent = new UserAgent();
      await host.signInToHost(agent, DEMO.alice.id);
      const first = await signIn(await rp(), DEMO.portal.redirectUri, { agent, organizationId: 'org_acme' });
      expect(first.seen).to.deep.equal(['organization']);
      expect(decodeJwt(first.tokens!.id_token!).sub).to.equal(DEMO.alice.id);

      await host.signInToHost(agent, undefined);
      await host.signInToHost(agent, DEMO.bob.id);
      const second = await signIn(await rp(), DEMO.portal.redirectUri, { agent });
      expect(second.seen, 'no page for the host user').to.deep.equal([]);
      expect(decodeJwt(second.tokens!.id_token!).sub).to.equal(DEMO.bob.id);

      await host.signInToHost(agent, undefined);
      const silent = await signIn(await rp(), DEMO.portal.redirectUri, { agent, extraParams: { prompt: 'none' } });
      expect(silent.callback.searchParams.get('error')).to.equal('login_required');
      // and with a page: the login form, as without a host session
      const shown = await signIn(await rp(), DEMO.portal.redirectUri, { agent, ...DEMO.carol });
      expect(shown.seen).to.deep.equal(['login']);
      expect(decodeJwt(shown.tokens!.id_token!).sub).to.equal(DEMO.carol.id);
    });

    it('a session started with the login form is the provider\'s own: kept while nobody is signed in to the host', async () => {
      const agent = new UserAgent();
      await signIn(await rp(), DEMO.portal.redirectUri, { agent, ...DEMO.bob });
      const again = await signIn(await rp(), DEMO.portal.redirectUri, { agent, extraParams: { prompt: 'none' } });
      expect(decodeJwt(again.tokens!.id_token!).sub).to.equal(DEMO.bob.id);
      // ...but another host user replaces it
      await host.signInToHost(agent, DEMO.carol.id);
      const replaced = await signIn(await rp(), DEMO.portal.redirectUri, { agent });
      expect(replaced.seen).to.deep.equal([]);
      expect(decodeJwt(replaced.tokens!.id_token!).sub).to.equal(DEMO.carol.id);
    });

    it('the host logout URL ends the provider session and comes back; a forged or expired one is refused', async () => {
      const agent = new UserAgent();
      await signIn(await rp(), DEMO.portal.redirectUri, { agent, ...DEMO.bob });
      const out = await agent.follow(`${host.origin}/host/logout`, `${host.origin}/host/signed-out`);
      expect(out.url).to.equal(`${host.origin}/host/signed-out`);
      const after = await signIn(await rp(), DEMO.portal.redirectUri, { agent, extraParams: { prompt: 'none' } });
      expect(after.callback.searchParams.get('error')).to.equal('login_required');

      const url = new URL(host.orgconnect.logoutUrl({ returnTo: '/x' }));
      url.searchParams.set('return_to', 'https://evil.example/');
      expect((await fetch(url, { redirect: 'manual' })).status).to.equal(400);
      url.searchParams.set('return_to', `${host.origin}/x`);
      url.searchParams.set('exp', '1000');
      expect((await fetch(url, { redirect: 'manual' })).status).to.equal(400);
      expect(() => host.orgconnect.logoutUrl({ returnTo: 'https://evil.example/' })).to.throw(/origin/);
    });

    it('tells apps with a backchannel_logout_uri when the host logout ends the session', async () => {
      const received: string[] = [];
      const rpServer = await listening((req, res) => {
        let body = '';
        req.on('data', (chunk) => (body += chunk));
        req.on('end', () => {
          received.push(new URLSearchParams(body).get('logout_token') ?? '');
          res.statusCode = 200;
          res.end();
        });
      });
      try {
        const app = await host.orgconnect.applications.create({
          application_type: 'oauth',
          name: 'Back-channel RP',
          is_first_party: true,
          redirect_uris: ['http://localhost:5012/callback'],
          backchannel_logout_uri: `${rpServer.origin}/backchannel`,
        });
        const agent = new UserAgent();
        const config = await discover(host.orgconnect.issuer, app.client_id, app.client_secret);
        await signIn(config, 'http://localhost:5012/callback', { agent, ...DEMO.bob });
        await agent.follow(`${host.origin}/host/logout`, `${host.origin}/host/signed-out`);
        expect(received).to.have.length(1);
        const token = decodeJwt(received[0]!);
        expect(token).to.include({ sub: DEMO.bob.id, aud: app.client_id, iss: host.orgconnect.issuer });
        expect(token.events).to.have.property('http://schemas.openid.net/event/backchannel-logout');
      } finally {
        await closeServer(rpServer.server);
      }
    });

    it('keeps its cookies under the issuer path, with its own prefix', async () => {
      const agent = new UserAgent();
      await signIn(await rp(), DEMO.portal.redirectUri, { agent, ...DEMO.bob });
      const cookies = await agent.jar.getCookies(`${host.origin}/oauth/oauth2/authorize`);
      const session = cookies.find((c) => c.key === 'orgconnect_session');
      expect(session, cookies.map((c) => c.key).join()).to.exist;
      expect(session!.path).to.equal('/oauth');
      expect((await agent.jar.getCookies(`${host.origin}/`)).map((c) => c.key)).not.to.include('orgconnect_session');
    });
  });
}

describe('cookies, addresses and proxies', () => {
  it('two products mounted in one Express process keep their own sessions', async () => {
    const app = express();
    const { server, origin } = await listening(app);
    const products = await Promise.all(['alpha', 'beta'].map((name) => createProvider({ issuer: `${origin}/${name}`, seed: demoSeed })));
    for (const product of products) mountOrgconnect(app, product);
    try {
      const agent = new UserAgent();
      const [alpha, beta] = await Promise.all(products.map((p) => discover(p.issuer, DEMO.portal.clientId, DEMO.portal.secret)));
      await signIn(alpha!, DEMO.portal.redirectUri, { agent, ...DEMO.bob });
      await signIn(beta!, DEMO.portal.redirectUri, { agent, ...DEMO.carol });
      // a host cookie called like oidc-provider's default does not get in the way either
      await agent.jar.setCookie('_session=host-value; Path=/', `${origin}/`);
      const again = await signIn(alpha!, DEMO.portal.redirectUri, { agent, extraParams: { prompt: 'none' } });
      expect(again.callback.searchParams.get('error')).to.equal(null);
      expect(decodeJwt(again.tokens!.id_token!).sub).to.equal(DEMO.bob.id);
    } finally {
      await closeServer(server);
      await Promise.all(products.map((p) => p.close()));
    }
  });

  it('builds redirects from the configured issuer, not from the Host the request came in on', async () => {
    const front = await listening((_req, res) => res.end());
    const back = await listening((_req, res) => res.end());
    const orgconnect = await createProvider({ issuer: front.origin, seed: demoSeed });
    back.server.removeAllListeners('request');
    back.server.on('request', orgconnect.callback());
    try {
      const agent = new UserAgent();
      const url = `${back.origin}/oauth2/authorize?client_id=${DEMO.portal.clientId}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(DEMO.portal.redirectUri)}`;
      const page = await agent.follow(url, DEMO.portal.redirectUri);
      const login = /action="([^"]+\/login)"/.exec(page.html ?? '')![1]!;
      const response = await agent.request(new URL(login, back.origin).href, { form: { email: DEMO.bob.email, password: DEMO.bob.password } });
      expect(response.status).to.equal(303);
      expect(response.headers.get('location')).to.match(new RegExp(`^${front.origin}/`));
    } finally {
      await Promise.all([closeServer(front.server), closeServer(back.server)]);
      await orgconnect.close();
    }
  });

  it('behind a proxy, the login throttle keys on the address the trusted hop saw, not on a client-written X-Forwarded-For', async () => {
    const app = await listening((_req, res) => res.end());
    const orgconnect = await createProvider({ issuer: app.origin, seed: demoSeed, proxy: true, proxyHops: 1, loginThrottle: { perAccount: 100, perIp: 3, windowSeconds: 60 } });
    app.server.removeAllListeners('request');
    app.server.on('request', orgconnect.callback());
    try {
      const attempt = async (i: number) => {
        const agent = new UserAgent();
        const url = `${app.origin}/oauth2/authorize?client_id=${DEMO.portal.clientId}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(DEMO.portal.redirectUri)}`;
        const page = await agent.follow(url, DEMO.portal.redirectUri);
        const login = new URL(/action="([^"]+\/login)"/.exec(page.html ?? '')![1]!, app.origin).href;
        // the client writes a new leftmost entry every time; the proxy appends the address it saw
        const headers = { 'x-forwarded-for': `198.51.100.${i}, 203.0.113.7` };
        return (await agent.request(login, { form: { email: `nobody${i}@example.com`, password: 'wrong' }, headers })).status;
      };
      expect([await attempt(1), await attempt(2), await attempt(3), await attempt(4)]).to.deep.equal([401, 401, 401, 429]);
    } finally {
      await closeServer(app.server);
      await orgconnect.close();
    }
  });
});
