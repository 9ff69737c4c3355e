import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';

import { GRANTABLE_MODELS, type GroupPutOptions, type Store, type VersionedRecord } from './store.js';

interface Entry {
  value: unknown;
  /** epoch milliseconds; Infinity when the record does not expire */
  expiresAt: number;
  /** set by writeVersioned */
  version?: number;
}

const SWEEP_INTERVAL_MS = 30_000;

/**
 * The embedded store: one Map for every model, with expiry. Unlike oidc-provider's development
 * adapter it never evicts a live record to make room (that would log users out under load);
 * expired records are dropped when read and by a periodic sweep, so memory stays flat.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly #entries = new Map<string, Entry>();
  readonly #adapters = new Map<string, MemoryAdapter>();
  readonly #sweeper: NodeJS.Timeout;

  constructor() {
    this.#sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.#sweeper.unref();
  }

  adapter(model: string): Adapter {
    let adapter = this.#adapters.get(model);
    if (!adapter) {
      adapter = new MemoryAdapter(model, this);
      this.#adapters.set(model, adapter);
    }
    return adapter;
  }

  async ping(): Promise<void> {}

  /*
   * orgconnect's atomic operations. Each runs from start to end without an await, so no other
   * request can interleave with it: that is what makes them atomic in one process.
   */

  async putIfAbsent(model: string, id: string, payload: AdapterPayload, ttlSeconds?: number): Promise<AdapterPayload> {
    const key = `${model}:${id}`;
    if (this.get(key) === undefined) this.set(key, structuredClone(payload), ttlSeconds);
    return structuredClone(this.get(key)) as AdapterPayload;
  }

  async readVersioned(model: string, id: string): Promise<VersionedRecord | undefined> {
    const key = `${model}:${id}`;
    const value = this.get(key);
    if (value === undefined) return undefined;
    return { value: structuredClone(value) as AdapterPayload, version: this.#entries.get(key)!.version ?? 1 };
  }

  async writeVersioned(model: string, id: string, payload: AdapterPayload, expected: number): Promise<number | undefined> {
    const key = `${model}:${id}`;
    const current = this.get(key) === undefined ? 0 : (this.#entries.get(key)!.version ?? 1);
    if (current !== expected) return undefined;
    this.#entries.set(key, { value: structuredClone(payload), expiresAt: Infinity, version: current + 1 });
    return current + 1;
  }

  async increment(model: string, id: string, by: number, ttlSeconds: number): Promise<number> {
    const key = `${model}:${id}`;
    const current = this.get(key);
    if (typeof current !== 'number') {
      this.set(key, by, ttlSeconds);
      return by;
    }
    this.#entries.get(key)!.value = current + by;
    return current + by;
  }

  async expire(model: string, id: string, ttlSeconds: number): Promise<void> {
    const key = `${model}:${id}`;
    if (this.get(key) !== undefined) this.#entries.get(key)!.expiresAt = Date.now() + ttlSeconds * 1000;
  }

  async groupPut(model: string, id: string, member: string, value: string, options: GroupPutOptions = {}): Promise<boolean> {
    const key = `${model}:${id}`;
    let group = this.get(key) as Map<string, string> | undefined;
    if (options.limit !== undefined && group && !group.has(member)) {
      let counted = 0;
      for (const v of group.values()) if (v !== '') counted += 1;
      if (counted >= options.limit) return false;
    }
    const ttl = options.ttlSeconds;
    if (!group) {
      group = new Map();
      this.set(key, group, ttl);
    } else if (ttl === undefined) {
      this.#entries.get(key)!.expiresAt = Infinity;
    } else {
      const entry = this.#entries.get(key)!;
      entry.expiresAt = Math.max(entry.expiresAt, Date.now() + ttl * 1000);
    }
    group.set(member, value);
    return true;
  }

  async groupRemove(model: string, id: string, members: string[]): Promise<number> {
    const key = `${model}:${id}`;
    const group = this.get(key) as Map<string, string> | undefined;
    if (!group) return 0;
    let removed = 0;
    for (const member of members) if (group.delete(member)) removed += 1;
    if (group.size === 0) this.delete(key);
    return removed;
  }

  async groupRead(model: string, id: string): Promise<Record<string, string>> {
    const group = this.get(`${model}:${id}`) as Map<string, string> | undefined;
    return group ? Object.fromEntries(group) : {};
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }

  /** Number of live records: used by tests and the bench to show that expired ones are evicted. */
  get size(): number {
    return this.#entries.size;
  }

  get(key: string): unknown {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: unknown, expiresInSeconds?: number): void {
    const expiresAt = typeof expiresInSeconds === 'number' ? Date.now() + expiresInSeconds * 1000 : Infinity;
    this.#entries.set(key, { value, expiresAt });
  }

  expiresAt(key: string): number | undefined {
    return this.#entries.get(key)?.expiresAt;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
  }
}

const grantKey = (grantId: string) => `grant:${grantId}`;
const uidKey = (uid: string) => `sessionUid:${uid}`;
const userCodeKey = (userCode: string) => `userCode:${userCode}`;

class MemoryAdapter implements Adapter {
  constructor(
    readonly model: string,
    readonly store: MemoryStore,
  ) {}

  key(id: string): string {
    return `${this.model}:${id}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const key = this.key(id);
    // Stored as a copy: a caller mutating its object must not change what is stored.
    this.store.set(key, structuredClone(payload), expiresIn);

    if (this.model === 'Session' && payload.uid) this.store.set(uidKey(payload.uid), id, expiresIn);
    if (payload.userCode) this.store.set(userCodeKey(payload.userCode), id, expiresIn);

    if (GRANTABLE_MODELS.has(this.model) && payload.grantId) {
      const index = grantKey(payload.grantId);
      const members = (this.store.get(index) as Set<string> | undefined) ?? new Set<string>();
      members.add(key);
      // The index lives as long as its longest member, never longer.
      const previous = this.store.expiresAt(index) ?? 0;
      const memberExpiry = this.store.expiresAt(key) ?? Infinity;
      const expiresAt = Math.max(previous, memberExpiry);
      this.store.set(index, members, Number.isFinite(expiresAt) ? (expiresAt - Date.now()) / 1000 : undefined);
    }
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const value = this.store.get(this.key(id)) as AdapterPayload | undefined;
    return value === undefined ? undefined : structuredClone(value);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = this.store.get(uidKey(uid)) as string | undefined;
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const id = this.store.get(userCodeKey(userCode)) as string | undefined;
    return id === undefined ? undefined : this.find(id);
  }

  async destroy(id: string): Promise<void> {
    this.store.delete(this.key(id));
  }

  /**
   * Check-and-set in one synchronous step, so two concurrent redemptions cannot both win.
   * The loser gets invalid_grant and, as RFC 6749 section 4.1.2 asks, the grant is revoked.
   */
  async consume(id: string): Promise<void> {
    const payload = this.store.get(this.key(id)) as AdapterPayload | undefined;
    if (!payload) throw new errors.InvalidGrant('grant source not found');
    if (payload.consumed) {
      if (payload.grantId) {
        await this.revokeByGrantId(payload.grantId);
        this.store.delete(`Grant:${payload.grantId}`);
      }
      throw new errors.InvalidGrant('grant source already consumed');
    }
    payload.consumed = Math.floor(Date.now() / 1000);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    const index = grantKey(grantId);
    const members = this.store.get(index) as Set<string> | undefined;
    for (const key of members ?? []) this.store.delete(key);
    this.store.delete(index);
  }
}
