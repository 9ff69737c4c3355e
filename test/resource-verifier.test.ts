import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { expect } from 'chai';
import { base64url, calculateJwkThumbprint, decodeJwt, exportJWK, exportSPKI, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';

import { generateSigningKey } from '../lib/index.js';
import * as oidc from 'openid-client';

import {
  AccessTokenError,
  createVerifier,
  InvalidAudienceError,
  InvalidIssuerError,
  InvalidSignatureError,
  InvalidTokenTypeError,
  MalformedTokenError,
  TokenExpiredError,
  TokenMissingError,
  TokenNotYetValidError,
  TokenRevokedError,
  VerifierError,
  type AccessTokenVerifier,
} from '../lib/resource/index.js';
import { startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO, discover, signIn } from './helpers/relying-party.js';

const API = 'https://api.example.test';
const OTHER_API = 'https://other-api.example.test';
const SCOPES = ['orders:read', 'orders:write'];
/** The API's own application: a resource server of API, so it may introspect API's tokens. */
const API_APP = { clientId: 'api_orders', clientSecret: 'api-orders-secret-000000000001' };

/** The refusal a promise rejects with (fails the test if it resolves). */
async function refusal(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: Error) => ({ error }),
  );
  if (!('error' in outcome)) expect.fail(`expected a refusal, got ${JSON.stringify(outcome.value)}`);
  return outcome.error;
}

const now = () => Math.floor(Date.now() / 1000);

