import { hash } from 'node:crypto';

import type { ClientMetadata } from 'oidc-provider';

import {
  parseApplication,
  redirectUriProblems,
  toClientMetadata,
  type Application,
  type ApplicationInput,
  type ParsedApplication,
  type ResourceServer,
} from './applications.js';
import { generateSecret, hashConfiguredSecret, hashSecret, SecretVerifier, type ClientSecretInfo, type StoredSecret } from './client-secrets.js';
import { ApplicationConflictError, ApplicationError } from '../errors.js';
import type { Store } from '../store/store.js';

/** An application record: the application and its timestamps (secrets are records of their own). */
type StoredApplication = Application & { created_at: string; updated_at: string };
/** What a deletion leaves: no later write can bring the application back. */
type Tombstone = { deleted: true };

/** What `create` returns: the application and, once only, the plaintext of its first secret. */
export type CreatedApplication = Application & { client_secret?: string };

/** An application and the version of its record, for a conditional update (`If-Match`). */
export interface VersionedApplication {
  application: Application;
  /** 0 for a seed application never changed at run time. */
  version: number;
}

/** The fields `update` may change. The kind, client_id and confidentiality are fixed. */
export type ApplicationUpdate = Partial<
  Pick<Application, 'name' | 'description' | 'organization_id' | 'scopes'> & {
    is_first_party: boolean;
    redirect_uris: string[];
    post_logout_redirect_uris: string[];
    logo_uri: string;
    logo_uri_dark: string;
    backchannel_logout_uri: string;
    resource_server: ResourceServer;
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
   * The audiences the provider issues access tokens for (the identifiers of its APIs, configured or
   * created at run time): the only ones a resource-server application may name. `configured` lists
   * the configured ones, for messages. Left out (a registry without a provider, such as the CLI's
   * direct store access), they are not checked.
   */
  audiences?: { has(audience: string): Promise<boolean>; configured(): readonly string[] };
  /**
   * The request being served (oidc-provider's `Provider.ctx`), if any: within one request an
   * application is read from the store once, however many times oidc-provider looks it up.
   */
  currentRequest?(): object | undefined;
}

/*
 * Records (see docs/store.md for what each store operation guarantees):
 *   Application:<client_id>         versioned record: the application, or a tombstone
 *   ApplicationSecrets:<client_id>  group: secret id -> stored secret (JSON); '' marks a revoked seed secret
 *   ApplicationIndex:index          group: client ids created at run time
 *   ClientSecretUsage:<secret id>   plain record: last_used_at
 * Every write is one atomic store operation: concurrent writers on any number of instances
 * never undo each other.
 */
const APPLICATIONS = 'Application';
const SECRETS = 'ApplicationSecrets';
/** The run-time client ids, in a model of its own so no client_id can collide with it. */
const APPLICATION_INDEX = 'ApplicationIndex';
const INDEX_ID = 'index';
const SECRET_USAGE = 'ClientSecretUsage';
const REVOKED_MARKER = '';
const MAX_SECRETS = 5;
/** Attempts of an update that found its record changed under it before it gives up (409). */
const WRITE_ATTEMPTS = 8;
const USAGE_WRITE_INTERVAL_MS = 60_000;

