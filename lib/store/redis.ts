import { Cluster, Redis, type ChainableCommander, type ClusterOptions, type RedisOptions } from 'ioredis';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';

import { StoreUnavailableError } from '../errors.js';
import { GRANTABLE_MODELS, type GroupPutOptions, type Store, type VersionedRecord } from './store.js';
import type { RedisNode, RedisStoreOptions } from './redis-options.js';

export type { RedisClientLike, RedisNode, RedisStoreOptions } from './redis-options.js';

type Client = Redis | Cluster;
/** Statuses of a client whose connection attempt is under way. */
const CONNECTING = new Set(['connecting', 'connect']);
type ScriptCaller = (...args: (string | number)[]) => Promise<unknown>;

/*
 * Key scheme (same shape as memory.ts and panva's example adapter):
 *   record        `${prefix}${model}:${id}`        HASH { p: JSON payload, c: consumed-at epoch s }
 *   grant index   `${prefix}grant:${grantId}`      SET of record keys
 *   session uid   `${prefix}sessionUid:${uid}`     STRING id
 *   user code     `${prefix}userCode:${userCode}`  STRING id
 * No hash tags: find(id) only knows the id, so a record cannot be co-located with its grant index.
 * In a cluster every command therefore touches one key; only a standalone server gets MULTI.
 *
 * Records are hashes so that consume() can flag `c` without decoding and re-encoding the JSON in
 * Lua (cjson turns [] into {} and rounds numbers to 14 digits). Writing a hash field keeps the TTL.
 *
 * The scripts are inline rather than in .lua files because `tsc` does not copy those to dist/.
 */
const SCRIPTS = {
  // Replace a record: DEL first so a stale `c` or an old TTL never survives an upsert.
  orgconnectPut: `
    redis.call('DEL', KEYS[1])
    redis.call('HSET', KEYS[1], 'p', ARGV[1])
    if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'c', ARGV[2]) end
    if ARGV[3] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
    return 1`,
  // Add a member to a grant index; its TTL becomes max(current, member's). EXPIRE GT alone cannot
  // do this: it treats a key without TTL as infinite, which is right for an index kept forever
  // by a member without TTL but wrong for the index SADD has just created.
  orgconnectIndex: `
    local existed = redis.call('EXISTS', KEYS[1])
    redis.call('SADD', KEYS[1], ARGV[1])
    if ARGV[2] == '' then redis.call('PERSIST', KEYS[1])
    elseif existed == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2])
    else redis.call('PEXPIRE', KEYS[1], ARGV[2], 'GT') end
    return 1`,
  // Create a record unless it exists (ARGV[2]: its lifetime in ms, or ''); return the stored payload.
  orgconnectPutIfAbsent: `
    if redis.call('EXISTS', KEYS[1]) == 0 then
      redis.call('HSET', KEYS[1], 'p', ARGV[1])
      if ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
    end
    return redis.call('HGET', KEYS[1], 'p')`,
  // Compare-and-set on the record's version `v` (0: absent; 1: written without a version).
  // Returns the new version, or 0 when the record's version is not ARGV[2].
  orgconnectWriteVersioned: `
    local current = 0
    if redis.call('HEXISTS', KEYS[1], 'p') == 1 then current = tonumber(redis.call('HGET', KEYS[1], 'v')) or 1 end
    if current ~= tonumber(ARGV[2]) then return 0 end
    redis.call('DEL', KEYS[1])
    redis.call('HSET', KEYS[1], 'p', ARGV[1], 'v', current + 1)
    return current + 1`,
  // A counter: INCRBY, and a lifetime for the counter this call created (it has no TTL yet).
  orgconnectIncrement: `
    local value = redis.call('INCRBY', KEYS[1], ARGV[1])
    if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
    return value`,
  // A group member (hash field). ARGV: member, value, lifetime ms or '', limit or ''. With a
  // limit, a new member is refused (0) when the group already counts that many; '' values are
  // markers and do not count. The lifetime only ever grows, as for a grant index.
  orgconnectGroupPut: `
    local limit = tonumber(ARGV[4])
    if limit and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
      local counted = 0
      for _, value in ipairs(redis.call('HVALS', KEYS[1])) do
        if value ~= '' then counted = counted + 1 end
      end
      if counted >= limit then return 0 end
    end
    local existed = redis.call('EXISTS', KEYS[1])
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    if ARGV[3] == '' then redis.call('PERSIST', KEYS[1])
    elseif existed == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3])
    else redis.call('PEXPIRE', KEYS[1], ARGV[3], 'GT') end
    return 1`,
  // Check-and-set in one server-side step: 0 = missing, 1 = consumed now, else the payload JSON
  // of an already-consumed record (the caller needs its grantId to revoke). Never creates the key.
  orgconnectConsume: `
    local payload = redis.call('HGET', KEYS[1], 'p')
    if not payload then return 0 end
    if redis.call('HEXISTS', KEYS[1], 'c') == 1 then return payload end
    redis.call('HSET', KEYS[1], 'c', ARGV[1])
    return 1`,
} as const;
type ScriptName = keyof typeof SCRIPTS;

