import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';
import { Command } from 'commander';
import { decodeJwt } from 'jose';

import { apiFromFlag, apiIdArgument } from '../lib/cli/apis.js';
import { registerAdminCommands, type CliIo } from '../lib/cli/index.js';
import { ApiRegistry } from '../lib/apis/registry.js';
import { MemoryStore } from '../lib/store/memory.js';
import { ApiError, apiId, createProvider, generateSigningKey, parseSeed, SeedError, type OrgconnectOptions, type OrgconnectProvider } from '../lib/index.js';
import { demoSeed, startProvider, type RunningProvider } from './helpers/provider.js';
import { requireRedis } from './helpers/redis-server.js';
import { DEMO } from './helpers/relying-party.js';
import { sharedRedis, STORES } from './helpers/stores.js';
import { basic } from './helpers/http.js';
import { formAction, UserAgent } from './helpers/user-agent.js';

/*
 * APIs (resource servers) as records: created, changed and deleted through the admin API on one
 * instance, in effect at once on another sharing the store; tokens for an API carry its audience
 * and its scopes only; the consent page describes them; configured APIs (seed, option, --api).
 */

const TOKEN = `admin-${randomBytes(24).toString('base64url')}`;
const ROUNDS = 4;
const SCOPE_REQUEST = 'openid orders:read other:scope billing:read';

/** One signing key for the whole file: RSA key generation is slow on a busy machine. */
let signingKey: ReturnType<typeof generateSigningKey> | undefined;
const keys = async () => ({ jwks: { keys: [await (signingKey ??= generateSigningKey('RS256'))] } });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function listen(): Promise<{ server: Server; url: string }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function adminCall(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as Json };
}

/** A client_credentials token request of the demo M2M app, with a resource and a scope. */
async function m2mToken(base: string, params: Record<string, string>) {
  const response = await fetch(`${base}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: basic(DEMO.sync.clientId, DEMO.sync.secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...params }),
  });
  return { status: response.status, json: (await response.json()) as Json };
}

const pkce = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

/**
 * An authorization code flow of bob, on one instance: signs in, returns the consent page's HTML
 * when one is shown (and allows), then exchanges the code. `client`: the portal (first-party) or
 * the CRM (third-party).
 */
async function authorizationCode(base: string, client: { clientId: string; secret: string; redirectUri: string }, params: Record<string, string>) {
  const agent = new UserAgent();
  const { verifier, challenge } = pkce();
  const query = new URLSearchParams({
    client_id: client.clientId,
    response_type: 'code',
    redirect_uri: client.redirectUri,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: randomBytes(8).toString('hex'),
    ...params,
  });
  let page = await agent.follow(`${base}/oauth2/authorize?${query}`, client.redirectUri);
  const login = formAction(page.html ?? '', page.url, '/login');
  expect(login, page.html?.slice(0, 400) ?? page.url).to.be.a('string');
  page = await agent.follow(login!, client.redirectUri, { form: { email: DEMO.bob.email, password: DEMO.bob.password } });
  let consentHtml: string | undefined;
  const consent = page.html && formAction(page.html, page.url, '/consent');
  if (consent) {
    consentHtml = page.html;
    page = await agent.follow(consent, client.redirectUri, { form: { decision: 'allow' } });
  }
  const callback = new URL(page.url);
  const code = callback.searchParams.get('code');
  if (!code) return { consentHtml, callback, status: 0, json: undefined as Json };
  const response = await fetch(`${base}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: basic(client.clientId, client.secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }),
  });
  return { consentHtml, callback, status: response.status, json: (await response.json()) as Json };
}

