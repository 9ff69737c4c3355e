import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';

import { expect } from 'chai';
import { decodeJwt } from 'jose';

import { clientIdMetadataDocumentFeature } from '../lib/oidc/client-id-metadata.js';
import type { ResolvedOptions } from '../lib/options/options.js';
import { formAction, UserAgent } from './helpers/user-agent.js';
import { makeTestCa, spawnProvider, startDocumentServer, type DocumentServer, type ProviderProcess, type TestCa } from './helpers/tls-documents.js';

/*
 * Client ID Metadata Documents end to end: a local agent (an MCP client) serves its metadata
 * document over https on 127.0.0.1 with a certificate from a test CA; the provider runs in a child
 * process that trusts that CA (NODE_EXTRA_CA_CERTS) and fetches the document through
 * oidc-provider's `features.clientIdMetadataDocument` and orgconnect's outgoing fetch.
 */

const REDIRECT = 'http://127.0.0.1/callback';
const BOB = { email: 'bob@example.com', password: 'builder' };

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The CLI (`npm start`) from source, with the test CA trusted. */
async function startCli(ca: TestCa, issuer: (port: number) => string, extra: string[] = []): Promise<ProviderProcess> {
  const port = await freePort();
  const args = ['lib/cli/main.ts', '--port', String(port), '--issuer', issuer(port), '--seed', 'fixtures/demo.json', ...extra];
  // Requests go to the port whatever the issuer says: an issuer is an identifier.
  return spawnProvider(args, { env: { NODE_EXTRA_CA_CERTS: ca.caFile }, ready: /discovery:/, issuer: `http://127.0.0.1:${port}` });
}

/** A provider with options the CLI has no flag for (host lists), with the test CA trusted. */
function startProviderProcess(ca: TestCa, options: Record<string, unknown>): Promise<ProviderProcess> {
  return spawnProvider(['test/helpers/provider-process.ts'], {
    env: { NODE_EXTRA_CA_CERTS: ca.caFile, ORGCONNECT_TEST_OPTIONS: JSON.stringify(options) },
    ready: /^ready (\S+)$/m,
  });
}

/** An honest local agent's document: public, PKCE, a loopback redirect. */
function agentDocument(url: string, changes: Record<string, unknown> = {}): Record<string, unknown> {
  return { client_id: url, client_name: 'Local agent', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', ...changes };
}

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizationUrl(issuer: string, clientId: string, options: { challenge?: string; redirectUri?: string; state?: string } = {}): string {
  const url = new URL(`${issuer}/oauth2/authorize`);
  url.search = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: options.redirectUri ?? REDIRECT,
    scope: 'openid profile',
    state: options.state ?? randomBytes(8).toString('hex'),
    code_challenge: options.challenge ?? pkce().challenge,
    code_challenge_method: 'S256',
  }).toString();
  return url.href;
}

/**
 * The authorization request is refused with an error page: HTML, the error code shown, no stack
 * trace or internals, and the browser is not sent anywhere (least of all to the redirect_uri).
 */
async function expectErrorPage(authorizeUrl: string, code: string): Promise<string> {
  const response = await fetch(authorizeUrl, { redirect: 'manual' });
  const html = await response.text();
  expect(response.status, html.slice(0, 500)).to.be.within(400, 499);
  expect(response.headers.get('location')).to.equal(null);
  expect(response.headers.get('content-type')).to.match(/^text\/html/);
  expect(html).to.include(`Error code: <code>${code}</code>`);
  expect(html).not.to.match(/\bat .+:\d+:\d+|node_modules|InvalidClient|Error: /);
  return html;
}

/** The first page an authorization request shows: the login form (the document was accepted). */
async function expectLoginPage(authorizeUrl: string): Promise<void> {
  const agent = new UserAgent();
  const page = await agent.follow(authorizeUrl, REDIRECT);
  expect(page.response?.status, page.html?.slice(0, 500)).to.equal(200);
  expect(formAction(page.html!, page.url, '/login'), page.html?.slice(0, 500)).to.be.a('string');
}

async function discovery(issuer: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
}

