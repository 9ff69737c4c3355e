import { randomBytes } from 'node:crypto';

import type { OrgconnectOptions } from '../../lib/index.js';
import { requireRedis, startRedis, startRedisCluster, type RedisCluster, type RedisServer } from './redis-server.js';

/**
 * The stores every end-to-end suite runs against. Redis servers are started once per test
 * process and shared; each provider gets its own key prefix, so suites cannot see each other.
 */
export interface StoreKind {
  name: 'memory' | 'redis' | 'redis-cluster';
  /** Called from a `before` hook: skips (or fails, in CI) when Redis is missing. */
  options(context: Mocha.Context): Promise<Partial<OrgconnectOptions>>;
}

let single: Promise<RedisServer> | undefined;
let cluster: Promise<RedisCluster> | undefined;
export const sharedRedis = () => (single ??= startRedis());
export const sharedRedisCluster = () => (cluster ??= startRedisCluster());
const prefix = () => `test-${randomBytes(4).toString('hex')}:`;

export const STORES: StoreKind[] = [
  { name: 'memory', options: async () => ({}) },
  {
    name: 'redis',
    async options(context) {
      requireRedis(context);
      return { store: { redis: (await sharedRedis()).url, prefix: prefix() } };
    },
  },
  {
    name: 'redis-cluster',
    async options(context) {
      requireRedis(context);
      return { store: { redis: (await sharedRedisCluster()).nodes, prefix: prefix() } };
    },
  },
];
