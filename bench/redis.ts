import { readFileSync } from 'node:fs';

import { Redis } from 'ioredis';

import { pinHelper } from './pin.js';
import { redisAvailable, startRedis, type RedisServer } from '../test/helpers/redis-server.js';

/** Calls per command name, from INFO commandstats (commands run by Lua scripts included). */
export type CommandStats = Record<string, number>;

export interface BenchRedis {
  url: string;
  commandStats(): Promise<CommandStats>;
  /** CPU time redis-server has used (user + system), ms, from /proc; undefined elsewhere. */
  cpuMs(): number | undefined;
  /** RSS and peak RSS of the redis-server process, bytes (from /proc). */
  memory(): Promise<{ rss?: number; peakRss?: number; usedMemory?: number }>;
  stop(): Promise<void>;
}

/**
 * A redis-server of its own on a free loopback port (test/helpers/redis-server.ts: no persistence,
 * killed when the bench exits), plus a connection to read its statistics.
 */
export async function startBenchRedis(): Promise<BenchRedis> {
  if (!redisAvailable()) throw new Error('redis-server/redis-cli not found on PATH (apt-get install redis-server): needed by the Redis targets; or run with --targets=memory');
  const server: RedisServer = await startRedis();
  const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  const pid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1]);
  if (pid) pinHelper(pid);

  return {
    url: server.url,
    async commandStats() {
      const stats: CommandStats = {};
      for (const match of (await client.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats[match[1]!] = Number(match[2]);
      return stats;
    },
    cpuMs() {
      try {
        // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (100/s on Linux).
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
      } catch {
        return undefined;
      }
    },
    async memory() {
      const usedMemory = Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]) * 1024;
        return { rss: kb('VmRSS'), peakRss: kb('VmHWM'), usedMemory };
      } catch {
        return { usedMemory };
      }
    },
    async stop() {
      client.disconnect();
      await server.stop();
    },
  };
}

/** Calls made between two readings, without the bench's own INFO calls. */
export function commandDelta(before: CommandStats, after: CommandStats): CommandStats {
  const delta: CommandStats = {};
  for (const [name, calls] of Object.entries(after)) {
    const d = calls - (before[name] ?? 0);
    if (d > 0 && name !== 'info') delta[name] = d;
  }
  return delta;
}
