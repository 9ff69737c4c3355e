import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { Redis } from 'ioredis';
import * as oidc from 'openid-client';

import { ApplicationError, type ApplicationInput } from '../lib/index.js';
import { toClientMetadata } from '../lib/apps/applications.js';
import { startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO, discover, signIn } from './helpers/relying-party.js';
import { sharedRedis, STORES } from './helpers/stores.js';
import { UserAgent } from './helpers/user-agent.js';
import { basic, clientCredentials } from './helpers/http.js';



for (const store of STORES.filter((s) => s.name !== 'redis-cluster')) {
  describe(`application registry and client secrets [${store.name} store]`, () => {
    let op: RunningProvider;
    let storeOptions: Awaited<ReturnType<typeof store.options>>;
    before(async function () {
      storeOptions = await store.options(this);
      op = await startProvider(storeOptions);
    });
    after(() => op?.stop());

    it('creates an M2M app whose secret is shown once and works at the token endpoint', async () => {
      const created = await op.orgconnect.applications.create({ application_type: 'm2m', name: 'Reporter', organization_id: 'org_acme' });
      expect(created.client_secret).to.be.a('string').with.length.greaterThan(30);
      expect(await op.orgconnect.applications.get(created.client_id)).not.to.have.property('client_secret');
      const { status, json } = await clientCredentials(op.issuer, created.client_id, created.client_secret!);
      expect(status).to.equal(200);
      expect(decodeJwt(json.access_token).org_id).to.equal('org_acme');
    });

    it('accepts two secrets during a rotation; a revoked one gets invalid_client at once', async () => {
      const app = await op.orgconnect.applications.create({ application_type: 'm2m', name: 'Rotating', organization_id: 'org_acme' });
      const second = await op.orgconnect.applications.createSecret(app.client_id);
      expect((await clientCredentials(op.issuer, app.client_id, app.client_secret!)).status).to.equal(200);
      expect((await clientCredentials(op.issuer, app.client_id, second.secret)).status).to.equal(200);

      const secrets = await op.orgconnect.applications.listSecrets(app.client_id);
      expect(secrets).to.have.length(2);
      expect(secrets[1]).to.include({ id: second.id, secret_hint: second.secret.slice(-4) });
      expect(secrets[0]!.last_used_at).to.be.a('string');
      expect(JSON.stringify(secrets)).not.to.include(second.secret);

      await op.orgconnect.applications.revokeSecret(app.client_id, secrets[0]!.id);
      const revoked = await clientCredentials(op.issuer, app.client_id, app.client_secret!);
      expect(revoked.status).to.equal(401);
      expect(revoked.json.error).to.equal('invalid_client');
      expect((await clientCredentials(op.issuer, app.client_id, second.secret)).status).to.equal(200);
    });

    it('keeps no plaintext secret at rest', async function () {
      const app = await op.orgconnect.applications.create({ application_type: 'm2m', name: 'Secretive', organization_id: 'org_acme' });
      const extra = await op.orgconnect.applications.createSecret(app.client_id);
      await clientCredentials(op.issuer, app.client_id, extra.secret);
      if (store.name === 'memory') {
        const dump = JSON.stringify([...(op.orgconnect.store as unknown as { entries?: Map<string, unknown> }).entries ?? []]);
        // the memory store keeps values privately; check through the registry's own records instead
        const record = await op.orgconnect.store.adapter('Application').find(app.client_id);
        expect(JSON.stringify(record)).not.to.include(app.client_secret!);
        expect(JSON.stringify(record)).not.to.include(extra.secret);
        expect(dump).not.to.include(extra.secret);
        return;
      }
      const redis = new Redis((await sharedRedis()).url);
      try {
        let cursor = '0';
        let scanned = 0;
        do {
          const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
          cursor = next;
          for (const key of keys) {
            const type = await redis.type(key);
            const values = type === 'hash' ? Object.values(await redis.hgetall(key)) : type === 'set' ? await redis.smembers(key) : type === 'string' ? [await redis.get(key)] : [];
            scanned += 1;
            for (const value of values) {
              expect(value ?? '', key).not.to.include(app.client_secret!);
              expect(value ?? '', key).not.to.include(extra.secret);
            }
          }
        } while (cursor !== '0');
        expect(scanned).to.be.greaterThan(5);
      } finally {
        redis.disconnect();
      }
    });

    it('updates redirect URIs at once, and refuses bad ones with a message', async () => {
      const app = await op.orgconnect.applications.create({
        application_type: 'oauth', is_first_party: true, name: 'Wiki', redirect_uris: ['http://localhost:5003/callback'],
      });
      const config = await discover(op.issuer, app.client_id, app.client_secret);
      const moved = 'http://localhost:5004/callback';
      const before = await signIn(config, moved, { ...DEMO.bob }).catch((e: Error) => e);
      expect(String(before)).to.match(/unexpected 400/);

      await op.orgconnect.applications.update(app.client_id, { redirect_uris: [moved] });
      const after = await signIn(config, moved, { ...DEMO.bob });
      expect(after.tokens!.access_token).to.be.a('string');

      for (const [uris, message] of [
        [['https://*.example.com/cb'], /wildcards/],
        [['com.example.app:/cb'], /private-use scheme is for public/],
        [['not a uri'], /not an absolute URI/],
      ] as const) {
        const error = await op.orgconnect.applications.update(app.client_id, { redirect_uris: [...uris] }).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(ApplicationError);
        expect((error as Error).message).to.match(message);
      }
      const kind = await op.orgconnect.applications.update(app.client_id, { is_public: true } as never).catch((e: unknown) => e);
      expect(kind).to.be.instanceOf(ApplicationError);
    });

    it('deleting an app ends its tokens at once: introspection inactive, refresh fails', async () => {
      const app = await op.orgconnect.applications.create({
        application_type: 'oauth', is_first_party: true, name: 'Doomed', redirect_uris: ['http://localhost:5005/callback'],
      });
      const config = await discover(op.issuer, app.client_id, app.client_secret);
      const { tokens } = await signIn(config, 'http://localhost:5005/callback', { ...DEMO.bob, scope: 'openid offline_access' });
      // Introspection answers the app itself and a resource server of the token's audience only.
      const api = await op.orgconnect.applications.create({ application_type: 'm2m', name: 'Doomed API', organization_id: 'org_acme', resource_server: { audiences: [op.issuer] } });
      const resourceServer = await discover(op.issuer, api.client_id, api.client_secret);
      expect((await oidc.tokenIntrospection(resourceServer, tokens!.access_token)).active).to.equal(true);
      expect((await oidc.tokenIntrospection(config, tokens!.refresh_token!)).active).to.equal(true);

      expect(await op.orgconnect.applications.delete(app.client_id)).to.equal(true);
      expect((await oidc.tokenIntrospection(resourceServer, tokens!.access_token)).active).to.equal(false);
      // The refresh token is for the deleted app alone: it cannot authenticate any more, and the
      // lookup introspection makes finds nothing.
      const own = await oidc.tokenIntrospection(config, tokens!.refresh_token!).catch((e: { status?: number }) => e);
      expect((own as { status?: number }).status).to.equal(401);
      expect(await op.orgconnect.provider.RefreshToken.find(tokens!.refresh_token!)).to.equal(undefined);
      const refresh = await oidc.refreshTokenGrant(config, tokens!.refresh_token!).catch((e: { error?: string }) => e);
      expect((refresh as { status?: number }).status).to.equal(401);
      expect(JSON.stringify((refresh as { cause?: unknown }).cause)).to.include('invalid_client');
      expect(await op.orgconnect.applications.get(app.client_id)).to.equal(undefined);
    });

    it('updating a seed app takes effect at once, although its client was just in use', async () => {
      const extra = await startProvider(storeOptions);
      try {
        const config = await discover(extra.issuer, DEMO.portal.clientId, DEMO.portal.secret);
        expect((await signIn(config, DEMO.portal.redirectUri, { ...DEMO.bob })).tokens!.access_token).to.be.a('string');
        const moved = 'http://localhost:5006/callback';
        await extra.orgconnect.applications.update(DEMO.portal.clientId, { redirect_uris: [moved] });
        expect((await signIn(config, moved, { ...DEMO.bob })).tokens!.access_token).to.be.a('string');
        expect(String(await signIn(config, DEMO.portal.redirectUri, { ...DEMO.bob }).catch((e: Error) => e))).to.match(/unexpected 400/);
      } finally {
        await extra.stop();
      }
    });

    it('deleting a seed app hides it even though the seed still lists it', async () => {
      const extra = await startProvider(storeOptions);
      try {
        await extra.orgconnect.applications.delete(DEMO.sync.clientId);
        expect((await clientCredentials(extra.issuer, DEMO.sync.clientId, DEMO.sync.secret)).status).to.equal(401);
        expect((await extra.orgconnect.applications.list()).map((a) => a.client_id)).not.to.include(DEMO.sync.clientId);
      } finally {
        await extra.stop();
      }
    });

    it('lists and withdraws a user\'s consents: tokens end and the next authorization asks again', async () => {
      const config = await discover(op.issuer, DEMO.crm.clientId, DEMO.crm.secret);
      const agent = new UserAgent();
      const first = await signIn(config, DEMO.crm.redirectUri, { ...DEMO.alice, agent, organizationId: 'org_globex', scope: 'openid email offline_access' });
      expect(first.seen).to.include('consent');
      const listed = await op.orgconnect.consents.list(DEMO.alice.id);
      const crm = listed.find((c) => c.client_id === DEMO.crm.clientId && c.organization_id === 'org_globex')!;
      expect(crm).to.include({ name: 'Partner CRM' });
      expect(crm.scopes).to.include.members(['openid', 'email', 'offline_access']);

      expect(await op.orgconnect.consents.revoke(DEMO.alice.id, DEMO.crm.clientId, 'org_globex')).to.equal(1);
      const portal = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
      expect((await oidc.tokenIntrospection(portal, first.tokens!.access_token)).active).to.equal(false);
      expect((await oidc.refreshTokenGrant(config, first.tokens!.refresh_token!).catch((e: { error?: string }) => e) as { error?: string }).error).to.equal('invalid_grant');
      expect((await op.orgconnect.consents.list(DEMO.alice.id)).some((c) => c.client_id === DEMO.crm.clientId && c.organization_id === 'org_globex')).to.equal(false);

      const again = await signIn(config, DEMO.crm.redirectUri, { ...DEMO.alice, agent, organizationId: 'org_globex', scope: 'openid email' });
      expect(again.seen).to.include('consent');
    });
  });
}

