import { expect } from 'chai';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oidc from 'openid-client';

import { startProvider, type RunningProvider } from './helpers/provider.js';
import { STORES } from './helpers/stores.js';
import { DEMO, discover, signIn } from './helpers/relying-party.js';
import { UserAgent } from './helpers/user-agent.js';

for (const store of STORES) describe(`authorization_code flow (openid-client as the relying party) [${store.name} store]`, () => {
  let op: RunningProvider;
  before(async function () {
    op = await startProvider(await store.options(this));
  });
  after(() => op?.stop());

  async function verifyAccessToken(token: string) {
    const jwks = createRemoteJWKSet(new URL(`${op.issuer}/oauth2/jwks`));
    return jwtVerify(token, jwks, { issuer: op.issuer, audience: op.issuer, typ: 'at+jwt' });
  }

  describe('first-party confidential app', () => {
    it('signs a one-organization user in without consent; the JWT carries org_id and verifies with the JWKS', async () => {
      const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
      const { tokens, seen } = await signIn(config, DEMO.portal.redirectUri, { ...DEMO.bob });
      expect(seen).to.deep.equal(['login']);
      expect(tokens!.token_type).to.equal('bearer');
      const { payload, protectedHeader } = await verifyAccessToken(tokens!.access_token);
      expect(protectedHeader.alg).to.equal('RS256');
      expect(protectedHeader.kid).to.be.a('string');
      expect(payload).to.include({ iss: op.issuer, sub: DEMO.bob.id, aud: op.issuer, client_id: DEMO.portal.clientId, org_id: 'org_acme' });
      expect(payload.scope).to.equal('openid profile email');
      expect(payload.sid).to.be.a('string');
      expect(payload.jti).to.be.a('string');
      expect(payload.exp! - payload.iat!).to.equal(300);

      const claims = tokens!.claims()!;
      expect(claims.aud).to.equal(DEMO.portal.clientId);
      expect(claims.sub).to.equal(DEMO.bob.id);
      expect(claims.email).to.equal(DEMO.bob.email);
    });

    it('answers userinfo for the JWT access token with the claims of the granted scopes', async () => {
      const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
      const { tokens } = await signIn(config, DEMO.portal.redirectUri, { ...DEMO.bob, scope: 'openid email' });
      const info = await oidc.fetchUserInfo(config, tokens!.access_token, DEMO.bob.id);
      expect(info).to.include({ sub: DEMO.bob.id, email: DEMO.bob.email, email_verified: true });
      expect(info).not.to.have.property('name');
    });

    it('asks a two-organization user to pick one and puts the choice in org_id', async () => {
      const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
      const { tokens, seen } = await signIn(config, DEMO.portal.redirectUri, { ...DEMO.alice, organizationId: 'org_globex' });
      expect(seen).to.deep.equal(['login', 'organization']);
      expect(decodeJwt(tokens!.access_token).org_id).to.equal('org_globex');
    });

    it('refuses a tampered organization_id the user is not a member of, and issues no code', async () => {
      const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
      const agent = new UserAgent();
      const result = await signIn(config, DEMO.portal.redirectUri, { ...DEMO.alice, agent, organizationId: 'org_partner' }).catch((e: Error) => e);
      expect(result).to.be.instanceOf(Error);
      expect(String((result as Error).message)).to.match(/unexpected 400/);
    });

    it('gives a user with no organization tokens without org_id', async () => {
      const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
      const { tokens, seen } = await signIn(config, DEMO.portal.redirectUri, { ...DEMO.carol });
      expect(seen).to.deep.equal(['login']);
      expect(decodeJwt(tokens!.access_token)).not.to.have.property('org_id');
    });

    it('issues a refresh token for offline_access without prompt=consent', async () => {
      const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
      const { tokens } = await signIn(config, DEMO.portal.redirectUri, { ...DEMO.bob, scope: 'openid offline_access' });
      expect(tokens!.refresh_token).to.be.a('string');
      expect(tokens!.scope).to.equal('openid offline_access');
    });

    it('signs an already signed-in user in again without any page', async () => {
      const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
      const agent = new UserAgent();
      await signIn(config, DEMO.portal.redirectUri, { ...DEMO.bob, agent });
      const again = await signIn(config, DEMO.portal.redirectUri, { agent });
      expect(again.seen).to.deep.equal([]);
      expect(again.tokens!.access_token).to.be.a('string');
    });
  });

  describe('third-party app', () => {
    it('shows consent with the app, its owner, the organization and the scopes; allow issues tokens', async () => {
      const config = await discover(op.issuer, DEMO.crm.clientId, DEMO.crm.secret);
      const { tokens, seen, agent } = await signIn(config, DEMO.crm.redirectUri, { ...DEMO.bob, decision: 'allow' });
      expect(seen).to.deep.equal(['login', 'consent']);
      expect(decodeJwt(tokens!.access_token)).to.include({ org_id: 'org_acme', client_id: DEMO.crm.clientId });
      void agent;
    });

    it('renders the consent page with name, owner, organization, scopes and redirect host', async () => {
      const config = await discover(op.issuer, DEMO.crm.clientId, DEMO.crm.secret);
      const agent = new UserAgent();
      const url = oidc.buildAuthorizationUrl(config, { redirect_uri: DEMO.crm.redirectUri, scope: 'openid email', state: 's' });
      let page = await agent.follow(url.href, DEMO.crm.redirectUri);
      const login = page.html!.match(/action="([^"]+\/login)"/)![1]!;
      page = await agent.follow(new URL(login, op.issuer).href, DEMO.crm.redirectUri, { form: { email: DEMO.alice.email, password: DEMO.alice.password } });
      const pick = page.html!.match(/action="([^"]+\/organization)"/)![1]!;
      page = await agent.follow(new URL(pick, op.issuer).href, DEMO.crm.redirectUri, { form: { organization_id: 'org_globex' } });
      expect(page.html).to.include('Partner CRM');
      expect(page.html).to.include('by Partner Inc.');
      expect(page.html).to.include('Globex');
      expect(page.html).to.include('See your email address');
      expect(page.html).to.include('localhost:5002');
      expect(page.html).to.include('http://localhost:5002/logo.png');
      expect(page.html).to.include('http://localhost:5002/logo-dark.png');
      expect(page.html).to.match(/name="decision" value="allow"/);
      expect(page.html).to.match(/name="decision" value="deny"/);
    });

    it('deny sends the user back with error=access_denied', async () => {
      const config = await discover(op.issuer, DEMO.crm.clientId, DEMO.crm.secret);
      const { callback, tokens, seen } = await signIn(config, DEMO.crm.redirectUri, { ...DEMO.carol, decision: 'deny' });
      expect(seen).to.deep.equal(['login', 'consent']);
      expect(tokens).to.equal(undefined);
      expect(callback.searchParams.get('error')).to.equal('access_denied');
    });

    it('remembers consent per user, app and organization, even in a new browser session', async () => {
      const config = await discover(op.issuer, DEMO.crm.clientId, DEMO.crm.secret);
      const first = await signIn(config, DEMO.crm.redirectUri, { ...DEMO.alice, organizationId: 'org_acme', scope: 'openid email' });
      expect(first.seen).to.deep.equal(['login', 'organization', 'consent']);

      const fewer = await signIn(config, DEMO.crm.redirectUri, { ...DEMO.alice, organizationId: 'org_acme', scope: 'openid' });
      expect(fewer.seen).to.deep.equal(['login', 'organization']);
      expect(decodeJwt(fewer.tokens!.access_token).org_id).to.equal('org_acme');

      const more = await signIn(config, DEMO.crm.redirectUri, { ...DEMO.alice, organizationId: 'org_acme', scope: 'openid email profile' });
      expect(more.seen).to.deep.equal(['login', 'organization', 'consent']);

      const otherOrg = await signIn(config, DEMO.crm.redirectUri, { ...DEMO.alice, organizationId: 'org_globex', scope: 'openid' });
      expect(otherOrg.seen).to.deep.equal(['login', 'organization', 'consent']);
      const otherClaims = decodeJwt(otherOrg.tokens!.access_token);
      expect(otherClaims.org_id).to.equal('org_globex');
      expect(otherClaims.sid).not.to.equal(decodeJwt(first.tokens!.access_token).sid);
    });

    it('asks consent for offline_access and then issues a refresh token without prompt=consent', async () => {
      const config = await discover(op.issuer, DEMO.crm.clientId, DEMO.crm.secret);
      const { tokens, agent } = await signIn(config, DEMO.crm.redirectUri, { ...DEMO.bob, scope: 'openid offline_access' });
      expect(tokens!.refresh_token).to.be.a('string');
      void agent;
    });

    it('prompt=none without consent fails with consent_required', async () => {
      const config = await discover(op.issuer, DEMO.crm.clientId, DEMO.crm.secret);
      const agent = new UserAgent();
      const portal = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
      // carol is signed in (through the portal) but never approved Partner CRM
      await signIn(portal, DEMO.portal.redirectUri, { ...DEMO.carol, agent });
      const url = oidc.buildAuthorizationUrl(config, { redirect_uri: DEMO.crm.redirectUri, scope: 'openid profile email', prompt: 'none', state: 'x' });
      const { url: landed } = await agent.follow(url.href, DEMO.crm.redirectUri);
      expect(new URL(landed).searchParams.get('error')).to.equal('consent_required');
    });
  });

  describe('public app (PKCE)', () => {
    it('signs in with PKCE S256 and no secret', async () => {
      const config = await discover(op.issuer, DEMO.cli.clientId);
      const { tokens } = await signIn(config, DEMO.cli.redirectUri, { ...DEMO.bob, scope: 'openid offline_access' });
      expect(decodeJwt(tokens!.access_token)).to.include({ client_id: DEMO.cli.clientId, org_id: 'org_acme' });
      expect(tokens!.refresh_token).to.be.a('string');
    });

    it('is refused without a PKCE challenge', async () => {
      const config = await discover(op.issuer, DEMO.cli.clientId);
      const { callback, tokens } = await signIn(config, DEMO.cli.redirectUri, { ...DEMO.bob, pkce: false });
      expect(tokens).to.equal(undefined);
      expect(callback.searchParams.get('error')).to.equal('invalid_request');
    });

    it('is refused with the plain PKCE method', async () => {
      const config = await discover(op.issuer, DEMO.cli.clientId);
      const { callback } = await signIn(config, DEMO.cli.redirectUri, {
        ...DEMO.bob,
        pkce: false,
        extraParams: { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' },
      });
      expect(callback.searchParams.get('error')).to.equal('invalid_request');
    });
  });
});
