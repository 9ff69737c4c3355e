import { randomBytes } from 'node:crypto';

import type { ClientMetadata } from 'oidc-provider';
import { z } from 'zod';

import { ApplicationError } from './errors.js';
import type { Store } from '../adapters/store.js';

const url = z.string().url();

const oauthApplicationSchema = z
  .object({
    application_type: z.literal('oauth'),
    client_id: z.string().min(1).optional(),
    client_secret: z.string().min(16).optional(),
    name: z.string().min(1),
    description: z.string().optional(),
    is_first_party: z.boolean(),
    is_public: z.boolean().default(false),
    organization_id: z.string().min(1).optional(),
    redirect_uris: z.array(z.string().min(1)).min(1, 'an OAuth application needs at least one redirect_uri'),
    post_logout_redirect_uris: z.array(url).optional(),
    logo_uri: url.optional(),
    logo_uri_dark: url.optional(),
    scopes: z.array(z.string().min(1)).optional(),
  })
  .strict()
  .superRefine((app, ctx) => {
    if (!app.is_first_party && !app.organization_id) {
      ctx.addIssue({ code: 'custom', message: 'a third-party application needs organization_id' });
    }
    if (app.is_public && app.client_secret !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'a public application must not have a client_secret' });
    }
  });

const m2mApplicationSchema = z
  .object({
    application_type: z.literal('m2m'),
    client_id: z.string().min(1).optional(),
    client_secret: z.string().min(16).optional(),
    name: z.string().min(1),
    description: z.string().optional(),
    organization_id: z.string().min(1, 'an M2M application needs organization_id'),
    scopes: z.array(z.string().min(1)).optional(),
    redirect_uris: z.never({ message: 'an M2M application has no redirect_uris' }).optional(),
  })
  .strict();

export const applicationSchema = z.discriminatedUnion('application_type', [oauthApplicationSchema, m2mApplicationSchema]);

/** An application as given in a seed file or to the registry (ids and secrets may be omitted: generated). */
export type ApplicationInput = z.input<typeof applicationSchema>;
/** An OAuth application: signs users in with authorization_code (+ refresh_token). */
export type OAuthApplication = z.output<typeof oauthApplicationSchema> & { client_id: string };
/** A machine-to-machine application: gets tokens with client_credentials for its organization. */
export type M2MApplication = Omit<z.output<typeof m2mApplicationSchema>, 'redirect_uris'> & {
  client_id: string;
  client_secret: string;
};
export type Application = OAuthApplication | M2MApplication;

/** A short, human name for an application in error messages: `applications[2] ("Partner CRM")`. */
function describe(input: unknown, where: string): string {
  const name = (input as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? `${where} ("${name}")` : where;
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message)).join('; ');
}

/** Validates an application definition and fills in generated ids and secrets. */
export function parseApplication(input: unknown, where = 'application'): Application {
  const result = applicationSchema.safeParse(input);
  if (!result.success) {
    throw new ApplicationError(`${describe(input, where)}: ${formatIssues(result.error)}`);
  }
  const app = result.data;
  const client_id = app.client_id ?? `client_${randomBytes(12).toString('hex')}`;
  if (app.application_type === 'm2m') {
    const { redirect_uris: _none, ...rest } = app;
    return { ...rest, client_id, client_secret: app.client_secret ?? randomBytes(32).toString('base64url') };
  }
  const client_secret = app.is_public ? undefined : (app.client_secret ?? randomBytes(32).toString('base64url'));
  return { ...app, client_id, client_secret };
}

/** A loopback or private-use-scheme redirect marks a native app (RFC 8252): a CLI, desktop or mobile app. */
function isNativeRedirect(uri: string): boolean {
  try {
    const { protocol, hostname } = new URL(uri);
    if (protocol === 'http:') return hostname === '127.0.0.1' || hostname === '[::1]' || hostname === 'localhost';
    return protocol !== 'https:';
  } catch {
    return false;
  }
}

/**
 * The single place where an application's kind decides its oidc-provider client metadata.
 * Confidential apps authenticate with client_secret_basic or client_secret_post (oidc-provider
 * accepts either for a client registered with one of them); public apps with `none` + PKCE.
 */
