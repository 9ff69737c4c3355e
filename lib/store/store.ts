import type { Adapter, AdapterPayload } from 'oidc-provider';

/** A record read together with its version, for a conditional write (`writeVersioned`). */
export interface VersionedRecord {
  value: AdapterPayload;
  /** Increases with every write; a record that does not exist has version 0. */
  version: number;
}

/** Options of `groupPut`. */
export interface GroupPutOptions {
  /**
   * The group lives at least this long from now: its expiry moves later, never earlier, and a
   * group without expiry keeps none. Omitted: the group no longer expires.
   */
  ttlSeconds?: number;
  /**
   * Refuse (return false) when the group already holds this many counted members other than
   * `member`. Members whose value is the empty string are markers: they are not counted.
   */
  limit?: number;
}

/**
 * Where orgconnect keeps state: every oidc-provider model (sessions, interactions, grants, codes,
 * tokens...) through `adapter()`, and orgconnect's own records through the atomic operations
 * below. Each operation is atomic on its own (one Redis key, one script): two instances writing
 * the same record at once can never lose a write, which a read, a change in memory and a write
 * back would. A third-party store implements all of it and checks itself with the conformance
 * suite exported by `orgconnect/testing` (`storeConformance`).
 *
 * A record is addressed by (model, id); `adapter(model).destroy(id)` removes any kind of record
 * (plain, versioned, counter or group).
 */
export interface Store {
  /** 'memory' or 'redis': reported by /health. */
  readonly kind: string;
  /** The oidc-provider adapter for a model name (also used for orgconnect's plain records). */
  adapter(model: string): Adapter;
  /** Resolves when the store answers; rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  /** Releases timers and connections. */
  close(): Promise<void>;

  /**
   * Stores a record unless one exists, atomically, and returns the record that is stored
   * afterwards (the caller's or the existing one): instances agree on the first value written.
   */
  putIfAbsent(model: string, id: string, payload: AdapterPayload, ttlSeconds?: number): Promise<AdapterPayload>;

  /** Reads a versioned record (see `writeVersioned`). */
  readVersioned(model: string, id: string): Promise<VersionedRecord | undefined>;
  /**
   * Compare-and-set: writes the record only if its version is still `expected` (0: only if no
   * record exists). Returns the new version, or undefined when another write came first (the
   * caller reads again, re-applies its change, or reports a conflict).
   */
  writeVersioned(model: string, id: string, payload: AdapterPayload, expected: number): Promise<number | undefined>;

  /**
   * Adds `by` to a counter and returns its new value. A counter this call creates expires after
   * `ttlSeconds`; an existing one keeps its expiry.
   */
  increment(model: string, id: string, by: number, ttlSeconds: number): Promise<number>;
  /** Sets how long a counter (or any record) lives from now. No-op when it does not exist. */
  expire(model: string, id: string, ttlSeconds: number): Promise<void>;

  /**
   * A group: one record holding named members, each with a string value, where adding or
   * removing one member never rewrites the others (a set, or a hash of small records).
   * Returns false when `limit` refused the member, true when it is stored.
   */
  groupPut(model: string, id: string, member: string, value: string, options?: GroupPutOptions): Promise<boolean>;
  /** Removes members; returns how many were there. */
  groupRemove(model: string, id: string, members: string[]): Promise<number>;
  /** Every member of a group with its value ({} when the group does not exist). */
  groupRead(model: string, id: string): Promise<Record<string, string>>;
}

/** Models whose records belong to a grant and go away with it (revokeByGrantId). */
export const GRANTABLE_MODELS = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);
