import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Auth } from '@auth/core';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import { expect } from 'chai';
import express from 'express';
import session from 'express-session';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import Koa from 'koa';
import mount from 'koa-mount';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { Strategy as OpenIdClientStrategy } from 'openid-client/passport';
import passport from 'passport';
import OpenIDConnectStrategy from 'passport-openidconnect';

import { metadataPath, mountOrgconnect, oauthMetadataRouter, orgconnectRouter } from '../lib/http/express.js';
import { createProvider, createSeedDirectory, generateSigningKey, type ApplicationInput, type OrgconnectProvider } from '../lib/index.js';
import { TestBrowser, testData, type BrowserPage } from '../lib/testing/index.js';

/*
 * orgconnect embedded in real host apps (Express 5, Express 4, Koa) under /oauth, with four
 * relying-party libraries configured by discovery only completing sign-ins through each host.
 * The browser side is a scripted user agent answering the provider's pages by their forms.
 */

type ExpressFactory = typeof express;
const EXPRESS4 = 'express4'; // `npm:express@4`, untyped: Express 5's types describe it well enough here
const express4 = ((await import(EXPRESS4)) as { default: ExpressFactory }).default;
const expressVersions: Record<string, ExpressFactory> = { 'Express 5': express, 'Express 4': express4 };

interface Listening {
  server: Server;
  origin: string;
}

