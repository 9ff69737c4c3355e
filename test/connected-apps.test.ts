import { expect } from 'chai';
import * as oidc from 'openid-client';

import { startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO, discover, signIn } from './helpers/relying-party.js';
import { UserAgent } from './helpers/user-agent.js';

describe('"Connected apps" page', () => {
  let op: RunningProvider;
  before(async () => {
    op = await startProvider();
  });
  after(() => op.stop());

  it('lists the signed-in user\'s authorized apps and removes one: its tokens end', async () => {
    const config = await discover(op.issuer, DEMO.crm.clientId, DEMO.crm.secret);
    const agent = new UserAgent();
    const { tokens } = await signIn(config, DEMO.crm.redirectUri, { ...DEMO.alice, agent, organizationId: 'org_acme', scope: 'openid email' });

    const page = await agent.request(`${op.issuer}/account/connected-apps`);
    expect(page.status).to.equal(200);
    expect(page.headers.get('cache-control')).to.equal('no-store');
    const html = await page.text();
    expect(html).to.include('Partner CRM');
    expect(html).to.include('in Acme');
    const csrf = html.match(/name="csrf" value="([^"]+)"/)![1]!;

    const forged = await agent.request(`${op.issuer}/account/connected-apps/remove`, { form: { csrf: 'x'.repeat(csrf.length), client_id: DEMO.crm.clientId, organization_id: 'org_acme' } });
    expect(forged.status).to.equal(403);
    const anonymous = await new UserAgent().request(`${op.issuer}/account/connected-apps/remove`, { form: { csrf, client_id: DEMO.crm.clientId } });
    expect(anonymous.status).to.equal(403);

    const removed = await agent.request(`${op.issuer}/account/connected-apps/remove`, { form: { csrf, client_id: DEMO.crm.clientId, organization_id: 'org_acme' } });
    expect(removed.status).to.equal(303);
    const after = await (await agent.request(`${op.issuer}/account/connected-apps`)).text();
    expect(after).not.to.include('Partner CRM');
    const sync = await discover(op.issuer, DEMO.sync.clientId, DEMO.sync.secret);
    expect((await oidc.tokenIntrospection(sync, tokens!.access_token)).active).to.equal(false);
  });

  it('tells a visitor without a session to sign in first', async () => {
    const html = await (await new UserAgent().request(`${op.issuer}/account/connected-apps`)).text();
    expect(html).to.include('You are not signed in');
  });
});
