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

import type { OrgconnectOptions } from '../lib/index.js';
import { createVerifier, type AccessTokenVerifier, type VerifierOptions } from '../lib/resource/index.js';
import { protectedResourceMetadata, requireAccessToken, requireScopes } from '../lib/resource/express.js';
import { completeInBrowser, MemoryOAuthClientProvider, recordingFetch, type RecordedRequest } from './helpers/mcp-oauth-client.js';
import { startProvider, type RunningProvider } from './helpers/provider.js';
import { UserAgent } from './helpers/user-agent.js';
import { onlyPost, statelessMcp, whoAmI, type WhoAmI } from './helpers/mcp-server.js';

/*
 * "MCP-ready", end to end: the MCP TypeScript SDK's own OAuth client (`auth()` and an
 * OAuthClientProvider, driven by StreamableHTTPClientTransport) against an SDK MCP server protected
 * by orgconnect's resource kit, with orgconnect as the authorization server. The user's part goes
 * through orgconnect's real pages (login, organization, consent) in a scripted browser; the code
 * comes back on the client's loopback redirect URL. Nothing is minted by hand.
 */

const TOOLS = 'mcp:tools';
const ADMIN = 'mcp:admin';
/** The MCP client's loopback callback. Nothing listens there: the redirect's URL is the answer. */
const REDIRECT = 'http://127.0.0.1:43117/callback';
const ALICE = { email: 'alice@example.com', password: 'wonderland' };
const BOB = { email: 'bob@example.com', password: 'builder' };

function mcpServer(): McpServer {
  const server = new McpServer({ name: 'orders-mcp', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who the access token is for' }, async (extra) => whoAmI(extra));
  // Needs mcp:admin besides mcp:tools: the HTTP layer checks it before the call reaches the server.
  server.registerTool('admin_report', { description: 'An administrative report (needs mcp:admin)' }, async (extra) => whoAmI(extra));
  return server;
}

/** Whether a JSON-RPC message calls the `admin_report` tool. */
function callsAdminTool(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => {
    const message = m as { method?: unknown; params?: { name?: unknown } } | null;
    return message?.method === 'tools/call' && message.params?.name === 'admin_report';
  });
}

function mcpApp(verifier: AccessTokenVerifier): express.Express {
  const app = express();
  app.use(express.json());
  app.use(protectedResourceMetadata(verifier));
  const adminScope = requireScopes(ADMIN);
  app.post(
    '/mcp',
    requireAccessToken(verifier, { scopes: [TOOLS] }),
    // Step-up: one tool needs a second scope; its call is refused 403 insufficient_scope.
    (req, res, next) => (callsAdminTool(req.body) ? adminScope(req, res, next) : next()),
    statelessMcp(mcpServer),
  );
  app.all('/mcp', requireAccessToken(verifier, { scopes: [TOOLS] }), onlyPost);
  return app;
}

/** An MCP server and the orgconnect provider that protects it (demo seed, memory store, development issuer). */
interface Stack {
  op: RunningProvider;
  mcpUrl: string;
  metadataUrl: string;
  stop(): Promise<void>;
}

async function startStack(providerOptions: Partial<OrgconnectOptions> = {}, verifierOptions: Partial<VerifierOptions> = {}): Promise<Stack> {
  // The MCP server listens first: its URL is the resource the provider must know.
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const mcpUrl = `${origin}/mcp`;
  const op = await startProvider({ resources: [mcpUrl], scopes: [TOOLS, ADMIN], ...providerOptions });
  const verifier = createVerifier({
    issuer: op.issuer,
    audience: mcpUrl,
    resourceMetadata: { scopesSupported: [TOOLS, ADMIN], resourceName: 'Orders MCP' },
    ...verifierOptions,
  });
  server.on('request', mcpApp(verifier));
  return {
    op,
    mcpUrl,
    metadataUrl: `${origin}/.well-known/oauth-protected-resource/mcp`,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await op.stop();
    },
  };
}

/** What an MCP host registers for itself: a public native client with a loopback callback. */
function agentMetadata(name: string): OAuthClientMetadata {
  return {
    client_name: name,
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };
}

