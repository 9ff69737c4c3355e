import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { expect } from 'chai';
import { importJWK, SignJWT, type JWK } from 'jose';

import { generateSigningKey } from '../lib/options/keys.js';
import {
  bearerChallenge,
  bearerErrorResponse,
  bearerToken,
  createVerifier,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidSignatureError,
  InvalidTokenTypeError,
  OrganizationMismatchError,
  protectedResourceMetadataUrl,
  TokenMissingError,
  TokenRevokedError,
  VerifierError,
} from '../lib/resource/index.js';

const API = 'https://api.example.test';

/**
 * A stand-in issuer serving discovery, a JWKS the test can change, and introspection, counting
 * requests: what the verifier fetches, and when, is what these tests are about.
 */
class FakeIssuer {
  server!: Server;
  issuer!: string;
  keys: JWK[] = [];
  revoked = new Set<string>();
  requests: Record<string, number> = {};
  jwksStatus = 200;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = new URL(req.url!, this.issuer).pathname;
      this.requests[path] = (this.requests[path] ?? 0) + 1;
      const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (path === '/.well-known/openid-configuration') {
        return json(200, { issuer: this.issuer, jwks_uri: `${this.issuer}/jwks`, introspection_endpoint: `${this.issuer}/introspect` });
      }
      if (path === '/jwks') {
        const publicKeys = this.keys.map(({ d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rest }) => rest);
        return json(this.jwksStatus, { keys: publicKeys });
      }
      if (path === '/introspect') {
        let body = '';
        req.on('data', (chunk) => (body += chunk));
        req.on('end', () => {
          const expected = `Basic ${Buffer.from('api:api-secret').toString('base64')}`;
          if (req.headers.authorization !== expected) return json(401, { error: 'invalid_client' });
          const token = new URLSearchParams(body).get('token')!;
          json(200, { active: !this.revoked.has(token) });
        });
        return undefined;
      }
      json(404, {});
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.issuer = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  count(path: string): number {
    return this.requests[path] ?? 0;
  }

