import { expect } from 'chai';
import * as oidc from 'openid-client';

import { startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO, discover, signIn } from './helpers/relying-party.js';
import { UserAgent } from './helpers/user-agent.js';

/** Every scope and grant rule holds: allow-lists, offline access, automatic grants, algorithms. */
describe('scope and grant rules', () => {
  let op: RunningProvider;
  before(async () => {
    op = await startProvider();
  });
  after(() => op.stop());

  async function app(scopes: string[], extra: Record<string, unknown> = {}) {
    const created = await op.orgconnect.applications.create({
      application_type: 'oauth',
      name: `Scoped ${scopes.join(' ')}`,
      is_first_party: true,
      redirect_uris: ['http://localhost:5011/callback'],
      scopes,
      ...extra,
    } as never);
    return { created, config: await discover(op.issuer, created.client_id, created.client_secret) };
  }

  it("an app's scope allow-list holds for offline_access, with and without prompt=consent", async () => {
    const { config } = await app(['openid', 'profile']);
    for (const extraParams of [{}, { prompt: 'consent' }] as Record<string, string>[]) {
      const agent = new UserAgent();
      const url = oidc.buildAuthorizationUrl(config, { redirect_uri: 'http://localhost:5011/callback', scope: 'openid offline_access', ...extraParams });
      const page = await agent.follow(url.href, 'http://localhost:5011/callback');
      const landed = new URL(page.url);
      expect(landed.searchParams.get('error'), JSON.stringify(extraParams)).to.equal('invalid_scope');
    }
    // what the list allows still works, without a refresh token
    const { tokens } = await signIn(config, 'http://localhost:5011/callback', { ...DEMO.bob, scope: 'openid profile' });
    expect(tokens!.refresh_token).to.equal(undefined);
  });

  it('an app allowed offline_access gets a refresh token without prompt=consent', async () => {
    const { config } = await app(['openid', 'offline_access']);
    const { tokens } = await signIn(config, 'http://localhost:5011/callback', { ...DEMO.bob, scope: 'openid offline_access' });
    expect(tokens!.refresh_token).to.be.a('string');
  });

  it("a first-party app's automatic grant is not a consent: after the app turns third-party, the next authorization asks", async () => {
    const { created, config } = await app(['openid', 'profile']);
    const agent = new UserAgent();
    const first = await signIn(config, 'http://localhost:5011/callback', { agent, ...DEMO.bob, scope: 'openid profile' });
    expect(first.seen).to.deep.equal(['login']);
    expect((await op.orgconnect.consents.list(DEMO.bob.id)).map((a) => a.client_id)).not.to.include(created.client_id);

    await op.orgconnect.applications.update(created.client_id, { is_first_party: false, organization_id: 'org_partner' });
    const second = await signIn(config, 'http://localhost:5011/callback', { agent, scope: 'openid profile' });
    expect(second.seen).to.deep.equal(['consent']);
    expect((await op.orgconnect.consents.list(DEMO.bob.id)).map((a) => a.client_id)).to.include(created.client_id);
  });

  it('enables no HMAC algorithm anywhere: client secrets are hashed', async () => {
    const discovery = (await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    const algs = Object.entries(discovery).filter(([key]) => key.endsWith('_alg_values_supported'));
    expect(algs.length).to.be.greaterThan(0);
    for (const [key, values] of algs) expect((values as string[]).filter((v) => v.startsWith('HS')), key).to.deep.equal([]);
    expect(discovery.token_endpoint_auth_methods_supported).not.to.include('client_secret_jwt');
  });
});