for (const kind of STORES) {
  describe(`APIs created at run time, two instances [${kind.name} store]`, function () {
    this.timeout(120_000);
    const instances: { url: string; orgconnect: OrgconnectProvider; server: Server }[] = [];
    const at = (i: number) => instances[i % instances.length]!.url;
    const api = (i: number, method: string, path: string, body?: unknown, headers?: Record<string, string>) => adminCall(at(i), method, path, body, headers);
    const unique = (name: string) => `https://${name}-${randomBytes(4).toString('hex')}.example.com/api`;
    let orders: Json;
    let billing: Json;

    before(async function () {
      const storeOptions = kind.name === 'memory' ? { store: new MemoryStore() } : await kind.options(this);
      const shared = { keys: await keys(), cookies: { keys: [randomBytes(32).toString('base64url')] } };
      const listening = [await listen(), await listen()];
      const issuer = listening[0]!.url;
      for (const { server, url } of listening) {
        const options: OrgconnectOptions = { ...storeOptions, ...shared, issuer, seed: demoSeed, admin: { token: TOKEN } };
        const orgconnect = await createProvider(options);
        server.on('request', orgconnect.callback());
        instances.push({ url, orgconnect, server });
      }
      const created = await api(0, 'POST', '/apis', {
        identifier: unique('orders'),
        name: 'Orders API',
        scopes: [
          { name: 'orders:read', description: 'Read your orders' },
          { name: 'orders:write', description: 'Place and change orders' },
        ],
      });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      orders = created.body;
      billing = (await api(1, 'POST', '/apis', { identifier: unique('billing'), name: 'Billing API', scopes: [{ name: 'billing:read' }] })).body;
    });
    after(async () => {
      for (const { server, orgconnect } of instances) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await orgconnect.close();
      }
      await (instances[0]?.orgconnect.store as MemoryStore | undefined)?.close?.();
    });

    it('is created with two scopes: an object with a derived id, listed and read on the other instance', async () => {
      expect(orders).to.deep.equal({
        object: 'api',
        id: apiId(orders.identifier),
        identifier: orders.identifier,
        name: 'Orders API',
        scopes: [
          { name: 'orders:read', description: 'Read your orders' },
          { name: 'orders:write', description: 'Place and change orders' },
        ],
      });
      expect(orders.id).to.match(/^api_[A-Za-z0-9_-]{22}$/);
      const read = await api(1, 'GET', `/apis/${orders.id}`);
      expect(read.status).to.equal(200);
      expect(read.body).to.deep.equal(orders);
      expect(read.headers.get('etag')).to.equal('"1"');
      const listed = (await api(1, 'GET', '/apis?limit=100')).body.data;
      expect(listed.map((a: Json) => a.id)).to.include.members([orders.id, billing.id]);
      // the default audience (the issuer) is a configured API, read-only here
      const issuerApi = listed.find((a: Json) => a.identifier === at(0));
      expect(issuerApi).to.include({ configured: true, id: apiId(at(0)) });
    });

    it('a client_credentials token for it has it as aud and carries only its scopes (on the other instance)', async () => {
      const token = await m2mToken(at(1), { resource: orders.identifier, scope: SCOPE_REQUEST });
      expect(token.status, JSON.stringify(token.json)).to.equal(200);
      expect(token.json.scope).to.equal('orders:read');
      const claims = decodeJwt(token.json.access_token);
      expect(claims).to.include({ aud: orders.identifier, scope: 'orders:read', org_id: 'org_acme' });
      // and for the other API, its scope only
      const other = await m2mToken(at(0), { resource: billing.identifier, scope: SCOPE_REQUEST });
      expect(decodeJwt(other.json.access_token)).to.include({ aud: billing.identifier, scope: 'billing:read' });
      // without a resource: the default audience, as before
      const plain = decodeJwt((await m2mToken(at(0), { scope: 'openid' })).json.access_token);
      expect(plain.aud).to.equal(at(0));
    });

    it('an authorization code for it (first-party app): the access token has its aud and scopes, the ID token is issued', async () => {
      const result = await authorizationCode(at(0), DEMO.portal, { scope: SCOPE_REQUEST, resource: orders.identifier });
      expect(result.status, JSON.stringify(result.json)).to.equal(200);
      expect(result.consentHtml).to.equal(undefined);
      expect(decodeJwt(result.json.access_token)).to.include({ aud: orders.identifier, scope: 'orders:read', sub: DEMO.bob.id });
      expect(result.json.id_token).to.be.a('string');
    });

    it("the consent page lists the API's scope descriptions under its name, and the token carries what was approved", async () => {
      const result = await authorizationCode(at(1), DEMO.crm, { scope: 'openid orders:read orders:write other:scope billing:read', resource: orders.identifier });
      const html = result.consentHtml!;
      expect(html, 'a consent page').to.be.a('string');
      expect(html).to.include('In <span class="api-name">Orders API</span>, Partner CRM will be able to:');
      expect(html).to.include('<li data-scope="orders:read">Read your orders</li>');
      expect(html).to.include('<li data-scope="orders:write">Place and change orders</li>');
      expect(html).to.include('<li data-scope="openid">Confirm who you are</li>');
      expect(html).not.to.include('other:scope');
      expect(html).not.to.include('billing:read');
      expect(result.status, JSON.stringify(result.json)).to.equal(200);
      expect(decodeJwt(result.json.access_token)).to.include({ aud: orders.identifier, scope: 'orders:read orders:write' });
    });

    it('a PATCH takes effect at once on the other instance; If-Match applies it only to that version', async () => {
      const target = (await api(0, 'POST', '/apis', { identifier: unique('patched'), name: 'Patched', scopes: [{ name: 'p:read' }, { name: 'p:write' }] })).body;
      const before = await m2mToken(at(1), { resource: target.identifier, scope: 'p:read p:write p:admin' });
      expect(before.json.scope).to.equal('p:read p:write');

      const patched = await api(1, 'PATCH', `/apis/${target.id}`, { scopes: [{ name: 'p:read' }, { name: 'p:admin', description: 'Administer' }], access_token_ttl: 90 }, { 'if-match': '"1"' });
      expect(patched.status, JSON.stringify(patched.body)).to.equal(200);
      expect(patched.headers.get('etag')).to.equal('"2"');
      expect(patched.body).to.deep.include({ name: 'Patched', access_token_ttl: 90 });
      const after = await m2mToken(at(0), { resource: target.identifier, scope: 'p:read p:write p:admin' });
      expect(after.json.scope).to.equal('p:read p:admin');
      expect(after.json.expires_in).to.equal(90);
      const claims = decodeJwt(after.json.access_token);
      expect(claims.exp! - claims.iat!).to.equal(90);

      expect((await api(0, 'PATCH', `/apis/${target.id}`, { name: 'Stale' }, { 'if-match': '"1"' })).status).to.equal(412);
      const removed = await api(0, 'PATCH', `/apis/${target.id}`, { access_token_ttl: null, name: 'Renamed' });
      expect(removed.status).to.equal(200);
      expect(removed.body).not.to.have.property('access_token_ttl');
      expect((await m2mToken(at(1), { resource: target.identifier })).json.expires_in).to.equal(300);
    });

    it('a DELETE makes the resource invalid_target at once, on every instance; no update brings it back; the identifier may be created again', async () => {
      const target = (await api(0, 'POST', '/apis', { identifier: unique('doomed'), name: 'Doomed', scopes: [{ name: 'd:read' }] })).body;
      expect((await m2mToken(at(1), { resource: target.identifier, scope: 'd:read' })).status).to.equal(200);
      expect((await api(1, 'DELETE', `/apis/${target.id}`)).status).to.equal(204);
      for (const i of [0, 1]) {
        const refused = await m2mToken(at(i), { resource: target.identifier, scope: 'd:read' });
        expect(refused.status).to.equal(400);
        expect(refused.json.error).to.equal('invalid_target');
        expect((await api(i, 'GET', `/apis/${target.id}`)).status).to.equal(404);
        expect((await api(i, 'GET', '/apis?limit=100')).body.data.map((a: Json) => a.id)).not.to.include(target.id);
      }
      expect((await api(0, 'PATCH', `/apis/${target.id}`, { name: 'Back' })).status).to.equal(404);
      expect((await api(0, 'DELETE', `/apis/${target.id}`)).status).to.equal(404);
      // The authorization endpoint refuses it too.
      const { challenge } = pkce();
      const query = new URLSearchParams({
        client_id: DEMO.portal.clientId, response_type: 'code', redirect_uri: DEMO.portal.redirectUri, scope: 'openid',
        resource: target.identifier, code_challenge: challenge, code_challenge_method: 'S256',
      });
      const page = await new UserAgent().follow(`${at(0)}/oauth2/authorize?${query}`, DEMO.portal.redirectUri);
      expect(new URL(page.url).searchParams.get('error')).to.equal('invalid_target');

      const again = await api(1, 'POST', '/apis', { identifier: target.identifier, name: 'Reborn', scopes: [{ name: 'r:read' }] });
      expect(again.status).to.equal(201);
      expect(again.body.id).to.equal(target.id);
      expect((await m2mToken(at(0), { resource: target.identifier, scope: 'd:read r:read' })).json.scope).to.equal('r:read');
    });

    it('concurrent creates on both instances: every API answered 201 is listed and usable; one identifier is created once', async () => {
      for (let round = 0; round < ROUNDS; round += 1) {
        const identifiers = Array.from({ length: 12 }, (_, i) => unique(`parallel-${round}-${i}`));
        const replies = await Promise.all(identifiers.map((identifier, i) => api(i, 'POST', '/apis', { identifier, name: `Parallel ${i}`, scopes: [{ name: 'x:read' }] })));
        for (const reply of replies) expect(reply.status, JSON.stringify(reply.body)).to.equal(201);
        for (const i of [0, 1]) {
          const listed = (await api(i, 'GET', '/apis?limit=100')).body.data.map((a: Json) => a.identifier);
          expect(listed, `round ${round}, instance ${i}`).to.include.members(identifiers);
        }
        const token = await m2mToken(at(round), { resource: identifiers[round]!, scope: 'x:read' });
        expect(token.json.scope).to.equal('x:read');

        const same = unique(`same-${round}`);
        const racing = await Promise.all([0, 1, 2, 3].map((i) => api(i, 'POST', '/apis', { identifier: same, name: `Same ${i}` })));
        expect(racing.map((r) => r.status).sort(), `round ${round}`).to.deep.equal([201, 422, 422, 422]);
      }
    });

    it('a DELETE racing a create of the same identifier: the API is listed exactly when it exists', async () => {
      for (let round = 0; round < ROUNDS * 2; round += 1) {
        const identifier = unique(`flip-${round}`);
        const first = (await api(0, 'POST', '/apis', { identifier, name: 'Flip' })).body;
        const [deleted, created] = await Promise.all([api(round, 'DELETE', `/apis/${first.id}`), api(round + 1, 'POST', '/apis', { identifier, name: 'Flop' })]);
        expect(deleted.status, `round ${round}`).to.equal(204);
        expect(created.status, `round ${round}`).to.be.oneOf([201, 422]);
        const exists = (await api(round, 'GET', `/apis/${first.id}`)).status === 200;
        expect(exists, `round ${round}`).to.equal(created.status === 201);
        const listed = (await api(round + 1, 'GET', '/apis?limit=100')).body.data.map((a: Json) => a.id);
        expect(listed.includes(first.id), `round ${round}`).to.equal(exists);
        expect((await m2mToken(at(round), { resource: identifier })).status, `round ${round}`).to.equal(exists ? 200 : 400);
      }
    });

    it("a resource-server app may name a run-time API's identifier, and introspects its tokens", async () => {
      const app = await api(0, 'POST', '/applications', { application_type: 'm2m', name: 'Orders backend', organization_id: 'org_acme', resource_server: { audiences: [orders.identifier] } });
      expect(app.status, JSON.stringify(app.body)).to.equal(201);
      const token = (await m2mToken(at(0), { resource: orders.identifier, scope: 'orders:read' })).json.access_token;
      const introspected = await fetch(`${at(1)}/oauth2/introspection`, {
        method: 'POST',
        headers: { authorization: basic(app.body.client_id, app.body.client_secret), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }),
      });
      expect(await introspected.json()).to.include({ active: true, aud: orders.identifier, scope: 'orders:read' });
      const stray = await api(1, 'POST', '/applications', { application_type: 'm2m', name: 'Stray', organization_id: 'org_acme', resource_server: { audiences: [unique('nowhere')] } });
      expect(stray.status).to.equal(422);
      expect(stray.body.error_description).to.match(/is not an audience of this provider/);
    });

    it('refuses what is malformed (400) and what the registry cannot accept (422)', async () => {
      const bad: [unknown, number, RegExp][] = [
        [{ name: 'No identifier' }, 400, /identifier/],
        [{ identifier: unique('x'), name: 'X', extra: 1 }, 400, /extra: unknown field/],
        [{ identifier: unique('x'), name: 'X', scopes: ['plain'] }, 400, /scopes/],
        [{ identifier: 'not a uri', name: 'X' }, 422, /identifier: must be an absolute URI/],
        [{ identifier: `${unique('x')}#frag`, name: 'X' }, 422, /fragment/],
        [{ identifier: unique('x'), name: 'X', scopes: [{ name: 'openid' }] }, 422, /OpenID Connect scope/],
        [{ identifier: unique('x'), name: 'X', scopes: [{ name: 'a b' }] }, 422, /scope token/],
        [{ identifier: unique('x'), name: 'X', scopes: [{ name: 'a' }, { name: 'a' }] }, 422, /listed twice/],
        [{ identifier: orders.identifier, name: 'Again' }, 422, /already an API/],
        [{ identifier: at(0), name: 'The issuer' }, 422, /already an API/],
      ];
      for (const [body, status, message] of bad) {
        const reply = await api(0, 'POST', '/apis', body);
        expect(reply.status, JSON.stringify(body)).to.equal(status);
        expect(reply.body.error_description, JSON.stringify(body)).to.match(message);
      }
      expect((await api(0, 'PATCH', `/apis/${orders.id}`, { identifier: unique('moved') })).body.error_description).to.match(/identifier: cannot be changed/);
      const issuerId = apiId(at(0));
      expect((await api(0, 'PATCH', `/apis/${issuerId}`, { name: 'Mine' })).status).to.equal(422);
      expect((await api(0, 'DELETE', `/apis/${issuerId}`)).body.error_description).to.match(/is configured/);
      expect((await api(0, 'GET', '/apis/api_nope')).status).to.equal(404);
    });
  });
}

