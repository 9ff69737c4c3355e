import type { RedisStoreOptions } from './redis-options.js';
import { MemoryStore } from './memory.js';
import type { Store } from './store.js';

/**
 * The `store` option: a Store instance, or `{ redis }` with a `redis://` URL, an ioredis
 * Redis/Cluster client, or a list of cluster nodes (plus `prefix`, `commandTimeout`).
 */
export type StoreOption = Store | RedisStoreOptions;

function isStore(option: StoreOption): option is Store {
  return typeof (option as Store).adapter === 'function';
}

/** Opens the configured store; `owned` says whether orgconnect created it (and so closes it). */
export async function openStore(option: StoreOption | undefined): Promise<{ store: Store; owned: boolean }> {
  if (option === undefined) return { store: new MemoryStore(), owned: true };
  if (isStore(option)) return { store: option, owned: false };
  // Loaded on demand: a provider on the memory store never loads ioredis.
  const { RedisStore } = await import('./redis.js');
  return { store: new RedisStore(option), owned: true };
}