async function listen(): Promise<Listening> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function close(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** How the host registers things: body parsers after the mount (recommended) or before it. */
interface HostOptions {
  parsersFirst?: boolean;
}

/**
 * A host app: its own routes (`GET /`, `POST /api/echo`, a host route under /oauth registered
 * before the mount), its own session cookie, the provider mounted at /oauth.
 */
type HostFactory = (orgconnect: OrgconnectProvider, options: HostOptions) => RequestListener;

function expressHost(factory: ExpressFactory): HostFactory {
  return (orgconnect, { parsersFirst }) => {
    const app = factory();
    if (parsersFirst) app.use(express.urlencoded({ extended: false }), express.json());
    app.get('/', (_req, res) => {
      res.cookie('host_sid', 'host-session-value', { path: '/', httpOnly: true });
      res.send('host home');
    });
    app.get('/oauth/status', (_req, res) => {
      res.json({ servedBy: 'host' });
    });
    if (factory === express) mountOrgconnect(app, orgconnect);
    else {
      // By hand, as an Express 4 app might: the RFC 8414 route at the root, then the mount.
      app.use(metadataPath(orgconnect), oauthMetadataRouter(orgconnect));
      app.use('/oauth', orgconnectRouter(orgconnect));
    }
    if (!parsersFirst) app.use(express.urlencoded({ extended: false }), express.json());
    app.post('/api/echo', (req, res) => {
      res.json({ body: req.body, cookie: req.headers.cookie ?? '' });
    });
    app.get('/oauth/after-mount', (_req, res) => {
      res.json({ servedBy: 'host' }); // never reached: the provider answers everything under /oauth
    });
    return app as unknown as RequestListener;
  };
}

const koaHost: HostFactory = (orgconnect, { parsersFirst }) => {
  const app = new Koa();
  app.keys = ['host-own-cookie-key-0123456789abcdef'];
  app.silent = true;
  if (parsersFirst) app.use(bodyParser());
  const before = new Router();
  before.get('/oauth/status', (ctx) => {
    ctx.body = { servedBy: 'host' };
  });
  app.use(before.routes());
  // RFC 8414 metadata of a path issuer lives at the root: hand it to the mount as its own route.
  app.use(async (ctx, next) => {
    if (ctx.path === '/.well-known/oauth-authorization-server/oauth') ctx.path = '/oauth/.well-known/oauth-authorization-server';
    await next();
  });
  app.use(mount('/oauth', orgconnect.app));
  if (!parsersFirst) app.use(bodyParser());
  const router = new Router();
  router.get('/', (ctx) => {
    ctx.cookies.set('host_sid', 'host-session-value', { signed: true });
    ctx.body = 'host home';
  });
  router.post('/api/echo', (ctx) => {
    ctx.body = { body: (ctx.request as { body?: unknown }).body, cookie: ctx.get('cookie') };
  });
  router.get('/oauth/after-mount', (ctx) => {
    ctx.body = { servedBy: 'host' }; // reached: under Koa, a path the provider does not know goes on
  });
  app.use(router.routes());
  return app.callback();
};

const HOSTS: Array<{ name: string; factory: HostFactory }> = [
  ...Object.entries(expressVersions).map(([name, factory]) => ({ name, factory: expressHost(factory) })),
  { name: 'Koa', factory: koaHost },
];

/** One signing key and cookie key for every provider of this file: quick starts, no dev-key warnings. */
const secrets = { keys: { jwks: { keys: [await generateSigningKey()] } }, cookies: { keys: [randomBytes(32).toString('base64url')] } };

/* ------------------------------------------------------------------ the scripted user */

interface Script {
  email?: string;
  password?: string;
  organization?: string;
  decision?: 'allow' | 'deny';
}

/** The forms of a page: action (resolved) and whether it points under the issuer's interaction path. */
function forms(html: string, base: string): string[] {
  return [...html.matchAll(/<form[^>]*action="([^"]+)"/g)].map((m) => new URL(m[1]!.replace(/&amp;/g, '&'), base).href);
}

/**
 * Starts at `start` (a URL, or a form to post) and answers the provider's pages until the browser
 * is sent to something starting with `stopAt`. Every page and form must live under `issuer`.
 */
async function completeSignIn(browser: TestBrowser, issuer: string, start: string | { url: string; form: Record<string, string> }, stopAt: string, script: Script) {
  const steps: string[] = [];
  let page: BrowserPage =
    typeof start === 'string' ? await browser.follow(start, { stopAt }) : await browser.follow(start.url, { form: start.form, stopAt });
  while (!page.redirectedTo) {
    if (page.response.status !== 200) throw new Error(`unexpected ${page.response.status} at ${page.url}: ${page.html?.slice(0, 400)}`);
    expect(page.url.startsWith(`${issuer}/interaction/`), page.url).to.equal(true);
    const actions = forms(page.html!, page.url);
    for (const action of actions) expect(action.startsWith(`${issuer}/interaction/`), action).to.equal(true);
    const pick = (suffix: string) => actions.find((a) => a.endsWith(suffix));
    if (pick('/login')) {
      steps.push('login');
      page = await browser.follow(pick('/login')!, { form: { email: script.email!, password: script.password! }, stopAt });
    } else if (pick('/organization')) {
      steps.push('organization');
      page = await browser.follow(pick('/organization')!, { form: { organization_id: script.organization! }, stopAt });
    } else if (pick('/consent')) {
      steps.push('consent');
      page = await browser.follow(pick('/consent')!, { form: { decision: script.decision ?? 'allow' }, stopAt });
    } else {
      throw new Error(`no form to answer at ${page.url}`);
    }
    if (steps.length > 6) throw new Error('too many pages');
  }
  return { steps, redirectedTo: page.redirectedTo };
}

const [alice, bob, carol] = testData.users as [{ email: string; password: string; id: string }, { email: string; password: string; id: string }, { email: string; password: string; id: string }];

/* ------------------------------------------------------------------ relying parties */

const RP_SECRET = 'relying-party-secret-0123456789';

/** An Express relying party with express-session and a Passport strategy; `/me` shows req.user. */
function passportRelyingParty(strategy: passport.Strategy): RequestListener {
  const auth = new passport.Passport();
  auth.use('oidc', strategy);
  auth.serializeUser((user, done) => done(null, user));
  auth.deserializeUser((user: Express.User, done) => done(null, user));
  const app = express();
  app.use(session({ secret: 'rp-session-secret', resave: false, saveUninitialized: false }));
  app.use(auth.initialize());
  app.use(auth.session());
  app.get('/login', auth.authenticate('oidc'));
  app.get('/callback', auth.authenticate('oidc', { successRedirect: '/me', failureRedirect: '/failed', failureMessage: true }));
  app.get('/me', (req, res) => {
    if (!req.user) return void res.status(401).json({ error: 'not signed in' });
    res.json(req.user);
  });
  app.get('/failed', (req, res) => {
    res.status(401).json({ messages: (req.session as { messages?: string[] }).messages ?? [] });
  });
  return app as unknown as RequestListener;
}

/** An @auth/core app behind a plain Node server (the Web Request/Response adapter is all it needs). */
function authJsRelyingParty(issuer: string, clientId: string): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const url = `http://${req.headers.host}${req.url}`;
        if (new URL(url).pathname === '/done') {
          res.end('done');
          return;
        }
        const headers = new Headers();
        for (const [key, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(key, value);
        const request = new Request(url, { method: req.method, headers, body: req.method === 'POST' ? Buffer.concat(chunks) : undefined });
        const response = await Auth(request, {
          secret: 'authjs-secret-0123456789abcdef0123456789',
          trustHost: true,
          basePath: '/auth',
          providers: [{ id: 'orgconnect', name: 'orgconnect', type: 'oidc', issuer, clientId, clientSecret: RP_SECRET }],
          callbacks: {
            jwt({ token, account }) {
              if (account?.access_token) token.org_id = decodeJwt(account.access_token).org_id;
              if (account?.providerAccountId) token.sub = account.providerAccountId;
              return token;
            },
            session({ session, token }) {
              return { ...session, sub: token.sub, org_id: token.org_id };
            },
          },
        });
        res.statusCode = response.status;
        response.headers.forEach((value, key) => {
          if (key !== 'set-cookie') res.setHeader(key, value);
        });
        const cookies = response.headers.getSetCookie();
        if (cookies.length) res.setHeader('set-cookie', cookies);
        res.end(Buffer.from(await response.arrayBuffer()));
      })().catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
  };
}

