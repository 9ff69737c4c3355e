import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { expect } from 'chai';
import { decodeJwt, importJWK, SignJWT } from 'jose';
import * as oidc from 'openid-client';

import { createBody, updateBody } from '../lib/cli/apps.js';
import { ApplicationError, createProvider, type ApplicationInput } from '../lib/index.js';
import { generateSigningKey } from '../lib/options/keys.js';
import { createVerifier, IntrospectionEndpointError, TokenRevokedError, VerifierError } from '../lib/resource/index.js';
import { basic, clientCredentials } from './helpers/http.js';
import { demoSeed, startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO, discover, signIn } from './helpers/relying-party.js';
import { STORES } from './helpers/stores.js';

/*
 * Who may introspect which token (RFC 7662 section 2.2): the client a token was issued to, and a
 * resource-server application for the access tokens of its audiences. Everyone else is told
 * `{"active": false}`, the answer for a token that does not exist. Public clients cannot introspect
 * (RFC 7662 section 2.1: the endpoint requires authorization) but revoke their own tokens with their
 * client_id (RFC 7009 section 2.1). All over real HTTP, on the memory store and on Redis.
 */

const ORDERS = 'https://orders.example.test';
const BILLING = 'https://billing.example.test';
const SECRET = 'introspection-scope-secret-00001';

type Caller = { id: string; secret: string };
const callers = {
  portal: { id: DEMO.portal.clientId, secret: DEMO.portal.secret },
  /** Another first-party app of the same provider. */
  wiki: { id: 'app_wiki', secret: SECRET },
  /** A partner's third-party app. */
  crm: { id: DEMO.crm.clientId, secret: DEMO.crm.secret },
  /** Another organization's M2M app. */
  globexM2m: { id: 'm2m_globex', secret: SECRET },
  /** Acme's M2M app (the demo's Nightly sync): a client like any other, not a resource server. */
  sync: { id: DEMO.sync.clientId, secret: DEMO.sync.secret },
  /** The Orders API: an M2M app that is the resource server of ORDERS. */
  ordersApi: { id: 'api_orders', secret: SECRET },
  /** The Billing API: a confidential OAuth app that is the resource server of BILLING. */
  billingApi: { id: 'api_billing', secret: SECRET },
} satisfies Record<string, Caller>;

const applications: ApplicationInput[] = [
  { application_type: 'oauth', is_first_party: true, name: 'Wiki', client_id: 'app_wiki', client_secret: SECRET, redirect_uris: ['http://localhost:5101/callback'] },
  { application_type: 'm2m', name: 'Globex reporter', organization_id: 'org_globex', client_id: 'm2m_globex', client_secret: SECRET },
  { application_type: 'm2m', name: 'Orders API', organization_id: 'org_acme', client_id: 'api_orders', client_secret: SECRET, resource_server: { audiences: [ORDERS] } },
  {
    application_type: 'oauth', is_first_party: true, name: 'Billing API', client_id: 'api_billing', client_secret: SECRET,
    redirect_uris: ['http://localhost:5102/callback'], resource_server: { audiences: [BILLING] },
  },
];

