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