/**
 * Multi-key scripts, for a single server only (in a Cluster the keys live in different slots):
 * one command instead of a MULTI of several, all atomic all the same.
 */
const SINGLE_SERVER_SCRIPTS = {
  // KEYS: the record, its secondary keys, then its grant index if ARGV[4] == '1'.
  // ARGV: payload JSON, consumed-at or '', lifetime ms or '', has-index, then one id per secondary key.
  orgconnectUpsert: `
    redis.call('DEL', KEYS[1])
    redis.call('HSET', KEYS[1], 'p', ARGV[1])
    if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'c', ARGV[2]) end
    if ARGV[3] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
    local last = #KEYS
    if ARGV[4] == '1' then
      last = last - 1
      local index = KEYS[#KEYS]
      local existed = redis.call('EXISTS', index)
      redis.call('SADD', index, KEYS[1])
      if ARGV[3] == '' then redis.call('PERSIST', index)
      elseif existed == 0 then redis.call('PEXPIRE', index, ARGV[3])
      else redis.call('PEXPIRE', index, ARGV[3], 'GT') end
    end
    for i = 2, last do
      if ARGV[3] == '' then redis.call('SET', KEYS[i], ARGV[3 + i])
      else redis.call('SET', KEYS[i], ARGV[3 + i], 'PX', ARGV[3]) end
    end
    return 1`,
  // KEYS: a secondary key (session uid, user code); ARGV: the key prefix of the records it names.
  // The record of the id it holds, as [payload, consumed-at], in one round trip.
  orgconnectFindByIndex: `
    local id = redis.call('GET', KEYS[1])
    if not id then return nil end
    return redis.call('HMGET', ARGV[1] .. id, 'p', 'c')`,
} as const;
type SingleServerScriptName = keyof typeof SINGLE_SERVER_SCRIPTS;

const isCluster = (client: Client): client is Cluster => (client as { isCluster?: boolean }).isCluster === true;

/** Keeps reconnecting in the background, at most a second apart, for as long as it takes. */
const retry = (times: number) => Math.min(times * 100, 1000);

function createClient(redis: string | RedisNode[], commandTimeout: number): Client {
  // Fail fast while disconnected instead of queueing (enableOfflineQueue), and never replay a
  // command that was in flight when the connection dropped (maxRetriesPerRequest 0,
  // autoResendUnfulfilledCommands): a replayed consume() would see its own write and revoke the grant.
  const common = {
    commandTimeout,
    connectTimeout: commandTimeout,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
  } satisfies RedisOptions;
  if (typeof redis === 'string') {
    return new Redis(redis, { ...common, enableOfflineQueue: false, retryStrategy: retry });
  }
  const nodes = redis.map((node) => {
    if (typeof node !== 'string') return node;
    const url = new URL(node.includes('://') ? node : `redis://${node}`);
    return { host: url.hostname, port: Number(url.port || 6379) };
  });
  const options: ClusterOptions = {
    enableOfflineQueue: false,
    clusterRetryStrategy: retry,
    slotsRefreshTimeout: commandTimeout,
    redisOptions: common,
  };
  return new Cluster(nodes, options);
}

