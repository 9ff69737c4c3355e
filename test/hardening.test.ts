import { expect } from 'chai';
import * as oidc from 'openid-client';

import { createProvider, generateSigningKey, OptionsError, type AuditEvent } from '../lib/index.js';
import { demoSeed, startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO, discover, signIn } from './helpers/relying-party.js';
import { UserAgent } from './helpers/user-agent.js';

describe('production mode', () => {
  it('refuses to start with one line per problem', async () => {
    const error = await createProvider({ issuer: 'http://id.example.com', seed: demoSeed, production: true }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(OptionsError);
    const message = (error as Error).message;
    expect(message).to.include('refusing to start in production');
    expect(message).to.include('the issuer http://id.example.com is not https');
    expect(message).to.include('cookie keys are generated');
    expect(message).to.include('signing keys are generated');
    expect(message).to.include('demo passwords are in use');
    expect(message).to.include('demo client secrets are in use');
    expect(message.split('\n').filter((l) => l.startsWith('  - '))).to.have.length(5);
  });

  it('refuses short cookie keys', async () => {
    const error = await createProvider({
      issuer: 'https://id.example.com',
      production: true,
      keys: { jwks: { keys: [await generateSigningKey()] } },
      cookies: { keys: ['sixteen-chars-ok!'] },
    }).catch((e: unknown) => e);
    expect((error as Error).message).to.include('a cookie key is shorter than 32 characters');
  });

  it('follows NODE_ENV=production when the option is not given', async () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      const error = await createProvider({ issuer: 'https://id.example.com' }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(OptionsError);
    } finally {
      process.env.NODE_ENV = previous;
    }
  });

  it('starts with supplied keys, an https issuer and no demo credentials, and sends HSTS', async () => {
    const op = await startProvider({
      issuer: undefined,
      seed: { organizations: [{ id: 'o', name: 'O' }], users: [], applications: [] },
      production: true,
      keys: { jwks: { keys: [await generateSigningKey('ES256')] }, alg: 'ES256' },
      cookies: { keys: ['a'.repeat(32)] },
      proxy: true,
    }).catch((e: unknown) => e);
    // loopback http issuers are allowed in production (local testing behind a proxy)
    expect(op).not.to.be.instanceOf(Error);
    const running = op as RunningProvider;
    try {
      const response = await fetch(`${running.issuer}/.well-known/openid-configuration`);
      expect(response.headers.get('strict-transport-security')).to.match(/max-age=\d+/);
    } finally {
      await running.stop();
    }
  });
});

describe('security headers and audit events', () => {
  let op: RunningProvider;
  const events: AuditEvent[] = [];
  before(async () => {
    op = await startProvider({ audit: { onEvent: (e) => events.push(e) } });
  });
  after(() => op.stop());

  it('interaction pages cannot be framed, are not cached, run no inline script and send no referrer', async () => {
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const agent = new UserAgent();
    const page = await agent.follow(oidc.buildAuthorizationUrl(config, { redirect_uri: DEMO.portal.redirectUri, scope: 'openid' }).href, DEMO.portal.redirectUri);
    const headers = page.response!.headers;
    expect(headers.get('x-frame-options')).to.equal('DENY');
    expect(headers.get('content-security-policy')).to.include("frame-ancestors 'none'");
    expect(headers.get('content-security-policy')).to.include("script-src 'self'");
    expect(headers.get('content-security-policy')).not.to.include('unsafe-inline');
    expect(headers.get('cache-control')).to.equal('no-store');
    expect(headers.get('referrer-policy')).to.equal('no-referrer');
    expect(headers.get('x-content-type-options')).to.equal('nosniff');
    expect(headers.get('strict-transport-security')).to.equal(null);
    expect(page.html).not.to.match(/<script/i);
  });

  it('token responses are not cached', async () => {
    const response = await fetch(`${op.issuer}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${DEMO.sync.clientId}:${DEMO.sync.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).to.equal(200);
    expect(response.headers.get('cache-control')).to.equal('no-store');
  });

  it('reports tokens issued, refreshed and revoked, code replays and client auth failures, without secrets', async () => {
    events.length = 0;
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const { tokens } = await signIn(config, DEMO.portal.redirectUri, { ...DEMO.bob, scope: 'openid offline_access' });
    const refreshed = await oidc.refreshTokenGrant(config, tokens!.refresh_token!);
    await oidc.tokenRevocation(config, refreshed.access_token);
    // a second sign-in, whose rotated refresh token is then replayed
    const second = await signIn(config, DEMO.portal.redirectUri, { ...DEMO.bob, scope: 'openid offline_access' });
    await oidc.refreshTokenGrant(config, second.tokens!.refresh_token!);
    await oidc.refreshTokenGrant(config, second.tokens!.refresh_token!).catch(() => undefined);
    const wrong = await discover(op.issuer, DEMO.portal.clientId, 'wrong-secret-wrong-secret');
    await oidc.clientCredentialsGrant(wrong).catch(() => undefined);

    const types = events.map((e) => e.type);
    expect(types).to.include.members(['token.issued', 'token.refreshed', 'token.revoked', 'refresh_token.replayed', 'grant.revoked', 'client.authentication_failed']);
    const issued = events.find((e) => e.type === 'token.issued')!;
    expect(issued).to.include({ client_id: DEMO.portal.clientId, user_id: DEMO.bob.id, grant_type: 'authorization_code' });
    expect(issued.grant_id).to.be.a('string');
    const serialized = JSON.stringify(events);
    for (const secret of [tokens!.access_token, tokens!.refresh_token!, refreshed.access_token, DEMO.portal.secret, 'wrong-secret-wrong-secret', DEMO.bob.password]) {
      expect(serialized).not.to.include(secret);
    }
  });

  it('reports a replayed authorization code', async () => {
    events.length = 0;
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const agent = new UserAgent();
    let page = await agent.follow(oidc.buildAuthorizationUrl(config, { redirect_uri: DEMO.portal.redirectUri, scope: 'openid' }).href, DEMO.portal.redirectUri);
    const login = new URL(page.html!.match(/action="([^"]+\/login)"/)![1]!, op.issuer).href;
    page = await agent.follow(login, DEMO.portal.redirectUri, { form: { email: DEMO.bob.email, password: DEMO.bob.password } });
    const code = new URL(page.url).searchParams.get('code')!;
    const redeem = () =>
      fetch(`${op.issuer}/oauth2/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${DEMO.portal.clientId}:${DEMO.portal.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: DEMO.portal.redirectUri }),
      });
    await redeem();
    await redeem();
    expect(events.map((e) => e.type)).to.include('code.replayed');
    expect(JSON.stringify(events)).not.to.include(code);
  });
});