/* ------------------------------------------------------------------ the suites */

for (const host of HOSTS) {
  describe(`embedding: orgconnect mounted at /oauth in ${host.name}`, () => {
    let site: Listening;
    let issuer: string;
    let orgconnect: OrgconnectProvider;
    const rps: Record<'openidClient' | 'passportOidc' | 'authjs', Listening> = {} as never;
    const PUBLIC_REDIRECT = 'http://127.0.0.1:9/callback'; // oauth4webapi: nothing is ever requested there

    before(async () => {
      site = await listen();
      issuer = `${site.origin}/oauth`;
      rps.openidClient = await listen();
      rps.passportOidc = await listen();
      rps.authjs = await listen();
      const applications: ApplicationInput[] = [
        { application_type: 'oauth', is_first_party: true, name: 'openid-client RP', client_id: 'rp_openid_client', client_secret: RP_SECRET, redirect_uris: [`${rps.openidClient.origin}/callback`] },
        {
          application_type: 'oauth', is_first_party: false, organization_id: 'org_partner', name: 'passport-openidconnect RP',
          client_id: 'rp_passport_oidc', client_secret: RP_SECRET, redirect_uris: [`${rps.passportOidc.origin}/callback`],
        },
        { application_type: 'oauth', is_first_party: true, is_public: true, name: 'oauth4webapi RP', client_id: 'rp_oauth4webapi', redirect_uris: [PUBLIC_REDIRECT] },
        { application_type: 'oauth', is_first_party: true, name: 'Auth.js RP', client_id: 'rp_authjs', client_secret: RP_SECRET, redirect_uris: [`${rps.authjs.origin}/auth/callback/orgconnect`] },
        // The API serving the default audience (the issuer): a resource server may introspect its tokens.
        { application_type: 'm2m', name: 'API', organization_id: 'org_acme', client_id: 'api_introspector', client_secret: RP_SECRET, resource_server: { audiences: [issuer] } },
      ];
      orgconnect = await createProvider({
        ...secrets,
        issuer,
        directory: await createSeedDirectory({ organizations: testData.organizations, users: testData.users }),
        seed: { organizations: testData.organizations },
        applications,
      });
      site.server.on('request', host.factory(orgconnect, {}));

      // Relying parties: configured from the discovery document and nothing else.
      const config = await client.discovery(new URL(issuer), 'rp_openid_client', RP_SECRET, undefined, { execute: [client.allowInsecureRequests] });
      rps.openidClient.server.on(
        'request',
        passportRelyingParty(
          new OpenIdClientStrategy({ config, scope: 'openid profile email', callbackURL: `${rps.openidClient.origin}/callback` }, (tokens, done) => {
            const claims = tokens.claims()!;
            done(null, { sub: claims.sub, email: claims.email, org_id: decodeJwt(tokens.access_token).org_id });
          }),
        ),
      );
      const metadata = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
      rps.passportOidc.server.on(
        'request',
        passportRelyingParty(
          new OpenIDConnectStrategy(
            {
              issuer: metadata.issuer!,
              authorizationURL: metadata.authorization_endpoint!,
              tokenURL: metadata.token_endpoint!,
              userInfoURL: metadata.userinfo_endpoint!,
              clientID: 'rp_passport_oidc',
              clientSecret: RP_SECRET,
              callbackURL: `${rps.passportOidc.origin}/callback`,
              scope: ['profile', 'email'],
            },
            (_issuer: string, profile: passport.Profile, done: (error: null, user: Express.User) => void) => {
              done(null, { id: profile.id, email: profile.emails?.[0]?.value, name: profile.displayName });
            },
          ),
        ),
      );
      rps.authjs.server.on('request', authJsRelyingParty(issuer, 'rp_authjs'));
    });

    after(async () => {
      await Promise.all([site, ...Object.values(rps)].map((l) => close(l?.server)));
      await orgconnect?.close();
    });

    it('serves discovery under /oauth with every endpoint under the issuer, and RFC 8414 metadata beside it', async () => {
      const response = await fetch(`${issuer}/.well-known/openid-configuration`);
      expect(response.status).to.equal(200);
      const metadata = (await response.json()) as Record<string, unknown>;
      expect(metadata.issuer).to.equal(issuer);
      const endpoints = Object.entries(metadata).filter(([key, value]) => (key.endsWith('_endpoint') || key === 'jwks_uri') && typeof value === 'string');
      expect(endpoints.length).to.be.greaterThan(5);
      for (const [key, value] of endpoints) expect(String(value), key).to.match(new RegExp(`^${issuer}/oauth2/`));
      const rfc8414 = (await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
      expect(rfc8414.issuer).to.equal(issuer);
      expect(rfc8414.token_endpoint).to.equal(metadata.token_endpoint);
      expect(rfc8414.authorization_endpoint).to.equal(metadata.authorization_endpoint);
      const jwks = await fetch(String(metadata.jwks_uri));
      expect(jwks.status).to.equal(200);
      expect(((await jwks.json()) as { keys: unknown[] }).keys).to.have.length.greaterThan(0);
    });

    it('keeps redirects, forms, stylesheets and interaction cookies under /oauth', async () => {
      const browser = new TestBrowser();
      const authorize = new URL(`${issuer}/oauth2/authorize`);
      authorize.search = new URLSearchParams({
        client_id: 'rp_openid_client', response_type: 'code', scope: 'openid', redirect_uri: `${rps.openidClient.origin}/callback`, state: 'st',
      }).toString();
      const first = await browser.request(authorize);
      expect(first.status).to.be.oneOf([302, 303]);
      const location = new URL(first.headers.get('location')!, authorize).href;
      expect(location.startsWith(`${issuer}/interaction/`), location).to.equal(true);
      for (const cookie of first.headers.getSetCookie()) {
        const path = /;\s*path=([^;]+)/i.exec(cookie)?.[1];
        expect(path, cookie).to.match(/^\/oauth\//);
      }
      const page = await browser.follow(location);
      expect(page.response.status).to.equal(200);
      for (const action of forms(page.html!, location)) expect(action.startsWith(`${issuer}/interaction/`), action).to.equal(true);
      const stylesheets = [...page.html!.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)].map((m) => new URL(m[1]!.replace(/&amp;/g, '&'), location).href);
      expect(stylesheets).to.have.length.greaterThan(0);
      for (const href of stylesheets) {
        expect(href.startsWith(`${issuer}/assets/`), href).to.equal(true);
        const css = await fetch(href);
        expect(css.status, href).to.equal(200);
        expect(css.headers.get('content-type')).to.match(/text\/css/);
      }
    });

    it('openid-client/passport signs a two-organization user in through the mount', async () => {
      const browser = new TestBrowser();
      const rp = rps.openidClient.origin;
      const { steps } = await completeSignIn(browser, issuer, `${rp}/login`, `${rp}/me`, { ...alice, organization: 'org_globex' });
      expect(steps).to.deep.equal(['login', 'organization']);
      const me = await browser.request(`${rp}/me`);
      expect(me.status).to.equal(200);
      expect(await me.json()).to.deep.equal({ sub: alice.id, email: alice.email, org_id: 'org_globex' });
    });

    it('passport-openidconnect signs a user in to a third-party app (login, consent)', async () => {
      const browser = new TestBrowser();
      const rp = rps.passportOidc.origin;
      const { steps } = await completeSignIn(browser, issuer, `${rp}/login`, `${rp}/me`, { ...bob, decision: 'allow' });
      expect(steps).to.deep.equal(['login', 'consent']);
      const me = await browser.request(`${rp}/me`);
      expect(me.status).to.equal(200);
      expect(await me.json()).to.deep.equal({ id: bob.id, email: bob.email, name: 'Bob Builder' });
    });

    for (const algorithm of ['oidc', 'oauth2'] as const) {
      it(`oauth4webapi (public client, PKCE, ${algorithm} discovery) gets tokens, userinfo and a verified JWT`, async () => {
        const issuerUrl = new URL(issuer);
        let as: oauth.AuthorizationServer;
        if (algorithm === 'oidc') {
          as = await oauth.processDiscoveryResponse(issuerUrl, await oauth.discoveryRequest(issuerUrl, { algorithm, [oauth.allowInsecureRequests]: true }));
        } else {
          // RFC 8414 puts a path issuer's metadata at the host's root: /.well-known/oauth-authorization-server/oauth.
          as = await oauth.processDiscoveryResponse(issuerUrl, await oauth.discoveryRequest(issuerUrl, { algorithm, [oauth.allowInsecureRequests]: true }));
        }
        const rpClient: oauth.Client = { client_id: 'rp_oauth4webapi' };
        const verifier = oauth.generateRandomCodeVerifier();
        const state = oauth.generateRandomState();
        const nonce = oauth.generateRandomNonce();
        const url = new URL(as.authorization_endpoint!);
        url.search = new URLSearchParams({
          client_id: rpClient.client_id, redirect_uri: PUBLIC_REDIRECT, response_type: 'code', scope: 'openid email', state, nonce,
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
        }).toString();
        const { steps, redirectedTo } = await completeSignIn(new TestBrowser(), issuer, url.href, PUBLIC_REDIRECT, { ...alice, organization: 'org_acme' });
        expect(steps).to.deep.equal(['login', 'organization']);
        const params = oauth.validateAuthResponse(as, rpClient, new URL(redirectedTo), state);
        const response = await oauth.authorizationCodeGrantRequest(as, rpClient, oauth.None(), params, PUBLIC_REDIRECT, verifier, { [oauth.allowInsecureRequests]: true });
        const tokens = await oauth.processAuthorizationCodeResponse(as, rpClient, response, { expectedNonce: nonce, requireIdToken: true });
        const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(as.jwks_uri!)), { issuer, audience: issuer, typ: 'at+jwt' });
        expect(payload).to.include({ sub: alice.id, org_id: 'org_acme', client_id: 'rp_oauth4webapi' });
        const info = await oauth.processUserInfoResponse(
          as, rpClient, alice.id,
          await oauth.userInfoRequest(as, rpClient, tokens.access_token, { [oauth.allowInsecureRequests]: true }),
        );
        expect(info).to.include({ sub: alice.id, email: alice.email });

        // An API (an M2M app, resource server of the token's audience) introspects the token; the app revokes it.
        const api: oauth.Client = { client_id: 'api_introspector' };
        const introspect = async () =>
          oauth.processIntrospectionResponse(
            as, api,
            await oauth.introspectionRequest(as, api, oauth.ClientSecretBasic(RP_SECRET), tokens.access_token, { [oauth.allowInsecureRequests]: true }),
          );
        expect(await introspect()).to.include({ active: true, sub: alice.id, org_id: 'org_acme' });
        const revoked = await oauth.revocationRequest(as, rpClient, oauth.None(), tokens.access_token, { [oauth.allowInsecureRequests]: true });
        await oauth.processRevocationResponse(revoked);
        expect((await introspect()).active).to.equal(false);
      });
    }

    it('@auth/core signs a user without an organization in and keeps the session', async () => {
      const browser = new TestBrowser();
      const rp = rps.authjs.origin;
      const csrf = (await (await browser.request(`${rp}/auth/csrf`)).json()) as { csrfToken: string };
      const { steps } = await completeSignIn(
        browser, issuer,
        { url: `${rp}/auth/signin/orgconnect`, form: { csrfToken: csrf.csrfToken, callbackUrl: `${rp}/done` } },
        `${rp}/done`, carol,
      );
      expect(steps).to.deep.equal(['login']);
      const sessionResponse = await browser.request(`${rp}/auth/session`);
      const current = (await sessionResponse.json()) as { user?: { email?: string; name?: string }; sub?: string; org_id?: string };
      expect(current.user).to.include({ email: carol.email, name: 'Carol King' });
      expect(current.sub).to.equal(carol.id);
      expect(current.org_id).to.equal(undefined);
    });

    it("leaves the host's own routes, bodies and cookies alone, and a host route registered before the mount wins", async () => {
      const browser = new TestBrowser();
      expect(await (await browser.request(`${site.origin}/`)).text()).to.equal('host home');
      const echo = await browser.request(`${site.origin}/api/echo`, { form: { note: 'kept', organization_id: 'not-for-the-provider' } });
      expect(echo.status).to.equal(200);
      const echoed = (await echo.json()) as { body: Record<string, string>; cookie: string };
      expect(echoed.body).to.deep.equal({ note: 'kept', organization_id: 'not-for-the-provider' });
      expect(echoed.cookie).to.include('host_sid=host-session-value');
      const json = await fetch(`${site.origin}/api/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: [1, 2] }) });
      expect(((await json.json()) as { body: unknown }).body).to.deep.equal({ a: [1, 2] });
      const status = await fetch(`${issuer}/status`);
      expect(await status.json()).to.deep.equal({ servedBy: 'host' });
      const after = await fetch(`${issuer}/after-mount`);
      if (host.name === 'Koa') expect(await after.json()).to.deep.equal({ servedBy: 'host' });
      else expect(after.status).to.equal(404);
      // The host's cookie rides along through a whole sign-in without disturbing it.
      const rp = rps.openidClient.origin;
      const { steps } = await completeSignIn(browser, issuer, `${rp}/login`, `${rp}/me`, bob);
      expect(steps).to.deep.equal(['login']);
      expect(browser.jar.all().find((c) => c.name === 'host_sid')?.value).to.equal('host-session-value');
    });
  });

  describe(`embedding: ${host.name} host with body parsers registered before the mount`, () => {
    let site: Listening;
    let issuer: string;
    let orgconnect: OrgconnectProvider;
    const REDIRECT = 'http://127.0.0.1:9/callback';

    before(async () => {
      site = await listen();
      issuer = `${site.origin}/oauth`;
      orgconnect = await createProvider({
        ...secrets,
        issuer,
        directory: await createSeedDirectory({ organizations: testData.organizations, users: testData.users }),
        seed: { organizations: testData.organizations },
        applications: [
          { application_type: 'oauth', is_first_party: false, organization_id: 'org_partner', name: 'Partner', client_id: 'partner', client_secret: RP_SECRET, redirect_uris: [REDIRECT] },
        ],
      });
      site.server.on('request', host.factory(orgconnect, { parsersFirst: true }));
    });
    after(async () => {
      await close(site?.server);
      await orgconnect?.close();
    });

    it('still signs in (login, organization, consent forms), exchanges the code, introspects and revokes', async () => {
      const config = await client.discovery(new URL(issuer), 'partner', RP_SECRET, undefined, { execute: [client.allowInsecureRequests] });
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT, scope: 'openid email', state,
        code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      });
      const { steps, redirectedTo } = await completeSignIn(new TestBrowser(), issuer, url.href, REDIRECT, { ...alice, organization: 'org_globex' });
      expect(steps).to.deep.equal(['login', 'organization', 'consent']);
      const tokens = await client.authorizationCodeGrant(config, new URL(redirectedTo), { pkceCodeVerifier: verifier, expectedState: state });
      expect(decodeJwt(tokens.access_token)).to.include({ sub: alice.id, org_id: 'org_globex' });
      expect(await client.tokenIntrospection(config, tokens.access_token)).to.include({ active: true, org_id: 'org_globex' });
      await client.tokenRevocation(config, tokens.access_token);
      expect((await client.tokenIntrospection(config, tokens.access_token)).active).to.equal(false);
    });

    it("gives the host's routes their parsed bodies", async () => {
      const echo = await fetch(`${site.origin}/api/echo`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=two' });
      expect(((await echo.json()) as { body: unknown }).body).to.deep.equal({ a: '1', b: 'two' });
    });
  });

  describe(`embedding: ${host.name} host behind a TLS-terminating proxy (proxy: true)`, () => {
    let site: Listening;
    let orgconnect: OrgconnectProvider;
    const issuer = 'https://id.example.com/oauth';
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'id.example.com', 'x-forwarded-for': '203.0.113.9' };
    const seenIps: string[] = [];

    before(async () => {
      site = await listen();
      orgconnect = await createProvider({
        ...secrets,
        issuer,
        proxy: true,
        directory: await createSeedDirectory({ organizations: testData.organizations, users: testData.users }),
        seed: { organizations: testData.organizations },
        applications: [{ application_type: 'oauth', is_first_party: true, name: 'Web', client_id: 'web', client_secret: RP_SECRET, redirect_uris: ['https://app.example.com/callback'] }],
      });
      orgconnect.provider.on('interaction.started', (ctx: { ip: string }) => seenIps.push(ctx.ip));
      site.server.on('request', host.factory(orgconnect, {}));
    });
    after(async () => {
      await close(site?.server);
      await orgconnect?.close();
    });

    it('issues https URLs for the forwarded host, sees the client IP and marks cookies Secure', async () => {
      const discovery = await fetch(`${site.origin}/oauth/.well-known/openid-configuration`, { headers: forwarded });
      const metadata = (await discovery.json()) as Record<string, string>;
      expect(metadata.issuer).to.equal(issuer);
      expect(metadata.authorization_endpoint).to.equal(`${issuer}/oauth2/authorize`);
      expect(metadata.token_endpoint).to.equal(`${issuer}/oauth2/token`);
      expect(metadata.jwks_uri).to.equal(`${issuer}/oauth2/jwks`);

      const query = new URLSearchParams({ client_id: 'web', response_type: 'code', scope: 'openid', redirect_uri: 'https://app.example.com/callback', state: 's' });
      const response = await fetch(`${site.origin}/oauth/oauth2/authorize?${query}`, { headers: forwarded, redirect: 'manual' });
      expect(response.status).to.be.oneOf([302, 303]);
      expect(new URL(response.headers.get('location')!, issuer).href.startsWith(`${issuer}/interaction/`)).to.equal(true);
      const cookies = response.headers.getSetCookie();
      expect(cookies.length).to.be.greaterThan(0);
      for (const cookie of cookies) expect(cookie.toLowerCase(), cookie).to.include('; secure');
      expect(seenIps).to.deep.equal(['203.0.113.9']);
    });
  });
}

describe('embedding: orgconnect/express helpers', () => {
  it('refuses to mount at a path other than the issuer’s, and mounts at the issuer’s path by default', async () => {
    const orgconnect = await createProvider({ ...secrets, issuer: 'http://127.0.0.1:1/oauth' });
    try {
      const app = express();
      expect(() => mountOrgconnect(app, orgconnect, '/auth')).to.throw(/mounted at "\/auth" but its issuer .* has the path "\/oauth"/);
      const used: string[] = [];
      mountOrgconnect({ use: (path: string) => void used.push(path) }, orgconnect);
      expect(used).to.deep.equal(['/.well-known/oauth-authorization-server/oauth', '/oauth']);

      // A router mounted by hand at the wrong path answers through Express's error handling.
      const { server, origin } = await listen();
      const wrong = express();
      wrong.use('/elsewhere', orgconnectRouter(orgconnect));
      wrong.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        res.status(500).send(error.message);
      });
      server.on('request', wrong);
      const response = await fetch(`${origin}/elsewhere/.well-known/openid-configuration`);
      expect(response.status).to.equal(500);
      expect(await response.text()).to.match(/mounted at "\/elsewhere"/);
      await close(server);
    } finally {
      await orgconnect.close();
    }
  });
});
