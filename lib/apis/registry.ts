import { apiId, parseApi, type Api, type ApiInput, type ServedApi } from './apis.js';
import { ApiConflictError, ApiError } from '../errors.js';
import type { Store } from '../store/store.js';

/** An API record: the API and its timestamps. */
type StoredApi = Api & { created_at: string; updated_at: string };
/** What a deletion leaves: no later update brings the API back (a create makes a new one). */
type Tombstone = { deleted: true };

/** The fields `update` may change. The identifier (and so the id) is fixed. */
export type ApiUpdate = Partial<Pick<Api, 'name' | 'scopes' | 'access_token_ttl'>>;

/** An API as listed: `configured` when it comes from the configuration (seed, options), which is read-only here. */
export type ListedApi = Api & { configured?: true };

/** An API and the version of its record, for a conditional update (`If-Match`). */
export interface VersionedApi {
  api: ListedApi;
  /** 0 for a configured API. */
  version: number;
}

export interface ApiRegistryHooks {
  /**
   * The request being served (oidc-provider's `Provider.ctx`), if any: within one request an API
   * is read from the store once, however many times oidc-provider asks for it.
   */
  currentRequest?(): object | undefined;
}

/*
 * Records (see docs/store.md for what each store operation guarantees):
 *   Api:<id>        versioned record: the API, or a tombstone
 *   ApiIndex:index  group: id -> identifier, the APIs created at run time
 * The id is derived from the identifier, so a token request finds its API with one read.
 * Every write is one atomic store operation.
 */
const APIS = 'Api';
const API_INDEX = 'ApiIndex';
const INDEX_ID = 'index';
/** Attempts of a write that found its record changed under it before it gives up (409). */
const WRITE_ATTEMPTS = 8;

const isTombstone = (record: unknown): record is Tombstone => (record as Tombstone | undefined)?.deleted === true;
const publicView = ({ created_at: _c, updated_at: _u, ...api }: StoredApi): Api => api;
const listedView = ({ legacy: _legacy, ...api }: ServedApi): ListedApi => ({ ...api, configured: true });

/**
 * The APIs (resource servers) the provider issues access tokens for. Configured APIs (the seed,
 * the `apis` option, and the `audience` / `resources` options) are held in every instance's
 * memory and are read-only at run time; APIs created at run time live in the store, so every
 * instance sharing it sees a creation, change or deletion at once.
 */
export class ApiRegistry {
  readonly #store: Store;
  readonly #hooks: ApiRegistryHooks;
  /** Configured APIs by id. */
  readonly #configured = new Map<string, ServedApi>();
  readonly #perRequest = new WeakMap<object, Map<string, Promise<StoredApi | undefined>>>();

  constructor(store: Store, hooks: ApiRegistryHooks = {}, configured: readonly ServedApi[] = []) {
    this.#store = store;
    this.#hooks = hooks;
    for (const api of configured) this.#configured.set(api.id, api);
  }

