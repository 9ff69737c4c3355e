import { Option, type Command } from 'commander';

import type { AdminClient } from './client.js';
import { openHttpClient } from './http-client.js';
import { openStoreClient } from './store-client.js';

/** A mistake in the command line: reported with exit code 2. */
export class UsageError extends Error {}

export interface ConnectionOptions {
  server?: string;
  adminToken?: string;
  redis?: string;
  redisPrefix?: string;
  seed?: string;
  issuer?: string;
  json?: boolean;
}

/** The options every `apps` and `secrets` command takes to reach the applications, and `--json`. */
export function addConnectionOptions(command: Command): Command {
  return command
    .addOption(new Option('--server <url>', "a running orgconnect (its issuer URL): use its admin API").env('ORGCONNECT_SERVER'))
    .addOption(new Option('--admin-token <token>', "with --server: the server's admin token").env('ORGCONNECT_ADMIN_TOKEN'))
    .addOption(new Option('--redis <url>', 'the store itself: a redis:// URL, or comma-separated cluster nodes').env('REDIS_URL'))
    .addOption(new Option('--redis-prefix <prefix>', 'with --redis: the key prefix (default orgconnect:)').env('REDIS_PREFIX'))
    .addOption(new Option('--seed <file>', 'with --redis: the seed file the server runs with (valid organization ids; its apps)').env('SEED_FILE'))
    .addOption(new Option('--issuer <url>', 'with --redis: the issuer (an https issuer refuses plain-http redirect URIs)').env('ISSUER'))
    .option('--json', 'print JSON');
}

export type Target =
  | { kind: 'server'; server: string; token: string }
  | { kind: 'store'; redis: string; prefix?: string; seed?: string; issuer?: string };

/**
 * `--server` or `--redis`: a flag wins over the environment; both as flags is a usage error;
 * from the environment alone ORGCONNECT_SERVER wins over REDIS_URL.
 */
export function resolveTarget(command: Command): Target {
  const opts = command.opts<ConnectionOptions>();
  const fromFlag = (key: keyof ConnectionOptions) => command.getOptionValueSource(key) === 'cli';
  if (fromFlag('server') && fromFlag('redis')) throw new UsageError('give either --server or --redis, not both');
  const useServer = opts.server !== undefined && opts.server !== '' && !(fromFlag('redis') && !fromFlag('server'));
  if (useServer) {
    if (!URL.canParse(opts.server!) || !/^https?:$/.test(new URL(opts.server!).protocol)) throw new UsageError(`--server must be an http(s) URL, got "${opts.server}"`);
    if (!opts.adminToken) throw new UsageError('--server needs --admin-token (or ORGCONNECT_ADMIN_TOKEN)');
    return { kind: 'server', server: opts.server!, token: opts.adminToken };
  }
  if (opts.redis) {
    return { kind: 'store', redis: opts.redis, prefix: opts.redisPrefix || undefined, seed: opts.seed || undefined, issuer: opts.issuer || undefined };
  }
  throw new UsageError('where are the applications? pass --server URL --admin-token TOKEN (a running orgconnect), or --redis URL (its store)');
}

export async function connect(target: Target): Promise<AdminClient> {
  if (target.kind === 'server') return openHttpClient(target);
  return openStoreClient({ redis: target.redis, prefix: target.prefix, seed: target.seed, issuer: target.issuer });
}