describe('login brute-force protection', () => {
  let op: RunningProvider;
  const events: AuditEvent[] = [];
  before(async () => {
    op = await startProvider({ loginThrottle: { perAccount: 3, perIp: 8, windowSeconds: 60 }, audit: { onEvent: (e) => events.push(e) } });
  });
  after(() => op.stop());

  async function attempt(email: string, password: string) {
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const agent = new UserAgent();
    const page = await agent.follow(oidc.buildAuthorizationUrl(config, { redirect_uri: DEMO.portal.redirectUri, scope: 'openid' }).href, DEMO.portal.redirectUri);
    const login = new URL(page.html!.match(/action="([^"]+\/login)"/)![1]!, op.issuer).href;
    const response = await agent.request(login, { form: { email, password } });
    return { status: response.status, html: await response.text() };
  }

  it('locks an account after repeated failures, even for the right password, and says the same for unknown accounts', async () => {
    for (let i = 0; i < 3; i += 1) expect((await attempt(DEMO.bob.email, 'wrong-password')).status).to.equal(401);
    const locked = await attempt(DEMO.bob.email, DEMO.bob.password);
    expect(locked.status).to.equal(429);
    expect(locked.html).to.include('Too many attempts');
    expect(locked.html).not.to.include(DEMO.bob.password);

    for (let i = 0; i < 3; i += 1) expect((await attempt('nobody@example.com', 'wrong-password')).status).to.equal(401);
    const unknown = await attempt('nobody@example.com', 'whatever');
    expect(unknown.status).to.equal(429);
    expect(unknown.html).to.include('Too many attempts');

    // other accounts are not affected (the IP limit is higher)
    expect((await attempt(DEMO.carol.email, DEMO.carol.password)).status).to.equal(303);
    const types = events.map((e) => e.type);
    expect(types).to.include.members(['login.failed', 'login.throttled', 'login.succeeded']);
    expect(JSON.stringify(events)).not.to.include('wrong-password');
  });

  it('a successful login clears the account\'s failures', async () => {
    const fresh = await startProvider({ loginThrottle: { perAccount: 3, perIp: 50, windowSeconds: 60 } });
    try {
      const tryAt = async (password: string) => {
        const config = await discover(fresh.issuer, DEMO.portal.clientId, DEMO.portal.secret);
        const agent = new UserAgent();
        const page = await agent.follow(oidc.buildAuthorizationUrl(config, { redirect_uri: DEMO.portal.redirectUri, scope: 'openid' }).href, DEMO.portal.redirectUri);
        const login = new URL(page.html!.match(/action="([^"]+\/login)"/)![1]!, fresh.issuer).href;
        return (await agent.request(login, { form: { email: DEMO.carol.email, password } })).status;
      };
      // 2 failures, a success, 2 more failures: the account is not locked (3 would lock it)...
      expect([await tryAt('wrong'), await tryAt('wrong'), await tryAt(DEMO.carol.password)]).to.deep.equal([401, 401, 303]);
      expect([await tryAt('wrong'), await tryAt('wrong'), await tryAt(DEMO.carol.password)]).to.deep.equal([401, 401, 303]);
      // ...while 3 in a row still do.
      expect([await tryAt('wrong'), await tryAt('wrong'), await tryAt('wrong'), await tryAt(DEMO.carol.password)]).to.deep.equal([401, 401, 401, 429]);
    } finally {
      await fresh.stop();
    }
  });

  it('locks the client IP after too many failures across accounts', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await attempt(`user${i}@example.com`, 'nope')).status);
    expect(statuses.at(-1)).to.equal(429);
    expect((await attempt(DEMO.alice.email, DEMO.alice.password)).status).to.equal(429);
  });
});
