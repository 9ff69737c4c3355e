/*
 * A provider in a process of its own, for tests that need what only process start reads (e.g.
 * NODE_EXTRA_CA_CERTS, a test CA the provider's outgoing fetch trusts) with options the CLI has no
 * flag for. Options come as JSON in ORGCONNECT_TEST_OPTIONS (the demo seed is used unless given);
 * the issuer defaults to the loopback address and port it listens on. Prints `ready <issuer>`.
 *
 *   node --import tsx test/helpers/provider-process.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createProvider, type OrgconnectOptions } from '../../lib/index.js';
import { demoSeed } from './provider.js';

const options = JSON.parse(process.env.ORGCONNECT_TEST_OPTIONS ?? '{}') as Partial<OrgconnectOptions>;
const server = createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
const orgconnect = await createProvider({ seed: demoSeed, ...options, issuer: options.issuer ?? `http://127.0.0.1:${port}` });
server.on('request', orgconnect.callback());
console.log(`ready http://127.0.0.1:${port}`);

process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  void orgconnect.close().then(() => process.exit(0));
});
