import { expect } from 'chai';
import * as oidc from 'openid-client';

import { startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO, discover } from './helpers/relying-party.js';
import { UserAgent } from './helpers/user-agent.js';
import { basic } from './helpers/http.js';


async function post(url: string, body: string | URLSearchParams, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

describe('attack suite: each refusal has the exact OAuth error and status', () => {
  let op: RunningProvider;
  const portal = () => basic(DEMO.portal.clientId, DEMO.portal.secret);
  before(async () => {
    op = await startProvider();
  });
  after(() => op.stop());

  function authorizeUrl(params: Record<string, string>) {
    const url = new URL(`${op.issuer}/oauth2/authorize`);
    const defaults = { client_id: DEMO.portal.clientId, response_type: 'code', scope: 'openid', redirect_uri: DEMO.portal.redirectUri, state: 'st' };
    for (const [k, v] of Object.entries({ ...defaults, ...params })) url.searchParams.set(k, v);
    return url.href;
  }

  /** Logs bob in and returns a fresh code for the given client and redirect. */
  async function code(clientId: string = DEMO.portal.clientId, redirectUri: string = DEMO.portal.redirectUri, extra: Record<string, string> = {}) {
    const agent = new UserAgent();
    let page = await agent.follow(authorizeUrl({ client_id: clientId, redirect_uri: redirectUri, ...extra }), redirectUri);
    const login = new URL(page.html!.match(/action="([^"]+\/login)"/)![1]!, op.issuer).href;
    page = await agent.follow(login, redirectUri, { form: { email: DEMO.bob.email, password: DEMO.bob.password } });
    const url = new URL(page.url);
    return { code: url.searchParams.get('code')!, url, agent };
  }

  describe('redirect_uri', () => {
    const tricks = [
      ['an extra path segment', 'http://localhost:5001/callback/evil'],
      ['a userinfo @ host', 'http://localhost:5001@evil.example/callback'],
      ['another case', 'http://LOCALHOST:5001/Callback'],
      ['a trailing dot host', 'http://localhost.:5001/callback'],
      ['a fragment', 'http://localhost:5001/callback#frag'],
      ['another port', 'http://localhost:5002/callback'],
      ['a query string', 'http://localhost:5001/callback?next=https://evil.example'],
      ['an unrelated host', 'https://evil.example/callback'],
    ];
    for (const [name, redirectUri] of tricks) {
      it(`refuses ${name} with a page, never a redirect`, async () => {
        const response = await fetch(authorizeUrl({ redirect_uri: redirectUri! }), { redirect: 'manual', headers: { accept: 'text/html' } });
        expect(response.status).to.equal(400);
        expect(response.headers.get('location')).to.equal(null);
        const html = await response.text();
        expect(html).to.include('invalid_redirect_uri');
        expect(html).not.to.include('evil.example');
      });
    }
    // A native app's loopback redirect matches on any port (RFC 8252 section 7.3), and on nothing else.
    const native = (redirectUri: string) =>
      authorizeUrl({ client_id: DEMO.cli.clientId, redirect_uri: redirectUri, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
    it('the control: a native app\'s loopback redirect on another port goes on to sign-in', async () => {
      const response = await fetch(native('http://127.0.0.1:49152/callback'), { redirect: 'manual', headers: { accept: 'text/html' } });
      expect(response.status).to.be.within(302, 303);
      expect(response.headers.get('location')).to.match(/\/interaction\//);
    });
    const nativeTricks = [
      ['user information', 'http://evil@127.0.0.1:49152/callback'],
      ['another path', 'http://127.0.0.1:49152/callback/evil'],
      ['https', 'https://127.0.0.1:49152/callback'],
      ['another loopback name', 'http://localhost:49152/callback'],
      ['a host that starts like the loopback address', 'http://127.0.0.1.evil.example:49152/callback'],
      ['a port that is not a number', 'http://127.0.0.1:evil/callback'],
    ];
    for (const [name, redirectUri] of nativeTricks) {
      it(`refuses ${name} on a native app's loopback redirect with a page`, async () => {
        const response = await fetch(native(redirectUri!), { redirect: 'manual', headers: { accept: 'text/html' } });
        expect(response.status).to.equal(400);
        expect(response.headers.get('location')).to.equal(null);
        const html = await response.text();
        expect(html).to.include('invalid_redirect_uri');
        expect(html).not.to.include('evil');
      });
    }
    it('answers with the page whatever the Accept header (the authorization endpoint is for browsers)', async () => {
      const response = await fetch(authorizeUrl({ redirect_uri: 'https://evil.example/cb' }), { redirect: 'manual', headers: { accept: 'application/json' } });
      expect(response.status).to.equal(400);
      expect(await response.text()).to.include('invalid_redirect_uri');
    });
  });

  it('refuses an unknown client_id with a page (no redirect)', async () => {
    const response = await fetch(authorizeUrl({ client_id: '<script>alert(1)</script>' }), { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(response.status).to.equal(400);
    const html = await response.text();
    expect(html).to.include('invalid_client');
    expect(html).not.to.include('<script>alert');
  });

  for (const responseType of ['token', 'id_token', 'code token', 'none']) {
    it(`refuses response_type=${responseType} with unsupported_response_type`, async () => {
      const response = await fetch(authorizeUrl({ response_type: responseType }), { redirect: 'manual' });
      expect(response.status).to.equal(303);
      const location = new URL(response.headers.get('location')!);
      expect(location.origin + location.pathname).to.equal(DEMO.portal.redirectUri);
      // implicit response types answer in the fragment (their default response mode), others in the query
      const answer = location.hash ? new URLSearchParams(location.hash.slice(1)) : location.searchParams;
      expect(answer.get('error')).to.equal('unsupported_response_type');
      expect(answer.get('state')).to.equal('st');
    });
  }

  describe('PKCE', () => {
    it('a public app without code_challenge: invalid_request', async () => {
      const response = await fetch(authorizeUrl({ client_id: DEMO.cli.clientId, redirect_uri: DEMO.cli.redirectUri }), { redirect: 'manual' });
      expect(new URL(response.headers.get('location')!).searchParams.get('error')).to.equal('invalid_request');
    });
    it('code_challenge_method=plain: invalid_request', async () => {
      const response = await fetch(authorizeUrl({ client_id: DEMO.cli.clientId, redirect_uri: DEMO.cli.redirectUri, code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }), { redirect: 'manual' });
      expect(new URL(response.headers.get('location')!).searchParams.get('error')).to.equal('invalid_request');
    });
    it('a wrong code_verifier: invalid_grant', async () => {
      const verifier = oidc.randomPKCECodeVerifier();
      const challenge = await oidc.calculatePKCECodeChallenge(verifier);
      const { code: c } = await code(DEMO.cli.clientId, DEMO.cli.redirectUri, { code_challenge: challenge, code_challenge_method: 'S256' });
      const result = await post(`${op.issuer}/oauth2/token`, new URLSearchParams({ grant_type: 'authorization_code', code: c, redirect_uri: DEMO.cli.redirectUri, client_id: DEMO.cli.clientId, code_verifier: oidc.randomPKCECodeVerifier() }));
      expect(result.status).to.equal(400);
      expect(result.json.error).to.equal('invalid_grant');
    });
  });

  it('a code redeemed by another client: invalid_grant', async () => {
    const { code: c } = await code();
    const result = await post(`${op.issuer}/oauth2/token`, new URLSearchParams({ grant_type: 'authorization_code', code: c, redirect_uri: DEMO.portal.redirectUri }), {
      authorization: basic(DEMO.crm.clientId, DEMO.crm.secret),
    });
    expect(result.status).to.equal(400);
    expect(result.json.error).to.equal('invalid_grant');
  });

  it('a code with another redirect_uri: invalid_grant', async () => {
    const { code: c } = await code();
    const result = await post(`${op.issuer}/oauth2/token`, new URLSearchParams({ grant_type: 'authorization_code', code: c, redirect_uri: 'http://localhost:5001/other' }), { authorization: portal() });
    expect(result.json.error).to.equal('invalid_grant');
  });

  it('a wrong secret: 401 invalid_client, the secret never echoed', async () => {
    const result = await post(`${op.issuer}/oauth2/token`, 'grant_type=client_credentials', { authorization: basic(DEMO.sync.clientId, 'guess-guess-guess-guess') });
    expect(result.status).to.equal(401);
    expect(result.json.error).to.equal('invalid_client');
    expect(result.text).not.to.include('guess-guess');
  });

  it('a confidential app authenticating with none: 401 invalid_client', async () => {
    const { code: c } = await code();
    const result = await post(`${op.issuer}/oauth2/token`, new URLSearchParams({ grant_type: 'authorization_code', code: c, redirect_uri: DEMO.portal.redirectUri, client_id: DEMO.portal.clientId }));
    expect(result.status).to.equal(401);
    expect(result.json.error).to.equal('invalid_client');
  });

  it('two authentication methods at once: 400 invalid_request', async () => {
    const result = await post(`${op.issuer}/oauth2/token`, new URLSearchParams({ grant_type: 'client_credentials', client_id: DEMO.sync.clientId, client_secret: DEMO.sync.secret }), {
      authorization: basic(DEMO.sync.clientId, DEMO.sync.secret),
    });
    expect(result.status).to.equal(400);
    expect(result.json.error).to.equal('invalid_request');
  });

  it('a public app asking for client_credentials: unauthorized_client', async () => {
    const result = await post(`${op.issuer}/oauth2/token`, new URLSearchParams({ grant_type: 'client_credentials', client_id: DEMO.cli.clientId }));
    expect(result.status).to.equal(400);
    expect(result.json.error).to.equal('unauthorized_client');
  });

  it('an unknown grant_type: unsupported_grant_type', async () => {
    const result = await post(`${op.issuer}/oauth2/token`, 'grant_type=password&username=a&password=b', { authorization: portal() });
    expect(result.status).to.equal(400);
    expect(result.json.error).to.equal('unsupported_grant_type');
  });

  it('prompt=none for a third-party app without consent: consent_required', async () => {
    const agent = new UserAgent();
    const { agent: signedIn } = await code();
    void agent;
    const response = await signedIn.request(authorizeUrl({ client_id: DEMO.crm.clientId, redirect_uri: DEMO.crm.redirectUri, prompt: 'none', scope: 'openid profile' }));
    const location = new URL(response.headers.get('location')!, op.issuer);
    expect(location.searchParams.get('error')).to.equal('consent_required');
  });

  it('an interaction form posted twice, or after completion, is refused with a page', async () => {
    const agent = new UserAgent();
    const page = await agent.follow(authorizeUrl({}), DEMO.portal.redirectUri);
    const login = new URL(page.html!.match(/action="([^"]+\/login)"/)![1]!, op.issuer).href;
    const first = await agent.request(login, { form: { email: DEMO.bob.email, password: DEMO.bob.password } });
    expect(first.status).to.equal(303);
    // finish the authorization, then post the same form again
    await agent.follow(new URL(first.headers.get('location')!, op.issuer).href, DEMO.portal.redirectUri);
    const again = await agent.request(login, { form: { email: DEMO.bob.email, password: DEMO.bob.password } });
    expect(again.status).to.equal(400);
    const html = await again.text();
    expect(html).to.match(/expired|no longer valid|already/i);
    expect(html).not.to.match(/at .*\.(ts|js):\d+/);
  });

  it('refresh after revocation: invalid_grant', async () => {
    const { code: c } = await code(DEMO.portal.clientId, DEMO.portal.redirectUri, { scope: 'openid offline_access' });
    const tokens = await post(`${op.issuer}/oauth2/token`, new URLSearchParams({ grant_type: 'authorization_code', code: c, redirect_uri: DEMO.portal.redirectUri }), { authorization: portal() });
    await post(`${op.issuer}/oauth2/revoke`, new URLSearchParams({ token: tokens.json.refresh_token }), { authorization: portal() });
    const refresh = await post(`${op.issuer}/oauth2/token`, new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.json.refresh_token }), { authorization: portal() });
    expect(refresh.status).to.equal(400);
    expect(refresh.json.error).to.equal('invalid_grant');
  });

  describe('introspection and revocation: who may know', () => {
    /** The portal's tokens for bob (access and refresh). */
    async function portalTokens() {
      const { code: c } = await code(DEMO.portal.clientId, DEMO.portal.redirectUri, { scope: 'openid offline_access' });
      return (await post(`${op.issuer}/oauth2/token`, new URLSearchParams({ grant_type: 'authorization_code', code: c, redirect_uri: DEMO.portal.redirectUri }), { authorization: portal() })).json;
    }
    const introspect = (token: string, authorization: string) => post(`${op.issuer}/oauth2/introspection`, new URLSearchParams({ token }), { authorization });

    it("a partner app or another organization's M2M app introspecting someone else's token: 200 {active:false}, as for an unknown token", async () => {
      const tokens = await portalTokens();
      for (const caller of [basic(DEMO.crm.clientId, DEMO.crm.secret), basic(DEMO.sync.clientId, DEMO.sync.secret)]) {
        for (const token of [tokens.access_token, tokens.refresh_token]) {
          const answer = await introspect(token, caller);
          expect(answer.status).to.equal(200);
          expect(answer.text).to.equal(JSON.stringify({ active: false }));
        }
      }
      expect((await introspect(tokens.access_token, portal())).json.active).to.equal(true);
    });

    it('a public app introspecting, even its own token: 401 invalid_client', async () => {
      const result = await post(`${op.issuer}/oauth2/introspection`, new URLSearchParams({ token: 'any', client_id: DEMO.cli.clientId }));
      expect(result.status).to.equal(401);
      expect(result.json.error).to.equal('invalid_client');
    });

    it("a public app revoking another app's token: the silent 200, and the token lives on", async () => {
      const tokens = await portalTokens();
      const result = await post(`${op.issuer}/oauth2/revoke`, new URLSearchParams({ token: tokens.refresh_token, client_id: DEMO.cli.clientId }));
      expect(result.status).to.equal(200);
      expect((await introspect(tokens.refresh_token, portal())).json.active).to.equal(true);
    });

    it('a revocation naming no client: 401 invalid_client', async () => {
      const result = await post(`${op.issuer}/oauth2/revoke`, new URLSearchParams({ token: 'any' }));
      expect(result.status).to.equal(401);
      expect(result.json.error).to.equal('invalid_client');
    });
  });

  describe('bodies', () => {
    it('an oversized body: 400 or 413 invalid_request, not a 500', async () => {
      for (const path of ['/oauth2/token', '/oauth2/introspection', '/oauth2/revoke']) {
        const result = await post(`${op.issuer}${path}`, `grant_type=client_credentials&token=${'a'.repeat(200_000)}`, { authorization: portal() });
        expect(result.status, path).to.be.oneOf([400, 413]);
        expect(result.json.error, path).to.equal('invalid_request');
      }
    });
    it('a malformed or mistyped body: invalid_request', async () => {
      const json = await fetch(`${op.issuer}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: portal() }, body: '{"grant_type":' });
      expect(json.status).to.equal(400);
      expect((await json.json()).error).to.equal('invalid_request');
      const dupes = await post(`${op.issuer}/oauth2/token`, 'grant_type=client_credentials&grant_type=client_credentials', { authorization: basic(DEMO.sync.clientId, DEMO.sync.secret) });
      expect(dupes.status).to.equal(400);
      expect(dupes.json.error).to.equal('invalid_request');
      const badPercent = await post(`${op.issuer}/oauth2/introspection`, 'token=%E0%A4%A', { authorization: portal() });
      expect(badPercent.status).to.be.below(500);
    });
    it('a malformed interaction form: a page, not a 500', async () => {
      const agent = new UserAgent();
      const page = await agent.follow(authorizeUrl({}), DEMO.portal.redirectUri);
      const login = new URL(page.html!.match(/action="([^"]+\/login)"/)![1]!, op.issuer).href;
      const response = await agent.request(login, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, method: 'POST', form: { email: 'x'.repeat(100_000) } });
      expect(response.status).to.be.oneOf([400, 401, 413]);
    });
  });

  it('header / CRLF injection through state stays inside the redirect URL', async () => {
    const state = 'abc\r\nSet-Cookie: evil=1\r\nX-Injected: yes';
    const response = await fetch(authorizeUrl({ response_type: 'none', state }), { redirect: 'manual' });
    expect(response.headers.get('x-injected')).to.equal(null);
    expect(response.headers.getSetCookie().some((c) => c.startsWith('evil'))).to.equal(false);
    const location = new URL(response.headers.get('location')!);
    expect(location.searchParams.get('state')).to.equal(state);
  });
});