/** An SDK client on a transport with the OAuth provider; rejects as the SDK does when auth() redirects. */
async function connect(mcpUrl: string, oauth: MemoryOAuthClientProvider, fetchFn: FetchLike): Promise<Client> {
  const client = new Client({ name: 'orgconnect-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: oauth, fetch: fetchFn }));
  return client;
}

async function callTool(client: Client, name: 'whoami' | 'admin_report'): Promise<WhoAmI> {
  const result = await client.callTool({ name, arguments: {} });
  expect(result.isError, JSON.stringify(result)).not.to.equal(true);
  const [content] = result.content as Array<{ type: string; text: string }>;
  return JSON.parse(content!.text) as WhoAmI;
}

/** `METHOD url status`, for readable comparisons of what the SDK sent. */
const lines = (log: RecordedRequest[]) => log.map((r) => `${r.method} ${r.url} ${r.status}`);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('MCP end to end: the MCP SDK client authorizes at orgconnect and calls an MCP server', function () {
  let stack: Stack;

  before(async () => {
    stack = await startStack();
  });

  after(async () => {
    await stack?.stop();
  });

  it('registers itself (DCR) from what the 401 points at, the user picks an organization and consents, and the tool sees that organization', async () => {
    const { op, mcpUrl, metadataUrl } = stack;
    const log: RecordedRequest[] = [];
    const fetchFn = recordingFetch(log);
    const oauth = new MemoryOAuthClientProvider({ redirectUrl: REDIRECT, clientMetadata: agentMetadata('Desktop MCP agent') });

    // 1. The first request has no token: the server's 401 starts the SDK's auth(), which ends in a redirect.
    const refused = await rejection(connect(mcpUrl, oauth, fetchFn));
    expect(refused, String(refused)).to.be.instanceOf(UnauthorizedError);
    expect(lines(log)).to.deep.equal([
      `POST ${mcpUrl} 401`,
      // RFC 9728 metadata, at the URL the challenge's resource_metadata names.
      `GET ${metadataUrl} 200`,
      // RFC 8414 metadata of the authorization server the resource metadata names.
      `GET ${op.issuer}/.well-known/oauth-authorization-server 200`,
      // Nothing registered yet, and the server advertises a registration_endpoint: DCR.
      `POST ${op.issuer}/oauth2/register 201`,
    ]);
    expect(log[0]!.wwwAuthenticate).to.equal(`Bearer scope="${TOOLS}", resource_metadata="${metadataUrl}"`);
    const discovery = oauth.discoveryState();
    expect(discovery?.authorizationServerUrl).to.equal(op.issuer);
    expect(discovery?.resourceMetadata).to.deep.include({ resource: mcpUrl, authorization_servers: [op.issuer] });
    expect(discovery?.authorizationServerMetadata?.registration_endpoint).to.equal(`${op.issuer}/oauth2/register`);

    // What the SDK registered (the scope of the challenge, SEP-835), and what orgconnect made of it.
    const registration = log.at(-1)!.json!;
    expect(registration).to.deep.include({ client_name: 'Desktop MCP agent', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: TOOLS });
    const clientId = oauth.clientInformation()?.client_id;
    expect(clientId).to.match(/^client_[0-9a-f]{24}$/);
    expect(oauth.clientInformation()).to.include({ issuer: op.issuer });
    expect(oauth.clientInformation()).not.to.have.property('client_secret');
    const app = await op.orgconnect.applications.get(clientId!);
    expect(app).to.deep.include({ is_first_party: false, is_public: true, name: 'Desktop MCP agent' });
    expect(app && 'registration' in app ? app.registration?.method : undefined).to.equal('dynamic');

    // 2. The authorization request: PKCE S256, the resource indicator of the MCP server, the challenge's scope.
    const url = oauth.lastAuthorizationUrl;
    expect(url.origin + url.pathname).to.equal(`${op.issuer}/oauth2/authorize`);
    expect(Object.fromEntries(url.searchParams)).to.deep.include({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT,
      code_challenge_method: 'S256',
      scope: TOOLS,
      resource: mcpUrl,
      state: oauth.states.at(-1),
    });

    // 3. The user: login, organization (Alice has two), consent; the code comes back on the loopback callback.
    const browser = await completeInBrowser(new UserAgent(), url, REDIRECT, { ...ALICE, organizationId: 'org_globex' });
    expect(browser.seen).to.deep.equal(['login', 'organization', 'consent']);
    expect(browser.error, browser.errorDescription).to.equal(undefined);
    expect(browser.state).to.equal(oauth.states.at(-1));
    expect(browser.code).to.be.a('string');

    // 4. The code exchange, by auth() itself: it sends the resource again and the PKCE verifier.
    log.length = 0;
    expect(await auth(oauth, { serverUrl: mcpUrl, authorizationCode: browser.code, fetchFn })).to.equal('AUTHORIZED');
    const tokenRequest = log.find((r) => r.url === `${op.issuer}/oauth2/token`);
    expect(tokenRequest?.status).to.equal(200);
    expect(tokenRequest?.form).to.deep.include({ grant_type: 'authorization_code', client_id: clientId, redirect_uri: REDIRECT, resource: mcpUrl });
    expect(tokenRequest?.form?.code_verifier).to.be.a('string');
    const tokens = oauth.tokens()!;
    expect(tokens).to.include({ scope: TOOLS, issuer: op.issuer });
    expect(tokens.token_type.toLowerCase(), 'case-insensitive (RFC 6749 section 5.1)').to.equal('bearer');
    // The SDK asks for no offline_access by itself, and orgconnect issues refresh tokens only for it.
    expect(tokens.refresh_token, 'no refresh token without offline_access').to.equal(undefined);
    const claims = decodeJwt(tokens.access_token);
    expect(claims).to.include({ aud: mcpUrl, client_id: clientId, org_id: 'org_globex', sub: 'user_alice', iss: op.issuer });

    // 5. The SDK client with the saved tokens calls the tool: the organization Alice chose, the registered client, the resource.
    const client = await connect(mcpUrl, oauth, fetchFn);
    try {
      const seen = await callTool(client, 'whoami');
      expect(seen).to.deep.include({ clientId, org_id: 'org_globex', sub: 'user_alice', resource: mcpUrl, token: tokens.access_token });
      expect(seen.scopes).to.include(TOOLS);
      expect(seen.expiresAt).to.equal(claims.exp);
    } finally {
      await client.close();
    }
    expect(oauth.invalidated, 'no credentials thrown away').to.deep.equal([]);
    // The registered client has been used: it no longer disappears unused.
    const used = await op.orgconnect.applications.get(clientId!);
    expect(used && 'registration' in used ? used.registration?.unused_until : 'not dynamic').to.equal(undefined);
  });

  it('uses a pre-registered public client (loopback redirect on any port) as clientInformation: no registration, consent, the user’s organization', async () => {
    const { op, mcpUrl } = stack;
    const app = await op.orgconnect.applications.create({
      application_type: 'oauth',
      is_public: true,
      is_first_party: false,
      organization_id: 'org_partner',
      name: 'Agent',
      redirect_uris: ['http://127.0.0.1/callback'],
    });
    const log: RecordedRequest[] = [];
    const fetchFn = recordingFetch(log);
    const oauth = new MemoryOAuthClientProvider({
      redirectUrl: REDIRECT,
      clientMetadata: agentMetadata('Agent'),
      clientInformation: { client_id: app.client_id, issuer: op.issuer },
    });
    expect(oauth.saveClientInformation, 'a pre-registered client cannot register').to.equal(undefined);

    expect(await rejection(connect(mcpUrl, oauth, fetchFn))).to.be.instanceOf(UnauthorizedError);
    expect(log.filter((r) => r.url.endsWith('/oauth2/register')), 'no registration').to.deep.equal([]);
    const url = oauth.lastAuthorizationUrl;
    expect(Object.fromEntries(url.searchParams)).to.deep.include({ client_id: app.client_id, redirect_uri: REDIRECT, resource: mcpUrl, scope: TOOLS });

    // Bob belongs to one organization: no organization page. The app is third-party: consent.
    const browser = await completeInBrowser(new UserAgent(), url, REDIRECT, BOB);
    expect(browser.seen).to.deep.equal(['login', 'consent']);
    expect(browser.error, browser.errorDescription).to.equal(undefined);
    expect(browser.callbackUrl.origin + browser.callbackUrl.pathname, 'the port the client asked for').to.equal(REDIRECT);
    expect(await auth(oauth, { serverUrl: mcpUrl, authorizationCode: browser.code, fetchFn })).to.equal('AUTHORIZED');

    const client = await connect(mcpUrl, oauth, fetchFn);
    try {
      const seen = await callTool(client, 'whoami');
      // org_id is the user's organization (the grant's), not the one that owns the app.
      expect(seen).to.deep.include({ clientId: app.client_id, org_id: 'org_acme', sub: 'user_bob', resource: mcpUrl });
      expect(seen.scopes).to.include(TOOLS);
      expect(decodeJwt(seen.token).aud).to.equal(mcpUrl);
    } finally {
      await client.close();
    }
    expect(oauth.invalidated).to.deep.equal([]);
  });

  it('steps up: a tool that needs mcp:admin answers 403 insufficient_scope, the SDK asks again with both scopes, the user consents again, the call succeeds', async () => {
    const { op, mcpUrl } = stack;
    // A pre-registered app. A dynamically registered one is refused the wider scope today: its
    // registered scope (the first challenge's, SEP-835) became its scope allow-list
    // (ApplicationRegistry.register), and oidc-provider answers invalid_scope for mcp:admin.
    // No offline_access either: with a refresh token, SDK 1.32's auth() refreshes instead of
    // re-authorizing, gets the same scopes back, and gives up (typescript-sdk#2255).
    const app = await op.orgconnect.applications.create({
      application_type: 'oauth',
      is_public: true,
      is_first_party: false,
      organization_id: 'org_partner',
      name: 'Admin agent',
      redirect_uris: ['http://127.0.0.1/callback'],
    });
    const log: RecordedRequest[] = [];
    const fetchFn = recordingFetch(log);
    const oauth = new MemoryOAuthClientProvider({ redirectUrl: REDIRECT, clientMetadata: agentMetadata('Admin agent'), clientInformation: { client_id: app.client_id, issuer: op.issuer } });
    const agent = new UserAgent();

    expect(await rejection(connect(mcpUrl, oauth, fetchFn))).to.be.instanceOf(UnauthorizedError);
    const first = await completeInBrowser(agent, oauth.lastAuthorizationUrl, REDIRECT, { ...ALICE, organizationId: 'org_globex' });
    expect(first.seen).to.deep.equal(['login', 'organization', 'consent']);
    expect(await auth(oauth, { serverUrl: mcpUrl, authorizationCode: first.code, fetchFn })).to.equal('AUTHORIZED');
    const before = oauth.tokens()!;
    expect(before.scope).to.equal(TOOLS);

    const client = await connect(mcpUrl, oauth, fetchFn);
    try {
      expect((await callTool(client, 'whoami')).org_id).to.equal('org_globex');

      // The admin tool: 403 insufficient_scope naming both scopes; the SDK's auth() redirects for them.
      log.length = 0;
      const refused = await rejection(callTool(client, 'admin_report'));
      expect(refused, String(refused)).to.be.instanceOf(UnauthorizedError);
      expect(lines(log)[0]).to.equal(`POST ${mcpUrl} 403`);
      // Every scope the call needs, not only the missing one (what the SDK asks for next).
      expect(log[0]!.wwwAuthenticate).to.equal(
        `Bearer error="insufficient_scope", error_description="the access token lacks the scope: ${ADMIN}", scope="${TOOLS} ${ADMIN}", resource_metadata="${stack.metadataUrl}"`,
      );
      expect(oauth.authorizationUrls).to.have.length(2);
      const stepUp = oauth.lastAuthorizationUrl;
      expect(stepUp.searchParams.get('scope')).to.equal(`${TOOLS} ${ADMIN}`);
      expect(stepUp.searchParams.get('resource')).to.equal(mcpUrl);

      // Alice is still signed in; the organization is asked again (a new authorization), and the
      // consent page again, for the new scope.
      const second = await completeInBrowser(agent, stepUp, REDIRECT, { organizationId: 'org_globex' });
      expect(second.error, second.errorDescription).to.equal(undefined);
      expect(second.seen).to.deep.equal(['organization', 'consent']);
      expect(await auth(oauth, { serverUrl: mcpUrl, authorizationCode: second.code, fetchFn })).to.equal('AUTHORIZED');
      expect(oauth.tokens()!.scope?.split(' ').sort()).to.deep.equal([ADMIN, TOOLS]);

      // The same client, the same transport: the call now succeeds with the larger token.
      const seen = await callTool(client, 'admin_report');
      expect(seen.scopes).to.include.members([TOOLS, ADMIN]);
      expect(seen).to.deep.include({ clientId: app.client_id, org_id: 'org_globex', sub: 'user_alice', resource: mcpUrl });
      expect(decodeJwt(seen.token).aud).to.equal(mcpUrl);
    } finally {
      await client.close();
    }
    expect(oauth.invalidated).to.deep.equal([]);
  });
});

describe('MCP end to end: refresh, when the access token expires', function () {
  let stack: Stack;

  before(async () => {
    // Three-second access tokens, and no clock tolerance at the MCP server, so a token really expires.
    stack = await startStack({ ttl: { accessToken: 3 } }, { clockTolerance: 0 });
  });

  after(async () => {
    await stack?.stop();
  });

  it('refreshes with the resource parameter: the new token is still for the MCP server and the organization chosen', async () => {
    const { op, mcpUrl } = stack;
    const log: RecordedRequest[] = [];
    const fetchFn = recordingFetch(log);
    const oauth = new MemoryOAuthClientProvider({ redirectUrl: REDIRECT, clientMetadata: agentMetadata('Offline MCP agent') });

    // The host asks for offline_access itself (the SDK does not): it registers with it, and the SDK
    // adds prompt=consent to the authorization request.
    expect(await auth(oauth, { serverUrl: mcpUrl, scope: `${TOOLS} offline_access`, fetchFn })).to.equal('REDIRECT');
    expect(log.find((r) => r.url.endsWith('/oauth2/register'))?.json?.scope).to.equal(`${TOOLS} offline_access`);
    const url = oauth.lastAuthorizationUrl;
    expect(Object.fromEntries(url.searchParams)).to.deep.include({ scope: `${TOOLS} offline_access`, prompt: 'consent', resource: mcpUrl });
    const browser = await completeInBrowser(new UserAgent(), url, REDIRECT, { ...ALICE, organizationId: 'org_globex' });
    expect(browser.seen).to.deep.equal(['login', 'organization', 'consent']);
    expect(await auth(oauth, { serverUrl: mcpUrl, authorizationCode: browser.code, fetchFn })).to.equal('AUTHORIZED');
    const first = oauth.tokens()!;
    expect(first.refresh_token, 'a refresh token for offline_access').to.be.a('string');
    const firstClaims = decodeJwt(first.access_token);
    expect(firstClaims).to.include({ aud: mcpUrl, org_id: 'org_globex' });
    const clientId = oauth.clientInformation()!.client_id;

    // The access token expires. The MCP server answers 401 invalid_token; the SDK refreshes and retries.
    await new Promise((resolve) => setTimeout(resolve, firstClaims.exp! * 1000 - Date.now() + 1100));
    log.length = 0;
    const client = await connect(mcpUrl, oauth, fetchFn);
    try {
      const seen = await callTool(client, 'whoami');
      expect(lines(log)[0], 'the expired token is refused').to.equal(`POST ${mcpUrl} 401`);
      expect(log[0]!.wwwAuthenticate).to.match(/^Bearer error="invalid_token", error_description="[^"]*expired[^"]*"/);
      const refresh = log.find((r) => r.form?.grant_type === 'refresh_token');
      expect(refresh?.status).to.equal(200);
      expect(refresh?.form).to.deep.include({ refresh_token: first.refresh_token, resource: mcpUrl, client_id: clientId });
      expect(oauth.authorizationUrls, 'no new authorization').to.have.length(1);

      const second = oauth.tokens()!;
      expect(second.access_token).not.to.equal(first.access_token);
      expect(second.refresh_token, 'rotated').to.be.a('string').and.not.equal(first.refresh_token);
      const secondClaims = decodeJwt(second.access_token);
      expect(secondClaims).to.include({ aud: mcpUrl, org_id: 'org_globex', client_id: clientId, sub: 'user_alice', sid: firstClaims.sid });
      expect(seen).to.deep.include({ token: second.access_token, clientId, org_id: 'org_globex', resource: mcpUrl });
      expect(seen.scopes).to.include(TOOLS);
    } finally {
      await client.close();
    }

    // auth() again with saved tokens holding a refresh token: a refresh, not a redirect.
    log.length = 0;
    expect(await auth(oauth, { serverUrl: mcpUrl, fetchFn })).to.equal('AUTHORIZED');
    expect(log.filter((r) => r.url === `${op.issuer}/oauth2/token`).map((r) => [r.form?.grant_type, r.form?.resource, r.status])).to.deep.equal([['refresh_token', mcpUrl, 200]]);
    expect(decodeJwt(oauth.tokens()!.access_token)).to.include({ aud: mcpUrl, org_id: 'org_globex' });
    expect(oauth.authorizationUrls).to.have.length(1);
    expect(oauth.invalidated).to.deep.equal([]);
  });
});
