import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';

import { startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO, discover } from './helpers/relying-party.js';
import { formAction, UserAgent } from './helpers/user-agent.js';

/** The hidden fields and action of the first form posting to the device endpoint. */
function deviceForm(html: string, base: string) {
  const form = /<form[^>]*action="([^"]*\/oauth2\/device)"[^>]*>([\s\S]*?)<\/form>/.exec(html)!;
  const fields: Record<string, string> = {};
  for (const input of form[2]!.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields[input[1]!] = input[2]!;
  return { action: new URL(form[1]!, base).href, fields };
}

describe('device authorization grant (RFC 8628)', () => {
  let op: RunningProvider;
  before(async () => {
    op = await startProvider();
  });
  after(() => op.stop());

  it('a CLI gets tokens after the user enters the code, signs in and picks an organization', async () => {
    const config = await discover(op.issuer, DEMO.cli.clientId);
    const device = await oidc.initiateDeviceAuthorization(config, { scope: 'openid offline_access' });
    expect(device.verification_uri).to.equal(`${op.issuer}/oauth2/device`);
    expect(device.user_code).to.match(/^[A-Z]{4}-[A-Z]{4}$/);

    const agent = new UserAgent();
    // the user types the code on the code page
    let page = await agent.follow(device.verification_uri, 'never://');
    expect(page.html).to.include('Connect a device');
    expect(page.html).to.match(/<label for="user_code">/);
    let form = deviceForm(page.html!, op.issuer);
    page = await agent.follow(form.action, 'never://', { form: { ...form.fields, user_code: device.user_code.toLowerCase() } });
    expect(page.html).to.include('Confirm the device');
    expect(page.html).to.include(device.user_code);
    form = deviceForm(page.html!, op.issuer);
    page = await agent.follow(form.action, 'never://', { form: form.fields });

    const login = formAction(page.html!, page.url, '/login')!;
    page = await agent.follow(login, 'never://', { form: { email: DEMO.alice.email, password: DEMO.alice.password } });
    const pick = formAction(page.html!, page.url, '/organization')!;
    page = await agent.follow(pick, 'never://', { form: { organization_id: 'org_globex' } });
    expect(page.html).to.include('Your device is connected');

    const tokens = await oidc.pollDeviceAuthorizationGrant(config, device);
    expect(decodeJwt(tokens.access_token)).to.include({ sub: DEMO.alice.id, org_id: 'org_globex', client_id: DEMO.cli.clientId });
    expect(tokens.refresh_token).to.be.a('string');
  });

  it('a wrong code shows the page again with a fixed message, not the typed code', async () => {
    const agent = new UserAgent();
    const page = await agent.follow(`${op.issuer}/oauth2/device`, 'never://');
    const form = deviceForm(page.html!, op.issuer);
    const again = await agent.follow(form.action, 'never://', { form: { ...form.fields, user_code: 'ZZZZ-<b>ZZ' } });
    expect(again.html).to.include('not valid or has expired');
    expect(again.html).not.to.include('<b>ZZ');
  });

  it('is not offered to confidential web apps', async () => {
    const response = await fetch(`${op.issuer}/oauth2/device_authorization`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${DEMO.portal.clientId}:${DEMO.portal.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'scope=openid',
    });
    expect(response.status).to.equal(400);
    expect((await response.json()).error).to.equal('unauthorized_client');
  });
});