describe('native apps: loopback redirects on any port, private-use schemes (RFC 8252)', () => {
  let op: RunningProvider;
  before(async () => {
    op = await startProvider();
  });
  after(() => op.stop());

  it('accepts the CLI\'s loopback redirect on any port', async () => {
    const config = await discover(op.issuer, DEMO.cli.clientId);
    const redirect = 'http://127.0.0.1:49152/callback';
    const { tokens } = await signIn(config, redirect, { ...DEMO.bob });
    expect(tokens!.access_token).to.be.a('string');
  });

  it('refuses another path on the loopback redirect', async () => {
    const config = await discover(op.issuer, DEMO.cli.clientId);
    const result = await signIn(config, 'http://127.0.0.1:49152/other', { ...DEMO.bob }).catch((e: Error) => e);
    expect(String(result)).to.match(/unexpected 400/);
  });

  it('signs a native app in through a private-use scheme redirect', async () => {
    const app = await op.orgconnect.applications.create({
      application_type: 'oauth', is_first_party: true, is_public: true, name: 'Mobile', redirect_uris: ['com.example.mobile:/oauth/callback'],
    });
    const config = await discover(op.issuer, app.client_id);
    const { tokens } = await signIn(config, 'com.example.mobile:/oauth/callback', { ...DEMO.bob });
    expect(decodeJwt(tokens!.access_token).client_id).to.equal(app.client_id);
  });

  it('a public app with loopback and https redirects is native: its loopback redirect matches any port, its https one exactly', async () => {
    const app = await op.orgconnect.applications.create({
      application_type: 'oauth', is_first_party: true, is_public: true, name: 'Desktop and web',
      redirect_uris: ['http://127.0.0.1/callback', 'https://app.example.com/callback'],
    });
    expect(toClientMetadata(app).application_type).to.equal('native');
    const config = await discover(op.issuer, app.client_id);
    const port = 1024 + Math.floor(Math.random() * 64000);
    for (const redirect of [`http://127.0.0.1:${port}/callback`, 'https://app.example.com/callback']) {
      const { tokens } = await signIn(config, redirect, { ...DEMO.bob });
      expect(decodeJwt(tokens!.access_token).client_id, redirect).to.equal(app.client_id);
    }
    for (const redirect of ['https://app.example.com:8443/callback', `http://127.0.0.1:${port}/other`, `http://user@127.0.0.1:${port}/callback`]) {
      const result = await signIn(config, redirect, { ...DEMO.bob }).catch((e: Error) => e);
      expect(String(result), redirect).to.match(/unexpected 400/);
    }
  });

  it('a public app with only https redirects stays a web app (exact match)', async () => {
    const app = await op.orgconnect.applications.create({
      application_type: 'oauth', is_first_party: true, is_public: true, name: 'Single page app', redirect_uris: ['https://spa.example.com/callback'],
    });
    expect(toClientMetadata(app).application_type).to.equal('web');
  });

  it('refuses dotless private-use schemes, user information, and redirects a native app cannot use, for login and logout alike', async () => {
    const app = (redirect_uris: string[], extra: Partial<ApplicationInput> = {}): ApplicationInput =>
      ({ application_type: 'oauth', is_first_party: true, is_public: true, name: 'Refused', redirect_uris, ...extra }) as ApplicationInput;
    const refused: [ApplicationInput, RegExp][] = [
      [app(['myapp:/cb']), /myapp:\/cb: a private-use scheme must be a reverse domain name such as com\.example\.app \(RFC 8252 section 7\.1\)/],
      [app(['com.example.app:/cb'], { post_logout_redirect_uris: ['myapp:/bye'] }), /myapp:\/bye: a private-use scheme must be a reverse domain name/],
      [app(['http://user@127.0.0.1/cb']), /http:\/\/user@127\.0\.0\.1\/cb: user information \(user:password@\) is not allowed/],
      [app(['http://@127.0.0.1/cb']), /user information/],
      [app(['https://user:pw@app.example.com/cb'], { is_public: false }), /https:\/\/user:pw@app\.example\.com\/cb: user information/],
      [app(['https://app.example.com/cb'], { post_logout_redirect_uris: ['https://user@app.example.com/'] }), /https:\/\/user@app\.example\.com\/: user information/],
      [app(['http://127.0.0.1/cb', 'https://localhost:3000/cb']), /https:\/\/localhost:3000\/cb: a native app .* must use http, not https, for a loopback host/],
      [app(['http://127.0.0.1/cb', 'http://app.example.test/cb']), /http:\/\/app\.example\.test\/cb: a native app .* may use plain http only for loopback hosts/],
    ];
    for (const [input, message] of refused) {
      const error = await op.orgconnect.applications.create(input).catch((e: unknown) => e);
      expect(error, JSON.stringify(input)).to.be.instanceOf(ApplicationError);
      expect((error as Error).message).to.match(message);
    }
    const names = (await op.orgconnect.applications.list()).map((a) => a.name);
    expect(names).not.to.include('Refused');
  });

  it('refuses plain http to a non-loopback host when the issuer is https', async () => {
    const secure = await startProvider({ issuer: 'https://id.example.com', proxy: true });
    try {
      const error = await secure.orgconnect.applications
        .create({ application_type: 'oauth', is_first_party: true, name: 'Plain', redirect_uris: ['http://app.example.com/cb'] })
        .catch((e: unknown) => e);
      expect((error as Error).message).to.match(/plain http is allowed only for loopback/);
    } finally {
      await secure.stop();
    }
  });
});
