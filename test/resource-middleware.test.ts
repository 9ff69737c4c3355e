import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Router } from '@koa/router';
import { expect } from 'chai';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { importJWK, SignJWT, type JWK } from 'jose';

import { generateSigningKey } from '../lib/index.js';
import Koa from 'koa';
import * as oidc from 'openid-client';
import request from 'supertest';

import { createVerifier, type AccessTokenVerifier, type VerifiedAccessToken } from '../lib/resource/index.js';
import * as forExpress from '../lib/resource/express.js';
import * as forKoa from '../lib/resource/koa.js';
import { startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO, discover, signIn } from './helpers/relying-party.js';

const API = 'https://api.example.test';
const METADATA_URL = `${API}/.well-known/oauth-protected-resource`;
const SCOPES = ['orders:read', 'orders:write'];
/** The API's own application: a resource server of API, so it may introspect API's tokens. */
const API_APP = { clientId: 'api_orders', clientSecret: 'api-orders-secret-000000000001' };

/** Express 4 is installed under an alias; typed as Express 5 since the middleware API used is the same. */
const EXPRESS4 = 'express4';
const express4 = ((await import(EXPRESS4)) as { default: typeof express }).default;

interface Verifiers {
  /** With RFC 9728 metadata and introspection credentials. */
  api: AccessTokenVerifier;
  /** Its issuer does not answer. */
  down: AccessTokenVerifier;
}

/** What every handler answers: the token the middleware put on the request. */
const identity = (auth: VerifiedAccessToken | undefined) => ({ sub: auth?.sub, org_id: auth?.org_id ?? null, scope: auth?.scope });

function expressApp(factory: typeof express, { api, down }: Verifiers): Express {
  const { requireAccessToken, requireScopes, requireOrganization, protectedResourceMetadata } = forExpress;
  const app = factory();
  const answer: express.RequestHandler = (req, res) => {
    res.json(identity(req.auth));
  };
  app.use(protectedResourceMetadata(api));
  app.get('/me', requireAccessToken(api), answer);
  app.get('/orders', requireAccessToken(api, { scopes: ['orders:read'] }), answer);
  app.post('/orders', requireAccessToken(api), requireScopes('orders:read', 'orders:write'), answer);
  app.get('/orgs/:orgId/orders', requireAccessToken(api), requireOrganization((req) => req.params.orgId), answer);
  app.get('/orgs/:orgId/report', requireAccessToken(api, { scopes: ['orders:read'], organization: async (req) => req.params.orgId }), answer);
  app.get('/strict', requireAccessToken(api, { introspect: true }), answer);
  app.get('/down', requireAccessToken(down), answer);
  app.get('/misplaced', requireScopes('orders:read'), answer);
  const errors: ErrorRequestHandler = (error, _req, res, _next) => {
    res.status(error.status ?? 500).json({ error: error.code ?? 'server_error' });
  };
  app.use(errors);
  return app;
}