describe('configured APIs: seed, the apis option, npm start --api', function () {
  this.timeout(60_000);
  const MCP = 'https://mcp.example.com/mcp';
  const SEEDED = 'https://seeded.example.com';
  let op: RunningProvider;

  before(async () => {
    op = await startProvider({
      keys: await keys(),
      admin: { token: TOKEN },
      resources: ['https://legacy.example.com'],
      scopes: ['legacy:scope'],
      seed: { ...demoSeed, apis: [{ identifier: SEEDED, name: 'Seeded API', scopes: [{ name: 'seeded:read', description: 'Read seeded things' }], access_token_ttl: 60 }] },
      apis: [apiFromFlag(`${MCP}=mcp:tools,mcp:admin`)],
    });
  });
  after(() => op?.stop());

  it('seed and option APIs issue tokens with their aud, scopes and lifetime; the legacy options behave as before', async () => {
    const seeded = await m2mToken(op.issuer, { resource: SEEDED, scope: 'openid seeded:read mcp:tools legacy:scope' });
    expect(seeded.json.scope).to.equal('seeded:read');
    expect(seeded.json.expires_in).to.equal(60);
    expect(decodeJwt(seeded.json.access_token).aud).to.equal(SEEDED);
    const mcp = await m2mToken(op.issuer, { resource: MCP, scope: 'mcp:tools mcp:admin seeded:read' });
    expect(decodeJwt(mcp.json.access_token)).to.include({ aud: MCP, scope: 'mcp:tools mcp:admin' });
    // `resources` and `scopes`: every scope, the OpenID Connect ones too, as before APIs existed
    const legacy = await m2mToken(op.issuer, { resource: 'https://legacy.example.com', scope: 'openid legacy:scope seeded:read' });
    expect(decodeJwt(legacy.json.access_token)).to.include({ aud: 'https://legacy.example.com', scope: 'openid legacy:scope' });
    expect((await m2mToken(op.issuer, { resource: 'https://unknown.example.com' })).json.error).to.equal('invalid_target');
  });

  it('are listed as configured by the admin API and are read-only there', async () => {
    const listed = (await adminCall(op.issuer, 'GET', '/apis?limit=100')).body.data;
    expect(listed.map((a: Json) => a.identifier)).to.have.members([op.issuer, 'https://legacy.example.com', SEEDED, MCP]);
    expect(listed.find((a: Json) => a.identifier === MCP)).to.deep.equal({
      object: 'api', id: apiId(MCP), identifier: MCP, name: 'mcp.example.com', scopes: [{ name: 'mcp:tools' }, { name: 'mcp:admin' }], configured: true,
    });
    expect((await adminCall(op.issuer, 'PATCH', `/apis/${apiId(SEEDED)}`, { name: 'Changed' })).status).to.equal(422);
    expect((await adminCall(op.issuer, 'DELETE', `/apis/${apiId(MCP)}`)).status).to.equal(422);
    expect((await adminCall(op.issuer, 'POST', '/apis', { identifier: SEEDED, name: 'Twin' })).status).to.equal(422);
  });

  it('the seed format: apis validated with a SeedError naming the entry', () => {
    const seed = (apis: unknown[]) => ({ organizations: [], users: [], applications: [], apis });
    expect(parseSeed(seed([{ identifier: SEEDED, name: 'S', scopes: [{ name: 's:read' }] }])).apis[0]).to.deep.equal({ id: apiId(SEEDED), identifier: SEEDED, name: 'S', scopes: [{ name: 's:read' }] });
    const cases: [unknown[], RegExp][] = [
      [[{ identifier: 'nope', name: 'Orders API' }], /^apis\[0\] \("Orders API"\): identifier: must be an absolute URI$/],
      [[{ identifier: SEEDED, name: 'A' }, { identifier: SEEDED, name: 'B' }], /^apis\[1\] \("B"\): duplicate identifier "https:\/\/seeded\.example\.com" \(apis\[0\]\)$/],
      [[{ identifier: SEEDED, name: 'A', audience: 'x' }], /^apis\[0\] \("A"\): .*audience/],
      [[{ identifier: SEEDED, name: 'A', scopes: [{ name: 'email' }] }], /OpenID Connect scope/],
      [[{ identifier: SEEDED }], /^apis\[0\]: name/],
    ];
    for (const [apis, message] of cases) {
      const error = (() => {
        try {
          parseSeed(seed(apis));
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error, JSON.stringify(apis)).to.be.instanceOf(SeedError);
      expect((error as Error).message).to.match(message);
    }
    expect(() => parseSeed({ ...seed([]), apis: {} })).to.throw(SeedError, 'apis must be an array');
    // a parsed seed parses again to the same (npm start loads the file, createProvider parses it)
    const parsed = parseSeed(seed([{ identifier: SEEDED, name: 'S', scopes: [{ name: 's:read', description: 'Read' }], access_token_ttl: 30 }]));
    expect(parseSeed(parsed)).to.deep.equal(parsed);
    expect(() => parseSeed(seed([{ id: 'api_other', identifier: SEEDED, name: 'S' }]))).to.throw(SeedError, /id: is derived from the identifier/);
  });

  it('refuses an identifier defined twice across the seed, the option and audience/resources', async () => {
    const base = { issuer: 'http://127.0.0.1:1', keys: await keys() };
    const cases: [Partial<OrgconnectOptions>, RegExp][] = [
      [{ apis: [{ identifier: 'http://127.0.0.1:1', name: 'Issuer' }] }, /^apis\[0\] \("Issuer"\): identifier "http:\/\/127\.0\.0\.1:1" is already an API \(audience\)$/],
      [{ resources: [SEEDED], seed: { apis: [{ identifier: SEEDED, name: 'S' }] } as never }, /seed apis\[0\].*already an API \(resources\)/],
      [{ seed: { apis: [{ identifier: SEEDED, name: 'S' }] } as never, apis: [{ identifier: SEEDED, name: 'T' }] }, /^apis\[0\] \("T"\).*\(seed apis\[0\]\)$/],
      [{ apis: [{ identifier: SEEDED, name: 'S', access_token_ttl: 0 }] }, /^apis\[0\] \("S"\): access_token_ttl/],
    ];
    for (const [options, message] of cases) {
      const error = await createProvider({ ...base, ...options } as OrgconnectOptions).catch((e: unknown) => e);
      expect(error, message.source).to.be.instanceOf(ApiError);
      expect((error as Error).message).to.match(message);
    }
  });

  it('--api: IDENTIFIER=SCOPE,SCOPE, split at the last "="', () => {
    expect(apiFromFlag('https://mcp.example.com/mcp=mcp:tools,mcp:admin')).to.deep.equal({
      identifier: 'https://mcp.example.com/mcp', name: 'mcp.example.com', scopes: [{ name: 'mcp:tools' }, { name: 'mcp:admin' }],
    });
    expect(apiFromFlag('https://api.example.com')).to.deep.equal({ identifier: 'https://api.example.com', name: 'api.example.com', scopes: [] });
    expect(apiFromFlag('https://api.example.com/?v=2=')).to.deep.include({ identifier: 'https://api.example.com/?v=2', scopes: [] });
    expect(apiIdArgument('https://api.example.com')).to.equal(apiId('https://api.example.com'));
    expect(apiIdArgument('api_abc')).to.equal('api_abc');
  });

  it("npm start --api (repeatable, winning over ORGCONNECT_APIS) and the seed file's apis serve the APIs", async () => {
    const seedFile = join(mkdtempSync(join(tmpdir(), 'orgconnect-apis-')), 'seed.json');
    writeFileSync(seedFile, JSON.stringify({ ...demoSeed, apis: [{ identifier: SEEDED, name: 'Seeded API', scopes: [{ name: 'seeded:read' }] }] }));
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '--import', 'tsx', 'lib/cli/main.ts', '--port', String(port), '--issuer', `http://127.0.0.1:${port}`, '--seed', seedFile,
        '--api', `${MCP}=mcp:tools,mcp:admin`, '--api', 'https://two.example.com',
      ],
      { env: { ...process.env, PORT: '', ISSUER: '', SEED_FILE: '', ORGCONNECT_APIS: 'https://ignored.example.com' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let output = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d) => {
          output += d;
          if (output.includes('discovery:') && output.includes('apis (')) resolve();
        });
        child.stderr!.on('data', (d) => (output += d));
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
      });
      expect(output).to.include(`${MCP}  mcp.example.com  [mcp:tools mcp:admin]`);
      expect(output).to.include('https://two.example.com  two.example.com  [no scopes]');
      expect(output).not.to.include('ignored.example.com');
      const base = `http://127.0.0.1:${port}`;
      const token = await m2mToken(base, { resource: MCP, scope: 'mcp:tools openid' });
      expect(decodeJwt(token.json.access_token)).to.include({ aud: MCP, scope: 'mcp:tools' });
      expect((await m2mToken(base, { resource: 'https://two.example.com' })).status).to.equal(200);
      expect(output).to.include(`${SEEDED}  Seeded API  [seeded:read]`);
      expect(decodeJwt((await m2mToken(base, { resource: SEEDED, scope: 'seeded:read mcp:tools' })).json.access_token).scope).to.equal('seeded:read');
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('ApiRegistry: the index of APIs created at run time', () => {
  it("a create that lands between a delete's tombstone and its index removal stays listed", async () => {
    /** Holds the index removal until the test opens the gate: the narrow window made wide. */
    class SlowIndexRemoval extends MemoryStore {
      gate: Promise<void> = Promise.resolve();
      override async groupRemove(model: string, id: string, members: string[]): Promise<number> {
        if (model === 'ApiIndex') await this.gate;
        return super.groupRemove(model, id, members);
      }
    }
    const store = new SlowIndexRemoval();
    try {
      const registry = new ApiRegistry(store);
      const identifier = 'https://flip.example.com';
      const first = await registry.create({ identifier, name: 'First' });
      let open!: () => void;
      store.gate = new Promise((resolve) => (open = resolve));
      const deleting = registry.delete(first.id);
      while ((await registry.get(first.id)) !== undefined) await new Promise((resolve) => setImmediate(resolve));
      const second = await registry.create({ identifier, name: 'Second' });
      open();
      expect(await deleting).to.equal(true);
      expect(second.id).to.equal(first.id);
      expect((await registry.list()).map((api) => api.name)).to.deep.equal(['Second']);
      expect((await registry.find(identifier))?.name).to.equal('Second');
    } finally {
      await store.close();
    }
  });
});

describe('CLI: orgconnect apis', function () {
  this.timeout(60_000);
  const TARGET_ENV = ['ORGCONNECT_SERVER', 'ORGCONNECT_ADMIN_TOKEN', 'REDIS_URL', 'REDIS_PREFIX', 'SEED_FILE', 'ISSUER'];
  const saved: Record<string, string | undefined> = {};
  before(() => {
    for (const key of TARGET_ENV) {
      saved[key] = process.env[key];
      delete process.env[key];
    }
  });
  after(() => {
    for (const key of TARGET_ENV) if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  });

  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const result = { code: 0, stdout: '', stderr: '' };
    const io: CliIo = {
      stdout: (text) => void (result.stdout += text),
      stderr: (text) => void (result.stderr += text),
      fail: (code) => void (result.code = code),
      exit: (code) => {
        throw Object.assign(new Error('exit'), { exitCode: code });
      },
    };
    const program = new Command('orgconnect').exitOverride();
    registerAdminCommands(program, io);
    try {
      await program.parseAsync(args, { from: 'user' });
    } catch (error) {
      const code = (error as { exitCode?: number }).exitCode;
      if (code === undefined) throw error;
      result.code = code;
    }
    return result;
  }

  /** create, list, show, update and delete through one connection; the provider sees each change at once. */
  async function lifecycle(connection: string[], issuer: string) {
    const identifier = `https://cli-${randomBytes(4).toString('hex')}.example.com`;
    const created = await cli('apis', 'create', '--identifier', identifier, '--name', 'CLI API', '--scope', 'cli:read=Read things', '--scope', 'cli:write', '--json', ...connection);
    expect(created.code, created.stderr).to.equal(0);
    const api = JSON.parse(created.stdout);
    expect(api).to.deep.equal({ object: 'api', id: apiId(identifier), identifier, name: 'CLI API', scopes: [{ name: 'cli:read', description: 'Read things' }, { name: 'cli:write' }] });
    expect((await m2mToken(issuer, { resource: identifier, scope: 'cli:read cli:write other' })).json.scope).to.equal('cli:read cli:write');

    const listed = await cli('apis', 'list', ...connection);
    expect(listed.stdout).to.match(new RegExp(`${api.id}\\s+${identifier.replaceAll('.', '\\.')}\\s+CLI API\\s+cli:read cli:write`));
    const shown = await cli('apis', 'show', identifier, ...connection);
    expect(shown.stdout).to.include(`id:`).and.include('scope cli:read:').and.include('Read things');

    const updated = await cli('apis', 'update', api.id, '--scope', 'cli:admin', '--access-token-ttl', '45', '--json', ...connection);
    expect(updated.code, updated.stderr).to.equal(0);
    expect(JSON.parse(updated.stdout)).to.deep.include({ scopes: [{ name: 'cli:admin' }], access_token_ttl: 45 });
    const token = await m2mToken(issuer, { resource: identifier, scope: 'cli:read cli:admin' });
    expect(token.json).to.include({ scope: 'cli:admin', expires_in: 45 });

    expect((await cli('apis', 'update', api.id, ...connection)).code).to.equal(2);
    expect((await cli('apis', 'create', '--name', 'No identifier', ...connection)).code).to.equal(2);
    const refused = await cli('apis', 'create', '--identifier', 'nope', '--name', 'Bad', ...connection);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/^orgconnect: .*must be an absolute URI/);

    const deleted = await cli('apis', 'delete', identifier, ...connection);
    expect(deleted.stdout).to.equal(`deleted API ${api.id}\n`);
    expect((await m2mToken(issuer, { resource: identifier })).json.error).to.equal('invalid_target');
    expect((await cli('apis', 'show', api.id, ...connection)).code).to.equal(1);
  }

  it('against a server (--server, --admin-token)', async () => {
    const op = await startProvider({ keys: await keys(), admin: { token: TOKEN } });
    try {
      await lifecycle(['--server', op.issuer, '--admin-token', TOKEN], op.issuer);
    } finally {
      await op.stop();
    }
  });

  it('against the store (--redis, with --seed): the server sees each change at once', async function () {
    requireRedis(this);
    const redis = (await sharedRedis()).url;
    const prefix = `test-${randomBytes(4).toString('hex')}:`;
    const op = await startProvider({ keys: await keys(), store: { redis, prefix } });
    try {
      await lifecycle(['--redis', redis, '--redis-prefix', prefix, '--seed', 'fixtures/demo.json'], op.issuer);
    } finally {
      await op.stop();
    }
  });
});
