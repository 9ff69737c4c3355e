import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { auth, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { OAuthClientMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { expect } from 'chai';
import express from 'express';
import { decodeJwt } from 'jose';

import { createVerifier } from '../lib/resource/index.js';
import { protectedResourceMetadata, requireAccessToken } from '../lib/resource/express.js';
import { completeInBrowser, MemoryOAuthClientProvider, recordingFetch, type RecordedRequest } from './helpers/mcp-oauth-client.js';
import { onlyPost, statelessMcp, whoAmI, type WhoAmI } from './helpers/mcp-server.js';
import { makeTestCa, spawnProvider, startDocumentServer, type DocumentServer, type ProviderProcess, type TestCa } from './helpers/tls-documents.js';
import { UserAgent } from './helpers/user-agent.js';

/*
 * MCP with a Client ID Metadata Document, end to end: the MCP TypeScript SDK's own `auth()` with an
 * OAuthClientProvider that has a `clientMetadataUrl`. The authorization server (orgconnect in
 * development, in a child process that trusts a test CA) advertises
 * `client_id_metadata_document_supported`, so the SDK registers nothing: the document's https URL is
 * the client_id. orgconnect fetches the document from the agent's https server on 127.0.0.1, the
 * user signs in, picks an organization and consents on a page that marks the document's host as not
 * verified; the token is for the MCP server (an SDK server behind orgconnect's resource kit, in this
 * process) and its tool sees the URL as the client and the organization chosen.
 */

const TOOLS = 'mcp:tools';
const ALICE = { email: 'alice@example.com', password: 'wonderland' };

function mcpServer(): McpServer {
  const server = new McpServer({ name: 'cimd-mcp', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who the access token is for' }, async (extra) => whoAmI(extra));
  return server;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A UserAgent that keeps every page it was shown, to read the consent page `completeInBrowser` answered. */
class RecordingAgent extends UserAgent {
  readonly pages: Array<{ url: string; html: string }> = [];

  override async follow(...args: Parameters<UserAgent['follow']>): ReturnType<UserAgent['follow']> {
    const page = await super.follow(...args);
    if (page.html !== undefined) this.pages.push({ url: page.url, html: page.html });
    return page;
  }
}

async function connect(mcpUrl: string, oauth: MemoryOAuthClientProvider, fetchFn: FetchLike): Promise<Client> {
  const client = new Client({ name: 'orgconnect-cimd-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: oauth, fetch: fetchFn }));
  return client;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

const lines = (log: RecordedRequest[]) => log.map((r) => `${r.method} ${r.url} ${r.status}`);

describe('MCP end to end with a Client ID Metadata Document: the SDK uses its document URL as client_id', function () {
  this.timeout(60_000);
  let ca: TestCa;
  let docs: DocumentServer;
  let provider: ProviderProcess;
  let mcp: Server;
  let mcpUrl: string;
  let metadataUrl: string;
  let redirect: string;
  let documentUrl: string;

  before(async () => {
    ca = makeTestCa();
    docs = await startDocumentServer(ca);
    // The client's loopback callback. Nothing listens there: the redirect's URL is the answer.
    redirect = `http://127.0.0.1:${await freePort()}/callback`;
    documentUrl = docs.json('/client.json', (url) => ({
      client_id: url,
      client_name: 'CIMD agent',
      redirect_uris: [redirect],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }));

    // The MCP server listens first: its URL is the resource the provider must know.
    mcp = createServer();
    await new Promise<void>((resolve) => mcp.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(mcp.address() as AddressInfo).port}`;
    mcpUrl = `${origin}/mcp`;
    metadataUrl = `${origin}/.well-known/oauth-protected-resource/mcp`;

    // orgconnect in development (a loopback issuer), trusting the test CA; the demo seed.
    provider = await spawnProvider(['test/helpers/provider-process.ts'], {
      env: { NODE_EXTRA_CA_CERTS: ca.caFile, ORGCONNECT_TEST_OPTIONS: JSON.stringify({ resources: [mcpUrl], scopes: [TOOLS] }) },
      ready: /^ready (\S+)$/m,
    });

    const verifier = createVerifier({ issuer: provider.issuer, audience: mcpUrl, resourceMetadata: { scopesSupported: [TOOLS], resourceName: 'CIMD MCP' } });
    const app = express();
    app.use(express.json());
    app.use(protectedResourceMetadata(verifier));
    app.post('/mcp', requireAccessToken(verifier, { scopes: [TOOLS] }), statelessMcp(mcpServer));
    app.all('/mcp', requireAccessToken(verifier, { scopes: [TOOLS] }), onlyPost);
    mcp.on('request', app);
  });

  after(async () => {
    if (mcp) {
      mcp.closeAllConnections();
      await new Promise((resolve) => mcp.close(resolve));
    }
    await provider?.stop();
    await docs?.close();
    ca?.remove();
  });

  it('no registration; the document URL is the client_id at authorization, consent ("not verified"), token exchange and in the tool', async () => {
    const { issuer } = provider;
    const log: RecordedRequest[] = [];
    const fetchFn = recordingFetch(log);
    // The host's own metadata: what it would register with if the server did not support documents.
    const clientMetadata: OAuthClientMetadata = {
      client_name: 'CIMD agent',
      redirect_uris: [redirect],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
    const oauth = new MemoryOAuthClientProvider({ redirectUrl: redirect, clientMetadata, clientMetadataUrl: documentUrl });
    expect(oauth.saveClientInformation, 'the provider could register (DCR) if it had to').to.be.a('function');

    // 1. No token: 401, discovery, and a redirect with no registration in between.
    const refused = await rejection(connect(mcpUrl, oauth, fetchFn));
    expect(refused, String(refused)).to.be.instanceOf(UnauthorizedError);
    expect(lines(log)).to.deep.equal([`POST ${mcpUrl} 401`, `GET ${metadataUrl} 200`, `GET ${issuer}/.well-known/oauth-authorization-server 200`]);
    expect(log[0]!.wwwAuthenticate).to.equal(`Bearer scope="${TOOLS}", resource_metadata="${metadataUrl}"`);
    // The server offers both; the SDK prefers the document (SEP-991) and registers nothing.
    const asMetadata = oauth.discoveryState()?.authorizationServerMetadata;
    expect(asMetadata).to.deep.include({ issuer, client_id_metadata_document_supported: true, registration_endpoint: `${issuer}/oauth2/register` });
    expect(log.filter((r) => r.url.endsWith('/oauth2/register')), 'no registration request').to.deep.equal([]);
    expect(oauth.clientInformation()).to.deep.equal({ client_id: documentUrl, issuer });
    // Nobody has fetched the document yet: the SDK never does, the provider does at authorization.
    expect(docs.requestsFor(documentUrl)).to.equal(0);

    // 2. The authorization request names the document URL as client_id.
    const url = oauth.lastAuthorizationUrl;
    expect(url.origin + url.pathname).to.equal(`${issuer}/oauth2/authorize`);
    expect(Object.fromEntries(url.searchParams)).to.deep.include({
      response_type: 'code',
      client_id: documentUrl,
      redirect_uri: redirect,
      code_challenge_method: 'S256',
      scope: TOOLS,
      resource: mcpUrl,
      state: oauth.states.at(-1),
    });

    // 3. The user: login, organization (Alice has two; she picks Globex), consent.
    const agent = new RecordingAgent();
    const browser = await completeInBrowser(agent, url, redirect, { ...ALICE, organizationId: 'org_globex' });
    expect(browser.seen).to.deep.equal(['login', 'organization', 'consent']);
    expect(browser.error, browser.errorDescription).to.equal(undefined);
    expect(browser.callbackUrl.origin + browser.callbackUrl.pathname).to.equal(redirect);
    expect(browser.state).to.equal(oauth.states.at(-1));
    expect(browser.code).to.be.a('string');
    // The consent page names the client as its document does, and its host as not verified.
    const consent = agent.pages.find((page) => /<form[^>]*action="[^"]*\/consent"/.test(page.html));
    expect(consent, 'a consent page').not.to.equal(undefined);
    expect(consent!.html).to.include('<span class="app-name">CIMD agent</span>');
    expect(consent!.html).to.match(new RegExp(`<strong class="client-host">${docs.host.replace(/\./g, '\\.')}</strong> — not verified`));
    expect(docs.requestsFor(documentUrl), 'fetched by the provider').to.equal(1);

    // 4. The code exchange, by auth() itself, as the public client the document describes.
    log.length = 0;
    expect(await auth(oauth, { serverUrl: mcpUrl, authorizationCode: browser.code, fetchFn })).to.equal('AUTHORIZED');
    expect(log.filter((r) => r.url.endsWith('/oauth2/register')), 'still no registration').to.deep.equal([]);
    const tokenRequest = log.find((r) => r.url === `${issuer}/oauth2/token`);
    expect(tokenRequest?.status).to.equal(200);
    expect(tokenRequest?.form).to.deep.include({ grant_type: 'authorization_code', client_id: documentUrl, redirect_uri: redirect, resource: mcpUrl });
    expect(tokenRequest?.form?.code_verifier).to.be.a('string');
    expect(tokenRequest?.form).not.to.have.property('client_secret');
    const tokens = oauth.tokens()!;
    expect(tokens).to.include({ scope: TOOLS, issuer });
    expect(tokens.token_type.toLowerCase()).to.equal('bearer');
    const claims = decodeJwt(tokens.access_token);
    expect(claims).to.include({ aud: mcpUrl, client_id: documentUrl, org_id: 'org_globex', sub: 'user_alice', iss: issuer });

    // 5. The tool sees the document URL as the client and the organization Alice chose.
    const client = await connect(mcpUrl, oauth, fetchFn);
    try {
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      expect(result.isError, JSON.stringify(result)).not.to.equal(true);
      const [content] = result.content as Array<{ type: string; text: string }>;
      const seen = JSON.parse(content!.text) as WhoAmI;
      expect(seen).to.deep.include({ clientId: documentUrl, org_id: 'org_globex', sub: 'user_alice', resource: mcpUrl, token: tokens.access_token });
      expect(seen.scopes).to.include(TOOLS);
    } finally {
      await client.close();
    }
    expect(oauth.invalidated, 'no credentials thrown away').to.deep.equal([]);
    // The document was fetched once (then cached by the provider), only by the provider.
    expect(docs.requestsFor(documentUrl)).to.equal(1);
  });
});