describe('resource server: createVerifier against a real provider', () => {
  let op: RunningProvider;
  let portal: oidc.Configuration;
  let sync: oidc.Configuration;
  let verifier: AccessTokenVerifier;
  /** The provider's own private signing key, to mint tokens it would never issue. */
  let privateJwk: JWK;

  before(async () => {
    privateJwk = await generateSigningKey('RS256');
    op = await startProvider({
      keys: { jwks: { keys: [privateJwk] } },
      audience: API,
      resources: [OTHER_API],
      scopes: SCOPES,
      applications: [{ application_type: 'm2m', name: 'Orders API', organization_id: 'org_acme', client_id: API_APP.clientId, client_secret: API_APP.clientSecret, resource_server: { audiences: [API] } }],
    });
    portal = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
    sync = await discover(op.issuer, DEMO.sync.clientId, DEMO.sync.secret);
    verifier = createVerifier({ issuer: op.issuer, audience: API });
  });
  after(() => op.stop());

  const userToken = async (scope = 'openid orders:read offline_access') => (await signIn(portal, DEMO.portal.redirectUri, { ...DEMO.bob, scope })).tokens!;
  const m2mToken = async (parameters: Record<string, string> = { scope: 'orders:read' }) => (await oidc.clientCredentialsGrant(sync, parameters)).access_token;

  /** Signs with the provider's key: a well-formed orgconnect access token unless `claims`/`header` say otherwise. */
  async function mint(claims: JWTPayload = {}, header: Record<string, unknown> = {}, key: JWK = privateJwk): Promise<string> {
    const iat = now();
    return new SignJWT({ iss: op.issuer, sub: DEMO.bob.id, aud: API, client_id: DEMO.portal.clientId, jti: `jti-${Math.random()}`, iat, exp: iat + 300, scope: 'openid', org_id: 'org_acme', ...claims })
      .setProtectedHeader({ alg: key.alg!, typ: 'at+jwt', kid: key.kid, ...header })
      .sign(await importJWK(key, key.alg));
  }

  describe('accepts', () => {
    it('a user access token from the authorization_code flow, with its identity, organization and scopes', async () => {
      const tokens = await userToken();
      const auth = await verifier.verify(tokens.access_token);
      expect(auth).to.include({ sub: DEMO.bob.id, org_id: 'org_acme', client_id: DEMO.portal.clientId, token: tokens.access_token });
      expect(auth.scope).to.deep.equal(['openid', 'orders:read', 'offline_access']);
      expect(auth.claims).to.deep.equal(decodeJwt(tokens.access_token));
      expect(auth.claims.sid).to.be.a('string');
    });

    it('a client_credentials token: sub is the client, org_id its organization, no sid', async () => {
      const token = await m2mToken();
      const auth = await verifier.verify(token);
      expect(auth).to.include({ sub: DEMO.sync.clientId, client_id: DEMO.sync.clientId, org_id: 'org_acme' });
      expect(auth.scope).to.deep.equal(['orders:read']);
      expect(auth.claims).not.to.have.property('sid');
    });

    it('a token without scope or org_id: scope [] and org_id undefined', async () => {
      const auth = await verifier.verify(await mint({ scope: undefined, org_id: undefined }));
      expect(auth.scope).to.deep.equal([]);
      expect(auth.org_id).to.equal(undefined);
    });

    it('a token for any of several audiences', async () => {
      const both = createVerifier({ issuer: op.issuer, audience: [OTHER_API, API] });
      expect((await both.verify(await m2mToken({ resource: OTHER_API }))).sub).to.equal(DEMO.sync.clientId);
      expect((await both.verify(await m2mToken())).sub).to.equal(DEMO.sync.clientId);
    });

    it('with the MCP SDK AuthInfo fields too: clientId, scopes, expiresAt, resource (the audience matched), extra', async () => {
      const tokens = await userToken();
      const claims = decodeJwt(tokens.access_token);
      const auth = await verifier.verify(tokens.access_token);
      expect(auth).to.include({ token: tokens.access_token, clientId: DEMO.portal.clientId, expiresAt: claims.exp });
      expect(auth.scopes).to.deep.equal(auth.scope);
      expect(auth.scopes, 'another array').not.to.equal(auth.scope);
      expect(auth.resource).to.be.instanceOf(URL);
      expect(auth.resource!.href).to.equal(`${API}/`);
      expect(auth.extra).to.deep.equal({ sub: DEMO.bob.id, org_id: 'org_acme', claims: auth.claims });

      const both = createVerifier({ issuer: op.issuer, audience: ['urn:orders', OTHER_API, API] });
      expect((await both.verify(await m2mToken({ resource: OTHER_API }))).resource!.href).to.equal(`${OTHER_API}/`);
      const bare = await createVerifier({ issuer: op.issuer, audience: 'orders' }).verify(await mint({ aud: ['orders', API] }));
      expect(bare).not.to.have.property('resource');
      expect(bare.extra).to.deep.equal({ sub: DEMO.bob.id, org_id: 'org_acme', claims: bare.claims });
      const noOrg = await verifier.verify(await mint({ org_id: undefined, scope: undefined }));
      expect(noOrg).to.deep.include({ scopes: [], extra: { sub: DEMO.bob.id, org_id: undefined, claims: noOrg.claims } });
    });

    it('an issuer given with a trailing slash, as orgconnect normalizes it', async () => {
      const slash = createVerifier({ issuer: `${op.issuer}/`, audience: API });
      expect(slash.issuer).to.equal(op.issuer);
      expect((await slash.verify(await m2mToken())).sub).to.equal(DEMO.sync.clientId);
    });

    it('a token expired by less than the clock tolerance (5 s by default)', async () => {
      const token = await mint({ iat: now() - 300, exp: now() - 2 });
      expect((await verifier.verify(token)).sub).to.equal(DEMO.bob.id);
      const strict = createVerifier({ issuer: op.issuer, audience: API, clockTolerance: 0 });
      expect(await refusal(strict.verify(token))).to.be.instanceOf(TokenExpiredError);
    });
  });

  describe('refuses', () => {
    it('no token at all', async () => {
      for (const token of [undefined, '']) {
        const error = await refusal(verifier.verify(token));
        expect(error).to.be.instanceOf(TokenMissingError);
        expect(error).to.include({ code: 'token_missing', status: 401, oauthError: undefined });
      }
    });

    it('an expired token (signed with the provider key)', async () => {
      const error = await refusal(verifier.verify(await mint({ iat: now() - 400, exp: now() - 60 })));
      expect(error).to.be.instanceOf(TokenExpiredError).and.to.be.instanceOf(AccessTokenError);
      expect(error).to.include({ code: 'token_expired', status: 401, oauthError: 'invalid_token' });
    });

    it('a real token once the provider-set lifetime has passed', async () => {
      const shortLived = await startProvider({ audience: API, ttl: { accessToken: 1 } });
      try {
        const config = await discover(shortLived.issuer, DEMO.sync.clientId, DEMO.sync.secret);
        const { access_token } = await oidc.clientCredentialsGrant(config, {});
        // exp is whole seconds, so a 1 s token may expire at once: the check before waiting keeps the default tolerance
        const lenient = createVerifier({ issuer: shortLived.issuer, audience: API });
        expect((await lenient.verify(access_token)).sub).to.equal(DEMO.sync.clientId);
        await new Promise((resolve) => setTimeout(resolve, 2100));
        const strict = createVerifier({ issuer: shortLived.issuer, audience: API, clockTolerance: 0 });
        expect(await refusal(strict.verify(access_token))).to.be.instanceOf(TokenExpiredError);
      } finally {
        await shortLived.stop();
      }
    });

    it('a token not valid yet (nbf in the future)', async () => {
      const error = await refusal(verifier.verify(await mint({ nbf: now() + 120 })));
      expect(error).to.be.instanceOf(TokenNotYetValidError);
      expect(error).to.include({ code: 'token_not_yet_valid', status: 401 });
    });

    it('a real token for another audience (resource indicator), and one minted for another audience', async () => {
      const real = await refusal(verifier.verify(await m2mToken({ resource: OTHER_API })));
      expect(real).to.be.instanceOf(InvalidAudienceError);
      expect(real).to.include({ code: 'invalid_audience', oauthError: 'invalid_token' });
      expect(await refusal(verifier.verify(await mint({ aud: 'https://elsewhere.example' })))).to.be.instanceOf(InvalidAudienceError);
      const otherApi = createVerifier({ issuer: op.issuer, audience: OTHER_API });
      expect(await refusal(otherApi.verify((await userToken()).access_token))).to.be.instanceOf(InvalidAudienceError);
    });

    it('a token from another issuer, even signed with the right key', async () => {
      const error = await refusal(verifier.verify(await mint({ iss: 'https://evil.example' })));
      expect(error).to.be.instanceOf(InvalidIssuerError);
      expect(error.message).not.to.include('evil');
    });

    it('an unsigned token (alg none), without fetching anything', async () => {
      const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: privateJwk.kid }));
      const payload = base64url.encode(JSON.stringify(decodeJwt(await mint())));
      const fresh = createVerifier({ issuer: 'http://127.0.0.1:9', audience: API });
      for (const token of [`${header}.${payload}.`, `${header}.${payload}.c2ln`]) {
        // a verifier whose issuer does not exist: a VerifierError would mean it tried to fetch keys
        expect(await refusal(fresh.verify(token))).to.be.instanceOf(InvalidSignatureError);
        expect(await refusal(verifier.verify(token))).to.be.instanceOf(InvalidSignatureError);
      }
    });

    it('HS256 signed with the public key bytes (algorithm confusion)', async () => {
      const jwks = (await (await fetch(`${op.issuer}/oauth2/jwks`)).json()) as { keys: JWK[] };
      const publicJwk = jwks.keys[0]!;
      const pem = await exportSPKI((await importJWK(publicJwk, publicJwk.alg, { extractable: true })) as CryptoKey);
      const claims = decodeJwt(await mint());
      for (const secret of [pem, JSON.stringify(publicJwk)]) {
        const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: publicJwk.kid }).sign(new TextEncoder().encode(secret));
        const error = await refusal(verifier.verify(token));
        expect(error).to.be.instanceOf(InvalidSignatureError);
        expect(error).to.include({ code: 'invalid_signature', status: 401, oauthError: 'invalid_token' });
      }
    });

    it('a token signed by a foreign key, whether it claims the provider kid or its own', async () => {
      const { privateKey } = await generateKeyPair('RS256', { extractable: true });
      const foreign = { ...(await exportJWK(privateKey)), alg: 'RS256' };
      const sameKid = await mint({}, {}, { ...foreign, kid: privateJwk.kid });
      const ownKid = await mint({}, {}, { ...foreign, kid: await calculateJwkThumbprint(foreign) });
      expect(await refusal(verifier.verify(sameKid))).to.be.instanceOf(InvalidSignatureError);
      expect(await refusal(verifier.verify(ownKid))).to.be.instanceOf(InvalidSignatureError);
    });

    it('a real token whose payload was tampered with', async () => {
      const [header, payload, signature] = (await userToken('openid')).access_token.split('.');
      const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!)));
      for (const change of [{ sub: DEMO.alice.id }, { org_id: 'org_globex' }, { scope: 'openid orders:write' }]) {
        const forged = `${header}.${base64url.encode(JSON.stringify({ ...claims, ...change }))}.${signature}`;
        expect(await refusal(verifier.verify(forged))).to.be.instanceOf(InvalidSignatureError);
      }
    });

    it('a refresh token presented as an access token', async () => {
      const { refresh_token } = await userToken();
      expect(refresh_token).to.be.a('string');
      const error = await refusal(verifier.verify(refresh_token!));
      expect(error).to.be.instanceOf(MalformedTokenError);
      expect(error).to.include({ code: 'token_malformed', status: 401, oauthError: 'invalid_token' });
    });

    it('an ID token presented as an access token (no typ at+jwt), and an access token minted with typ JWT', async () => {
      const { id_token } = await userToken();
      const error = await refusal(verifier.verify(id_token!));
      expect(error).to.be.instanceOf(InvalidTokenTypeError);
      expect(error).to.include({ code: 'invalid_token_type', status: 401 });
      // same audience as the API, so only the type can refuse it
      const asApi = createVerifier({ issuer: op.issuer, audience: DEMO.portal.clientId });
      expect(await refusal(asApi.verify(id_token!))).to.be.instanceOf(InvalidTokenTypeError);
      expect(await refusal(verifier.verify(await mint({}, { typ: 'JWT' })))).to.be.instanceOf(InvalidTokenTypeError);
    });

    it('a token lacking a required claim or with a mistyped one', async () => {
      for (const claims of [{ client_id: undefined }, { sub: undefined }, { jti: undefined }, { exp: undefined }, { scope: ['openid'] }, { org_id: 42 }, { client_id: '' }]) {
        const error = await refusal(verifier.verify(await mint(claims as JWTPayload)));
        expect(error, JSON.stringify(claims)).to.be.instanceOf(MalformedTokenError);
      }
    });

    it('garbage', async () => {
      for (const token of ['not-a-jwt', 'a.b.c', 'eyJhbGciOiJSUzI1NiJ9.e30']) {
        expect(await refusal(verifier.verify(token))).to.be.instanceOf(MalformedTokenError);
      }
    });
  });

  describe('introspection (introspect: true)', () => {
    const credentials = API_APP;

    it('sees a revoked user token that the signature alone still accepts', async () => {
      const introspecting = createVerifier({ issuer: op.issuer, audience: API, introspection: { ...credentials, cacheSeconds: 0 } });
      const { access_token } = await userToken();
      expect((await introspecting.verify(access_token, { introspect: true })).sub).to.equal(DEMO.bob.id);
      await oidc.tokenRevocation(portal, access_token);
      expect((await introspecting.verify(access_token)).sub).to.equal(DEMO.bob.id);
      const error = await refusal(introspecting.verify(access_token, { introspect: true }));
      expect(error).to.be.instanceOf(TokenRevokedError);
      expect(error).to.include({ code: 'token_revoked', status: 401, oauthError: 'invalid_token' });
    });

    it('as a verifier default, with client_secret_post, for a revoked client_credentials token', async () => {
      const always = createVerifier({ issuer: op.issuer, audience: API, introspect: true, introspection: { ...credentials, authMethod: 'client_secret_post', cacheSeconds: 0 } });
      const token = await m2mToken();
      expect((await always.verify(token)).sub).to.equal(DEMO.sync.clientId);
      await oidc.tokenRevocation(sync, token);
      expect(await refusal(always.verify(token))).to.be.instanceOf(TokenRevokedError);
      expect((await always.verify(token, { introspect: false })).sub, 'per-call override').to.equal(DEMO.sync.clientId);
    });

    it('reuses an active answer for cacheSeconds (default 5): a revocation is seen only after that', async () => {
      const cached = createVerifier({ issuer: op.issuer, audience: API, introspection: credentials });
      const { access_token } = await userToken();
      await cached.verify(access_token, { introspect: true });
      await oidc.tokenRevocation(portal, access_token);
      expect((await cached.verify(access_token, { introspect: true })).sub).to.equal(DEMO.bob.id);
    });

    it('checks the signature first: a forged token is refused without asking', async () => {
      const introspecting = createVerifier({ issuer: op.issuer, audience: API, introspect: true, introspection: { clientId: 'nobody', clientSecret: 'wrong-secret-wrong-secret' } });
      expect(await refusal(introspecting.verify(await mint({ iss: 'https://evil.example' })))).to.be.instanceOf(InvalidIssuerError);
    });

    it('fails with VerifierError, not a token refusal, when the API credentials are wrong', async () => {
      const wrong = createVerifier({ issuer: op.issuer, audience: API, introspect: true, introspection: { clientId: DEMO.sync.clientId, clientSecret: 'not-the-secret-at-all' } });
      const error = await refusal(wrong.verify(await m2mToken()));
      expect(error).to.be.instanceOf(VerifierError).and.not.to.be.instanceOf(AccessTokenError);
      expect(error).to.include({ status: 503 });
      expect(error.message).to.include('401').and.include('invalid_client').and.not.include('not-the-secret');
    });
  });

  describe('options and issuer failures', () => {
    it('refuses none, HMAC and unknown algorithms in the allow-list, and other bad options', () => {
      for (const algorithms of [['none'], ['HS256'], ['RS256', 'HS512'], ['XYZ'], []]) {
        expect(() => createVerifier({ issuer: op.issuer, audience: API, algorithms: algorithms as never }), algorithms.join()).to.throw(TypeError);
      }
      expect(() => createVerifier({ issuer: 'not a url', audience: API })).to.throw(TypeError, /issuer/);
      expect(() => createVerifier({ issuer: op.issuer, audience: '' })).to.throw(TypeError, /audience/);
      expect(() => createVerifier({ issuer: op.issuer, audience: [] })).to.throw(TypeError, /audience/);
      expect(() => createVerifier({ issuer: op.issuer, audience: API, clockTolerance: -1 })).to.throw(TypeError, /clockTolerance/);
      expect(() => createVerifier({ issuer: op.issuer, audience: API, introspect: true })).to.throw(TypeError, /introspection/);
      expect(() => createVerifier({ issuer: op.issuer, audience: API, introspection: { clientId: 'x', clientSecret: '' } })).to.throw(TypeError);
      expect(() => createVerifier({ issuer: op.issuer, audience: API, introspection: { clientId: 'x', clientSecret: 'y', cacheSeconds: -1 } })).to.throw(TypeError);
    });

    it('a per-call introspect without credentials is a programming error (TypeError)', async () => {
      expect(await refusal(verifier.verify(await m2mToken(), { introspect: true }))).to.be.instanceOf(TypeError);
    });

    it('only accepts the algorithms it is told to', async () => {
      const esOnly = createVerifier({ issuer: op.issuer, audience: API, algorithms: ['ES256'] });
      expect(await refusal(esOnly.verify(await m2mToken()))).to.be.instanceOf(InvalidSignatureError);
    });

    it('fails with VerifierError when the issuer cannot be reached', async () => {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      await new Promise((resolve) => server.close(resolve));
      const gone = createVerifier({ issuer: `http://127.0.0.1:${port}`, audience: API });
      const error = await refusal(gone.verify(await m2mToken()));
      expect(error).to.be.instanceOf(VerifierError);
      expect(error.message).to.include('discovery');
    });

    it('fails with VerifierError when the discovery document names another issuer', async () => {
      const alias = op.issuer.replace('127.0.0.1', 'localhost');
      const error = await refusal(createVerifier({ issuer: alias, audience: API }).verify(await m2mToken()));
      expect(error).to.be.instanceOf(VerifierError);
      expect(error.message).to.include('is for issuer');
    });
  });
});
