import type { TtlOptions } from '../../lib/options/options.js';
import type { Alg, SharedSecrets } from '../fixtures.js';

/** Which server a child process runs. */
export interface ServerSpec {
  /** orgconnect (createProvider) or the baseline (bare oidc-provider, bench/servers/baseline.ts). */
  kind: 'orgconnect' | 'baseline';
  store: 'memory' | 'redis';
  alg: Alg;
  redisUrl?: string;
  /** Redis key prefix: one per server, so servers sharing the bench's Redis never see each other's keys. */
  prefix?: string;
  /** orgconnect's ttl option (the baseline maps it the same way); defaults otherwise. */
  ttl?: TtlOptions;
  secrets: SharedSecrets;
}

/** What a running server exposes to the child wrapper. */
export interface RunningServer {
  issuer: string;
  /** Live records in a MemoryStore, when the store is one. */
  storeSize(): number | undefined;
  /** RedisStore.commandCount, when the store is Redis. */
  storeCommands(): number | undefined;
  close(): Promise<void>;
}

export interface ServerStats {
  pid: number;
  /** Resident set size now, bytes. */
  rss: number;
  /** Highest RSS sampled (every 20 ms) since the last `mark`, bytes. */
  peakRss: number;
  /** Peak RSS of the whole process life (getrusage maxrss), bytes. */
  maxRss: number;
  heapUsed: number;
  /** CPU time used by the process so far (user + system), microseconds. */
  cpuUs: number;
  /** process.hrtime in microseconds (CLOCK_MONOTONIC, the clock of V8's CPU profiles). */
  monotonicUs: number;
  storeSize?: number;
  storeCommands?: number;
}

export type ToChild =
  | { id: number; type: 'init'; spec: ServerSpec }
  | { id: number; type: 'mark' }
  | { id: number; type: 'stats' }
  | { id: number; type: 'gc' }
  | { id: number; type: 'stop' };

export type FromChild =
  | { id: number; type: 'ready'; issuer: string; pid: number }
  | { id: number; type: 'stats'; stats: ServerStats }
  | { id: number; type: 'ok' }
  | { id: number; type: 'error'; message: string };
