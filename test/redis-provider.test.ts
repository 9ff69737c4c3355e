import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';

import type { RedisStore } from '../lib/store/redis.js';
import { startProvider, type RunningProvider } from './helpers/provider.js';
import { requireRedis, startRedis, type RedisServer } from './helpers/redis-server.js';
import { DEMO, discover, signIn } from './helpers/relying-party.js';
import { UserAgent } from './helpers/user-agent.js';
import { basic } from './helpers/http.js';


async function tokenRequest(issuer: string, form: Record<string, string>) {
  const response = await fetch(`${issuer}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: basic(DEMO.portal.clientId, DEMO.portal.secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: response.status, headers: response.headers, json: await response.json() };
}

/** Logs bob in on `loginAt` and returns the authorization code (first-party portal, no consent). */
async function codeFor(loginAt: RunningProvider, agent = new UserAgent()): Promise<string> {
  const config = await discover(loginAt.issuer, DEMO.portal.clientId, DEMO.portal.secret);
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: DEMO.portal.redirectUri, scope: 'openid offline_access' });
  let page = await agent.follow(url.href, DEMO.portal.redirectUri);
  if (page.html) {
    const login = new URL(page.html.match(/action="([^"]+\/login)"/)![1]!, loginAt.issuer).href;
    page = await agent.follow(login, DEMO.portal.redirectUri, { form: { email: DEMO.bob.email, password: DEMO.bob.password } });
  }
  return new URL(page.url).searchParams.get('code')!;
}

describe('Redis store: several instances, one issuer', () => {
  let redis: RedisServer;
  let a: RunningProvider;
  let b: RunningProvider;

  before(async function () {
    requireRedis(this);
    redis = await startRedis();
    // Two instances of one issuer: no keys given, so they share generated dev keys through Redis.
    a = await startProvider({ store: { redis: redis.url, prefix: 'shared:' } });
    b = await startProvider({ store: { redis: redis.url, prefix: 'shared:' }, issuer: a.issuer });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.stop();
  });

  it('shares signing and cookie keys between instances in dev mode', async () => {
    const bUrl = `http://127.0.0.1:${(b.server.address() as { port: number }).port}`;
    const jwks = async (base: string) => (await fetch(`${base}/oauth2/jwks`)).json();
    expect(await jwks(bUrl)).to.deep.equal(await jwks(a.issuer));
    expect(a.orgconnect.settings.signing.generated).to.equal(true);
    expect(a.orgconnect.settings.cookies.generated).to.equal(true);
    // cookie keys: an interaction started on one instance goes on on the other
    const config = await discover(a.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const agent = new UserAgent();
    const page = await agent.follow(oidc.buildAuthorizationUrl(config, { redirect_uri: DEMO.portal.redirectUri, scope: 'openid' }).href, DEMO.portal.redirectUri);
    const login = new URL(page.html!.match(/action="([^"]+\/login)"/)![1]!, bUrl).href;
    expect((await agent.request(login, { form: { email: DEMO.bob.email, password: DEMO.bob.password } })).status).to.equal(303);
  });

  it('a code issued by one instance is redeemed on the other, and its tokens introspect there', async () => {
    const code = await codeFor(a);
    const bIssuerUrl = `http://127.0.0.1:${(b.server.address() as { port: number }).port}`;
    const result = await tokenRequest(bIssuerUrl, { grant_type: 'authorization_code', code, redirect_uri: DEMO.portal.redirectUri });
    expect(result.status).to.equal(200);
    expect(decodeJwt(result.json.access_token).iss).to.equal(a.issuer);
  });

  it('exactly one of many concurrent redemptions across two instances wins; the replay revokes the grant', async () => {
    const code = await codeFor(a);
    const bUrl = `http://127.0.0.1:${(b.server.address() as { port: number }).port}`;
    const attempts = await Promise.all(
      Array.from({ length: 12 }, (_, i) => tokenRequest(i % 2 ? bUrl : a.issuer, { grant_type: 'authorization_code', code, redirect_uri: DEMO.portal.redirectUri })),
    );
    const winners = attempts.filter((r) => r.status === 200);
    expect(winners).to.have.length(1);
    for (const loser of attempts.filter((r) => r.status !== 200)) {
      expect(loser.status).to.equal(400);
      expect(loser.json.error).to.equal('invalid_grant');
    }
    const refresh = await tokenRequest(a.issuer, { grant_type: 'refresh_token', refresh_token: winners[0]!.json.refresh_token });
    expect(refresh.json.error).to.equal('invalid_grant');
  });

  it('a refresh token rotated on one instance cannot be reused on the other', async () => {
    const code = await codeFor(a);
    const first = await tokenRequest(a.issuer, { grant_type: 'authorization_code', code, redirect_uri: DEMO.portal.redirectUri });
    const rt = first.json.refresh_token;
    const bUrl = `http://127.0.0.1:${(b.server.address() as { port: number }).port}`;
    const results = await Promise.all([a.issuer, bUrl, a.issuer, bUrl].map((url) => tokenRequest(url, { grant_type: 'refresh_token', refresh_token: rt })));
    expect(results.filter((r) => r.status === 200).length).to.be.at.most(1);
    expect(results.filter((r) => r.status === 400).length).to.be.at.least(3);
  });

  it('an application created on one instance is known on the other at once', async () => {
    await a.orgconnect.applications.create({ application_type: 'm2m', name: 'Runtime app', organization_id: 'org_acme', client_id: 'client_runtime', client_secret: 'runtime-secret-0123456789' });
    const bUrl = `http://127.0.0.1:${(b.server.address() as { port: number }).port}`;
    const response = await fetch(`${bUrl}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: basic('client_runtime', 'runtime-secret-0123456789'), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).to.equal(200);
  });

  it('keeps issuers with different prefixes apart on one Redis', async () => {
    const other = await startProvider({ store: { redis: redis.url, prefix: 'other-issuer:' } });
    try {
      const code = await codeFor(a);
      const elsewhere = await tokenRequest(other.issuer, { grant_type: 'authorization_code', code, redirect_uri: DEMO.portal.redirectUri });
      expect(elsewhere.status).to.equal(400);
      expect(elsewhere.json.error).to.equal('invalid_grant');
      expect(await (await fetch(`${other.issuer}/oauth2/jwks`)).json()).not.to.deep.equal(await (await fetch(`${a.issuer}/oauth2/jwks`)).json());
    } finally {
      await other.stop();
    }
  });

  it('counts failed logins in Redis, so a lockout holds on every instance', async () => {
    const bUrl = `http://127.0.0.1:${(b.server.address() as { port: number }).port}`;
    const attempt = async (base: string, password: string) => {
      const config = await discover(a.issuer, DEMO.portal.clientId, DEMO.portal.secret);
      const url = oidc.buildAuthorizationUrl(config, { redirect_uri: DEMO.portal.redirectUri, scope: 'openid' }).href.replace(a.issuer, base);
      const agent = new UserAgent();
      const page = await agent.follow(url, DEMO.portal.redirectUri);
      const login = new URL(page.html!.match(/action="([^"]+\/login)"/)![1]!, base).href;
      return (await agent.request(login, { form: { email: DEMO.carol.email, password } })).status;
    };
    for (let i = 0; i < 5; i += 1) expect(await attempt(i % 2 ? bUrl : a.issuer, 'wrong-password')).to.equal(401);
    expect(await attempt(bUrl, DEMO.carol.password)).to.equal(429);
    expect(await attempt(a.issuer, DEMO.carol.password)).to.equal(429);
  });

  it('counts the Redis commands of one full authorization (authorize, login, organization, consent, token)', async () => {
    const store = a.orgconnect.store as RedisStore;
    const config = await discover(a.issuer, DEMO.crm.clientId, DEMO.crm.secret);
    const before = store.commandCount;
    const { tokens, seen } = await signIn(config, DEMO.crm.redirectUri, { ...DEMO.alice, organizationId: 'org_globex', scope: 'openid profile email offline_access' });
    const used = store.commandCount - before;
    expect(seen).to.deep.equal(['login', 'organization', 'consent']);
    expect(tokens!.refresh_token).to.be.a('string');
    console.log(`      Redis commands for one full third-party authorization: ${used}`);
    expect(used).to.be.greaterThan(10);
  });
});

