import type { ClientMetadata } from 'oidc-provider';

import {
  parseApplication,
  redirectUriProblems,
  toClientMetadata,
  type Application,
  type ApplicationInput,
  type ParsedApplication,
} from './applications.js';
import { generateSecret, hashSecret, SecretVerifier, type ClientSecretInfo, type StoredSecret } from './client-secrets.js';
import { ApplicationError } from './errors.js';
import type { Store } from '../adapters/store.js';

/** An application as stored: secrets as hashes only. A tombstone hides a seed application. */
type StoredApplication = Application & { client_secrets: StoredSecret[]; created_at: string; updated_at: string };
type Tombstone = { deleted: true };

/** What `create` returns: the application and, once only, the plaintext of its first secret. */
export type CreatedApplication = Application & { client_secret?: string };

/** The fields `update` may change. The kind, client_id and confidentiality are fixed. */
export type ApplicationUpdate = Partial<
  Pick<Application, 'name' | 'description' | 'organization_id' | 'scopes'> & {
    is_first_party: boolean;
    redirect_uris: string[];
    post_logout_redirect_uris: string[];
    logo_uri: string;
    logo_uri_dark: string;
  }
>;

/** A new secret: its plaintext is returned here and never again. */
export interface CreatedSecret extends ClientSecretInfo {
  secret: string;
}

export interface RegistryHooks {
  organizationExists(id: string): Promise<boolean>;
  /** oidc-provider's own client metadata validation, so a bad app is refused at registration. */
  validateMetadata?(metadata: ClientMetadata): Promise<void>;
  issuer: string;
  /**
   * The request being served (oidc-provider's `Provider.ctx`), if any: within one request an
   * application is read from the store once, however many times oidc-provider looks it up.
   */
  currentRequest?(): object | undefined;
}

const APPLICATIONS = 'Application';
/** The list of run-time client ids, in a model of its own so no client_id can collide with it. */
const APPLICATION_INDEX = 'ApplicationIndex';
const SECRET_USAGE = 'ClientSecretUsage';
const INDEX_ID = 'index';
const MAX_SECRETS = 5;
const USAGE_WRITE_INTERVAL_MS = 60_000;

const publicView = ({ client_secrets: _secrets, created_at: _c, updated_at: _u, ...app }: StoredApplication): Application => app;

/**
 * The applications oidc-provider knows as clients, and their secrets. Applications created at
 * run time live in the store, so every instance sharing it sees a creation, change, secret
 * revocation or deletion at once. Seed applications are configuration: every instance holds them
 * in memory (surviving a store that restarts empty); a store record with the same client_id
 * (an update, or a deletion's tombstone) takes precedence.
 */
export class ApplicationRegistry {
  readonly #store: Store;
  readonly #hooks: RegistryHooks;
  readonly #seeded = new Map<string, StoredApplication>();
  readonly #verifier = new SecretVerifier();
  readonly #usageWritten = new Map<string, number>();
  readonly #perRequest = new WeakMap<object, Map<string, Promise<StoredApplication | undefined>>>();
  readonly #metadata = new WeakMap<StoredApplication, ClientMetadata>();

  private constructor(store: Store, hooks: RegistryHooks) {
    this.#store = store;
    this.#hooks = hooks;
  }

  /** Builds a registry; seed applications are validated and their secrets hashed here. */
  static async open(store: Store, hooks: RegistryHooks, seeded: ParsedApplication[] = []): Promise<ApplicationRegistry> {
    const registry = new ApplicationRegistry(store, hooks);
    for (const app of seeded) {
      const record = await registry.#record(app, 'seed application');
      registry.#seeded.set(app.client_id, record);
    }
    return registry;
  }

