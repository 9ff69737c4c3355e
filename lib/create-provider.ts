import type { Server } from 'node:http';

import type Koa from 'koa';
import Provider from 'oidc-provider';
import { exportJWK, importJWK, type JWK } from 'jose';

import { createSeedDirectory, type Directory } from './accounts/directory.js';
import { logoutUrl, type LogoutUrlOptions } from './accounts/host-logout.js';
import { LoginThrottle } from './accounts/login-throttle.js';
import { legacyApis, mergeConfiguredApis, parseApi, type ServedApi } from './apis/apis.js';
import { ApiRegistry } from './apis/registry.js';
import type { ApplicationInput } from './apps/applications.js';
import { ApplicationRegistry } from './apps/registry.js';
import { createAudit } from './audit.js';
import { Consents } from './consents/consents.js';
import { GrantOrganizations } from './consents/grant-records.js';
import { buildApp } from './http/app.js';
import { createOidcProvider } from './oidc/create-oidc-provider.js';
import { sharedDevSecrets } from './options/dev-secrets.js';
import { resolveOptions, type OrgconnectOptions, type ResolvedOptions } from './options/options.js';
import { checkProduction } from './options/production.js';
import { parseSeed } from './options/seed.js';
import { createViews } from './pages/views.js';
import type { Runtime } from './runtime.js';
import { openStore } from './store/open.js';
import type { Store } from './store/store.js';

/*
 * The composition root: options -> store -> directory -> registry -> oidc-provider -> Koa app.
 * Read one authorization from here: oidc/configuration.ts (what orgconnect configures),
 * pages/interactions/ (login, organization, consent), oidc/extra-token-claims.ts (org_id).
 */

/** What a running provider was configured with: no key material. */
export interface OrgconnectSettings {
  readonly issuer: string;
  /** The default `aud` of access tokens, and the other resource indicators. */
  readonly audience: string;
  readonly resources: readonly string[];
  readonly scopes: readonly string[];
  readonly ttl: ResolvedOptions['ttl'];
  /** The signing algorithm; `generated`: the keys were generated (development only). */
  readonly signing: { alg: ResolvedOptions['keys']['alg']; generated: boolean };
  readonly cookies: { prefix: string; generated: boolean };
  readonly production: boolean;
  /** Dynamic client registration's policy, and whether client ID metadata documents are resolved. */
  readonly registration: 'off' | 'open' | 'token';
  readonly clientIdMetadataDocument: boolean;
}

/** A running orgconnect provider, ready to be served or mounted. */
export interface OrgconnectProvider {
  /** The Koa app: `koaApp.use(mount('/oauth', orgconnect.app))`. */
  readonly app: Koa;
  /** The underlying oidc-provider instance (events, advanced configuration). */
  readonly provider: Provider;
  /** The issuer identifier. */
  readonly issuer: string;
  /** What the provider runs with, after defaults (no keys: they stay inside). */
  readonly settings: OrgconnectSettings;
  /** Applications (OAuth and M2M) known to the provider. */
  readonly applications: ApplicationRegistry;
  /** APIs (resource servers) the provider issues access tokens for: configured ones and those created at run time. */
  readonly apis: ApiRegistry;
  /** The users and organizations the provider signs in. */
  readonly directory: Directory;
  /** Where state lives (memory or Redis). */
  readonly store: Store;
  /** Users' authorized applications (remembered consents): list and withdraw. */
  readonly consents: Consents;
  /**
   * The URL to send the browser to at the host's own logout: it ends the provider session (the
   * apps that registered a `backchannel_logout_uri` are told) and comes back to `returnTo`.
   * `res.redirect(orgconnect.logoutUrl({ returnTo: '/' }))` (Express) or `ctx.redirect(...)` (Koa).
   */
  logoutUrl(options?: LogoutUrlOptions): string;
  /** A Node request listener: `http.createServer(orgconnect.callback())`, or Express `app.use('/oauth', ...)`. */
  callback(): (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;
  /** Starts an HTTP server on 127.0.0.1 (or `host`); resolves once it listens. */
  listen(port: number, host?: string): Promise<Server>;
  /** Stops servers started by `listen` and releases the store (only a store orgconnect created). */
  close(): Promise<void>;
}

async function publicKeys(jwks: { keys: JWK[] }): Promise<{ keys: JWK[] }> {
  return {
    keys: await Promise.all(
      jwks.keys.map(async (jwk) => {
        const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rest } = jwk;
        const publicJwk = await exportJWK(await importJWK(rest, jwk.alg, { extractable: true }));
        return { ...publicJwk, kid: jwk.kid, alg: jwk.alg, use: jwk.use ?? 'sig' };
      }),
    ),
  };
}

/**
 * Creates an orgconnect provider. Invalid options, seeds or applications reject with an error
 * naming what is wrong (OptionsError, SeedError, ApplicationError).
 */
