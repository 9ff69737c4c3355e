import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';

import type { Directory, Membership, User } from '../lib/index.js';
import { startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO, discover, signIn } from './helpers/relying-party.js';
import { UserAgent } from './helpers/user-agent.js';

/** A host app's own user store: mutable, so tests can change memberships and break it. */
function hostDirectory() {
  const users = new Map<string, User & { password: string }>([
    ['u1', { id: 'u1', email: 'dana@host.example', name: 'Dana', password: 'pw-dana' }],
  ]);
  const memberships = new Map<string, Membership[]>([['u1', [{ id: 'org_acme', name: 'Acme', role: 'admin' }]]]);
  const state = { failing: false };
  const directory: Directory = {
    findUser(id) {
      if (state.failing) throw new Error('host database is down: secret connection string postgres://admin:hunter2@db');
      const user = users.get(id);
      return user && { id: user.id, email: user.email, name: user.name };
    },
    authenticate(email, password) {
      const user = [...users.values()].find((u) => u.email === email && u.password === password);
      return user && { id: user.id, email: user.email };
    },
    listOrganizations: (id) => memberships.get(id) ?? [],
    findOrganization: (id) => (id === 'org_acme' ? { id, name: 'Acme' } : id === 'org_partner' ? { id, name: 'Partner Inc.' } : undefined),
  };
  return { directory, memberships, state };
}

describe('host directory and host session', () => {
  let op: RunningProvider;
  let host: ReturnType<typeof hostDirectory>;
  let signedIn: string | undefined;

  before(async () => {
    host = hostDirectory();
    op = await startProvider({
      directory: host.directory,
      currentUser: (req) => (req.headers['x-host-user'] === 'dana' ? signedIn : undefined),
    });
  });
  after(() => op.stop());
  afterEach(() => {
    host.state.failing = false;
    signedIn = undefined;
  });

  it('signs users in through the host directory, with its claims and memberships', async () => {
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const { tokens, seen } = await signIn(config, DEMO.portal.redirectUri, { email: 'dana@host.example', password: 'pw-dana' });
    expect(seen).to.deep.equal(['login']);
    expect(decodeJwt(tokens!.access_token)).to.include({ sub: 'u1', org_id: 'org_acme' });
    expect(tokens!.claims()).to.include({ sub: 'u1', email: 'dana@host.example', name: 'Dana' });
  });

  it('skips the login form for a user signed in to the host (currentUser)', async () => {
    signedIn = 'u1';
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: DEMO.portal.redirectUri, scope: 'openid' });
    // every request carries the host's session (here a header); no page may be shown
    const withHeader = new UserAgent();
    let current = url.href;
    let landed = '';
    for (let i = 0; i < 10 && !landed; i += 1) {
      const response = await withHeader.request(current, { headers: { 'x-host-user': 'dana' } });
      if (response.status >= 300 && response.status < 400) {
        const next = new URL(response.headers.get('location')!, current).href;
        if (next.startsWith(DEMO.portal.redirectUri)) landed = next;
        current = next;
      } else {
        throw new Error(`a page was shown: ${response.status} ${current}`);
      }
    }
    expect(new URL(landed).searchParams.get('code')).to.be.a('string');
  });

  it('still shows the login form with prompt=login even when the host has a session', async () => {
    signedIn = 'u1';
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const agent = new UserAgent();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: DEMO.portal.redirectUri, scope: 'openid', prompt: 'login' });
    const page = await agent.follow(url.href, DEMO.portal.redirectUri, { headers: { 'x-host-user': 'dana' } });
    expect(page.html).to.match(/name="password"/);
  });

  it('a user removed from the organization gets no new tokens for it: refresh fails with invalid_grant', async () => {
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const { tokens } = await signIn(config, DEMO.portal.redirectUri, { email: 'dana@host.example', password: 'pw-dana', scope: 'openid offline_access' });
    host.memberships.set('u1', []);
    try {
      const error = await oidc.refreshTokenGrant(config, tokens!.refresh_token!).catch((e: { error?: string }) => e);
      expect((error as { error?: string }).error).to.equal('invalid_grant');
    } finally {
      host.memberships.set('u1', [{ id: 'org_acme', name: 'Acme', role: 'admin' }]);
    }
  });

  it('a failing directory gives a clean error page and JSON error, no stack trace, no secret, no crash', async () => {
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const agent = new UserAgent();
    await signIn(config, DEMO.portal.redirectUri, { agent, email: 'dana@host.example', password: 'pw-dana' });
    host.state.failing = true;
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: DEMO.portal.redirectUri, scope: 'openid' });
    const page = await agent.follow(url.href, DEMO.portal.redirectUri);
    expect(page.response?.status).to.equal(500);
    expect(page.html).to.include('server_error');
    expect(page.html).not.to.include('hunter2');
    expect(page.html).not.to.match(/at .*\.(ts|js):\d+/);
    host.state.failing = false;
    const discovery = await fetch(`${op.issuer}/.well-known/openid-configuration`);
    expect(discovery.status).to.equal(200);
  });
});
