import { randomBytes } from 'node:crypto';

import { expect } from 'chai';

import { startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO } from './helpers/relying-party.js';
import { basic } from './helpers/http.js';
import { formAction, UserAgent } from './helpers/user-agent.js';

/* Dynamic Client Registration (RFC 7591): policies, what a registered client may be, floods, expiry. */

const TOKEN = `admin-${randomBytes(24).toString('base64url')}`;
const REDIRECT = 'http://127.0.0.1/callback';

async function register(issuer: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(`${issuer}/oauth2/register`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.status, headers: response.headers, json: (await response.json().catch(() => undefined)) as any };
}

async function admin(issuer: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${issuer}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.status, json: (await response.json().catch(() => undefined)) as any };
}

/** Bob authorizes a client: the pages he is shown, up to the consent page's text. */
async function consentPage(issuer: string, clientId: string, agent = new UserAgent()) {
  const url = `${issuer}/oauth2/authorize?${new URLSearchParams({ client_id: clientId, response_type: 'code', scope: 'openid', redirect_uri: REDIRECT, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`;
  let page = await agent.follow(url, REDIRECT);
  const login = formAction(page.html ?? '', page.url, '/login');
  if (login) page = await agent.follow(login, REDIRECT, { form: { email: DEMO.bob.email, password: DEMO.bob.password } });
  return { agent, page, consent: formAction(page.html ?? '', page.url, '/consent') };
}

