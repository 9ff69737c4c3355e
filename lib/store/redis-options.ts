/**
 * The `{ redis }` store option, typed without ioredis: orgconnect's public declarations must not
 * pull a store driver's types into every consumer's build (a consumer on the memory store, or
 * one whose ioredis version ships declarations its `strict` build rejects, would fail to compile).
 */

/**
 * What orgconnect uses of an ioredis `Redis` or `Cluster` instance you pass in. Structural, so any
 * ioredis 5/6 client fits without orgconnect's types importing ioredis'.
 */
export interface RedisClientLike {
  readonly status: string;
  readonly isCluster: boolean;
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }): void;
}

/** A cluster node: `"host:port"`, a `redis://` URL, or `{ host, port }`. */
export type RedisNode = string | { host: string; port: number };

export interface RedisStoreOptions {
  /** a redis:// URL, an ioredis Redis or Cluster instance, or a list of cluster nodes */
  redis: string | RedisClientLike | RedisNode[];
  /** key prefix so several issuers can share one Redis; default 'orgconnect:' */
  prefix?: string;
  /** per-command timeout in ms (default 2000) */
  commandTimeout?: number;
}