describe('Redis store outage', () => {
  let redis: RedisServer;
  let op: RunningProvider;
  before(async function () {
    requireRedis(this);
    redis = await startRedis();
    op = await startProvider({ store: { redis: redis.url, commandTimeout: 500 } });
  });
  after(async () => {
    await op?.stop();
    await redis?.stop();
  });

  it('answers 503 temporarily_unavailable while Redis is down, never crashes, and recovers after a restart', async () => {
    const health = async () => (await fetch(`${op.issuer}/health`)).status;
    expect(await health()).to.equal(200);
    const code = await codeFor(op);
    await redis.kill();

    expect(await health()).to.equal(503);
    const token = await tokenRequest(op.issuer, { grant_type: 'authorization_code', code, redirect_uri: DEMO.portal.redirectUri });
    expect(token.status).to.equal(503);
    expect(token.json.error).to.equal('temporarily_unavailable');
    expect(token.headers.get('retry-after')).to.equal('1');
    expect(JSON.stringify(token.json)).not.to.match(/at .*\.(ts|js):\d+/);

    const cc = await fetch(`${op.issuer}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: basic(DEMO.sync.clientId, DEMO.sync.secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(cc.status).to.equal(503);

    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret).catch(() => undefined);
    expect(config, 'discovery needs no store').not.to.equal(undefined);
    const page = await fetch(oidc.buildAuthorizationUrl(config!, { redirect_uri: DEMO.portal.redirectUri, scope: 'openid' }), { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(page.status).to.equal(503);
    const html = await page.text();
    expect(html).to.include('temporarily unavailable');
    expect(html).not.to.match(/at .*\.(ts|js):\d+/);

    await redis.restart();
    let healthy = false;
    for (let i = 0; i < 50 && !healthy; i += 1) {
      healthy = (await health()) === 200;
      if (!healthy) await new Promise((r) => setTimeout(r, 100));
    }
    expect(healthy).to.equal(true);
    // Redis restarted empty (no persistence): seed applications are configuration, so they still work.
    const after = await fetch(`${op.issuer}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: basic(DEMO.sync.clientId, DEMO.sync.secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(after.status).to.equal(200);
  });
});