  async sign(key: JWK, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
    const iat = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: this.issuer, sub: 'user_1', aud: API, client_id: 'client_1', jti: `jti-${Math.random()}`, iat, exp: iat + 300, ...claims })
      .setProtectedHeader({ alg: key.alg!, typ: 'at+jwt', kid: key.kid, ...header })
      .sign(await importJWK(key, key.alg));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('resource server: keys, caching and rotation (stand-in issuer)', () => {
  let fake: FakeIssuer;
  let first: JWK;
  let second: JWK;
  before(async () => {
    first = await generateSigningKey('RS256');
    second = await generateSigningKey('RS256');
  });
  beforeEach(async () => {
    fake = await new FakeIssuer().start();
    fake.keys = [first];
  });
  afterEach(() => fake.stop());

  it('fetches discovery and the JWKS once, lazily, and shares them between concurrent first requests', async () => {
    const verifier = createVerifier({ issuer: fake.issuer, audience: API });
    expect(fake.count('/jwks')).to.equal(0);
    const tokens = await Promise.all(Array.from({ length: 5 }, () => fake.sign(first)));
    await Promise.all(tokens.map((token) => verifier.verify(token)));
    for (const token of tokens) await verifier.verify(token);
    expect(fake.count('/.well-known/openid-configuration')).to.equal(1);
    expect(fake.count('/jwks')).to.equal(1);
  });

  it('picks up a key published after it started (rotation), without a restart', async () => {
    const verifier = createVerifier({ issuer: fake.issuer, audience: API, jwks: { cooldown: 0.2 } });
    await verifier.verify(await fake.sign(first));
    fake.keys = [second, first];
    await sleep(250);
    expect((await verifier.verify(await fake.sign(second))).sub).to.equal('user_1');
    expect(fake.count('/jwks')).to.equal(2);
    expect((await verifier.verify(await fake.sign(first))).sub, 'the old key, still published').to.equal('user_1');
  });

  it('stops accepting a retired key once the cached JWKS is older than jwks.maxAge', async () => {
    const verifier = createVerifier({ issuer: fake.issuer, audience: API, jwks: { maxAge: 0.2 } });
    const old = await fake.sign(first);
    await verifier.verify(old);
    fake.keys = [second];
    // a known kid does not cause a fetch: until maxAge the cached key still verifies
    expect((await verifier.verify(old)).sub).to.equal('user_1');
    await sleep(250);
    expect(await verifier.verify(old).catch((e: Error) => e)).to.be.instanceOf(InvalidSignatureError);
    expect(fake.count('/jwks')).to.equal(2);
  });

  it('rate-limits refetches on unknown kids: a flood of forged kids costs at most one fetch per cooldown', async () => {
    const verifier = createVerifier({ issuer: fake.issuer, audience: API });
    await verifier.verify(await fake.sign(first));
    const forged = await Promise.all(Array.from({ length: 20 }, (_, i) => fake.sign(first, {}, { kid: `forged-${i}` })));
    for (const token of forged) expect(await verifier.verify(token).catch((e: Error) => e)).to.be.instanceOf(InvalidSignatureError);
    expect(fake.count('/jwks')).to.equal(1);
    // within the default 30 s cooldown, even a genuinely new key waits for the next allowed fetch
    fake.keys = [second, first];
    expect(await verifier.verify(await fake.sign(second)).catch((e: Error) => e)).to.be.instanceOf(InvalidSignatureError);
    expect(fake.count('/jwks')).to.equal(1);
  });

  it('accepts ES256 and EdDSA keys, each only with its own algorithm', async () => {
    const es = await generateSigningKey('ES256');
    const ed = await generateSigningKey('EdDSA');
    fake.keys = [es, ed];
    const verifier = createVerifier({ issuer: fake.issuer, audience: API });
    expect((await verifier.verify(await fake.sign(es))).sub).to.equal('user_1');
    expect((await verifier.verify(await fake.sign(ed))).sub).to.equal('user_1');
    const rsOnly = createVerifier({ issuer: fake.issuer, audience: API, algorithms: ['RS256'] });
    expect(await rsOnly.verify(await fake.sign(es)).catch((e: Error) => e)).to.be.instanceOf(InvalidSignatureError);
  });

  it('accepts typ application/at+jwt (RFC 9068 allows the full media type)', async () => {
    const verifier = createVerifier({ issuer: fake.issuer, audience: API });
    expect((await verifier.verify(await fake.sign(first, {}, { typ: 'application/at+jwt' }))).sub).to.equal('user_1');
    expect(await verifier.verify(await fake.sign(first, {}, { typ: undefined })).catch((e: Error) => e)).to.be.instanceOf(InvalidTokenTypeError);
  });

  it('an unusable JWKS is a VerifierError (the issuer\'s problem), not a refusal of the token', async () => {
    fake.jwksStatus = 500;
    const verifier = createVerifier({ issuer: fake.issuer, audience: API });
    const error = await verifier.verify(await fake.sign(first)).catch((e: Error) => e);
    expect(error).to.be.instanceOf(VerifierError);
    expect(error).to.include({ code: 'verifier_unavailable', status: 503 });
  });

  describe('introspection cache', () => {
    const introspection = { clientId: 'api', clientSecret: 'api-secret' };

    it('asks once per token within cacheSeconds, shares concurrent calls, and keys the cache by token', async () => {
      const verifier = createVerifier({ issuer: fake.issuer, audience: API, introspect: true, introspection });
      const a = await fake.sign(first);
      const b = await fake.sign(first);
      await Promise.all([verifier.verify(a), verifier.verify(a), verifier.verify(a)]);
      await verifier.verify(a);
      expect(fake.count('/introspect')).to.equal(1);
      await verifier.verify(b);
      expect(fake.count('/introspect')).to.equal(2);
    });

    it('with cacheSeconds 0, asks every time and sees a revocation at once', async () => {
      const verifier = createVerifier({ issuer: fake.issuer, audience: API, introspect: true, introspection: { ...introspection, cacheSeconds: 0 } });
      const token = await fake.sign(first);
      await verifier.verify(token);
      await verifier.verify(token);
      expect(fake.count('/introspect')).to.equal(2);
      fake.revoked.add(token);
      expect(await verifier.verify(token).catch((e: Error) => e)).to.be.instanceOf(TokenRevokedError);
    });

    it('keeps a "not active" answer: a revoked token is not asked about again', async () => {
      const verifier = createVerifier({ issuer: fake.issuer, audience: API, introspect: true, introspection: { ...introspection, cacheSeconds: 0 } });
      const token = await fake.sign(first);
      fake.revoked.add(token);
      for (let i = 0; i < 3; i += 1) expect(await verifier.verify(token).catch((e: Error) => e)).to.be.instanceOf(TokenRevokedError);
      expect(fake.count('/introspect')).to.equal(1);
    });

    it('does not cache an active answer past the token expiry', async () => {
      const verifier = createVerifier({ issuer: fake.issuer, audience: API, introspect: true, introspection: { ...introspection, cacheSeconds: 3600 }, clockTolerance: 5 });
      // expired 1 s ago but within the tolerance: accepted, yet its answer must not be reused
      const token = await fake.sign(first, { exp: Math.floor(Date.now() / 1000) - 1 });
      await verifier.verify(token);
      await verifier.verify(token);
      expect(fake.count('/introspect')).to.equal(2);
    });
  });
});

