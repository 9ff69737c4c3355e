import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';

import { createProvider, type OrgconnectOptions, type OrgconnectProvider } from '../../lib/index.js';

export const demoSeed = JSON.parse(readFileSync(new URL('../../fixtures/demo.json', import.meta.url), 'utf8'));

export interface RunningProvider {
  issuer: string;
  orgconnect: OrgconnectProvider;
  server: Server;
  stop(): Promise<void>;
}

/** A provider on a free loopback port. The server listens first so the issuer can name its port. */
export async function startProvider(options: Partial<OrgconnectOptions> = {}): Promise<RunningProvider> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const orgconnect = await createProvider({ seed: demoSeed, ...options, issuer: options.issuer ?? issuer });
  server.on('request', orgconnect.callback());
  return {
    issuer,
    orgconnect,
    server,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await orgconnect.close();
    },
  };
}