  get #records() {
    return this.#store.adapter(APPLICATIONS);
  }

  async #record(parsed: ParsedApplication, where: string): Promise<StoredApplication> {
    const { client_secret, ...app } = parsed;
    await this.#check(app, where);
    const now = new Date().toISOString();
    return { ...app, client_secrets: client_secret ? [await hashSecret(client_secret)] : [], created_at: now, updated_at: now };
  }

  async #check(app: Application, where: string): Promise<void> {
    const label = `${where} ("${app.name}")`;
    if (app.organization_id && !(await this.#hooks.organizationExists(app.organization_id))) {
      throw new ApplicationError(`${label}: unknown organization_id "${app.organization_id}"`);
    }
    const problems = redirectUriProblems(app, this.#hooks.issuer);
    if (problems.length) throw new ApplicationError(`${label}: ${problems.join('; ')}`);
    try {
      await this.#hooks.validateMetadata?.(toClientMetadata(app));
    } catch (error) {
      const detail = (error as { error_description?: string }).error_description ?? (error as Error).message;
      throw new ApplicationError(`${label}: ${detail}`);
    }
  }

  #stored(clientId: string): Promise<StoredApplication | undefined> {
    const request = this.#hooks.currentRequest?.();
    if (!request) return this.#read(clientId);
    let memo = this.#perRequest.get(request);
    if (!memo) this.#perRequest.set(request, (memo = new Map()));
    let pending = memo.get(clientId);
    if (!pending) {
      pending = this.#read(clientId);
      memo.set(clientId, pending);
      pending.catch(() => memo!.delete(clientId));
    }
    return pending;
  }

  async #read(clientId: string): Promise<StoredApplication | undefined> {
    const record = (await this.#records.find(clientId)) as StoredApplication | Tombstone | undefined;
    if (record && 'deleted' in record) return undefined;
    return record ?? this.#seeded.get(clientId);
  }

  async #save(record: StoredApplication): Promise<void> {
    await this.#records.upsert(record.client_id, record as never);
    const request = this.#hooks.currentRequest?.();
    if (request) this.#perRequest.get(request)?.delete(record.client_id);
  }

  /** Validates and saves an application; ids and secrets left out are generated. */
  async create(input: ApplicationInput, where = 'application'): Promise<CreatedApplication> {
    const parsed = parseApplication(input, where);
    if (await this.#stored(parsed.client_id)) {
      throw new ApplicationError(`${where} ("${parsed.name}"): client_id "${parsed.client_id}" is already taken`);
    }
    const record = await this.#record(parsed, where);
    await this.#save(record);
    const index = await this.#index();
    await this.#store.adapter(APPLICATION_INDEX).upsert(INDEX_ID, { ids: [...new Set([...index, record.client_id])] } as never);
    return { ...publicView(record), ...(parsed.client_secret ? { client_secret: parsed.client_secret } : {}) };
  }

  async get(clientId: string): Promise<Application | undefined> {
    const record = await this.#stored(clientId);
    return record && publicView(record);
  }

  /** All applications, ordered by client_id. */
  async list(): Promise<Application[]> {
    const ids = [...new Set([...this.#seeded.keys(), ...(await this.#index())])].sort();
    const apps = await Promise.all(ids.map((id) => this.get(id)));
    return apps.filter((app): app is Application => app !== undefined);
  }

  /** Changes an application; takes effect at once on every instance sharing the store. */
  async update(clientId: string, changes: ApplicationUpdate): Promise<Application> {
    const record = await this.#stored(clientId);
    if (!record) throw new ApplicationError(`no application "${clientId}"`);
    const { client_secrets, created_at, ...current } = record;
    const parsed = parseApplication({ ...stripTimestamps(current), ...changes, client_id: clientId }, `application "${clientId}"`);
    const { client_secret: _generated, ...app } = parsed;
    if (app.application_type !== record.application_type || (app as { is_public?: boolean }).is_public !== (record as { is_public?: boolean }).is_public) {
      throw new ApplicationError(`application "${clientId}": application_type and is_public cannot change`);
    }
    await this.#check(app, `application "${clientId}"`);
    const updated: StoredApplication = { ...app, client_secrets, created_at, updated_at: new Date().toISOString() };
    await this.#save(updated);
    return publicView(updated);
  }

  /** Deletes an application. Its tokens stop working at once (the provider no longer finds the client). */
  async delete(clientId: string): Promise<boolean> {
    if (!(await this.#stored(clientId))) return false;
    if (this.#seeded.has(clientId)) await this.#records.upsert(clientId, { deleted: true } as never);
    else await this.#records.destroy(clientId);
    const index = await this.#index();
    await this.#store.adapter(APPLICATION_INDEX).upsert(INDEX_ID, { ids: index.filter((id) => id !== clientId) } as never);
    return true;
  }

  /** Adds a secret (rotation: create the new one, deploy it, revoke the old one). */
  async createSecret(clientId: string): Promise<CreatedSecret> {
    const record = await this.#confidential(clientId);
    if (record.client_secrets.length >= MAX_SECRETS) throw new ApplicationError(`application "${clientId}" already has ${MAX_SECRETS} secrets: revoke one first`);
    const secret = generateSecret();
    const stored = await hashSecret(secret);
    await this.#save({ ...record, client_secrets: [...record.client_secrets, stored], updated_at: new Date().toISOString() });
    return { id: stored.id, secret_hint: stored.secret_hint, created_at: stored.created_at, secret };
  }

  async listSecrets(clientId: string): Promise<ClientSecretInfo[]> {
    const record = await this.#confidential(clientId);
    return Promise.all(
      record.client_secrets.map(async ({ id, secret_hint, created_at }) => {
        const usage = (await this.#store.adapter(SECRET_USAGE).find(id)) as { last_used_at?: string } | undefined;
        return { id, secret_hint, created_at, ...(usage?.last_used_at ? { last_used_at: usage.last_used_at } : {}) };
      }),
    );
  }

  /** Revokes a secret at once, on every instance. */
  async revokeSecret(clientId: string, secretId: string): Promise<boolean> {
    const record = await this.#confidential(clientId);
    const remaining = record.client_secrets.filter((s) => s.id !== secretId);
    if (remaining.length === record.client_secrets.length) return false;
    await this.#save({ ...record, client_secrets: remaining, updated_at: new Date().toISOString() });
    await this.#store.adapter(SECRET_USAGE).destroy(secretId);
    return true;
  }

  /** Client authentication: true when `presented` is one of the app's active secrets. */
  async verifySecret(clientId: string, presented: string): Promise<boolean> {
    if (typeof presented !== 'string' || presented.length === 0 || presented.length > 512) return false;
    const record = await this.#stored(clientId);
    if (!record) return false;
    const secret = await this.#verifier.verify(clientId, presented, record.client_secrets);
    if (secret) await this.#recordUse(secret.id);
    return secret !== undefined;
  }

  /** What oidc-provider's Client model reads: the metadata of one application. */
  async clientMetadata(clientId: string): Promise<ClientMetadata | undefined> {
    const record = await this.#stored(clientId);
    if (!record) return undefined;
    // The same record object (a seed application, or one read earlier in this request) gives the
    // same metadata object, which lets the provider reuse its Client (see provider.ts).
    let metadata = this.#metadata.get(record);
    if (!metadata) this.#metadata.set(record, (metadata = toClientMetadata(publicView(record))));
    return metadata;
  }

  /**
   * `last_used_at` lives in its own record (a write to the app record could race a revocation
   * and bring a revoked secret back), written at most once a minute per secret per instance.
   */
  async #recordUse(secretId: string): Promise<void> {
    const now = Date.now();
    if (now - (this.#usageWritten.get(secretId) ?? 0) < USAGE_WRITE_INTERVAL_MS) return;
    this.#usageWritten.set(secretId, now);
    await this.#store.adapter(SECRET_USAGE).upsert(secretId, { last_used_at: new Date(now).toISOString() } as never);
  }

  async #confidential(clientId: string): Promise<StoredApplication> {
    const record = await this.#stored(clientId);
    if (!record) throw new ApplicationError(`no application "${clientId}"`);
    if (record.application_type === 'oauth' && record.is_public) throw new ApplicationError(`application "${clientId}" is public: it has no secrets`);
    return record;
  }

  async #index(): Promise<string[]> {
    const record = (await this.#store.adapter(APPLICATION_INDEX).find(INDEX_ID)) as { ids?: string[] } | undefined;
    return record?.ids ?? [];
  }
}

function stripTimestamps<T extends object>(app: T): T {
  const { updated_at: _u, ...rest } = app as T & { updated_at?: string };
  return rest as T;
}
