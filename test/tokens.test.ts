import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';

import { startProvider, type RunningProvider } from './helpers/provider.js';
import { STORES } from './helpers/stores.js';
import { DEMO, discover, signIn } from './helpers/relying-party.js';
import { UserAgent } from './helpers/user-agent.js';

/** A raw form POST with client_secret_basic, for asserting exact statuses and bodies. */
async function post(url: string, form: Record<string, string>, auth?: { id: string; secret: string }) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(auth.id)}:${encodeURIComponent(auth.secret)}`).toString('base64')}`;
  const response = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(form) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

for (const store of STORES) describe(`tokens: refresh, introspection, revocation, replay, client_credentials [${store.name} store]`, () => {
  let op: RunningProvider;
  const portalAuth: { id: string; secret: string } = { id: DEMO.portal.clientId, secret: DEMO.portal.secret };
  before(async function () {
    op = await startProvider({ ...(await store.options(this)), resources: ['https://api.partner.example'] });
  });
  after(() => op?.stop());

  const introspect = (token: string, auth = portalAuth) => post(`${op.issuer}/oauth2/introspection`, { token }, auth);

  it('introspects a JWT access token as active with org_id, sub, scope and token_type', async () => {
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const { tokens } = await signIn(config, DEMO.portal.redirectUri, { ...DEMO.alice, organizationId: 'org_globex' });
    const result = await oidc.tokenIntrospection(config, tokens!.access_token);
    expect(result).to.include({ active: true, sub: DEMO.alice.id, org_id: 'org_globex', client_id: DEMO.portal.clientId, token_type: 'bearer', scope: 'openid profile email' });
    expect(result.iss).to.equal(op.issuer);
    expect(result.exp).to.equal(decodeJwt(tokens!.access_token).exp);
  });

  it('answers 401 invalid_client to introspection without client authentication, or with a wrong secret', async () => {
    const missing = await post(`${op.issuer}/oauth2/introspection`, { token: 'whatever' });
    expect(missing.status).to.equal(401);
    expect(missing.json.error).to.equal('invalid_client');
    expect(missing.headers.get('www-authenticate')).to.match(/^Basic/);
    const wrong = await introspect('whatever', { id: DEMO.portal.clientId, secret: 'not-the-secret-at-all' });
    expect(wrong.status).to.equal(401);
    expect(wrong.json.error).to.equal('invalid_client');
    expect(JSON.stringify(wrong.json)).not.to.include('not-the-secret');
  });

  it('introspects garbage, a foreign JWT and an unsigned JWT as inactive', async () => {
    expect((await introspect('not-a-token')).json).to.deep.equal({ active: false });
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ iss: op.issuer, sub: 'user_alice', aud: op.issuer, client_id: DEMO.portal.clientId, jti: 'x', sid: 'y', exp: 9999999999 })).toString('base64url');
    expect((await introspect(`${header}.${body}.`)).json).to.deep.equal({ active: false });
    expect((await introspect(`${header}.${body}.c2lnbmF0dXJl`)).json).to.deep.equal({ active: false });
  });

  it('revokes a JWT access token: introspection then says inactive, userinfo refuses it', async () => {
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const { tokens } = await signIn(config, DEMO.portal.redirectUri, { ...DEMO.bob });
    await oidc.tokenRevocation(config, tokens!.access_token);
    expect((await introspect(tokens!.access_token)).json).to.deep.equal({ active: false });
    const userinfo = await fetch(`${op.issuer}/oauth2/userinfo`, { headers: { authorization: `Bearer ${tokens!.access_token}` } });
    expect(userinfo.status).to.equal(401);
    expect(userinfo.headers.get('www-authenticate')).to.include('invalid_token');
  });

  it('does not let one app revoke or introspect another app\'s tokens', async () => {
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const { tokens } = await signIn(config, DEMO.portal.redirectUri, { ...DEMO.bob });
    const crm = await discover(op.issuer, DEMO.crm.clientId, DEMO.crm.secret);
    const refused = await oidc.tokenRevocation(crm, tokens!.access_token).catch((e: { error?: string }) => e);
    expect((refused as { error?: string }).error).to.equal('invalid_request');
    expect((await introspect(tokens!.access_token)).json.active).to.equal(true);
    // RFC 7662 section 2.2: to the partner app, another app's token is as good as unknown.
    expect((await introspect(tokens!.access_token, { id: DEMO.crm.clientId, secret: DEMO.crm.secret })).json).to.deep.equal({ active: false });
  });

  it('refresh keeps org_id and sid, rotates the refresh token, and reuse of a rotated one revokes the grant', async () => {
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const { tokens } = await signIn(config, DEMO.portal.redirectUri, { ...DEMO.alice, organizationId: 'org_globex', scope: 'openid offline_access' });
    const first = decodeJwt(tokens!.access_token);

    const refreshed = await oidc.refreshTokenGrant(config, tokens!.refresh_token!);
    const second = decodeJwt(refreshed.access_token);
    expect(second).to.include({ org_id: 'org_globex', sid: first.sid, sub: DEMO.alice.id });
    expect(refreshed.refresh_token).to.be.a('string').and.not.equal(tokens!.refresh_token);
    expect((await introspect(refreshed.access_token)).json).to.include({ active: true, org_id: 'org_globex' });

    const reuse = await post(`${op.issuer}/oauth2/token`, { grant_type: 'refresh_token', refresh_token: tokens!.refresh_token! }, portalAuth);
    expect(reuse.status).to.equal(400);
    expect(reuse.json.error).to.equal('invalid_grant');
    // the whole grant is gone: the newer refresh token and the access tokens are dead too
    const after = await post(`${op.issuer}/oauth2/token`, { grant_type: 'refresh_token', refresh_token: refreshed.refresh_token! }, portalAuth);
    expect(after.json.error).to.equal('invalid_grant');
    expect((await introspect(refreshed.access_token)).json.active).to.equal(false);
  });

  it('introspects a refresh token, and revoking it ends the grant', async () => {
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const { tokens } = await signIn(config, DEMO.portal.redirectUri, { ...DEMO.bob, scope: 'openid offline_access' });
    expect((await introspect(tokens!.refresh_token!)).json).to.include({ active: true, sub: DEMO.bob.id, client_id: DEMO.portal.clientId });
    await oidc.tokenRevocation(config, tokens!.refresh_token!);
    expect((await introspect(tokens!.refresh_token!)).json.active).to.equal(false);
    expect((await introspect(tokens!.access_token)).json.active).to.equal(false);
  });

  it('a replayed authorization code fails with invalid_grant and revokes the tokens of the first redemption', async () => {
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const agent = new UserAgent();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: DEMO.portal.redirectUri, scope: 'openid offline_access', state: 'st' });
    let page = await agent.follow(url.href, DEMO.portal.redirectUri);
    const login = new URL(page.html!.match(/action="([^"]+\/login)"/)![1]!, op.issuer).href;
    page = await agent.follow(login, DEMO.portal.redirectUri, { form: { email: DEMO.bob.email, password: DEMO.bob.password } });
    const code = new URL(page.url).searchParams.get('code')!;

    const redeem = () => post(`${op.issuer}/oauth2/token`, { grant_type: 'authorization_code', code, redirect_uri: DEMO.portal.redirectUri }, portalAuth);
    const first = await redeem();
    expect(first.status).to.equal(200);
    const second = await redeem();
    expect(second.status).to.equal(400);
    expect(second.json.error).to.equal('invalid_grant');
    expect((await introspect(first.json.access_token)).json.active).to.equal(false);
    const refresh = await post(`${op.issuer}/oauth2/token`, { grant_type: 'refresh_token', refresh_token: first.json.refresh_token }, portalAuth);
    expect(refresh.json.error).to.equal('invalid_grant');
  });

  it('lets exactly one of several concurrent redemptions of a code win', async () => {
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const agent = new UserAgent();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: DEMO.portal.redirectUri, scope: 'openid', state: 'st' });
    let page = await agent.follow(url.href, DEMO.portal.redirectUri);
    const login = new URL(page.html!.match(/action="([^"]+\/login)"/)![1]!, op.issuer).href;
    page = await agent.follow(login, DEMO.portal.redirectUri, { form: { email: DEMO.bob.email, password: DEMO.bob.password } });
    const code = new URL(page.url).searchParams.get('code')!;
    const results = await Promise.all(
      Array.from({ length: 8 }, () => post(`${op.issuer}/oauth2/token`, { grant_type: 'authorization_code', code, redirect_uri: DEMO.portal.redirectUri }, portalAuth)),
    );
    expect(results.filter((r) => r.status === 200)).to.have.length(1);
    expect(results.filter((r) => r.status === 400 && r.json.error === 'invalid_grant')).to.have.length(7);
  });

  it('a public app must send its PKCE verifier at the token endpoint', async () => {
    const config = await discover(op.issuer, DEMO.cli.clientId);
    const agent = new UserAgent();
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: DEMO.cli.redirectUri,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    let page = await agent.follow(url.href, DEMO.cli.redirectUri);
    const login = new URL(page.html!.match(/action="([^"]+\/login)"/)![1]!, op.issuer).href;
    page = await agent.follow(login, DEMO.cli.redirectUri, { form: { email: DEMO.bob.email, password: DEMO.bob.password } });
    const code = new URL(page.url).searchParams.get('code')!;
    const token = (form: Record<string, string>) =>
      post(`${op.issuer}/oauth2/token`, { grant_type: 'authorization_code', code, redirect_uri: DEMO.cli.redirectUri, client_id: DEMO.cli.clientId, ...form });
    const without = await token({});
    expect(without.status).to.equal(400);
    expect(without.json.error).to.equal('invalid_grant');
  });

  it('client_credentials: an M2M app gets a JWT with its organization as org_id, introspectable', async () => {
    const config = await discover(op.issuer, DEMO.sync.clientId, DEMO.sync.secret);
    const tokens = await oidc.clientCredentialsGrant(config);
    expect(tokens.token_type).to.equal('bearer');
    const claims = decodeJwt(tokens.access_token);
    expect(claims).to.include({ sub: DEMO.sync.clientId, client_id: DEMO.sync.clientId, org_id: 'org_acme', aud: op.issuer });
    expect(claims).not.to.have.property('sid');
    expect(await oidc.tokenIntrospection(config, tokens.access_token)).to.include({ active: true, org_id: 'org_acme', client_id: DEMO.sync.clientId });
    await oidc.tokenRevocation(config, tokens.access_token);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).to.equal(false);
  });

  it('client_credentials accepts client_secret_post too, and refuses a public app and an OAuth app', async () => {
    const post1 = await post(`${op.issuer}/oauth2/token`, { grant_type: 'client_credentials', client_id: DEMO.sync.clientId, client_secret: DEMO.sync.secret });
    expect(post1.status).to.equal(200);
    const cli = await post(`${op.issuer}/oauth2/token`, { grant_type: 'client_credentials', client_id: DEMO.cli.clientId });
    expect(cli.status).to.equal(400);
    expect(cli.json.error).to.equal("unauthorized_client");
    const portal = await post(`${op.issuer}/oauth2/token`, { grant_type: 'client_credentials' }, portalAuth);
    expect(portal.json.error).to.equal('unauthorized_client');
  });

  it('issues tokens for a requested resource indicator, and userinfo refuses them (foreign audience)', async () => {
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const { tokens } = await signIn(config, DEMO.portal.redirectUri, { ...DEMO.bob, extraParams: { resource: 'https://api.partner.example' } });
    expect(decodeJwt(tokens!.access_token).aud).to.equal('https://api.partner.example');
    const userinfo = await fetch(`${op.issuer}/oauth2/userinfo`, { headers: { authorization: `Bearer ${tokens!.access_token}` } });
    expect(userinfo.status).to.equal(401);
    expect((await introspect(tokens!.access_token)).json).to.include({ active: true, aud: 'https://api.partner.example' });
  });

  it('refuses an unknown resource indicator with invalid_target', async () => {
    const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    const { callback } = await signIn(config, DEMO.portal.redirectUri, { ...DEMO.bob, extraParams: { resource: 'https://evil.example' } });
    expect(callback.searchParams.get('error')).to.equal('invalid_target');
  });

  it('serves RFC 8414 metadata at /.well-known/oauth-authorization-server', async () => {
    const response = await fetch(`${op.issuer}/.well-known/oauth-authorization-server`);
    expect(response.status).to.equal(200);
    const metadata = await response.json();
    expect(metadata).to.include({ issuer: op.issuer, token_endpoint: `${op.issuer}/oauth2/token`, introspection_endpoint: `${op.issuer}/oauth2/introspection`, revocation_endpoint: `${op.issuer}/oauth2/revoke` });
    expect(metadata.code_challenge_methods_supported).to.deep.equal(['S256']);
    expect(metadata.scopes_supported).to.include.members(['openid', 'profile', 'email', 'offline_access']);
  });
});
