import { randomBytes } from 'node:crypto';

import { MemoryStore } from '../lib/store/memory.js';
import { RedisStore } from '../lib/store/redis.js';
import type { Store } from '../lib/store/store.js';
import { storeConformance } from '../lib/testing/index.js';
import { requireRedis } from './helpers/redis-server.js';
import { sharedRedis, sharedRedisCluster } from './helpers/stores.js';

/** The exported conformance suite against the three stores orgconnect ships with. */
const STORES: Array<{ name: string; open(context: Mocha.Context): Promise<Store> }> = [
  { name: 'memory', open: async () => new MemoryStore() },
  {
    name: 'redis',
    async open(context) {
      requireRedis(context);
      return new RedisStore({ redis: (await sharedRedis()).url, prefix: `conf-${randomBytes(3).toString('hex')}:` });
    },
  },
  {
    name: 'redis-cluster',
    async open(context) {
      requireRedis(context);
      return new RedisStore({ redis: (await sharedRedisCluster()).nodes, prefix: `conf-${randomBytes(3).toString('hex')}:` });
    },
  },
];

for (const kind of STORES) {
  describe(`store conformance [${kind.name}]`, function () {
    let store: Store;
    before(async function () {
      store = await kind.open(this);
    });
    after(() => store?.close());

    for (const check of storeConformance()) it(check.name, () => check.run(store));
  });
}
