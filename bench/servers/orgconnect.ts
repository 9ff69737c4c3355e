import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { RedisStore } from '../../lib/store/redis.js';
import { createProvider, MemoryStore, type Application } from '../../lib/index.js';
import { createBenchDirectory } from '../directory.js';
import { demoSeed } from '../fixtures.js';
import type { RunningServer, ServerSpec } from './protocol.js';

/**
 * orgconnect as an application embeds it: createProvider() with the demo organizations and
 * applications, the bench's users (a `directory`), the shared keys, on a store the bench creates so
 * it can read MemoryStore.size and RedisStore.commandCount.
 */
export async function startOrgconnect(spec: ServerSpec): Promise<RunningServer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const memory = spec.store === 'memory' ? new MemoryStore() : undefined;
  const redis = spec.store === 'redis' ? new RedisStore({ redis: spec.redisUrl!, prefix: spec.prefix }) : undefined;
  const orgconnect = await createProvider({
    issuer,
    store: (memory ?? redis)!,
    directory: await createBenchDirectory(demoSeed.organizations),
    seed: { organizations: demoSeed.organizations, applications: demoSeed.applications as unknown as Application[] },
    keys: { jwks: spec.secrets.jwks[spec.alg], alg: spec.alg },
    cookies: { keys: spec.secrets.cookieKeys },
    ttl: spec.ttl,
  });
  server.on('request', orgconnect.callback());

  return {
    issuer,
    storeSize: () => memory?.size,
    storeCommands: () => redis?.commandCount,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await orgconnect.close();
      await (memory ?? redis)!.close();
    },
  };
}