export async function createProvider(input: OrgconnectOptions): Promise<OrgconnectProvider> {
  const seed = parseSeed({ organizations: [], users: [], applications: [], ...input.seed });
  // Validated before opening any connection.
  const configuredApis = apisOf(input, seed, await resolveOptions(input));
  const { store, owned: ownsStore } = await openStore(input.store);
  let options: ResolvedOptions;
  try {
    const shared = await withSharedDevSecrets(input, store);
    options = await resolveOptions(shared);
    // Shared through the store, but generated all the same: still dev-only keys.
    if (!input.keys?.jwks) options.keys.generated = true;
    if (!input.cookies?.keys) options.cookies.generated = true;
    checkProduction(options, seed, options.production);
  } catch (error) {
    if (ownsStore) await store.close();
    throw error;
  }
  const directory = input.directory ?? (await createSeedDirectory(seed));
  const organizationExists = async (id: string) =>
    (await directory.findOrganization(id)) !== undefined || seed.organizations.some((o) => o.id === id);

  const apis = new ApiRegistry(store, { currentRequest: () => Provider.ctx }, configuredApis);
  const runtime = {
    options,
    store,
    directory,
    apis,
    grantOrganizations: new GrantOrganizations(store),
    currentUser: input.currentUser,
    audit: createAudit(input.audit),
    loginThrottle: input.loginThrottle === false ? undefined : new LoginThrottle(store, input.loginThrottle),
    views: createViews(options.views, new URL(options.issuer).pathname.replace(/\/$/, '')),
  } as Omit<Runtime, 'provider' | 'applications' | 'consents'> as Runtime;
  const provider = createOidcProvider(runtime, await publicKeys(options.keys.jwks as { keys: JWK[] }));
  runtime.provider = provider;
  const applications = await ApplicationRegistry.open(
    store,
    {
      organizationExists,
      issuer: options.issuer,
      audiences: { has: (audience) => apis.has(audience), configured: () => apis.configuredIdentifiers() },
      validateMetadata: (metadata) => provider.Client.validate(metadata),
      currentRequest: () => Provider.ctx,
    },
    seed.applications,
  );
  runtime.applications = applications;
  runtime.consents = new Consents(provider, runtime.grantOrganizations, applications, directory);

  for (const [index, app] of (input.applications ?? []).entries()) await upsertApplication(applications, app, `applications[${index}]`);

  const app = buildApp(runtime, provider);
  const servers = new Set<Server>();
  return {
    app,
    provider,
    issuer: options.issuer,
    settings: {
      issuer: options.issuer,
      audience: options.audience,
      resources: options.resources,
      scopes: options.scopes,
      ttl: options.ttl,
      signing: { alg: options.keys.alg, generated: options.keys.generated },
      cookies: { prefix: options.cookies.prefix, generated: options.cookies.generated },
      production: options.production,
      registration: options.registration.policy,
      clientIdMetadataDocument: options.clientIdMetadataDocument.enabled,
    },
    applications,
    apis,
    directory,
    store,
    consents: runtime.consents,
    logoutUrl: (logoutOptions) => logoutUrl(runtime, logoutOptions),
    callback: () => app.callback(),
    async listen(port, host = '127.0.0.1') {
      const { createServer } = await import('node:http');
      const server = createServer(app.callback());
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      servers.add(server);
      return server;
    },
    async close() {
      await Promise.all(
        [...servers].map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections?.();
              server.close(() => resolve());
            }),
        ),
      );
      servers.clear();
      if (ownsStore) await store.close();
    },
  };
}

/**
 * The configured APIs: the `audience` and `resources` options (each accepting every one of
 * `scopes`, as before APIs existed), the seed's `apis`, then the `apis` option. An identifier
 * defined twice is refused.
 */
function apisOf(input: OrgconnectOptions, seed: { apis: ServedApi[] }, options: ResolvedOptions): ServedApi[] {
  const legacy = legacyApis(options).map((api) => ({ api, where: api.identifier === options.audience ? 'audience' : 'resources' }));
  const seeded = seed.apis.map((api, i) => ({ api, where: `seed apis[${i}]` }));
  const given = (input.apis ?? []).map((api, i) => ({ api: parseApi(api, `apis[${i}]`), where: `apis[${i}]` }));
  return mergeConfiguredApis([...legacy, ...seeded, ...given]);
}

/** On a shared store, instances given no keys use the same generated ones (dev only). */
async function withSharedDevSecrets(input: OrgconnectOptions, store: Store): Promise<OrgconnectOptions> {
  if (store.kind === 'memory' || (input.keys?.jwks && input.cookies?.keys)) return input;
  const shared = await sharedDevSecrets(store, input.keys?.alg ?? 'RS256');
  return {
    ...input,
    keys: { ...input.keys, jwks: input.keys?.jwks ?? shared.jwks },
    cookies: { ...input.cookies, keys: input.cookies?.keys ?? shared.cookieKeys },
  };
}

/** Applications given as an option are (re)written at every start, so a shared store follows the code. */
async function upsertApplication(registry: ApplicationRegistry, app: ApplicationInput, where: string): Promise<void> {
  await registry.put(app, where);
}