describe('resource server: RFC 6750 and RFC 9728 helpers', () => {
  it('reads the bearer token from the Authorization header', () => {
    expect(bearerToken('Bearer abc.def.ghi')).to.equal('abc.def.ghi');
    expect(bearerToken('bearer   abc-_~+/=')).to.equal('abc-_~+/=');
    for (const header of [undefined, '', 'Basic dXNlcjpwYXNz', 'Bearerabc']) {
      expect(() => bearerToken(header), String(header)).to.throw(TokenMissingError);
    }
    for (const header of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearer a"b', 'Bearer a,b']) {
      expect(() => bearerToken(header), header).to.throw(InvalidRequestError);
    }
  });

  it('writes challenges: bare without a token, error and description otherwise, required scopes, resource_metadata', () => {
    const metadata = 'https://api.example.test/.well-known/oauth-protected-resource';
    expect(bearerChallenge(new TokenMissingError())).to.equal('Bearer');
    expect(bearerChallenge(new TokenMissingError(), metadata)).to.equal(`Bearer resource_metadata="${metadata}"`);
    expect(bearerChallenge(new InsufficientScopeError(['a', 'b'], ['b']))).to.equal('Bearer error="insufficient_scope", error_description="the access token lacks the scope: b", scope="a b"');
    const response = bearerErrorResponse(new OrganizationMismatchError('say "hi" \\ ok\n'), metadata);
    expect(response.status).to.equal(403);
    expect(response.headers['WWW-Authenticate']).to.equal(`Bearer error="insufficient_scope", error_description="say hi  ok", resource_metadata="${metadata}"`);
    expect(response.body).to.deep.equal({ error: 'insufficient_scope', error_description: 'say hi  ok' });
    expect(bearerErrorResponse(new TokenMissingError()).body).to.equal(undefined);
  });

  it('writes the scopes a route requires into every challenge, a 401 included, with those a 403 lacks', () => {
    const metadata = 'https://api.example.test/.well-known/oauth-protected-resource';
    expect(bearerChallenge(new TokenMissingError(), { scope: ['a', 'b'], resourceMetadata: metadata })).to.equal(`Bearer scope="a b", resource_metadata="${metadata}"`);
    expect(bearerChallenge(new TokenMissingError(), { scope: [] })).to.equal('Bearer');
    expect(bearerChallenge(new InsufficientScopeError(['b', 'c'], ['c']), { scope: ['a', 'b'] })).to.equal(
      'Bearer error="insufficient_scope", error_description="the access token lacks the scope: c", scope="a b c"',
    );
    // Not scope tokens (RFC 6749 section 3.3): left out rather than breaking the header.
    expect(bearerChallenge(new TokenMissingError(), { scope: ['ok', 'a"b', 'c\\d', ''] })).to.equal('Bearer scope="ok"');
    expect(bearerErrorResponse(new TokenMissingError(), { scope: ['a'] }).headers['WWW-Authenticate']).to.equal('Bearer scope="a"');
  });

  it('derives the RFC 9728 metadata URL from the resource identifier', () => {
    expect(protectedResourceMetadataUrl('https://api.example.com')).to.equal('https://api.example.com/.well-known/oauth-protected-resource');
    expect(protectedResourceMetadataUrl('https://api.example.com/')).to.equal('https://api.example.com/.well-known/oauth-protected-resource');
    expect(protectedResourceMetadataUrl('https://api.example.com/v1/')).to.equal('https://api.example.com/.well-known/oauth-protected-resource/v1');
    expect(protectedResourceMetadataUrl('http://127.0.0.1:8080/tenant/api')).to.equal('http://127.0.0.1:8080/.well-known/oauth-protected-resource/tenant/api');
  });

  it('builds the metadata document from the verifier options', () => {
    const verifier = createVerifier({
      issuer: 'https://auth.example.com/',
      audience: 'https://api.example.com/v1',
      resourceMetadata: { scopesSupported: ['orders:read'], resourceName: 'Orders API' },
    });
    expect(verifier.resourceMetadata).to.deep.equal({
      url: 'https://api.example.com/.well-known/oauth-protected-resource/v1',
      path: '/.well-known/oauth-protected-resource/v1',
      document: {
        resource: 'https://api.example.com/v1',
        authorization_servers: ['https://auth.example.com'],
        scopes_supported: ['orders:read'],
        bearer_methods_supported: ['header'],
        resource_name: 'Orders API',
      },
    });
    expect(createVerifier({ issuer: 'https://auth.example.com', audience: API }).resourceMetadata).to.equal(undefined);
    expect(() => createVerifier({ issuer: 'https://auth.example.com', audience: [API, 'https://b.example'], resourceMetadata: true })).to.throw(TypeError, /resource/);
    expect(createVerifier({ issuer: 'https://auth.example.com', audience: [API, 'https://b.example'], resourceMetadata: { resource: API } }).resourceMetadata!.document.resource).to.equal(API);
  });

  it('warns once when the resource identifier is the issuer (the API needs an identifier of its own)', () => {
    const warnings: unknown[][] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args);
    try {
      createVerifier({ issuer: 'https://auth.example.com', audience: 'https://api.example.com', resourceMetadata: true });
      createVerifier({ issuer: 'https://auth.example.com/', audience: 'https://auth.example.com/oauth', resourceMetadata: true });
      expect(warnings).to.deep.equal([]);
      // A default port, a trailing slash, the case of the host: still the issuer.
      createVerifier({ issuer: 'https://auth.example.com:443/', audience: 'https://AUTH.example.com', resourceMetadata: true });
      createVerifier({ issuer: 'https://auth.example.com', audience: 'https://AUTH.example.com', resourceMetadata: true });
      createVerifier({ issuer: 'https://auth.example.com', audience: 'https://auth.example.com', resourceMetadata: { resource: 'https://auth.example.com' } });
      expect(warnings).to.have.length(2);
      expect(String(warnings[0]![0])).to.match(/^orgconnect\/resource warning: .*\(https:\/\/AUTH\.example\.com\) is the authorization server's issuer/);
      // Without resource metadata the verifier is not told it is an MCP-style resource: no warning.
      createVerifier({ issuer: 'https://other-auth.example.com', audience: 'https://other-auth.example.com' });
      expect(warnings).to.have.length(2);
    } finally {
      console.warn = warn;
    }
  });
});