export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly prefix: string;
  readonly #client: Client;
  readonly #owned: boolean;
  /** A single-server client created here, with commandTimeout and no offline queue. */
  readonly #bounded: boolean;
  readonly #timeout: number;
  readonly #adapters = new Map<string, RedisAdapter>();
  #commands = 0;
  #everReady: boolean;
  readonly #firstReady: Promise<void>;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    this.prefix = options.prefix ?? 'orgconnect:';
    this.#timeout = options.commandTimeout ?? 2000;
    const { redis } = options;
    this.#owned = typeof redis === 'string' || Array.isArray(redis);
    // A client passed in is an ioredis Redis or Cluster: RedisClientLike only keeps ioredis' types
    // out of orgconnect's public declarations.
    this.#client = typeof redis === 'string' || Array.isArray(redis) ? createClient(redis, this.#timeout) : (redis as unknown as Client);
    this.#bounded = typeof redis === 'string';
    // Without a listener ioredis logs every failed reconnect attempt. Failures reach callers as
    // StoreUnavailableError, so the events themselves carry nothing more. A client passed in is
    // left alone: its owner decides how to log.
    if (this.#owned) this.#client.on('error', () => {});
    this.#everReady = this.#client.status === 'ready';
    // One shared listener, however many operations wait for the first connection.
    this.#firstReady = new Promise((resolve) =>
      this.#client.once('ready', () => {
        this.#everReady = true;
        resolve();
      }),
    );
    // Namespaced so a caller's own client is not disturbed. ioredis sends EVAL the first time per
    // connection and EVALSHA after, so a restarted server (empty script cache) needs no handling.
    for (const [name, lua] of Object.entries(SCRIPTS)) this.#client.defineCommand(name, { numberOfKeys: 1, lua });
    if (!isCluster(this.#client)) for (const [name, lua] of Object.entries(SINGLE_SERVER_SCRIPTS)) this.#client.defineCommand(name, { lua });
  }

  /** Commands sent to Redis so far (MULTI and EXEC included); used by tests and the bench. */
  get commandCount(): number {
    return this.#commands;
  }

  adapter(model: string): Adapter {
    let adapter = this.#adapters.get(model);
    if (!adapter) {
      adapter = new RedisAdapter(model, this);
      this.#adapters.set(model, adapter);
    }
    return adapter;
  }

  async ping(): Promise<void> {
    await this.run(async (client) => {
      // In a cluster every master must answer: one of them down makes part of the keyspace unusable.
      const nodes = isCluster(client) ? client.nodes('master') : [client];
      if (nodes.length === 0) throw new Error('no cluster node known yet');
      this.count(nodes.length);
      await Promise.all(nodes.map((node) => node.ping()));
    });
  }

  /*
   * orgconnect's atomic operations: each is one command or one single-key script, so it is atomic
   * on a single server and in a Cluster alike (a record never spans slots).
   */

  async putIfAbsent(model: string, id: string, payload: AdapterPayload, ttlSeconds?: number): Promise<AdapterPayload> {
    const stored = await this.run((client) =>
      this.script(client, 'orgconnectPutIfAbsent', this.key(model, id), JSON.stringify(payload), ttlArgument(millis(ttlSeconds))),
    );
    return JSON.parse(String(stored)) as AdapterPayload;
  }

  async readVersioned(model: string, id: string): Promise<VersionedRecord | undefined> {
    const [json, version] = await this.run((client) => {
      this.count(1);
      return client.hmget(this.key(model, id), 'p', 'v');
    });
    if (!json) return undefined;
    return { value: JSON.parse(json) as AdapterPayload, version: version ? Number(version) : 1 };
  }

  async writeVersioned(model: string, id: string, payload: AdapterPayload, expected: number): Promise<number | undefined> {
    const version = await this.run((client) => this.script(client, 'orgconnectWriteVersioned', this.key(model, id), JSON.stringify(payload), expected));
    return Number(version) || undefined;
  }

  async increment(model: string, id: string, by: number, ttlSeconds: number): Promise<number> {
    const value = await this.run((client) => this.script(client, 'orgconnectIncrement', this.key(model, id), by, millis(ttlSeconds)!));
    return Number(value);
  }

  async expire(model: string, id: string, ttlSeconds: number): Promise<void> {
    await this.run((client) => {
      this.count(1);
      return client.pexpire(this.key(model, id), millis(ttlSeconds)!);
    });
  }

  async groupPut(model: string, id: string, member: string, value: string, options: GroupPutOptions = {}): Promise<boolean> {
    const stored = await this.run((client) =>
      this.script(client, 'orgconnectGroupPut', this.key(model, id), member, value, ttlArgument(millis(options.ttlSeconds)), options.limit ?? ''),
    );
    return Number(stored) === 1;
  }

  async groupRemove(model: string, id: string, members: string[]): Promise<number> {
    if (members.length === 0) return 0;
    return this.run((client) => {
      this.count(1);
      return client.hdel(this.key(model, id), ...members);
    });
  }

  async groupRead(model: string, id: string): Promise<Record<string, string>> {
    return this.run((client) => {
      this.count(1);
      return client.hgetall(this.key(model, id));
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#owned) return;
    if (this.#client.status === 'ready') await this.#client.quit().catch(() => {});
    // Also stops a pending reconnect when the server is down (quit() cannot reach it then).
    this.#client.disconnect();
  }

  // key(), count(), script() and run() are for RedisAdapter below, not part of the Store API.

  /** @internal */
  key(model: string, id: string): string {
    return `${this.prefix}${model}:${id}`;
  }

  /** @internal */
  count(commands: number): void {
    this.#commands += commands;
  }

  /** @internal */
  script(client: Client | ChainableCommander, name: ScriptName, key: string, ...args: (string | number)[]) {
    this.count(1);
    return (client as unknown as Record<ScriptName, ScriptCaller>)[name](key, ...args);
  }

  /** @internal A multi-key script of a single server: the number of keys comes first. */
  multiKeyScript(client: Client, name: SingleServerScriptName, keys: string[], ...args: (string | number)[]) {
    this.count(1);
    return (client as unknown as Record<SingleServerScriptName, ScriptCaller>)[name](keys.length, ...keys, ...args);
  }

  /**
   * @internal
   * Runs one store operation with a deadline, turning every failure into StoreUnavailableError.
   * ioredis' commandTimeout bounds each command of clients we create; the deadline here also
   * bounds a client passed in, and the wait for the very first connection.
   */
  async run<T>(operation: (client: Client) => Promise<T>): Promise<T> {
    // The common case, a single server this store connected itself: ioredis' own commandTimeout
    // bounds every command and a dropped connection fails it at once (no offline queue), so the
    // deadline below (a timer and a race per operation) would only add cost.
    if (this.#bounded && this.#everReady && !this.#closed) {
      try {
        return await operation(this.#client);
      } catch (error) {
        throw unavailable(error);
      }
    }
    let timer: NodeJS.Timeout | undefined;
    let expired = false;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        expired = true;
        reject(new Error(`no answer within ${this.#timeout}ms`));
      }, this.#timeout);
    });
    const attempt = async () => {
      if (this.#closed) throw new Error('store closed');
      // Right after construction the client is still connecting, and with the offline queue off
      // its commands would fail at once: wait for that first attempt, within the deadline. Once
      // an attempt has failed (status 'reconnecting') or the client has been up, a missing
      // connection fails commands immediately instead.
      if (!this.#everReady && CONNECTING.has(this.#client.status)) await this.#firstReady;
      // Never start a write whose caller has already been told it failed.
      if (expired) throw new Error('gave up');
      return operation(this.#client);
    };
    try {
      return await Promise.race([attempt(), deadline]);
    } catch (error) {
      throw unavailable(error);
    } finally {
      clearTimeout(timer);
    }
  }
}

function unavailable(error: unknown): StoreUnavailableError {
  const message = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`Redis store unavailable: ${message}`, { cause: error });
}

/** Throws the first error in a MULTI's replies (ioredis resolves exec() with [error, reply] pairs). */
function checkReplies(replies: [Error | null, unknown][] | null): void {
  if (!replies) throw new Error('transaction aborted');
  for (const [error] of replies) if (error) throw error;
}

const ttlArgument = (ms: number | undefined) => (ms === undefined ? '' : ms);
/** Whole milliseconds, at least 1 (PEXPIRE refuses 0 and fractions). */
const millis = (s: number | undefined) => (s === undefined ? undefined : Math.max(1, Math.ceil(s * 1000)));

class RedisAdapter implements Adapter {
  constructor(
    readonly model: string,
    readonly store: RedisStore,
  ) {}

  #key(id: string): string {
    return this.store.key(this.model, id);
  }

  #index(grantId: string): string {
    return `${this.store.prefix}grant:${grantId}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const key = this.#key(id);
    // Milliseconds: SET EX rejects 0 and fractions. A lifetime already over stores nothing, as
    // in memory.ts where such a record is never found.
    const ms = typeof expiresIn === 'number' ? Math.ceil(expiresIn * 1000) : undefined;
    if (ms !== undefined && ms <= 0) return this.destroy(id);
    const consumed = payload.consumed ? String(payload.consumed) : '';
    const secondary: [string, string][] = [];
    if (this.model === 'Session' && payload.uid) secondary.push([`${this.store.prefix}sessionUid:${payload.uid}`, id]);
    if (payload.userCode) secondary.push([`${this.store.prefix}userCode:${payload.userCode}`, id]);
    const index = GRANTABLE_MODELS.has(this.model) && payload.grantId ? this.#index(payload.grantId) : undefined;
    const json = JSON.stringify(payload);

    await this.store.run(async (client) => {
      if (!isCluster(client) && (secondary.length || index)) {
        // One server: all of it in one atomic script, so a concurrent revocation sees the record
        // and its index entry together or not at all.
        const keys = [key, ...secondary.map(([k]) => k), ...(index ? [index] : [])];
        await this.store.multiKeyScript(client, 'orgconnectUpsert', keys, json, consumed, ttlArgument(ms), index ? '1' : '', ...secondary.map(([, v]) => v));
        return;
      }
      // Cluster (keys in different slots): one command per key. The index is written last so its
      // TTL, counted from a later instant, is never shorter than the record's. If that last write
      // fails, upsert rejects and the token is never handed out, so the unindexed record is
      // unreachable until it expires.
      await Promise.all([
        this.store.script(client, 'orgconnectPut', key, json, consumed, ttlArgument(ms)),
        ...secondary.map(([k, v]) => this.#set(client, k, v, ms)),
      ]);
      if (index) await this.store.script(client, 'orgconnectIndex', index, key, ttlArgument(ms));
    });
  }

  #set(client: Client | ChainableCommander, key: string, value: string, ms: number | undefined) {
    this.store.count(1);
    return ms === undefined ? client.set(key, value) : client.set(key, value, 'PX', ms);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const [json, consumed] = await this.store.run((client) => {
      this.store.count(1);
      return client.hmget(this.#key(id), 'p', 'c');
    });
    return this.#decode(json, consumed);
  }

  #decode(json: string | null, consumed: string | null): AdapterPayload | undefined {
    if (!json) return undefined;
    const payload = JSON.parse(json) as AdapterPayload;
    // `c` is written by consume(); a payload upserted with `consumed` already carries it.
    if (consumed && payload.consumed === undefined) payload.consumed = Number(consumed);
    return payload;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#findByIndex(`${this.store.prefix}sessionUid:${uid}`);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#findByIndex(`${this.store.prefix}userCode:${userCode}`);
  }

  async #findByIndex(indexKey: string): Promise<AdapterPayload | undefined> {
    const found = await this.store.run(async (client) => {
      if (!isCluster(client)) {
        const record = (await this.store.multiKeyScript(client, 'orgconnectFindByIndex', [indexKey], this.store.key(this.model, ''))) as [string | null, string | null] | null;
        return { record };
      }
      this.store.count(1);
      return { id: await client.get(indexKey) };
    });
    if ('record' in found) return found.record ? this.#decode(found.record[0], found.record[1]) : undefined;
    return found.id === null ? undefined : this.find(found.id);
  }

  async destroy(id: string): Promise<void> {
    // Like memory.ts, secondary and grant index entries are left to expire: they only point here.
    await this.store.run((client) => {
      this.store.count(1);
      return client.del(this.#key(id));
    });
  }

  /**
   * Atomic through a one-key Lua script, so N concurrent redemptions on any number of
   * connections have exactly one winner. A replay revokes the whole grant (RFC 6749 4.1.2),
   * from Node, since the grant's records live in other slots.
   * If the script's answer is lost (timeout, dropped connection) the code may be consumed all the
   * same; a retry then counts as a replay. That errs on the side of revoking.
   */
  async consume(id: string): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const result = await this.store.run((client) => this.store.script(client, 'orgconnectConsume', this.#key(id), now));
    if (result === 0) throw new errors.InvalidGrant('grant source not found');
    if (result === 1) return;
    const { grantId } = JSON.parse(String(result)) as AdapterPayload;
    if (grantId) {
      await Promise.all([
        this.revokeByGrantId(grantId),
        this.store.run((client) => {
          this.store.count(1);
          return client.del(this.store.key('Grant', grantId));
        }),
      ]);
    }
    throw new errors.InvalidGrant('grant source already consumed');
  }

  /**
   * Members are deleted before they leave the index, so a revocation that fails half way can be
   * retried. SREM of exactly the members read (not DEL of the index) keeps a member added
   * concurrently; Redis drops the set itself once it is empty.
   */
  async revokeByGrantId(grantId: string): Promise<void> {
    const index = this.#index(grantId);
    await this.store.run(async (client) => {
      this.store.count(1);
      const members = await client.smembers(index);
      if (members.length === 0) return;
      if (isCluster(client)) {
        this.store.count(members.length);
        await Promise.all(members.map((member) => client.del(member)));
        this.store.count(1);
        await client.srem(index, ...members);
        return;
      }
      this.store.count(4);
      checkReplies(
        await client
          .multi()
          .del(...members)
          .srem(index, ...members)
          .exec(),
      );
    });
  }
}

export function createRedisStore(options: RedisStoreOptions): RedisStore {
  return new RedisStore(options);
}