  /** The identifiers of the configured APIs (for messages). */
  configuredIdentifiers(): string[] {
    return [...this.#configured.values()].map((api) => api.identifier);
  }

  /**
   * The API a resource indicator names, or undefined. Configured APIs cost no store read; others
   * are read once per request.
   */
  async find(identifier: string): Promise<ServedApi | undefined> {
    const id = apiId(identifier);
    const configured = this.#configured.get(id);
    if (configured) return configured.identifier === identifier ? configured : undefined;
    const record = await this.#stored(id);
    return record?.identifier === identifier ? publicView(record) : undefined;
  }

  /** Whether the provider issues access tokens for this audience. */
  async has(identifier: string): Promise<boolean> {
    return (await this.find(identifier)) !== undefined;
  }

  async get(id: string): Promise<ListedApi | undefined> {
    return (await this.getVersioned(id))?.api;
  }

  /** An API with the version of its record (for `If-Match`); a configured API is version 0. */
  async getVersioned(id: string): Promise<VersionedApi | undefined> {
    const configured = this.#configured.get(id);
    if (configured) return { api: listedView(configured), version: 0 };
    const { record, version } = await this.#readVersioned(id);
    return record && { api: publicView(record), version };
  }

  /** All APIs, configured ones included, ordered by id. */
  async list(): Promise<ListedApi[]> {
    const index = await this.#store.groupRead(API_INDEX, INDEX_ID);
    const ids = [...new Set([...this.#configured.keys(), ...Object.keys(index)])].sort();
    const apis = await Promise.all(ids.map((id) => this.get(id)));
    return apis.filter((api): api is ListedApi => api !== undefined);
  }

  /**
   * Validates and stores a new API. Its identifier must not be an API already (a configured one,
   * or one created at run time); a deleted API's identifier may be used again.
   */
  async create(input: ApiInput, where = 'api'): Promise<Api> {
    const api = parseApi(input, where);
    const taken = () => new ApiError(`${where} ("${api.name}"): "${api.identifier}" is already an API of this provider`);
    if (this.#configured.has(api.id)) throw taken();
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt += 1) {
      const { record, version } = await this.#readVersioned(api.id);
      if (record) throw taken();
      const now = new Date().toISOString();
      const stored: StoredApi = { ...api, created_at: now, updated_at: now };
      if ((await this.#store.writeVersioned(APIS, api.id, stored as never, version)) === undefined) continue;
      await this.#store.groupPut(API_INDEX, INDEX_ID, api.id, api.identifier);
      this.#forgetInRequest(api.id);
      return api;
    }
    throw new ApiConflictError(`API "${api.identifier}" is being changed by others: try again`);
  }

  /**
   * Changes an API; takes effect at once on every instance sharing the store. The change is
   * applied to the record as it is when written (compare-and-set, retried). With `ifVersion`, it
   * applies only to that version (ApiConflictError with `precondition` otherwise).
   */
  async update(id: string, changes: ApiUpdate, ifVersion?: number): Promise<VersionedApi> {
    this.#refuseConfigured(id);
    const where = `API "${id}"`;
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt += 1) {
      const { record, version } = await this.#readVersioned(id);
      if (!record) throw new ApiError(`no API "${id}"`);
      if (ifVersion !== undefined && ifVersion !== version) throw new ApiConflictError(`API "${id}" is at version ${version}, not ${ifVersion}`, true);
      const { created_at, updated_at: _u, id: _id, ...fields } = record;
      const api = parseApi({ ...fields, ...changes, identifier: record.identifier }, where);
      const next: StoredApi = { ...api, created_at, updated_at: new Date().toISOString() };
      const written = await this.#store.writeVersioned(APIS, id, next as never, version);
      if (written !== undefined) {
        this.#forgetInRequest(id);
        return { api, version: written };
      }
      if (ifVersion !== undefined) throw new ApiConflictError(`API "${id}" was changed meanwhile`, true);
    }
    throw new ApiConflictError(`API "${id}" is being changed by others: try again`);
  }

  /**
   * Deletes an API: a tombstone replaces its record, so no later update brings it back, and its
   * identifier is at once an unknown resource (`invalid_target`). Tokens already issued for it
   * stay valid until they expire.
   */
  async delete(id: string): Promise<boolean> {
    this.#refuseConfigured(id);
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt += 1) {
      const { record, version } = await this.#readVersioned(id);
      if (!record) return false;
      if ((await this.#store.writeVersioned(APIS, id, { deleted: true } as never, version)) === undefined) continue;
      this.#forgetInRequest(id);
      await this.#store.groupRemove(API_INDEX, INDEX_ID, [id]);
      // A create of the same identifier may have come between the tombstone and the removal:
      // its index member is put back, so a created API is always listed.
      const again = await this.#readVersioned(id);
      if (again.record) await this.#store.groupPut(API_INDEX, INDEX_ID, id, again.record.identifier);
      return true;
    }
    throw new ApiConflictError(`API "${id}" is being changed by others: try again`);
  }

  #refuseConfigured(id: string): void {
    const configured = this.#configured.get(id);
    if (configured) throw new ApiError(`API "${configured.identifier}" is configured (seed or options): change it in the configuration`);
  }

  #stored(id: string): Promise<StoredApi | undefined> {
    const request = this.#hooks.currentRequest?.();
    if (!request) return this.#read(id);
    let memo = this.#perRequest.get(request);
    if (!memo) this.#perRequest.set(request, (memo = new Map()));
    let pending = memo.get(id);
    if (!pending) {
      pending = this.#read(id);
      memo.set(id, pending);
      pending.catch(() => memo!.delete(id));
    }
    return pending;
  }

  async #read(id: string): Promise<StoredApi | undefined> {
    const record = (await this.#store.adapter(APIS).find(id)) as StoredApi | Tombstone | undefined;
    return record === undefined || isTombstone(record) ? undefined : record;
  }

  async #readVersioned(id: string): Promise<{ record: StoredApi | undefined; version: number }> {
    const stored = await this.#store.readVersioned(APIS, id);
    if (!stored) return { record: undefined, version: 0 };
    const record = stored.value as unknown as StoredApi | Tombstone;
    return { record: isTombstone(record) ? undefined : record, version: stored.version };
  }

  #forgetInRequest(id: string): void {
    const request = this.#hooks.currentRequest?.();
    if (request) this.#perRequest.get(request)?.delete(id);
  }
}