export function toClientMetadata(app: Application): ClientMetadata {
  const common = {
    client_id: app.client_id,
    client_name: app.name,
    organization_id: app.organization_id,
    scope: app.scopes?.join(' '),
  };
  if (app.application_type === 'm2m') {
    return {
      ...common,
      is_first_party: true,
      client_secret: app.client_secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    };
  }
  return {
    ...common,
    is_first_party: app.is_first_party,
    logo_uri: app.logo_uri,
    logo_uri_dark: app.logo_uri_dark,
    client_secret: app.client_secret,
    application_type: app.is_public && app.redirect_uris.every(isNativeRedirect) ? 'native' : 'web',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: app.redirect_uris,
    post_logout_redirect_uris: app.post_logout_redirect_uris,
    token_endpoint_auth_method: app.is_public ? 'none' : 'client_secret_basic',
  };
}

/** Client metadata fields orgconnect adds to oidc-provider's (`extraClientMetadata`). */
export const EXTRA_CLIENT_METADATA = ['is_first_party', 'organization_id', 'logo_uri_dark'];

const APPLICATION_MODEL = 'Application';
const INDEX_ID = 'index';

/**
 * The applications oidc-provider knows as clients. Applications created at run time live in the
 * store, so every instance sharing it sees them as soon as they are created, changed or deleted.
 * Seed applications are configuration: every instance has them in memory, so they survive a store
 * that restarts empty; a record in the store with the same client_id takes precedence.
 */
export class ApplicationRegistry {
  readonly #store: Store;
  readonly #organizationExists: (id: string) => Promise<boolean>;
  readonly #seeded = new Map<string, Application>();

  constructor(store: Store, organizationExists: (id: string) => Promise<boolean>, seeded: Application[] = []) {
    this.#store = store;
    this.#organizationExists = organizationExists;
    for (const app of seeded) this.#seeded.set(app.client_id, app);
  }

  get #records() {
    return this.#store.adapter(APPLICATION_MODEL);
  }

  /** Validates and saves an application; ids and secrets left out are generated. */
  async create(input: ApplicationInput, where = 'application'): Promise<Application> {
    const app = parseApplication(input, where);
    if (app.organization_id && !(await this.#organizationExists(app.organization_id))) {
      throw new ApplicationError(`${describe(app, where)}: unknown organization_id "${app.organization_id}"`);
    }
    if (await this.get(app.client_id)) {
      throw new ApplicationError(`${describe(app, where)}: client_id "${app.client_id}" is already taken`);
    }
    await this.#records.upsert(app.client_id, app as never);
    const index = await this.#index();
    await this.#records.upsert(INDEX_ID, { ids: [...new Set([...index, app.client_id])] } as never);
    return app;
  }

  async get(clientId: string): Promise<Application | undefined> {
    if (clientId === INDEX_ID) return undefined;
    return ((await this.#records.find(clientId)) as Application | undefined) ?? this.#seeded.get(clientId);
  }

  async list(): Promise<Application[]> {
    const ids = new Set([...this.#seeded.keys(), ...(await this.#index())]);
    const apps = await Promise.all([...ids].map((id) => this.get(id)));
    return apps.filter((app): app is Application => app !== undefined);
  }

  async delete(clientId: string): Promise<boolean> {
    const existing = await this.get(clientId);
    if (!existing) return false;
    await this.#records.destroy(clientId);
    const index = await this.#index();
    await this.#records.upsert(INDEX_ID, { ids: index.filter((id) => id !== clientId) } as never);
    return true;
  }

  /** What oidc-provider's Client model reads: the metadata of one application. */
  async clientMetadata(clientId: string): Promise<ClientMetadata | undefined> {
    const app = await this.get(clientId);
    return app && toClientMetadata(app);
  }

  async #index(): Promise<string[]> {
    const record = (await this.#records.find(INDEX_ID)) as { ids?: string[] } | undefined;
    return record?.ids ?? [];
  }
}
