import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';

import { createSeedDirectory } from '../lib/index.js';
import { CookieJar, startTestProvider, testData, type TestProvider } from '../lib/testing/index.js';

/* orgconnect/testing from mocha (and, through a child process, from node:test). */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const API = 'https://api.example.com';

async function post(url: string, form: Record<string, string>, auth?: { id: string; secret: string }) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.id}:${auth.secret}`).toString('base64')}`;
  const response = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(form) });
  return { status: response.status, json: (await response.json().catch(() => ({}))) as Record<string, unknown> };
}

describe('orgconnect/testing: startTestProvider', () => {
  let op: TestProvider;
  const m2m = { id: 'test_m2m', secret: 'test-m2m-secret-00000000000003' };

  before(async () => {
    op = await startTestProvider({ options: { resources: [API] } });
  });
  after(() => op?.stop());

  const verify = (token: string, audience = op.issuer) =>
    jwtVerify(token, createRemoteJWKSet(new URL(`${op.issuer}/oauth2/jwks`)), { issuer: op.issuer, audience, typ: 'at+jwt' });

  it('listens on a free 127.0.0.1 port with the built-in users, organizations and apps', async () => {
    expect(op.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(op.issuer).to.equal(op.url);
    const metadata = (await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
    expect(metadata.issuer).to.equal(op.issuer);
    expect(op.applications.map((a) => a.client_id)).to.deep.equal(['test_web', 'test_partner', 'test_cli', 'test_m2m']);
    expect(op.users.map((u) => u.email)).to.deep.equal(['alice@example.com', 'bob@example.com', 'carol@example.com']);
  });

  it('mints access tokens that verify with the JWKS and that introspection, userinfo and revocation treat as real', async () => {
    const token = await op.mintAccessToken({ app: 'test_web', user: 'bob@example.com', scopes: ['openid', 'email'] });
    const { payload } = await verify(token);
    expect(payload).to.include({ sub: 'user_bob', client_id: 'test_web', org_id: 'org_acme', scope: 'openid email' });

    const userinfo = await fetch(`${op.issuer}/oauth2/userinfo`, { headers: { authorization: `Bearer ${token}` } });
    expect(await userinfo.json()).to.deep.equal({ sub: 'user_bob', email: 'bob@example.com', email_verified: true });
    const web = { id: 'test_web', secret: 'test-web-app-secret-0000000001' };
    expect((await post(`${op.issuer}/oauth2/introspection`, { token }, web)).json).to.include({ active: true, sub: 'user_bob', org_id: 'org_acme' });
    // test_m2m is no resource server: another app's token is not its business (RFC 7662 section 2.2).
    expect((await post(`${op.issuer}/oauth2/introspection`, { token }, m2m)).json).to.deep.equal({ active: false });
    expect((await post(`${op.issuer}/oauth2/revoke`, { token }, web)).status).to.equal(200);
    expect((await post(`${op.issuer}/oauth2/introspection`, { token }, web)).json).to.deep.equal({ active: false });
  });

  it('mints for an organization, a public app and a resource audience', async () => {
    const token = await op.mintAccessToken({ app: 'test_cli', user: 'user_alice', organization: 'org_globex', audience: API });
    const { payload } = await verify(token, API);
    expect(payload).to.include({ sub: 'user_alice', client_id: 'test_cli', org_id: 'org_globex', aud: API });
  });

  it('mints client_credentials tokens for an M2M app', async () => {
    const { payload } = await verify(await op.mintAccessToken({ app: 'Test Service' }));
    expect(payload).to.include({ sub: 'test_m2m', client_id: 'test_m2m', org_id: 'org_acme' });
    expect(payload).not.to.have.property('sid');
  });

  it('mints ID tokens for the app, with the claims of the scopes', async () => {
    const idToken = await op.mintIdToken({ app: 'test_web', user: 'user_carol', scopes: 'profile' });
    const { payload } = await jwtVerify(idToken, createRemoteJWKSet(new URL(`${op.issuer}/oauth2/jwks`)), { issuer: op.issuer, audience: 'test_web' });
    expect(payload).to.include({ sub: 'user_carol', name: 'Carol King' });
    expect(payload.nonce).to.be.a('string');
  });

  it('signs in through login, organization and consent, and reports each step', async () => {
    const result = await op.signIn({ app: 'test_partner', user: 'alice@example.com', organization: 'org_acme', scopes: 'openid offline_access' });
    expect(result.steps).to.deep.equal(['login', 'consent']); // the organization hint picks it: no organization page
    expect(result.tokens!.refresh_token).to.be.a('string');
    expect(decodeJwt(result.tokens!.access_token).org_id).to.equal('org_acme');
  });

  it('answers the organization page when the user must pick, and reuses a browser session', async () => {
    const first = await op.signIn({ app: 'test_web', user: 'user_alice', organization: 'org_globex', organizationHint: false });
    expect(first.steps).to.deep.equal(['login', 'organization']);
    const again = await op.signIn({ app: 'test_cli', organization: 'org_acme', browser: first.browser, organizationHint: false });
    expect(again.steps).to.deep.equal(['organization']);
    expect(decodeJwt(again.tokens!.access_token)).to.include({ sub: 'user_alice', org_id: 'org_acme' });
  });

  it('returns access_denied when consent is denied, and only the code with exchange: false', async () => {
    const denied = await op.signIn({ app: 'test_partner', user: 'bob@example.com', consent: 'deny' });
    expect(denied.error).to.equal('access_denied');
    expect(denied.code).to.equal(undefined);
    expect(denied.tokens).to.equal(undefined);
    expect(denied.steps).to.deep.equal(['login', 'consent']);

    const { code, codeVerifier, redirectUri, tokens } = await op.signIn({ app: 'test_web', user: 'bob@example.com', exchange: false });
    expect(tokens).to.equal(undefined);
    const exchanged = await post(`${op.issuer}/oauth2/token`, { grant_type: 'authorization_code', code: code!, redirect_uri: redirectUri, code_verifier: codeVerifier }, { id: 'test_web', secret: 'test-web-app-secret-0000000001' });
    expect(exchanged.status).to.equal(200);
    expect(exchanged.json.access_token).to.be.a('string');
  });

  it('explains what is missing or wrong', async () => {
    const failure = (promise: Promise<unknown>) => promise.then(() => new Error('no error'), (error: Error) => error);
    expect((await failure(op.signIn({ app: 'test_web', user: 'user_alice' }))).message).to.match(/user_alice belongs to several organizations \(org_acme, org_globex\): pass `organization`/);
    expect((await failure(op.signIn({ app: 'test_web', user: 'user_bob', password: 'wrong' }))).message).to.match(/login refused \(401\).*Incorrect email or password/);
    expect((await failure(op.signIn({ app: 'test_web' }))).message).to.match(/asks the user to log in: pass `user`/);
    expect((await failure(op.mintAccessToken({ app: 'nope', user: 'user_bob' }))).message).to.match(/no application "nope"/);
    expect((await failure(op.mintAccessToken({ app: 'test_web', user: 'user_bob', audience: 'https://unknown.example' }))).message).to.match(/invalid_target.*resources/);
    expect((await failure(op.signIn({ app: 'test_m2m', user: 'user_bob' }))).message).to.match(/M2M application/);
    expect((await failure(op.signIn({ app: 'test_web', user: 'user_bob', organization: 'org_globex' }))).message).to.match(/not org_globex/);
  });
});

describe('orgconnect/testing: options', () => {
  it('serves under a path, with your own users, organizations and apps', async () => {
    const op = await startTestProvider({
      path: '/oauth',
      organizations: [{ id: 'org_1', name: 'One' }],
      users: [{ id: 'u1', email: 'u1@example.com', password: 'pw-1', organizations: ['org_1'] }],
      applications: [{ application_type: 'oauth', is_first_party: true, name: 'Mine', redirect_uris: ['http://127.0.0.1:1234/cb'] }],
    });
    try {
      expect(op.issuer).to.equal(`${op.url}/oauth`);
      const metadata = (await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
      expect(metadata.token_endpoint).to.equal(`${op.issuer}/oauth2/token`);
      expect(op.applications[0]!.client_id).to.match(/^client_/); // generated, and reported
      const token = await op.mintAccessToken({ app: 'Mine', user: 'u1@example.com' });
      expect(decodeJwt(token)).to.include({ iss: op.issuer, sub: 'u1', org_id: 'org_1' });
    } finally {
      await op.stop();
    }
  });

  it('uses your own directory (passwords passed to signIn); first-party default apps only', async () => {
    const directory = await createSeedDirectory({ organizations: [], users: [{ id: 'x', email: 'x@example.com', password: 'secret-x' }] });
    const op = await startTestProvider({ directory });
    try {
      expect(op.applications.map((a) => a.client_id)).to.deep.equal(['test_web', 'test_cli']);
      const result = await op.signIn({ app: 'test_web', user: 'x@example.com', password: 'secret-x' });
      expect(decodeJwt(result.tokens!.access_token).sub).to.equal('x');
    } finally {
      await op.stop();
    }
  });

  it('exports its default data to build on', () => {
    expect(testData.users.map((u) => u.id)).to.deep.equal(['user_alice', 'user_bob', 'user_carol']);
  });
});

describe('orgconnect/testing: CookieJar', () => {
  it('matches paths, hosts and domains, honours Max-Age, Expires and Secure', () => {
    const jar = new CookieJar();
    jar.setCookie('a=1; Path=/oauth/interaction/abc; HttpOnly', 'http://127.0.0.1:3000/oauth/oauth2/authorize');
    jar.setCookie('b=2', 'http://127.0.0.1:3000/oauth/oauth2/authorize'); // default path: /oauth/oauth2
    jar.setCookie('c=3; Path=/', 'http://127.0.0.1:3000/');
    jar.setCookie('d=4; Path=/; Secure', 'http://127.0.0.1:3000/');
    jar.setCookie('e=5; Domain=example.com; Path=/', 'http://id.example.com/');
    jar.setCookie('f=6; Domain=other.com', 'http://id.example.com/'); // rejected
    expect(jar.cookieHeader('http://127.0.0.1:3000/oauth/interaction/abc/login')).to.equal('a=1; c=3');
    expect(jar.cookieHeader('http://127.0.0.1:3000/oauth/interaction/abcd')).to.equal('c=3');
    expect(jar.cookieHeader('http://127.0.0.1:3000/oauth/oauth2/authorize/x')).to.equal('b=2; c=3');
    expect(jar.cookieHeader('https://127.0.0.1:3000/')).to.equal('c=3; d=4');
    expect(jar.cookieHeader('http://localhost:3000/')).to.equal('');
    expect(jar.cookieHeader('http://app.example.com/x')).to.equal('e=5');
    expect(jar.cookieHeader('http://other.com/')).to.equal('');
    jar.setCookie('c=; Path=/; Max-Age=0', 'http://127.0.0.1:3000/');
    jar.setCookie('a=; Path=/oauth/interaction/abc; Expires=Thu, 01 Jan 1970 00:00:00 GMT', 'http://127.0.0.1:3000/');
    expect(jar.cookieHeader('http://127.0.0.1:3000/oauth/interaction/abc')).to.equal('');
  });
});

describe('orgconnect/testing from node:test', () => {
  it('passes test/testing-kit.node-test.ts run with `node --test`', function () {
    this.timeout(60_000);
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', 'test/testing-kit.node-test.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 55_000,
    });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, output).to.equal(0);
    expect(output).to.match(/^# pass [1-9]/m);
    expect(output).to.match(/^# fail 0$/m);
  });
});