describe('Client ID Metadata Documents', function () {
  this.timeout(60_000);
  let ca: TestCa;
  let docs: DocumentServer;
  const timers = new Set<NodeJS.Timeout>();

  before(async () => {
    ca = makeTestCa();
    docs = await startDocumentServer(ca);
  });

  after(async () => {
    timers.forEach(clearTimeout);
    await docs?.close();
    ca?.remove();
  });

  describe('in development (a loopback issuer, the CLI defaults)', () => {
    let dev: ProviderProcess;
    before(async () => {
      dev = await startCli(ca, (port) => `http://127.0.0.1:${port}`);
    });
    after(async () => dev?.stop());

    it('signs a local agent in from its https document: consent names it and its unverified host, a code, tokens', async () => {
      const logo = `${docs.origin}/logo.png`;
      const url = docs.json('/agents/happy.json', (u) => agentDocument(u, { logo_uri: logo }));
      expect(await discovery(dev.issuer)).to.have.property('client_id_metadata_document_supported', true);

      const agent = new UserAgent();
      const { verifier, challenge } = pkce();
      const state = randomBytes(8).toString('hex');
      const login = await agent.follow(authorizationUrl(dev.issuer, url, { challenge, state }), REDIRECT);
      const loginAction = formAction(login.html ?? '', login.url, '/login');
      expect(loginAction, login.html?.slice(0, 500)).to.be.a('string');

      const consent = await agent.follow(loginAction!, REDIRECT, { form: BOB });
      const html = consent.html ?? '';
      expect(consent.response?.status, html.slice(0, 500)).to.equal(200);
      expect(html).to.include('<span class="app-name">Local agent</span>');
      expect(html).to.match(new RegExp(`<strong class="client-host">${docs.host.replace(/\./g, '\\.')}</strong> — not verified`));
      const consentAction = formAction(html, consent.url, '/consent');
      expect(consentAction).to.be.a('string');

      const done = await agent.follow(consentAction!, REDIRECT, { form: { decision: 'allow' } });
      const callback = new URL(done.url);
      expect(`${callback.origin}${callback.pathname}`).to.equal(REDIRECT);
      expect(callback.searchParams.get('state')).to.equal(state);
      const code = callback.searchParams.get('code');
      expect(code, done.url).to.be.a('string');

      const token = await fetch(`${dev.issuer}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: code!, redirect_uri: REDIRECT, code_verifier: verifier, client_id: url }),
      });
      const tokens = (await token.json()) as Record<string, string>;
      expect(token.status, JSON.stringify(tokens)).to.equal(200);
      expect(tokens.token_type?.toLowerCase(), 'case-insensitive (RFC 6749 section 5.1)').to.equal('bearer');
      expect(tokens.access_token).to.be.a('string');
      const idToken = decodeJwt(tokens.id_token!);
      expect(idToken.aud).to.equal(url);
      expect(idToken.sub).to.equal('user_bob');

      // A second authorization by the same signed-in user asks again: nobody vouched for this client.
      const again = await agent.follow(authorizationUrl(dev.issuer, url), REDIRECT);
      expect(again.response?.status, again.url).to.equal(200);
      expect(formAction(again.html ?? '', again.url, '/login')).to.equal(undefined);
      expect(formAction(again.html ?? '', again.url, '/consent')).to.be.a('string');
      expect(again.html).to.include('— not verified');

      // The document was fetched once (then cached), and only by the provider.
      expect(docs.requestsFor(url)).to.equal(1);
      expect(docs.requestsFor(logo)).to.equal(0);
    });

    describe('refuses a document that lies or misbehaves, with an error page', () => {
      it('whose client_id is not its own URL', async () => {
        const url = docs.json('/agents/impostor.json', () => agentDocument(`${docs.origin}/agents/someone-else.json`));
        await expectErrorPage(authorizationUrl(dev.issuer, url), 'invalid_client_metadata');
        expect(docs.requestsFor(url)).to.equal(1);
      });

      it('when the redirect_uri asked for is not in the document', async () => {
        const url = docs.json('/agents/redirect.json', (u) => agentDocument(u));
        await expectErrorPage(authorizationUrl(dev.issuer, url, { redirectUri: 'https://attacker.example/callback' }), 'invalid_redirect_uri');
        await expectErrorPage(authorizationUrl(dev.issuer, url, { redirectUri: 'http://127.0.0.1/other' }), 'invalid_redirect_uri');
        // The same document with its own redirect_uri is fine.
        await expectLoginPage(authorizationUrl(dev.issuer, url));
      });

      it('that claims operator-set fields (first-party trust, an owner organization)', async () => {
        const firstParty = docs.json('/agents/first-party.json', (u) => agentDocument(u, { is_first_party: true }));
        const owned = docs.json('/agents/owned.json', (u) => agentDocument(u, { organization_id: 'org_acme' }));
        await expectErrorPage(authorizationUrl(dev.issuer, firstParty), 'invalid_client');
        await expectErrorPage(authorizationUrl(dev.issuer, owned), 'invalid_client');
        // Fetched and refused (by allowClient), not lost on the way.
        expect(docs.requestsFor(firstParty)).to.equal(1);
        expect(docs.requestsFor(owned)).to.equal(1);
        // Cached documents are checked again, never trusted.
        await expectErrorPage(authorizationUrl(dev.issuer, firstParty), 'invalid_client');
        expect(docs.requestsFor(firstParty)).to.equal(1);
      });

      it('that asks for shared-secret client authentication', async () => {
        const basic = docs.json('/agents/secret-basic.json', (u) => agentDocument(u, { token_endpoint_auth_method: 'client_secret_basic' }));
        const post = docs.json('/agents/secret-post.json', (u) => agentDocument(u, { token_endpoint_auth_method: 'client_secret_post', client_secret: 'a-secret-the-world-can-read-000000' }));
        await expectErrorPage(authorizationUrl(dev.issuer, basic), 'invalid_client_metadata');
        await expectErrorPage(authorizationUrl(dev.issuer, post), 'invalid_client_metadata');
      });

      it("larger than oidc-provider's limit (5 KiB), with or without a content-length", async () => {
        const padded = (u: string, bytes: number) => agentDocument(u, { padding: 'x'.repeat(bytes) });
        const small = docs.json('/agents/large-but-fine.json', (u) => padded(u, 4 * 1024));
        const large = docs.json('/agents/too-large.json', (u) => padded(u, 5 * 1024));
        const chunked = docs.route('/agents/too-large-chunked.json', (_req, res) => {
          const body = JSON.stringify(padded(`${docs.origin}/agents/too-large-chunked.json`, 5 * 1024));
          res.writeHead(200, { 'content-type': 'application/json' });
          for (let i = 0; i < body.length; i += 1024) res.write(body.slice(i, i + 1024));
          res.end();
        });
        await expectLoginPage(authorizationUrl(dev.issuer, small));
        await expectErrorPage(authorizationUrl(dev.issuer, large), 'invalid_client');
        await expectErrorPage(authorizationUrl(dev.issuer, chunked), 'invalid_client');
        expect(docs.requestsFor(large)).to.equal(1);
        expect(docs.requestsFor(chunked)).to.equal(1);
      });

      it('served too slowly (after the 2.5 s timeout)', async () => {
        const url = docs.route('/agents/slow.json', (_req, res) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(agentDocument(url)));
          }, 5000);
          timers.add(timer);
        });
        const started = Date.now();
        await expectErrorPage(authorizationUrl(dev.issuer, url), 'invalid_client');
        const elapsed = Date.now() - started;
        expect(elapsed).to.be.within(2000, 4500);
        expect(docs.requestsFor(url)).to.equal(1);
      });

      it('that redirects to another document (redirects are not followed)', async () => {
        const moved = `${docs.origin}/agents/moved.json`;
        // What the redirect leads to would pass every check if it were followed.
        const target = docs.json('/agents/moved-here.json', () => agentDocument(moved));
        docs.route('/agents/moved.json', (_req, res) => res.writeHead(302, { location: target }).end());
        await expectErrorPage(authorizationUrl(dev.issuer, moved), 'invalid_client');
        expect(docs.requestsFor(moved)).to.equal(1);
        expect(docs.requestsFor(target)).to.equal(0);
      });

      it('that is not JSON', async () => {
        const url = docs.route('/agents/not-json.json', (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Local agent</body></html>'));
        await expectErrorPage(authorizationUrl(dev.issuer, url), 'invalid_client');
        expect(docs.requestsFor(url)).to.equal(1);
      });
    });
  });

  describe('host lists', () => {
    const providers: ProviderProcess[] = [];
    after(async () => Promise.all(providers.splice(0).map((p) => p.stop())));

    for (const [name, list] of [
      ['denyHosts: [127.0.0.1]', { denyHosts: ['127.0.0.1'] }],
      ['allowHosts: [other.example]', { allowHosts: ['other.example'] }],
    ] as const) {
      it(`${name}: the document is never fetched`, async () => {
        const provider = await startProviderProcess(ca, { clientIdMetadataDocument: list });
        providers.push(provider);
        expect(await discovery(provider.issuer)).to.have.property('client_id_metadata_document_supported', true);
        const url = docs.json(`/agents/listed-${Object.keys(list)[0]}.json`, (u) => agentDocument(u));
        const connections = docs.connections;
        await expectErrorPage(authorizationUrl(provider.issuer, url), 'invalid_client');
        // Not even a connection: the lists are checked before any fetch.
        expect(docs.connections).to.equal(connections);
        expect(docs.requestsFor(url)).to.equal(0);
      });
    }

    it('compares hosts, not spellings: case, a trailing dot, IP address forms', async () => {
      const allowFetch = (lists: { allowHosts?: string[]; denyHosts?: string[] }) => {
        const feature = clientIdMetadataDocumentFeature({ clientIdMetadataDocument: { enabled: true, ...lists } } as ResolvedOptions)!;
        return (id: string) => feature.allowFetch!(undefined as never, id);
      };
      const deny = allowFetch({ denyHosts: ['Agents.Example', 'evil.example.'] });
      for (const id of ['https://agents.example/a.json', 'https://AGENTS.example./a.json', 'https://evil.example/a.json', 'https://Evil.Example./a.json']) {
        expect(await deny(id), id).to.equal(false);
      }
      expect(await deny('https://good.example/a.json')).to.equal(true);
      const addresses = allowFetch({ denyHosts: ['::1', '127.1', '[fd00::0001]'] });
      for (const id of ['https://[::1]/a.json', 'https://[0:0::1]/a.json', 'https://127.0.0.1/a.json', 'https://[fd00::1]/a.json']) {
        expect(await addresses(id), id).to.equal(false);
      }
      expect(await addresses('https://127.0.0.2/a.json')).to.equal(true);
      const allow = allowFetch({ allowHosts: ['Good.Example'] });
      expect(await allow('https://good.example./a.json')).to.equal(true);
      expect(await allow('https://good.example.evil.example/a.json')).to.equal(false);
    });
  });

  describe('outside development (an issuer that is not on loopback)', () => {
    let prod: ProviderProcess;
    let dev: ProviderProcess;
    before(async () => {
      prod = await startCli(ca, () => 'https://id.example.com', ['--cimd', 'on']);
    });
    after(async () => Promise.all([prod?.stop(), dev?.stop()]));

    it('never fetches a document from a loopback address (SSRF protection)', async () => {
      expect(await discovery(prod.issuer)).to.have.property('issuer', 'https://id.example.com');
      expect(await discovery(prod.issuer)).to.have.property('client_id_metadata_document_supported', true);
      const url = docs.json('/agents/ssrf.json', (u) => agentDocument(u));
      await expectErrorPage(authorizationUrl(prod.issuer, url), 'invalid_client');
      expect(docs.requestsFor(url)).to.equal(0);

      // The same document, through a development provider with the same CA: fetched and accepted.
      dev = await startCli(ca, (port) => `http://127.0.0.1:${port}`);
      await expectLoginPage(authorizationUrl(dev.issuer, url));
      expect(docs.requestsFor(url)).to.equal(1);
    });
  });
});