const publicView = ({ created_at: _c, updated_at: _u, ...app }: StoredApplication): Application => app;
const isTombstone = (record: unknown): record is Tombstone => (record as Tombstone | undefined)?.deleted === true;
/** A registered client not used before its `unused_until`: gone, as if deleted. */
const expiredUnused = (record: unknown): boolean => {
  const until = (record as { registration?: { unused_until?: string } } | undefined)?.registration?.unused_until;
  return until !== undefined && Date.parse(until) < Date.now();
};

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
  /** A seed application's secret: hashed in memory only (the seed holds it in plain anyway). */
  readonly #seedSecrets = new Map<string, StoredSecret>();
  readonly #verifier = new SecretVerifier();
  readonly #usageWritten = new Map<string, number>();
  readonly #perRequest = new WeakMap<object, Map<string, Promise<StoredApplication | undefined>>>();
  readonly #metadata = new WeakMap<StoredApplication, ClientMetadata>();

  private constructor(store: Store, hooks: RegistryHooks) {
    this.#store = store;
    this.#hooks = hooks;
  }

  /** Builds a registry; seed applications are validated here. */
  static async open(store: Store, hooks: RegistryHooks, seeded: ParsedApplication[] = []): Promise<ApplicationRegistry> {
    const registry = new ApplicationRegistry(store, hooks);
    const now = new Date().toISOString();
    // Checked concurrently: a seed of a thousand applications starts in a moment.
    await Promise.all(seeded.map((app) => registry.#check(app, 'seed application')));
    for (const { client_secret, ...app } of seeded) {
      registry.#seeded.set(app.client_id, { ...app, created_at: now, updated_at: now });
      if (client_secret) registry.#seedSecrets.set(app.client_id, hashConfiguredSecret(client_secret, seedSecretId(app.client_id, client_secret), now));
    }
    return registry;
  }

  async #check(app: Application, where: string): Promise<void> {
    const label = `${where} ("${app.name}")`;
    if (app.organization_id && !(await this.#hooks.organizationExists(app.organization_id))) {
      throw new ApplicationError(`${label}: unknown organization_id "${app.organization_id}"`);
    }
    const problems = redirectUriProblems(app, this.#hooks.issuer);
    if (problems.length) throw new ApplicationError(`${label}: ${problems.join('; ')}`);
    const { audiences } = this.#hooks;
    const named = app.resource_server?.audiences ?? [];
    const known = audiences ? await Promise.all(named.map((audience) => audiences.has(audience))) : [];
    const unknownAudiences = audiences ? named.filter((_a, i) => !known[i]) : [];
    if (unknownAudiences.length) {
      throw new ApplicationError(
        `${label}: resource_server.audiences: ${unknownAudiences.map((a) => `"${a}"`).join(', ')} is not an audience of this provider ` +
          `(not one of its APIs; configured: ${audiences!.configured().join(', ')})`,
      );
    }
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
    const record = (await this.#store.adapter(APPLICATIONS).find(clientId)) as StoredApplication | Tombstone | undefined;
    if (isTombstone(record) || expiredUnused(record)) return undefined;
    return record ?? this.#seeded.get(clientId);
  }

  /** The application record with its version; a seed application not changed yet is version 0. */
  async #readVersioned(clientId: string): Promise<{ record: StoredApplication | undefined; version: number }> {
    const stored = await this.#store.readVersioned(APPLICATIONS, clientId);
    if (!stored) return { record: this.#seeded.get(clientId), version: 0 };
    const record = stored.value as unknown as StoredApplication | Tombstone;
    return { record: isTombstone(record) || expiredUnused(record) ? undefined : record, version: stored.version };
  }

  #forgetInRequest(clientId: string): void {
    const request = this.#hooks.currentRequest?.();
    if (request) this.#perRequest.get(request)?.delete(clientId);
  }

  /**
   * Validates and saves an application; ids and secrets left out are generated. The record is
   * created only where none exists (nor a deleted one's tombstone): a client_id is never reused.
   */
  async create(input: ApplicationInput, where = 'application'): Promise<CreatedApplication> {
    const parsed = parseApplication(input, where);
    const { client_secret, ...app } = parsed;
    const taken = () => new ApplicationError(`${where} ("${parsed.name}"): client_id "${parsed.client_id}" is already taken`);
    if (this.#seeded.has(app.client_id)) throw taken();
    await this.#check(app, where);
    const now = new Date().toISOString();
    const record: StoredApplication = { ...app, created_at: now, updated_at: now };
    if ((await this.#store.writeVersioned(APPLICATIONS, app.client_id, record as never, 0)) === undefined) throw taken();
    // The record first: a secret is never added to an application someone else created.
    await Promise.all([
      client_secret ? this.#addSecret(app.client_id, await hashSecret(client_secret)) : undefined,
      this.#store.groupPut(APPLICATION_INDEX, INDEX_ID, app.client_id, '1'),
    ]);
    this.#forgetInRequest(app.client_id);
    return { ...publicView(record), ...(client_secret ? { client_secret } : {}) };
  }

  /**
   * Creates or replaces an application given as configuration (`createProvider({ applications })`,
   * written at every start so a shared store follows the code), its configured secret included.
   * Unlike `create`, this may replace a deleted application: the configuration says it exists.
   */
  async put(input: ApplicationInput, where = 'application'): Promise<CreatedApplication> {
    if (!input.client_id) return this.create(input, where);
    const parsed = parseApplication(input, where);
    const { client_secret, ...app } = parsed;
    await this.#check(app, where);
    await this.#write(app.client_id, async (current) => {
      const now = new Date().toISOString();
      return { ...app, created_at: current?.created_at ?? now, updated_at: now };
    }, { includeDeleted: true });
    // The configured secret replaces every other; its id follows from it, so instances starting
    // together write the same member.
    const configuredId = client_secret ? seedSecretId(app.client_id, client_secret) : undefined;
    const others = Object.keys(await this.#store.groupRead(SECRETS, app.client_id)).filter((id) => id !== configuredId);
    await Promise.all([
      client_secret ? this.#store.groupPut(SECRETS, app.client_id, configuredId!, JSON.stringify({ ...(await hashSecret(client_secret)), id: configuredId })) : undefined,
      this.#store.groupRemove(SECRETS, app.client_id, others),
      this.#store.groupPut(APPLICATION_INDEX, INDEX_ID, app.client_id, '1'),
    ]);
    this.#forgetInRequest(app.client_id);
    return { ...app, ...(client_secret ? { client_secret } : {}) };
  }

  /**
   * Stores a client that registered itself (RFC 7591; oidc-provider validated its metadata): a
   * third-party application, public unless it authenticates with a secret, owned by the
   * organization its initial access token was minted for (if any). Unless used, it disappears
   * after `unusedTtl` seconds.
   */
  async register(metadata: ClientMetadata, options: { organizationId?: string; unusedTtl: number }): Promise<Application> {
    const redirectUris = (metadata.redirect_uris ?? []) as string[];
    const now = Date.now();
    const created = await this.create(
      {
        application_type: 'oauth',
        client_id: metadata.client_id,
        ...(typeof metadata.client_secret === 'string' ? { client_secret: metadata.client_secret } : {}),
        name: typeof metadata.client_name === 'string' && metadata.client_name.trim() ? metadata.client_name.trim().slice(0, 200) : metadata.client_id,
        is_first_party: false,
        is_public: metadata.token_endpoint_auth_method === 'none',
        ...(options.organizationId ? { organization_id: options.organizationId } : {}),
        redirect_uris: redirectUris,
        ...(Array.isArray(metadata.post_logout_redirect_uris) ? { post_logout_redirect_uris: metadata.post_logout_redirect_uris as string[] } : {}),
        ...(typeof metadata.logo_uri === 'string' ? { logo_uri: metadata.logo_uri } : {}),
        // No scope allow-list from the registration: one a client picks for itself protects nothing (it
        // could register again with any scope) and would block a later step-up; the consent page decides.
        registration: { method: 'dynamic', registered_at: new Date(now).toISOString(), unused_until: new Date(now + options.unusedTtl * 1000).toISOString() },
      },
      'registered client',
    );
    const { client_secret: _secret, ...app } = created;
    return app;
  }

  /** A registered client got its first tokens: it no longer disappears unused. */
  async markUsed(clientId: string): Promise<void> {
    const current = await this.#readVersioned(clientId);
    if (!current.record || current.record.application_type !== 'oauth' || !current.record.registration?.unused_until) return;
    await this.#write(clientId, async (record) => {
      const app = record as StoredApplication & { registration?: { method: 'dynamic'; registered_at: string; unused_until?: string } };
      const { unused_until: _until, ...registration } = app.registration!;
      return { ...app, registration } as StoredApplication;
    });
  }

  async get(clientId: string): Promise<Application | undefined> {
    const record = await this.#stored(clientId);
    return record && publicView(record);
  }

  /** An application with the version of its record (for `If-Match`). */
  async getVersioned(clientId: string): Promise<VersionedApplication | undefined> {
    const { record, version } = await this.#readVersioned(clientId);
    return record && { application: publicView(record), version };
  }

  /** All applications, ordered by client_id. */
  async list(): Promise<Application[]> {
    const index = await this.#store.groupRead(APPLICATION_INDEX, INDEX_ID);
    const ids = [...new Set([...this.#seeded.keys(), ...Object.keys(index)])].sort();
    const apps = await Promise.all(ids.map((id) => this.get(id)));
    return apps.filter((app): app is Application => app !== undefined);
  }

  /**
   * Changes an application; takes effect at once on every instance sharing the store. The change
   * is applied to the record as it is when written (compare-and-set, retried): a concurrent
   * change to other fields, or a secret created meanwhile, is kept. With `ifVersion`, the update
   * applies only to that version (ApplicationConflictError with `precondition` otherwise).
   */
  async update(clientId: string, changes: ApplicationUpdate, ifVersion?: number): Promise<VersionedApplication> {
    const where = `application "${clientId}"`;
    return this.#write(clientId, async (current) => {
      const { created_at, updated_at: _u, ...fields } = current!;
      const parsed = parseApplication({ ...fields, ...changes, client_id: clientId }, where);
      const { client_secret: _generated, ...app } = parsed;
      if (app.application_type !== current!.application_type || (app as { is_public?: boolean }).is_public !== (current as { is_public?: boolean }).is_public) {
        throw new ApplicationError(`${where}: application_type and is_public cannot change`);
      }
      await this.#check(app, where);
      return { ...app, created_at, updated_at: new Date().toISOString() };
    }, { ifVersion });
  }

  /**
   * Reads the record, computes its next state and writes it if nobody wrote in between; else
   * reads again. `change` receives undefined only with `includeDeleted` (a missing or deleted app).
   */
  async #write(
    clientId: string,
    change: (current: StoredApplication | undefined) => Promise<StoredApplication>,
    options: { ifVersion?: number; includeDeleted?: boolean } = {},
  ): Promise<VersionedApplication> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt += 1) {
      const { record, version } = await this.#readVersioned(clientId);
      if (!record && !options.includeDeleted) throw new ApplicationError(`no application "${clientId}"`);
      if (options.ifVersion !== undefined && options.ifVersion !== version) {
        throw new ApplicationConflictError(`application "${clientId}" is at version ${version}, not ${options.ifVersion}`, true);
      }
      const next = await change(record);
      const written = await this.#store.writeVersioned(APPLICATIONS, clientId, next as never, version);
      if (written !== undefined) {
        this.#forgetInRequest(clientId);
        return { application: publicView(next), version: written };
      }
      if (options.ifVersion !== undefined) throw new ApplicationConflictError(`application "${clientId}" was changed meanwhile`, true);
    }
    throw new ApplicationConflictError(`application "${clientId}" is being changed by others: try again`);
  }

  /**
   * Deletes an application: a tombstone replaces its record, so no later write (an update, a
   * secret, a create with its client_id) brings it back. Its tokens stop working at once (the
   * provider no longer finds the client).
   */
  async delete(clientId: string): Promise<boolean> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt += 1) {
      const { record, version } = await this.#readVersioned(clientId);
      if (!record) return false;
      if ((await this.#store.writeVersioned(APPLICATIONS, clientId, { deleted: true } as never, version)) === undefined) continue;
      this.#forgetInRequest(clientId);
      await Promise.all([this.#store.groupRemove(APPLICATION_INDEX, INDEX_ID, [clientId]), this.#store.adapter(SECRETS).destroy(clientId)]);
      return true;
    }
    throw new ApplicationConflictError(`application "${clientId}" is being changed by others: try again`);
  }

  /** Adds a secret (rotation: create the new one, deploy it, revoke the old one). */
  async createSecret(clientId: string): Promise<CreatedSecret> {
    await this.#confidential(clientId);
    const secret = generateSecret();
    const stored = await hashSecret(secret);
    await this.#addSecret(clientId, stored);
    return { id: stored.id, secret_hint: stored.secret_hint, created_at: stored.created_at, secret };
  }

  /** One group member per secret; the limit is checked by the store in the same step. */
  async #addSecret(clientId: string, stored: StoredSecret): Promise<void> {
    const seed = this.#seedSecrets.get(clientId);
    const members = seed ? await this.#store.groupRead(SECRETS, clientId) : {};
    const limit = seed && members[seed.id] !== REVOKED_MARKER ? MAX_SECRETS - 1 : MAX_SECRETS;
    if (!(await this.#store.groupPut(SECRETS, clientId, stored.id, JSON.stringify(stored), { limit }))) {
      throw new ApplicationError(`application "${clientId}" already has ${MAX_SECRETS} secrets: revoke one first`);
    }
  }

  /** The application's active secrets: its seed secret unless revoked, and those created at run time. */
  async #secrets(clientId: string): Promise<StoredSecret[]> {
    const members = await this.#store.groupRead(SECRETS, clientId);
    const seed = this.#seedSecrets.get(clientId);
    const created = Object.values(members)
      .filter((value) => value !== REVOKED_MARKER)
      .map((value) => JSON.parse(value) as StoredSecret)
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
    return seed && members[seed.id] !== REVOKED_MARKER ? [seed, ...created] : created;
  }

  async listSecrets(clientId: string): Promise<ClientSecretInfo[]> {
    await this.#confidential(clientId);
    const secrets = await this.#secrets(clientId);
    return Promise.all(
      secrets.map(async ({ id, secret_hint, created_at }) => {
        const usage = (await this.#store.adapter(SECRET_USAGE).find(id)) as { last_used_at?: string } | undefined;
        return { id, secret_hint, created_at, ...(usage?.last_used_at ? { last_used_at: usage.last_used_at } : {}) };
      }),
    );
  }

  /** Revokes a secret at once, on every instance. */
  async revokeSecret(clientId: string, secretId: string): Promise<boolean> {
    await this.#confidential(clientId);
    const seed = this.#seedSecrets.get(clientId);
    let revoked: boolean;
    if (seed?.id === secretId) {
      // A seed secret is configuration: a marker in the store hides it on every instance.
      const members = await this.#store.groupRead(SECRETS, clientId);
      revoked = members[secretId] !== REVOKED_MARKER;
      if (revoked) await this.#store.groupPut(SECRETS, clientId, secretId, REVOKED_MARKER);
    } else {
      revoked = (await this.#store.groupRemove(SECRETS, clientId, [secretId])) > 0;
    }
    if (revoked) await this.#store.adapter(SECRET_USAGE).destroy(secretId);
    return revoked;
  }

  /** Client authentication: true when `presented` is one of the app's active secrets. */
  async verifySecret(clientId: string, presented: string): Promise<boolean> {
    if (typeof presented !== 'string' || presented.length === 0 || presented.length > 512) return false;
    const [record, secrets] = await Promise.all([this.#stored(clientId), this.#secrets(clientId)]);
    if (!record) return false;
    const secret = await this.#verifier.verify(clientId, presented, secrets);
    if (secret) await this.#recordUse(secret.id);
    return secret !== undefined;
  }

  /** What oidc-provider's Client model reads: the metadata of one application. */
  async clientMetadata(clientId: string): Promise<ClientMetadata | undefined> {
    const record = await this.#stored(clientId);
    if (!record) return undefined;
    // The same record object (a seed application, or one read earlier in this request) gives the
    // same metadata object, which lets the provider reuse its Client (see oidc/patches/reuse-clients.ts).
    let metadata = this.#metadata.get(record);
    if (!metadata) this.#metadata.set(record, (metadata = toClientMetadata(publicView(record))));
    return metadata;
  }

  /**
   * `last_used_at` lives in its own record (a blind write: nothing else writes it), written at
   * most once a minute per secret per instance.
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
}

/**
 * A configured secret's id follows from the application and the secret: instances agree on it,
 * and a new secret in the configuration is a new id (revoking the old one does not hide it).
 */
function seedSecretId(clientId: string, secret: string): string {
  return `secret_cfg_${hash('sha256', `${clientId}\0${secret}`, 'base64url').slice(0, 16)}`;
}
