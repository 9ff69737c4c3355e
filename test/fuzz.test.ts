import { expect } from 'chai';
import fc from 'fast-check';

import { startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO, discover, signIn } from './helpers/relying-party.js';

/**
 * Property-based fuzzing of every endpoint: whatever the parameters, the provider answers with a
 * well-formed JSON or HTML response, never a 5xx, never crashes, and changes no stored grant.
 */
const PARAMS = [
  'client_id', 'client_secret', 'response_type', 'redirect_uri', 'scope', 'state', 'nonce', 'prompt', 'code', 'code_verifier',
  'code_challenge', 'code_challenge_method', 'grant_type', 'refresh_token', 'token', 'token_type_hint', 'resource', 'organization_id',
  'max_age', 'login_hint', 'id_token_hint', 'request', 'request_uri', 'claims', 'response_mode', 'client_assertion',
  'client_assertion_type', 'post_logout_redirect_uri', 'email', 'password', 'decision', 'logout', 'xsrf', 'audience',
];

const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', ' ', 'openid', 'code', 'client_credentials', 'authorization_code', 'refresh_token', 'S256', 'plain', 'none', 'consent',
    DEMO.portal.clientId, DEMO.cli.clientId, DEMO.portal.redirectUri, 'https://evil.example/cb', '../../etc/passwd', '%00', '\r\nX: y',
    '<script>alert(1)</script>', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', '{"a":1}', '[]', 'a'.repeat(5000)),
);
const paramsArb = fc.dictionary(fc.constantFrom(...PARAMS), nasty, { maxKeys: 8 });
const duplicated = fc.array(fc.tuple(fc.constantFrom(...PARAMS), nasty), { maxLength: 6 });

describe('fuzzing every endpoint (fast-check)', function () {
  this.timeout(120_000);
  let op: RunningProvider;
  let grantId: string;
  let grantBefore: unknown;

  before(async () => {
    // Registration open without its per-IP bound: every fuzzed registration is really evaluated.
    op = await startProvider({ registration: { policy: 'open', perIpPerHour: 100_000 } });
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const { tokens } = await signIn(config, DEMO.portal.redirectUri, { ...DEMO.bob, scope: 'openid offline_access' });
    grantId = JSON.parse(Buffer.from(tokens!.access_token.split('.')[1]!, 'base64url').toString()).sid;
    grantBefore = await op.orgconnect.store.adapter('Grant').find(grantId);
    expect(grantBefore).to.be.an('object');
  });
  after(() => op.stop());

  async function check(response: Response, what: string) {
    const body = await response.text();
    expect(response.status, `${what} -> ${response.status}: ${body.slice(0, 200)}`).to.be.below(500);
    const type = response.headers.get('content-type') ?? '';
    if (response.status >= 400) {
      if (type.includes('json')) expect(JSON.parse(body), what).to.have.property('error');
      else expect(type, what).to.include('text/html');
      expect(body, what).not.to.match(/at .*\.(ts|js):\d+:\d+/);
    }
  }

  const toBody = (pairs: [string, string][]) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  const authHeaders = fc.constantFrom<Record<string, string>>(
    {},
    { authorization: `Basic ${Buffer.from(`${DEMO.portal.clientId}:${DEMO.portal.secret}`).toString('base64')}` },
    { authorization: 'Basic !!!' },
    { authorization: 'Bearer x' },
    { authorization: `Basic ${Buffer.from('a:b:c').toString('base64')}` },
  );

  for (const path of ['/oauth2/token', '/oauth2/introspection', '/oauth2/revoke', '/oauth2/par', '/oauth2/logout', '/oauth2/userinfo']) {
    it(`POST ${path}`, async () => {
      await fc.assert(
        fc.asyncProperty(paramsArb, duplicated, authHeaders, async (params, extra, headers) => {
          const body = toBody([...Object.entries(params), ...extra]);
          const response = await fetch(`${op.issuer}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body, redirect: 'manual' });
          await check(response, `POST ${path} ${body.slice(0, 120)}`);
        }),
        { numRuns: 60 },
      );
    });
  }

  for (const path of ['/oauth2/authorize', '/oauth2/logout', '/oauth2/userinfo', '/.well-known/openid-configuration', '/oauth2/jwks']) {
    it(`GET ${path}`, async () => {
      await fc.assert(
        fc.asyncProperty(paramsArb, fc.constantFrom('text/html', 'application/json', '*/*'), async (params, accept) => {
          const url = new URL(`${op.issuer}${path}`);
          for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
          const response = await fetch(url, { redirect: 'manual', headers: { accept } });
          await check(response, `GET ${url.search.slice(0, 120)}`);
        }),
        { numRuns: 60 },
      );
    });
  }

  it('interaction paths no page serves are pages too (a dot segment, a made-up step, another method)', async () => {
    for (const [method, path] of [['POST', '/interaction/./login'], ['POST', '/interaction/abc'], ['GET', '/interaction/abc/nope'], ['PUT', '/interaction/abc/login']] as const) {
      const response = await fetch(`${op.issuer}${path}`, { method, redirect: 'manual' });
      await check(response, `${method} ${path}`);
      expect(response.status, `${method} ${path}`).to.equal(404);
    }
  });

  it('interaction routes with made-up ids and forms', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 50 }), fc.constantFrom('', '/login', '/organization', '/consent', '/abort'), paramsArb, async (uid, step, form) => {
        const url = `${op.issuer}/interaction/${encodeURIComponent(uid)}${step}`;
        const response = await fetch(url, {
          method: step ? 'POST' : 'GET',
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `_interaction=${encodeURIComponent(uid)}` },
          body: step ? toBody(Object.entries(form)) : undefined,
          redirect: 'manual',
        });
        await check(response, `${url}`);
      }),
      { numRuns: 60 },
    );
  });

  it('client registration with made-up metadata: never a 5xx, never an operator field or a shared-secret JWT method accepted', async () => {
    const metadata = fc.dictionary(
      fc.constantFrom('redirect_uris', 'client_name', 'token_endpoint_auth_method', 'grant_types', 'response_types', 'scope', 'logo_uri', 'client_uri', 'jwks',
        'is_first_party', 'organization_id', 'resource_server', 'registered', 'client_secret', 'application_type', 'post_logout_redirect_uris'),
      fc.oneof(nasty, fc.array(nasty, { maxLength: 3 }), fc.boolean(), fc.constantFrom(['http://127.0.0.1/cb'], ['https://*.example.com/cb'], 'client_secret_jwt', 'none', 'client_secret_basic')),
      { maxKeys: 6 },
    );
    await fc.assert(
      fc.asyncProperty(metadata, async (body) => {
        const response = await fetch(`${op.issuer}/oauth2/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        const text = await response.clone().text();
        await check(response, `register ${JSON.stringify(body).slice(0, 200)}`);
        if (response.status === 201) {
          const registered = JSON.parse(text) as Record<string, unknown>;
          for (const field of ['is_first_party', 'organization_id', 'resource_server', 'registered']) expect(registered[field], field).to.equal(undefined);
          expect(registered.token_endpoint_auth_method).to.be.oneOf(['none', 'client_secret_basic', 'client_secret_post']);
          const app = await op.orgconnect.applications.get(String(registered.client_id));
          expect(app).to.include({ is_first_party: false });
        }
      }),
      { numRuns: 40 },
    );
  });

  it('left every stored grant as it was', async () => {
    expect(await op.orgconnect.store.adapter('Grant').find(grantId)).to.deep.equal(grantBefore);
  });
});