function koaApp({ api, down }: Verifiers): Koa {
  const { requireAccessToken, requireScopes, requireOrganization, protectedResourceMetadata } = forKoa;
  const app = new Koa();
  app.silent = true;
  const router = new Router<forKoa.AuthState>();
  const answer = (ctx: forKoa.AuthContext) => {
    ctx.body = identity(ctx.state.auth);
  };
  router.get('/me', requireAccessToken(api), answer);
  router.get('/orders', requireAccessToken(api, { scopes: ['orders:read'] }), answer);
  router.post('/orders', requireAccessToken(api), requireScopes('orders:read', 'orders:write'), answer);
  router.get('/orgs/:orgId/orders', requireAccessToken(api), requireOrganization((ctx) => ctx.params.orgId), answer);
  router.get('/orgs/:orgId/report', requireAccessToken(api, { scopes: ['orders:read'], organization: async (ctx) => ctx.params.orgId }), answer);
  router.get('/strict', requireAccessToken(api, { introspect: true }), answer);
  router.get('/down', requireAccessToken(down), answer);
  router.get('/misplaced', requireScopes('orders:read'), answer);
  app.use(protectedResourceMetadata(api));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

async function listen(listener: RequestListener): Promise<Server> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

describe('resource server: Express and Koa middleware over real HTTP', () => {
  let op: RunningProvider;
  let verifiers: Verifiers;
  const tokens = {} as Record<'bobRead' | 'bobOpenid' | 'aliceGlobex' | 'carol' | 'm2m' | 'expired' | 'idToken' | 'revoked', string>;

  /** The provider's private signing key, to mint a token it would never issue (an expired one). */
  let signingKey: JWK;

  before(async () => {
    signingKey = await generateSigningKey('RS256');
    op = await startProvider({
      keys: { jwks: { keys: [signingKey] } },
      audience: API,
      scopes: SCOPES,
      applications: [{ application_type: 'm2m', name: 'Orders API', organization_id: 'org_acme', client_id: API_APP.clientId, client_secret: API_APP.clientSecret, resource_server: { audiences: [API] } }],
    });
    const portal = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const sync = await discover(op.issuer, DEMO.sync.clientId, DEMO.sync.secret);
    const user = async (who: { email: string; password: string }, scope: string, organizationId?: string) =>
      (await signIn(portal, DEMO.portal.redirectUri, { ...who, scope, organizationId })).tokens!;

    const bob = await user(DEMO.bob, 'openid orders:read');
    tokens.bobRead = bob.access_token;
    tokens.idToken = bob.id_token!;
    tokens.bobOpenid = (await user(DEMO.bob, 'openid')).access_token;
    tokens.aliceGlobex = (await user(DEMO.alice, 'openid orders:read', 'org_globex')).access_token;
    tokens.carol = (await user(DEMO.carol, 'openid orders:read')).access_token;
    tokens.m2m = (await oidc.clientCredentialsGrant(sync, { scope: 'orders:read orders:write' })).access_token;
    tokens.revoked = (await user(DEMO.bob, 'openid')).access_token;
    await oidc.tokenRevocation(portal, tokens.revoked);

    const key = signingKey;
    const past = Math.floor(Date.now() / 1000) - 600;
    tokens.expired = await new SignJWT({ iss: op.issuer, sub: DEMO.bob.id, aud: API, client_id: DEMO.portal.clientId, jti: 'expired', iat: past, exp: past + 300 })
      .setProtectedHeader({ alg: key.alg!, typ: 'at+jwt', kid: key.kid })
      .sign(await importJWK(key, key.alg));

    verifiers = {
      api: createVerifier({
        issuer: op.issuer,
        audience: API,
        introspection: { ...API_APP, cacheSeconds: 0 },
        resourceMetadata: { scopesSupported: SCOPES, resourceName: 'Orders API' },
      }),
      down: createVerifier({ issuer: 'http://127.0.0.1:9', audience: API }),
    };
  });
  after(() => op.stop());

  const apps: Array<[string, () => RequestListener]> = [
    ['Express 5', () => expressApp(express, verifiers) as unknown as RequestListener],
    ['Express 4', () => expressApp(express4, verifiers) as unknown as RequestListener],
    ['Koa', () => koaApp(verifiers).callback()],
  ];

  for (const [name, build] of apps) {
    describe(name, () => {
      let server: Server;
      let api: ReturnType<typeof request>;
      before(async () => {
        server = await listen(build());
        api = request(urlOf(server));
      });
      after(async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      });

      const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

      it('lets a user token and a client_credentials token through, with the token on req.auth / ctx.state.auth', async () => {
        const user = await api.get('/me').set(bearer(tokens.bobRead)).expect(200);
        expect(user.body).to.deep.equal({ sub: DEMO.bob.id, org_id: 'org_acme', scope: ['openid', 'orders:read'] });
        const machine = await api.get('/me').set(bearer(tokens.m2m)).expect(200);
        expect(machine.body).to.deep.equal({ sub: DEMO.sync.clientId, org_id: 'org_acme', scope: SCOPES });
      });

      it('answers a request without a token with a bare challenge: 401, no error code, no body', async () => {
        for (const headers of [{}, { authorization: 'Basic YXBpOnNlY3JldA==' }]) {
          const response = await api.get('/me').set(headers).expect(401);
          expect(response.headers['www-authenticate']).to.equal(`Bearer resource_metadata="${METADATA_URL}"`);
          expect(response.text).to.equal('');
        }
      });

      it('names the scopes a route requires in its 401 challenges (RFC 6750 section 3, MCP authorization)', async () => {
        const missing = await api.get('/orders').expect(401);
        expect(missing.headers['www-authenticate']).to.equal(`Bearer scope="orders:read", resource_metadata="${METADATA_URL}"`);
        expect(missing.text).to.equal('');
        const invalid = await api.get('/orders').set(bearer(tokens.expired)).expect(401);
        expect(invalid.headers['www-authenticate']).to.equal(
          `Bearer error="invalid_token", error_description="the access token expired", scope="orders:read", resource_metadata="${METADATA_URL}"`,
        );
        // requireScopes runs after the token is accepted: a 401 cannot know its scopes, its 403 does.
        const later = await api.post('/orders').expect(401);
        expect(later.headers['www-authenticate']).to.equal(`Bearer resource_metadata="${METADATA_URL}"`);
      });

      it('answers a malformed Authorization header with 400 invalid_request', async () => {
        const response = await api.get('/me').set({ authorization: 'Bearer two tokens' }).expect(400);
        expect(response.headers['www-authenticate']).to.match(/^Bearer error="invalid_request", error_description="[^"]+", resource_metadata=/);
        expect(response.body.error).to.equal('invalid_request');
      });

      for (const [what, token, description] of [
        ['an expired token', 'expired', 'the access token expired'],
        ['an ID token', 'idToken', 'the token is not an access token (typ is not at+jwt)'],
        ['garbage', 'not-a-jwt', 'the access token is not a valid JWT'],
      ] as const) {
        it(`answers ${what} with 401 invalid_token and its description`, async () => {
          const response = await api.get('/me').set(bearer(tokens[token as keyof typeof tokens] ?? token)).expect(401);
          expect(response.headers['www-authenticate']).to.equal(
            `Bearer error="invalid_token", error_description="${description}", resource_metadata="${METADATA_URL}"`,
          );
          expect(response.headers['cache-control']).to.equal('no-store');
          expect(response.headers['content-type']).to.match(/^application\/json/);
          expect(response.body).to.deep.equal({ error: 'invalid_token', error_description: description });
        });
      }

      it('answers missing scopes with 403 insufficient_scope and the required scopes', async () => {
        await api.get('/orders').set(bearer(tokens.bobRead)).expect(200);
        const read = await api.get('/orders').set(bearer(tokens.bobOpenid)).expect(403);
        expect(read.headers['www-authenticate']).to.equal(
          `Bearer error="insufficient_scope", error_description="the access token lacks the scope: orders:read", scope="orders:read", resource_metadata="${METADATA_URL}"`,
        );
        expect(read.body).to.deep.equal({ error: 'insufficient_scope', error_description: 'the access token lacks the scope: orders:read' });

        await api.post('/orders').set(bearer(tokens.m2m)).expect(200);
        const write = await api.post('/orders').set(bearer(tokens.bobRead)).expect(403);
        expect(write.headers['www-authenticate']).to.include('scope="orders:read orders:write"').and.include('resource_metadata=');
        expect(write.body.error_description).to.equal('the access token lacks the scope: orders:write');
      });

      it('requires the token organization to be the one in the route', async () => {
        await api.get('/orgs/org_acme/orders').set(bearer(tokens.bobRead)).expect(200);
        await api.get('/orgs/org_acme/orders').set(bearer(tokens.m2m)).expect(200);
        await api.get('/orgs/org_globex/report').set(bearer(tokens.aliceGlobex)).expect(200);
        for (const [path, token] of [
          ['/orgs/org_globex/orders', tokens.bobRead],
          ['/orgs/org_acme/report', tokens.aliceGlobex],
          ['/orgs/org_acme/orders', tokens.carol],
        ] as const) {
          const response = await api.get(path).set(bearer(token)).expect(403);
          // The report route requires orders:read: its every challenge says so, a 403 for the organization too.
          const scope = path.endsWith('/report') ? 'scope="orders:read", ' : '';
          expect(response.headers['www-authenticate'], path).to.match(
            new RegExp(`^Bearer error="insufficient_scope", error_description="the access token is (not for this|not for any) organization", ${scope}resource_metadata=`),
          );
          expect(response.body.error).to.equal('insufficient_scope');
        }
      });

      it('sees a revoked token on a route that introspects, not on one that does not', async () => {
        await api.get('/me').set(bearer(tokens.revoked)).expect(200);
        const response = await api.get('/strict').set(bearer(tokens.revoked)).expect(401);
        expect(response.body).to.deep.equal({ error: 'invalid_token', error_description: 'the access token is no longer active (revoked)' });
        await api.get('/strict').set(bearer(tokens.bobRead)).expect(200);
      });

      it('hands an unreachable issuer to the app error handling (503), not to the client as a token error', async () => {
        const response = await api.get('/down').set(bearer(tokens.bobRead)).expect(503);
        expect(response.headers).not.to.have.property('www-authenticate');
      });

      it('fails loudly (500) when requireScopes runs without requireAccessToken', async () => {
        await api.get('/misplaced').set(bearer(tokens.bobRead)).expect(500);
      });

      it('serves the RFC 9728 protected resource metadata', async () => {
        const response = await api.get('/.well-known/oauth-protected-resource').expect(200);
        expect(response.headers['access-control-allow-origin']).to.equal('*');
        expect(response.body).to.deep.equal({
          resource: API,
          authorization_servers: [op.issuer],
          scopes_supported: SCOPES,
          bearer_methods_supported: ['header'],
          resource_name: 'Orders API',
        });
        await api.post('/.well-known/oauth-protected-resource').expect(404);
      });
    });
  }
});