async function post(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

for (const store of STORES.filter((s) => s.name !== 'redis-cluster')) {
  describe(`introspection answers only the callers that may know [${store.name} store]`, function () {
    this.timeout(60_000);
    let op: RunningProvider;
    /** Tokens of the Support Portal (bob): for the default audience, and for ORDERS. */
    let portalDefault: oidc.TokenEndpointResponse;
    let portalOrders: oidc.TokenEndpointResponse;
    /** client_credentials tokens of the Nightly sync for ORDERS and for BILLING. */
    let syncOrders: string;
    let syncBilling: string;

    before(async function () {
      op = await startProvider({ ...(await store.options(this)), resources: [ORDERS, BILLING], applications });
      const portal = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
      portalDefault = (await signIn(portal, DEMO.portal.redirectUri, { ...DEMO.bob, scope: 'openid offline_access' })).tokens!;
      portalOrders = (await signIn(portal, DEMO.portal.redirectUri, { ...DEMO.bob, scope: 'openid offline_access', extraParams: { resource: ORDERS } })).tokens!;
      const sync = await discover(op.issuer, DEMO.sync.clientId, DEMO.sync.secret);
      syncOrders = (await oidc.clientCredentialsGrant(sync, { resource: ORDERS })).access_token;
      syncBilling = (await oidc.clientCredentialsGrant(sync, { resource: BILLING })).access_token;
      expect(decodeJwt(portalDefault.access_token).aud).to.equal(op.issuer);
      expect(decodeJwt(portalOrders.access_token).aud).to.equal(ORDERS);
      expect(portalDefault.refresh_token).to.be.a('string');
      expect(portalOrders.refresh_token).to.be.a('string');
    });
    after(() => op?.stop());

    const introspect = (token: string, caller: Caller) =>
      post(`${op.issuer}/oauth2/introspection`, { token }, { authorization: basic(caller.id, caller.secret) });

    /** What a caller that may not know is told: exactly the answer for a token that does not exist. */
    async function expectHidden(token: string, caller: Caller, label: string) {
      const [answer, unknown] = await Promise.all([introspect(token, caller), introspect('no-such-token', caller)]);
      expect(answer.status, label).to.equal(200);
      expect(answer.json, label).to.deep.equal({ active: false });
      expect(answer.json, label).to.deep.equal(unknown.json);
      expect(answer.headers.get('cache-control'), label).to.equal(unknown.headers.get('cache-control'));
    }

    it('the app a token was issued to sees its access and refresh tokens, whatever their audience', async () => {
      for (const token of [portalDefault.access_token, portalOrders.access_token]) {
        expect((await introspect(token, callers.portal)).json).to.include({ active: true, sub: DEMO.bob.id, org_id: 'org_acme', client_id: DEMO.portal.clientId, token_type: 'bearer' });
      }
      for (const token of [portalDefault.refresh_token!, portalOrders.refresh_token!]) {
        expect((await introspect(token, callers.portal)).json).to.include({ active: true, sub: DEMO.bob.id, client_id: DEMO.portal.clientId });
      }
      expect((await introspect(syncOrders, callers.sync)).json).to.include({ active: true, client_id: DEMO.sync.clientId, org_id: 'org_acme', aud: ORDERS });
    });

    it('another first-party app, a partner app and another organization\'s M2M app learn nothing', async () => {
      const tokens = {
        'access token (default audience)': portalDefault.access_token,
        'access token (ORDERS)': portalOrders.access_token,
        'refresh token': portalDefault.refresh_token!,
        'refresh token (ORDERS)': portalOrders.refresh_token!,
        'client_credentials token (ORDERS)': syncOrders,
      };
      for (const [who, caller] of Object.entries({ wiki: callers.wiki, crm: callers.crm, globexM2m: callers.globexM2m })) {
        for (const [what, token] of Object.entries(tokens)) await expectHidden(token, caller, `${who}: ${what}`);
      }
      // An M2M app of the same organization is no resource server either: its own tokens only.
      await expectHidden(portalOrders.access_token, callers.sync, 'sync: a user access token of Acme');
    });

    it('a resource-server app sees the access tokens of its audience, user and M2M alike', async () => {
      const user = (await introspect(portalOrders.access_token, callers.ordersApi)).json;
      expect(user).to.include({ active: true, sub: DEMO.bob.id, org_id: 'org_acme', client_id: DEMO.portal.clientId, aud: ORDERS, scope: 'openid offline_access' });
      expect(user.exp).to.equal(decodeJwt(portalOrders.access_token).exp);
      expect((await introspect(syncOrders, callers.ordersApi)).json).to.include({ active: true, client_id: DEMO.sync.clientId, org_id: 'org_acme', aud: ORDERS });
      // A confidential OAuth app may be a resource server too.
      expect((await introspect(syncBilling, callers.billingApi)).json).to.include({ active: true, aud: BILLING });
    });

    it('a resource-server app sees nothing of another audience, and never a refresh token', async () => {
      await expectHidden(portalDefault.access_token, callers.ordersApi, 'ORDERS API: a token for the default audience');
      await expectHidden(syncBilling, callers.ordersApi, 'ORDERS API: a token for BILLING');
      await expectHidden(portalOrders.access_token, callers.billingApi, 'BILLING API: a token for ORDERS');
      // The refresh token of an ORDERS grant: for the client alone.
      await expectHidden(portalOrders.refresh_token!, callers.ordersApi, 'ORDERS API: a refresh token of an ORDERS grant');
      await expectHidden(portalDefault.refresh_token!, callers.ordersApi, 'ORDERS API: a refresh token');
    });

    it('a revoked token is inactive for the resource server too', async () => {
      const portal = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
      const { tokens } = await signIn(portal, DEMO.portal.redirectUri, { ...DEMO.bob, scope: 'openid', extraParams: { resource: ORDERS } });
      expect((await introspect(tokens!.access_token, callers.ordersApi)).json.active).to.equal(true);
      await oidc.tokenRevocation(portal, tokens!.access_token);
      expect((await introspect(tokens!.access_token, callers.ordersApi)).json).to.deep.equal({ active: false });
    });

    it('an application changed at run time: becoming a resource server, or ceasing to be one, applies at once', async () => {
      expect((await introspect(portalOrders.access_token, callers.globexM2m)).json.active).to.equal(false);
      await op.orgconnect.applications.update('m2m_globex', { resource_server: { audiences: [ORDERS] } });
      try {
        expect((await introspect(portalOrders.access_token, callers.globexM2m)).json.active).to.equal(true);
        expect((await introspect(portalOrders.refresh_token!, callers.globexM2m)).json.active).to.equal(false);
      } finally {
        await op.orgconnect.applications.update('m2m_globex', { resource_server: undefined });
      }
      expect((await op.orgconnect.applications.get('m2m_globex'))!.resource_server).to.equal(undefined);
      await expectHidden(portalOrders.access_token, callers.globexM2m, 'no longer a resource server');
    });

    describe('public clients', () => {
      let cli: oidc.Configuration;
      let cliTokens: oidc.TokenEndpointResponse;
      before(async () => {
        cli = await discover(op.issuer, DEMO.cli.clientId);
        cliTokens = (await signIn(cli, DEMO.cli.redirectUri, { ...DEMO.bob, scope: 'openid offline_access' })).tokens!;
        expect(cliTokens.refresh_token).to.be.a('string');
      });

      it('cannot introspect, not even their own tokens: 401 invalid_client (RFC 7662 section 2.1)', async () => {
        for (const token of [cliTokens.access_token, cliTokens.refresh_token!, portalDefault.access_token, 'no-such-token']) {
          const answer = await post(`${op.issuer}/oauth2/introspection`, { token, client_id: DEMO.cli.clientId });
          expect(answer.status).to.equal(401);
          expect(answer.json.error).to.equal('invalid_client');
          expect(answer.headers.get('www-authenticate')).to.match(/^Basic/);
          expect(JSON.stringify(answer.json)).not.to.include('active');
        }
        // Any secret is wrong for an app that has none.
        const guessed = await post(`${op.issuer}/oauth2/introspection`, { token: cliTokens.access_token, client_id: DEMO.cli.clientId, client_secret: 'a-secret-it-does-not-have' });
        expect(guessed.status).to.equal(401);
        expect(guessed.json.error).to.equal('invalid_client');
        const viaBasic = await introspect(cliTokens.access_token, { id: DEMO.cli.clientId, secret: 'a-secret-it-does-not-have' });
        expect(viaBasic.status).to.equal(401);
        expect(viaBasic.json.error).to.equal('invalid_client');
        // openid-client, as a public client, gets the same refusal.
        const refused = await oidc.tokenIntrospection(cli, cliTokens.access_token).catch((e: unknown) => e);
        expect(refused).to.include({ status: 401 });
      });

      it('revoke their own access token with their client_id (RFC 7009 section 2.1)', async () => {
        const { tokens } = await signIn(cli, DEMO.cli.redirectUri, { ...DEMO.bob, scope: 'openid' });
        const userinfo = () => fetch(`${op.issuer}/oauth2/userinfo`, { headers: { authorization: `Bearer ${tokens!.access_token}` } });
        expect((await userinfo()).status).to.equal(200);
        const revoked = await post(`${op.issuer}/oauth2/revoke`, { token: tokens!.access_token, client_id: DEMO.cli.clientId });
        expect(revoked.status).to.equal(200);
        expect((await userinfo()).status).to.equal(401);
      });

      it('revoke their own refresh token: the grant ends, refresh fails with invalid_grant', async () => {
        const { tokens } = await signIn(cli, DEMO.cli.redirectUri, { ...DEMO.bob, scope: 'openid offline_access' });
        await oidc.tokenRevocation(cli, tokens!.refresh_token!);
        const refresh = await post(`${op.issuer}/oauth2/token`, { grant_type: 'refresh_token', refresh_token: tokens!.refresh_token!, client_id: DEMO.cli.clientId });
        expect(refresh.status).to.equal(400);
        expect(refresh.json.error).to.equal('invalid_grant');
        const userinfo = await fetch(`${op.issuer}/oauth2/userinfo`, { headers: { authorization: `Bearer ${tokens!.access_token}` } });
        expect(userinfo.status).to.equal(401);
      });

      it("cannot revoke another app's tokens: the silent 200 of an unknown token, and the tokens still work", async () => {
        const portal = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
        const { tokens } = await signIn(portal, DEMO.portal.redirectUri, { ...DEMO.bob, scope: 'openid offline_access' });
        for (const token of [tokens!.access_token, tokens!.refresh_token!]) {
          const answer = await post(`${op.issuer}/oauth2/revoke`, { token, client_id: DEMO.cli.clientId });
          expect(answer.status).to.equal(200);
          expect((await introspect(token, callers.portal)).json.active).to.equal(true);
        }
      });

      it('revocation without any client identification is refused: 401 invalid_client', async () => {
        // A fresh sign-in: the grant of the tokens above may have ended with a revocation.
        const { tokens } = await signIn(cli, DEMO.cli.redirectUri, { ...DEMO.bob, scope: 'openid' });
        const answer = await post(`${op.issuer}/oauth2/revoke`, { token: tokens!.access_token });
        expect(answer.status).to.equal(401);
        expect(answer.json.error).to.equal('invalid_client');
        expect((await fetch(`${op.issuer}/oauth2/userinfo`, { headers: { authorization: `Bearer ${tokens!.access_token}` } })).status).to.equal(200);
      });
    });
  });
}

describe('resource_server: the application field', () => {
  let op: RunningProvider;
  before(async () => {
    op = await startProvider({ resources: [ORDERS] });
  });
  after(() => op?.stop());

  it('is refused for an audience the provider does not issue tokens for, and for a public app', async () => {
    const stray = await op.orgconnect.applications
      .create({ application_type: 'm2m', name: 'Stray API', organization_id: 'org_acme', resource_server: { audiences: [ORDERS, 'https://elsewhere.example'] } })
      .catch((e: unknown) => e);
    expect(stray).to.be.instanceOf(ApplicationError);
    expect((stray as Error).message).to.match(/resource_server\.audiences: "https:\/\/elsewhere\.example" is not an audience of this provider/);

    const publicApp = await op.orgconnect.applications
      .create({ application_type: 'oauth', is_first_party: true, is_public: true, name: 'Public API', redirect_uris: ['http://127.0.0.1/cb'], resource_server: { audiences: [ORDERS] } })
      .catch((e: unknown) => e);
    expect(publicApp).to.be.instanceOf(ApplicationError);
    expect((publicApp as Error).message).to.match(/public application cannot be a resource_server/);

    const empty = await op.orgconnect.applications
      .create({ application_type: 'm2m', name: 'Empty API', organization_id: 'org_acme', resource_server: { audiences: [] } })
      .catch((e: unknown) => e);
    expect(empty).to.be.instanceOf(ApplicationError);

    const update = await op.orgconnect.applications.update(DEMO.sync.clientId, { resource_server: { audiences: ['https://elsewhere.example'] } }).catch((e: unknown) => e);
    expect(update).to.be.instanceOf(ApplicationError);
    expect((await op.orgconnect.applications.get(DEMO.sync.clientId))!).not.to.have.property('resource_server');
  });

  it('a seed or configured app with an unknown audience stops the provider from starting', async () => {
    const error = await createProvider({
      issuer: 'http://127.0.0.1:1',
      seed: demoSeed,
      applications: [{ application_type: 'm2m', name: 'Stray API', organization_id: 'org_acme', client_id: 'api_stray', resource_server: { audiences: [ORDERS] } }],
    }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ApplicationError);
    expect((error as Error).message).to.include('Stray API').and.include('resource_server.audiences');
  });

  it('the default audience (the issuer) is an audience like any other', async () => {
    const app = await op.orgconnect.applications.create({ application_type: 'm2m', name: 'Issuer API', organization_id: 'org_globex', resource_server: { audiences: [op.issuer] } });
    expect(app.resource_server).to.deep.equal({ audiences: [op.issuer] });
    const token = (await clientCredentials(op.issuer, DEMO.sync.clientId, DEMO.sync.secret)).json.access_token as string;
    const answer = await post(`${op.issuer}/oauth2/introspection`, { token }, { authorization: basic(app.client_id, app.client_secret!) });
    expect(answer.json).to.include({ active: true, client_id: DEMO.sync.clientId, org_id: 'org_acme' });
  });

  it('the CLI flags: --resource-server-audience (repeatable; "" removes it on update)', () => {
    expect(createBody({ type: 'm2m', name: 'API', organization: 'org_acme', resourceServerAudience: [ORDERS, BILLING] })).to.deep.include({
      resource_server: { audiences: [ORDERS, BILLING] },
    });
    expect(createBody({ name: 'Web API', redirectUri: ['https://api.example/cb'], resourceServerAudience: [ORDERS] })).to.deep.include({ resource_server: { audiences: [ORDERS] } });
    expect(updateBody({ resourceServerAudience: [BILLING] })).to.deep.equal({ resource_server: { audiences: [BILLING] } });
    expect(updateBody({ resourceServerAudience: [''] })).to.deep.equal({ resource_server: null });
  });
});

describe('resource kit: the API secret goes to the issuer\'s introspection endpoint only', function () {
  this.timeout(30_000);

  it('introspects as a resource-server app against a real provider (discovered or configured endpoint)', async () => {
    const op = await startProvider({ resources: [ORDERS], applications: [applications[2]!] });
    try {
      const portal = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
      const { tokens } = await signIn(portal, DEMO.portal.redirectUri, { ...DEMO.bob, scope: 'openid', extraParams: { resource: ORDERS } });
      const credentials = { clientId: callers.ordersApi.id, clientSecret: callers.ordersApi.secret, cacheSeconds: 0 };
      const discovered = createVerifier({ issuer: op.issuer, audience: ORDERS, introspect: true, introspection: credentials });
      const configured = createVerifier({ issuer: op.issuer, audience: ORDERS, introspect: true, introspection: { ...credentials, endpoint: `${op.issuer}/oauth2/introspection` } });
      expect((await discovered.verify(tokens!.access_token)).sub).to.equal(DEMO.bob.id);
      expect((await configured.verify(tokens!.access_token)).sub).to.equal(DEMO.bob.id);
      // An API registered with an app that is not its resource server sees every token as inactive.
      const misregistered = createVerifier({ issuer: op.issuer, audience: ORDERS, introspect: true, introspection: { clientId: DEMO.sync.clientId, clientSecret: DEMO.sync.secret, cacheSeconds: 0 } });
      expect(await misregistered.verify(tokens!.access_token).catch((e: unknown) => e)).to.be.instanceOf(TokenRevokedError);
    } finally {
      await op.stop();
    }
  });

  it('refuses a configured endpoint on another origin when the verifier is created', () => {
    const issuer = 'https://id.example.test/oauth';
    const introspection = { clientId: 'api', clientSecret: 'api-secret' };
    for (const endpoint of [
      'https://evil.example.test/oauth/oauth2/introspection',
      'http://id.example.test/oauth/oauth2/introspection',
      'https://id.example.test:8443/oauth/oauth2/introspection',
      'https://id.example.test.evil.example/introspect',
      'https://user:pw@id.example.test/oauth/oauth2/introspection',
      '/oauth/oauth2/introspection',
      'not a url',
    ]) {
      const error = (() => {
        try {
          createVerifier({ issuer, audience: ORDERS, introspection: { ...introspection, endpoint } });
          return undefined;
        } catch (e) {
          return e;
        }
      })();
      expect(error, endpoint).to.be.instanceOf(IntrospectionEndpointError);
      expect(error, endpoint).to.be.instanceOf(VerifierError);
      expect(error, endpoint).to.include({ code: 'untrusted_introspection_endpoint', status: 503 });
      expect((error as Error).message).not.to.include('api-secret');
    }
    // Same origin, another path: accepted.
    expect(() => createVerifier({ issuer, audience: ORDERS, introspection: { ...introspection, endpoint: 'https://id.example.test/introspect' } })).not.to.throw();
  });

  it('refuses a discovered endpoint on another origin at first use, and sends nothing there', async () => {
    const key = await generateSigningKey('ES256');
    const { d: _d, ...publicKey } = key;
    let foreignRequests = 0;
    const foreign = await listen(createServer((_req, res) => {
      foreignRequests += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"active":true}');
    }));
    let issuer = '';
    const fake = await listen(createServer((req, res) => {
      const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/.well-known/openid-configuration') return json({ issuer, jwks_uri: `${issuer}/jwks`, introspection_endpoint: `${foreign.url}/introspect` });
      if (req.url === '/jwks') return json({ keys: [publicKey] });
      res.writeHead(404).end();
    }));
    issuer = fake.url;
    try {
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ sub: 'user_bob', client_id: 'app', jti: 'j1', scope: 'openid' })
        .setProtectedHeader({ alg: key.alg!, typ: 'at+jwt', kid: key.kid })
        .setIssuer(issuer)
        .setAudience(ORDERS)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(await importJWK(key, key.alg));
      const verifier = createVerifier({ issuer, audience: ORDERS, introspection: { clientId: 'api', clientSecret: 'api-secret' } });
      expect((await verifier.verify(token)).sub, 'without introspection the token verifies').to.equal('user_bob');
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const error = await verifier.verify(token, { introspect: true }).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(IntrospectionEndpointError);
        expect((error as Error).message).to.include('discovered').and.include(foreign.url).and.not.include('api-secret');
      }
      expect(foreignRequests).to.equal(0);
    } finally {
      await Promise.all([fake.close(), foreign.close()]);
    }
  });
});

async function listen(server: Server): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
