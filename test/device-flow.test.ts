import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';

import { createProvider, OptionsError } from '../lib/index.js';
import { startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO, discover } from './helpers/relying-party.js';
import { STORES } from './helpers/stores.js';
import { formAction, UserAgent } from './helpers/user-agent.js';

/** The hidden fields and action of the first form posting to the device endpoint. */
function deviceForm(html: string, base: string) {
  const form = /<form[^>]*action="([^"]*\/oauth2\/device)"[^>]*>([\s\S]*?)<\/form>/.exec(html)!;
  const fields: Record<string, string> = {};
  for (const input of form[2]!.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields[input[1]!] = input[2]!;
  return { action: new URL(form[1]!, base).href, fields };
}

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A device authorization request of the demo CLI, answered as JSON. */
async function deviceAuthorization(issuer: string) {
  const response = await fetch(`${issuer}/oauth2/device_authorization`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: DEMO.cli.clientId, scope: 'openid' }),
  });
  expect(response.status).to.equal(200);
  return (await response.json()) as { device_code: string; expires_in: number; interval?: number };
}

/** One poll of the token endpoint: the OAuth error it answers (or 'tokens'). */
async function poll(issuer: string, deviceCode: string): Promise<string> {
  const response = await fetch(`${issuer}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, client_id: DEMO.cli.clientId }),
  });
  const json = (await response.json()) as { error?: string };
  expect(response.status, JSON.stringify(json)).to.equal(json.error ? 400 : 200);
  return json.error ?? 'tokens';
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

  it('answers with interval 5 and expires_in 600 by default (RFC 8628 section 3.2)', async () => {
    const device = await deviceAuthorization(op.issuer);
    expect(device.interval).to.equal(5);
    expect(device.expires_in).to.be.within(598, 600);
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

describe('device authorization grant: polling interval and slow_down (RFC 8628 sections 3.2, 3.5)', () => {
  let op: RunningProvider;
  before(async () => {
    op = await startProvider({ ttl: { deviceCode: 120 }, deviceFlow: { interval: 1 } });
  });
  after(() => op.stop());

  it('the lifetime and interval are options: ttl.deviceCode and deviceFlow.interval', async () => {
    const device = await deviceAuthorization(op.issuer);
    expect(device.interval).to.equal(1);
    expect(device.expires_in).to.be.within(118, 120);
  });

  it('a poll sooner than the interval gets slow_down, and that code\'s interval grows by 5 seconds', async () => {
    const { device_code } = await deviceAuthorization(op.issuer);
    const other = await deviceAuthorization(op.issuer);
    expect(await poll(op.issuer, device_code)).to.equal('authorization_pending');
    // each code is polled on its own clock
    expect(await poll(op.issuer, other.device_code)).to.equal('authorization_pending');
    await sleep(1100);
    expect(await poll(op.issuer, device_code)).to.equal('authorization_pending');
    expect(await poll(op.issuer, device_code)).to.equal('slow_down');
    // the interval is now 6 seconds: waiting the old one is still too soon
    await sleep(1100);
    expect(await poll(op.issuer, device_code)).to.equal('slow_down');
    // the other code keeps its own interval
    expect(await poll(op.issuer, other.device_code)).to.equal('authorization_pending');
  });

  it('a device that waits the raised interval gets authorization_pending again', async function () {
    this.timeout(20_000);
    const { device_code } = await deviceAuthorization(op.issuer);
    expect(await poll(op.issuer, device_code)).to.equal('authorization_pending');
    expect(await poll(op.issuer, device_code)).to.equal('slow_down');
    await sleep(6100);
    expect(await poll(op.issuer, device_code)).to.equal('authorization_pending');
  });

  it('refuses an interval not shorter than the device code lifetime, and a zero lifetime', async () => {
    for (const options of [{ deviceFlow: { interval: 600 } }, { ttl: { deviceCode: 10 }, deviceFlow: { interval: 10 } }, { ttl: { deviceCode: 0 } }]) {
      const error = await createProvider({ issuer: 'http://127.0.0.1:1', ...options }).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).to.be.instanceOf(OptionsError);
      expect((error as Error).message).to.match(/^invalid option (deviceFlow\.interval|ttl\.deviceCode): /);
    }
  });
});

for (const store of STORES) {
  describe(`device authorization grant: parallel polls [${store.name} store]`, () => {
    let op: RunningProvider;
    before(async function () {
      op = await startProvider({ ...(await store.options(this)), deviceFlow: { interval: 5 } });
    });
    after(() => op?.stop());

    it('of many polls at once of one device code, exactly one is answered authorization_pending', async () => {
      const { device_code } = await deviceAuthorization(op.issuer);
      const answers = await Promise.all(Array.from({ length: 8 }, () => poll(op.issuer, device_code)));
      expect(answers.filter((a) => a === 'authorization_pending')).to.have.length(1);
      expect(answers.filter((a) => a === 'slow_down')).to.have.length(7);
    });

    it('one poll after another, sooner than the interval: authorization_pending, then slow_down', async () => {
      const { device_code } = await deviceAuthorization(op.issuer);
      expect(await poll(op.issuer, device_code)).to.equal('authorization_pending');
      expect(await poll(op.issuer, device_code)).to.equal('slow_down');
      expect(await poll(op.issuer, device_code)).to.equal('slow_down');
    });
  });
}
