import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { checkResourceAllowed } from '@modelcontextprotocol/sdk/shared/auth-utils.js';
import { expect } from 'chai';
import express from 'express';
import { decodeJwt } from 'jose';

import { createVerifier, type AccessTokenVerifier, type VerifiedAccessToken } from '../lib/resource/index.js';
import { protectedResourceMetadata, requireAccessToken } from '../lib/resource/express.js';
import type { AuthState } from '../lib/resource/koa.js';
import { startTestProvider, type TestProvider } from '../lib/testing/index.js';
import { onlyPost, statelessMcp, whoAmI, type WhoAmI } from './helpers/mcp-server.js';

/*
 * An MCP server as the MCP TypeScript SDK documents it (McpServer, a stateless
 * StreamableHTTPServerTransport per request, `transport.handleRequest(req, res, req.body)`),
 * protected by orgconnect's requireAccessToken, called by the SDK's own client with real
 * orgconnect access tokens.
 */

const SCOPE = 'mcp:tools';

// Type-level: a verified token is an MCP AuthInfo, and so is what requireAccessToken puts on an
// Express request (checked by `npm run typecheck`; the package test checks it for the published
// declarations, strict and without skipLibCheck).
const isAuthInfo = (auth: VerifiedAccessToken): AuthInfo => auth;
const requestAuthIsAuthInfo = (req: express.Request): AuthInfo | undefined => req.auth;
const koaStateAuthIsAuthInfo = (state: AuthState): AuthInfo => state.auth;
void [isAuthInfo, requestAuthIsAuthInfo, koaStateAuthIsAuthInfo];

function mcpServer(): McpServer {
  const server = new McpServer({ name: 'orders-mcp', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who the access token is for' }, async (extra) => whoAmI(extra));
  return server;
}

function mcpApp(verifier: AccessTokenVerifier): express.Express {
  const app = express();
  app.use(express.json());
  app.use(protectedResourceMetadata(verifier));
  // req.auth is orgconnect's VerifiedAccessToken: the SDK takes it as its AuthInfo.
  app.post('/mcp', requireAccessToken(verifier, { scopes: [SCOPE] }), statelessMcp(mcpServer));
  app.all('/mcp', requireAccessToken(verifier, { scopes: [SCOPE] }), onlyPost);
  return app;
}

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1.0.0' } },
};

describe('resource server: an MCP server (MCP TypeScript SDK) protected by requireAccessToken', () => {
  let server: Server;
  let op: TestProvider;
  /** The MCP server's URL: its resource identifier, the `aud` of its tokens. */
  let mcpUrl: string;
  let metadataUrl: string;

  before(async () => {
    // The server listens first: its URL is the resource identifier the provider must know.
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    mcpUrl = `${origin}/mcp`;
    metadataUrl = `${origin}/.well-known/oauth-protected-resource/mcp`;
    op = await startTestProvider({ options: { resources: [mcpUrl], scopes: [SCOPE] } });
    const verifier = createVerifier({ issuer: op.issuer, audience: mcpUrl, resourceMetadata: { scopesSupported: [SCOPE], resourceName: 'Orders MCP' } });
    server.on('request', mcpApp(verifier));
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await op?.stop();
  });

  async function connect(token: string | undefined): Promise<Client> {
    const client = new Client({ name: 'orgconnect-test', version: '1.0.0' });
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers } }));
    return client;
  }

  async function whoami(token: string): Promise<WhoAmI> {
    const client = await connect(token);
    try {
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      expect(result.isError, JSON.stringify(result)).not.to.equal(true);
      const [content] = result.content as Array<{ type: string; text: string }>;
      return JSON.parse(content!.text) as WhoAmI;
    } finally {
      await client.close();
    }
  }

  it('gives a tool the user token as extra.authInfo: clientId, scopes, expiresAt, resource, sub and org_id', async () => {
    const token = await op.mintAccessToken({ app: 'test_web', user: 'bob@example.com', scopes: ['openid', SCOPE], audience: mcpUrl });
    const claims = decodeJwt(token);
    const seen = await whoami(token);
    expect(seen).to.deep.equal({
      clientId: 'test_web',
      scopes: ['openid', SCOPE],
      expiresAt: claims.exp,
      resource: mcpUrl,
      sub: 'user_bob',
      org_id: 'org_acme',
      token,
    });
    expect(seen.expiresAt).to.be.a('number').and.be.greaterThan(Date.now() / 1000);
    // What the SDK's own bearer middleware compares a token's resource with: this server's URL.
    expect(checkResourceAllowed({ requestedResource: mcpUrl, configuredResource: seen.resource! })).to.equal(true);
  });

  it('gives a tool a client_credentials token: the M2M app is clientId and sub, its organization org_id', async () => {
    const token = await op.mintAccessToken({ app: 'test_m2m', scopes: [SCOPE], audience: mcpUrl });
    const seen = await whoami(token);
    expect(seen).to.deep.include({ clientId: 'test_m2m', scopes: [SCOPE], sub: 'test_m2m', org_id: 'org_acme', resource: mcpUrl });
  });

  it('answers no token with 401 and a challenge naming the scope and the resource metadata, which the SDK client reads', async () => {
    const response = await fetch(mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(INITIALIZE),
    });
    expect(response.status).to.equal(401);
    expect(response.headers.get('www-authenticate')).to.equal(`Bearer scope="${SCOPE}", resource_metadata="${metadataUrl}"`);
    const params = extractWWWAuthenticateParams(response);
    expect(params.scope).to.equal(SCOPE);
    expect(params.resourceMetadataUrl?.href).to.equal(metadataUrl);

    const metadata = await discoverOAuthProtectedResourceMetadata(mcpUrl, { resourceMetadataUrl: params.resourceMetadataUrl });
    expect(metadata).to.deep.include({ resource: mcpUrl, authorization_servers: [op.issuer], scopes_supported: [SCOPE], resource_name: 'Orders MCP' });

    // The SDK client without an auth provider gives up on the 401.
    const refused = await connect(undefined).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).to.be.instanceOf(StreamableHTTPError);
    expect((refused as StreamableHTTPError).code).to.equal(401);
  });

  it('answers a token without the scope with 403 insufficient_scope naming it', async () => {
    const token = await op.mintAccessToken({ app: 'test_web', user: 'bob@example.com', scopes: ['openid'], audience: mcpUrl });
    const response = await fetch(mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(INITIALIZE),
    });
    expect(response.status).to.equal(403);
    expect(response.headers.get('www-authenticate')).to.equal(
      `Bearer error="insufficient_scope", error_description="the access token lacks the scope: ${SCOPE}", scope="${SCOPE}", resource_metadata="${metadataUrl}"`,
    );
    expect(extractWWWAuthenticateParams(response)).to.deep.include({ error: 'insufficient_scope', scope: SCOPE });
    expect(await response.json()).to.deep.equal({ error: 'insufficient_scope', error_description: `the access token lacks the scope: ${SCOPE}` });

    const refused = await connect(token).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).to.be.instanceOf(StreamableHTTPError);
    expect((refused as StreamableHTTPError).code).to.equal(403);
  });

  it('refuses a token issued for another resource (the provider itself) with 401 invalid_token', async () => {
    const token = await op.mintAccessToken({ app: 'test_web', user: 'bob@example.com', scopes: ['openid', SCOPE] });
    const response = await fetch(mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(INITIALIZE),
    });
    expect(response.status).to.equal(401);
    expect(response.headers.get('www-authenticate')).to.equal(
      `Bearer error="invalid_token", error_description="the access token is not for this API (aud)", scope="${SCOPE}", resource_metadata="${metadataUrl}"`,
    );
  });
});