describe('dynamic client registration: open (the development default)', () => {
  let op: RunningProvider;
  before(async () => {
    op = await startProvider({ admin: { token: TOKEN } });
  });
  after(() => op.stop());

  it('is advertised, and registers a public client that must see the consent page, marked as not verified, every time', async () => {
    const discovery = (await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.registration_endpoint).to.equal(`${op.issuer}/oauth2/register`);
    const registered = await register(op.issuer, { client_name: 'Desktop agent', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' });
    expect(registered.status).to.equal(201);
    expect(registered.json.client_secret).to.equal(undefined);
    const app = await admin(op.issuer, 'GET', `/applications/${registered.json.client_id}`);
    expect(app.json).to.include({ is_first_party: false, is_public: true, name: 'Desktop agent' });
    expect(app.json.registration.method).to.equal('dynamic');

    const first = await consentPage(op.issuer, registered.json.client_id);
    expect(first.consent, first.page.html?.slice(0, 400)).to.be.a('string');
    expect(first.page.html).to.include('not verified');
    expect(first.page.html).to.include('127.0.0.1');
    await first.agent.follow(first.consent!, REDIRECT, { form: { decision: 'allow' } });
    const again = await consentPage(op.issuer, registered.json.client_id, first.agent);
    expect(again.consent, 'asked again').to.be.a('string');
  });

  it('takes no scope allow-list from the registration: a client may later ask for more (step-up), the consent page decides', async () => {
    const registered = await register(op.issuer, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'openid' });
    expect(registered.status).to.equal(201);
    const agent = new UserAgent();
    const url = `${op.issuer}/oauth2/authorize?${new URLSearchParams({ client_id: registered.json.client_id, response_type: 'code', scope: 'openid profile email', redirect_uri: REDIRECT, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`;
    const page = await agent.follow(url, REDIRECT);
    expect(page.url.startsWith(REDIRECT), 'not sent back with invalid_scope').to.equal(false);
    expect(formAction(page.html ?? '', page.url, '/login')).to.be.a('string');
  });

  it('registers a confidential client whose secret is shown once, works, and is stored hashed', async () => {
    const registered = await register(op.issuer, { client_name: 'Server agent', redirect_uris: ['https://agent.example.com/cb'], token_endpoint_auth_method: 'client_secret_basic' });
    expect(registered.status).to.equal(201);
    const { client_id, client_secret } = registered.json;
    expect(client_secret).to.be.a('string');
    const exchange = async (secret: string) =>
      (
        await fetch(`${op.issuer}/oauth2/token`, {
          method: 'POST',
          headers: { authorization: basic(client_id, secret), 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=authorization_code&code=nope&redirect_uri=https%3A%2F%2Fagent.example.com%2Fcb',
        })
      ).json() as Promise<{ error: string }>;
    expect((await exchange(client_secret)).error, 'authenticated, then the code is refused').to.equal('invalid_grant');
    expect((await exchange(`${client_secret}x`)).error).to.equal('invalid_client');
    const stored = await op.orgconnect.store.groupRead('ApplicationSecrets', client_id);
    expect(Object.keys(stored)).to.have.length(1);
    expect(JSON.stringify(stored)).not.to.include(client_secret);
  });

  it('refuses metadata a client may not choose for itself', async () => {
    const refused: Array<[Record<string, unknown>, string]> = [
      [{ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_jwt' }, 'invalid_client_metadata'],
      [{ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [] } }, 'invalid_client_metadata'],
      [{ redirect_uris: ['https://*.example.com/cb'] }, 'invalid_'],
      [{ redirect_uris: ['myapp:/cb'], token_endpoint_auth_method: 'none' }, 'invalid_'],
      [{ redirect_uris: ['https://user:pw@agent.example.com/cb'] }, 'invalid_'],
      [{ redirect_uris: [REDIRECT], is_first_party: true }, 'invalid_client_metadata'],
      [{ redirect_uris: [REDIRECT], organization_id: 'org_acme' }, 'invalid_client_metadata'],
      [{ redirect_uris: [REDIRECT], resource_server: { audiences: [op.issuer] } }, 'invalid_client_metadata'],
    ];
    for (const [body, error] of refused) {
      const reply = await register(op.issuer, body);
      expect(reply.status, JSON.stringify(body)).to.equal(400);
      expect(reply.json.error, JSON.stringify(body)).to.include(error);
    }
  });

  it('answers a registration flood from one address with 429: exactly the limit get through, sent at once', async () => {
    const flooded = await startProvider({ registration: { perIpPerHour: 5 } });
    try {
      const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => register(flooded.issuer, { client_name: `Flood ${i}`, redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' })));
      const statuses = replies.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).to.have.length(5);
      expect(statuses.filter((s) => s === 429)).to.have.length(7);
      expect(replies.find((r) => r.status === 429)!.headers.get('retry-after')).to.be.a('string');
    } finally {
      await flooded.stop();
    }
  });
});

describe('dynamic client registration: token policy, expiry, production default', () => {
  it('needs an initial access token the operator mints; a token for an organization makes it the owner', async () => {
    const op = await startProvider({ admin: { token: TOKEN }, registration: { policy: 'token' } });
    try {
      expect((await register(op.issuer, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' })).status).to.equal(401);
      const minted = await admin(op.issuer, 'POST', '/initial_access_tokens', { organization_id: 'org_partner' });
      expect(minted.status).to.equal(201);
      expect((await admin(op.issuer, 'POST', '/initial_access_tokens', { organization_id: 'org_ghost' })).status).to.equal(422);
      const registered = await register(op.issuer, { client_name: 'Partner agent', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }, { authorization: `Bearer ${minted.json.token}` });
      expect(registered.status).to.equal(201);
      expect((await admin(op.issuer, 'GET', `/applications/${registered.json.client_id}`)).json.organization_id).to.equal('org_partner');
    } finally {
      await op.stop();
    }
  });

  it('forgets a registered client that was never used', async () => {
    const op = await startProvider({ admin: { token: TOKEN }, registration: { unusedTtl: 1 } });
    try {
      const registered = await register(op.issuer, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' });
      expect((await admin(op.issuer, 'GET', `/applications/${registered.json.client_id}`)).status).to.equal(200);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await admin(op.issuer, 'GET', `/applications/${registered.json.client_id}`)).status).to.equal(404);
      const { page } = await consentPage(op.issuer, registered.json.client_id);
      expect(page.html).to.include('invalid_client');
    } finally {
      await op.stop();
    }
  });

  it('is off by default outside development (an issuer that is not on a loopback address)', async () => {
    const op = await startProvider({ issuer: 'https://id.example.com' });
    try {
      const base = `http://127.0.0.1:${(op.server.address() as { port: number }).port}`;
      const discovery = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      expect(discovery.registration_endpoint).to.equal(undefined);
      expect(discovery.client_id_metadata_document_supported).to.equal(undefined);
      expect((await register(base, { redirect_uris: [REDIRECT] })).status).to.equal(404);
    } finally {
      await op.stop();
    }
  });
});
