import type { Request, Response } from 'express';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

/**
 * The MCP SDK's stateless Streamable HTTP pattern: a fresh server and transport per request,
 * closed with the response. `req.auth` (orgconnect's verified token) reaches tools as their `authInfo`.
 */
export function statelessMcp(createServer: () => McpServer) {
  return async function handle(req: Request, res: Response): Promise<void> {
    const server = createServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  };
}

/** Stateless: no standalone SSE stream and no sessions to delete, so only POST is served. */
export function onlyPost(_req: Request, res: Response): void {
  res.status(405).set('Allow', 'POST').json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
}

/** What the tests' tools answer: the AuthInfo the SDK handed them. */
export interface WhoAmI {
  clientId: string;
  scopes: string[];
  expiresAt: number | undefined;
  resource: string | undefined;
  sub: unknown;
  org_id: unknown;
  token: string;
}

type AuthInfoExtra = { authInfo?: { clientId: string; scopes: string[]; expiresAt?: number; resource?: URL; token: string; extra?: Record<string, unknown> } };

/** A tool result reporting the caller's AuthInfo as JSON (a `WhoAmI`). */
export function whoAmI(extra: AuthInfoExtra) {
  const info = extra.authInfo;
  if (!info) throw new Error('no authInfo');
  const seen: WhoAmI = {
    clientId: info.clientId,
    scopes: info.scopes,
    expiresAt: info.expiresAt,
    resource: info.resource?.href,
    sub: info.extra?.sub,
    org_id: info.extra?.org_id ?? null,
    token: info.token,
  };
  return { content: [{ type: 'text' as const, text: JSON.stringify(seen) }] };
}
