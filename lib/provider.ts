import Koa from 'koa';
import mount from 'koa-mount';
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

import { extraTokenClaims, installJwtAccessTokens, installRefreshTokenClientCheck } from './access-tokens.js';
import { ADMIN_PATH, adminApi } from './admin/index.js';
import { auditProviderEvents } from './audit.js';
import { EXTRA_CLIENT_METADATA } from './applications.js';
import { assets } from './assets.js';
import { CONNECTED_APPS_PATH, connectedAppsRouter } from './connected-apps.js';
import { deviceFlowPages } from './device-flow.js';
import { devicePolling } from './device-polling.js';
import { dispatchByPath, type PathRoute } from './dispatch.js';
import { authorizationServerMetadata, health, responseDefaults, rfcGrantTypeError, tokenEndpointsForJwts, userinfoForJwts } from './edge.js';
import { issueRefreshToken, loadExistingGrant, restoreOfflineAccess } from './grants.js';
import { HOST_LOGOUT_PATH, hostLogout } from './host-logout.js';
import { hostSessionLogin } from './host-session.js';
import { interactionRouter } from './interactions/router.js';
import { enterOwnContext, leaveOwnContext } from './own-context.js';
import { introspectionAllowed, revocationAllowed } from './policies.js';
import { interactionPolicyFor } from './policy.js';
import { renderError } from './render-error.js';
import { logoutPages } from './views.js';
import { INTERACTION_PATH, ROUTES } from './routes.js';
import type { Runtime } from './runtime.js';

const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'];
const ASYMMETRIC_ALGS = ['RS256', 'PS256', 'ES256', 'Ed25519', 'EdDSA'] as const;

/** Accounts come from the directory; claims are released by scope (profile, email). */
function findAccount(runtime: Runtime): Configuration['findAccount'] {
  return async (_ctx, sub) => {
    const user = await runtime.directory.findUser(sub);
    if (!user) return undefined;
    return { accountId: user.id, claims: () => Object.assign({}, user, { id: undefined, sub: user.id }) };
  };
}

/** Every access token is a JWT for a known audience: the default one unless the client names another. */
function resourceIndicators(runtime: Runtime): NonNullable<Configuration['features']>['resourceIndicators'] {
  const { audience, resources, scopes, ttl, keys } = runtime.options;
  const known = new Set([audience, ...resources]);
  return {
    enabled: true,
    defaultResource: (_ctx, _client, oneOf) => oneOf ?? audience,
    useGrantedResource: () => true,
    getResourceServerInfo: (_ctx, resource) => {
      if (!known.has(resource)) throw new errors.InvalidTarget('unknown resource indicator');
      return {
        scope: [...OIDC_SCOPES, ...scopes].join(' '),
        audience: resource,
        accessTokenTTL: ttl.accessToken,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: keys.alg } },
      };
    },
  };
}

/** The oidc-provider configuration: the table of contents of what orgconnect adds. */
export function providerConfiguration(runtime: Runtime): Configuration {
  const { options, store } = runtime;
  const issuerPath = new URL(options.issuer).pathname.replace(/\/$/, '');
  return {
    adapter: (model: string) =>
      model === 'Client'
        ? ({ find: (id: string) => runtime.applications.clientMetadata(id) } as never)
        : store.adapter(model),
    findAccount: findAccount(runtime),
    jwks: options.keys.jwks as Configuration['jwks'],
    // Named with a prefix and kept under the issuer's path: two products mounted in one host, or a
    // host cookie called `_session`, never collide with them. (The interaction cookies already
    // live under the interaction and resume paths.)
    cookies: {
      keys: options.cookies.keys,
      names: { session: `${options.cookies.prefix}session`, interaction: `${options.cookies.prefix}interaction`, resume: `${options.cookies.prefix}resume` },
      long: { httpOnly: true, sameSite: 'lax', path: issuerPath || '/' },
    },
    routes: ROUTES,
    scopes: [...OIDC_SCOPES, ...options.scopes],
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'picture'],
      email: ['email', 'email_verified'],
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: options.keys.alg,
    },
    // Client secrets are stored hashed, so no HMAC algorithm may use one as a key: none is enabled
    // (oidc-provider enables HS256 for client assertions and request objects by default).
    enabledJWA: {
      idTokenSigningAlgValues: [options.keys.alg],
      clientAuthSigningAlgValues: [...ASYMMETRIC_ALGS],
      requestObjectSigningAlgValues: [...ASYMMETRIC_ALGS],
    },
    responseTypes: ['code'],
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    extraClientMetadata: {
      properties: EXTRA_CLIENT_METADATA,
      validator(_ctx, key, value) {
        if (key === 'is_first_party' && value !== undefined && typeof value !== 'boolean') throw new errors.InvalidClientMetadata('is_first_party must be a boolean');
      },
    },
    // An `organization_id` hint names the organization to sign in for. oidc-provider runs every
    // extraParams validator on each authorization request, after scope processing: the one place
    // to restore offline_access (see grants.ts).
    extraParams: {
      organization_id(ctx: KoaContextWithOIDC) {
        restoreOfflineAccess(ctx);
      },
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: introspectionAllowed as never },
      revocation: { enabled: true, allowedPolicy: revocationAllowed as never },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true, ...logoutPages(runtime) },
      // Apps with a backchannel_logout_uri are told when a session ends (logout, host logout, another account).
      backchannelLogout: { enabled: true },
      // RFC 8628, for apps that cannot receive a redirect (CLIs on a server, TVs): public apps only.
      deviceFlow: { enabled: true, charset: 'base-20', mask: '****-****', ...deviceFlowPages(runtime) } as never,
      resourceIndicators: resourceIndicators(runtime),
    },
    loadExistingGrant: loadExistingGrant(runtime),
    issueRefreshToken: issueRefreshToken as never,
    extraTokenClaims: extraTokenClaims(runtime) as Configuration['extraTokenClaims'],
    interactions: {
      policy: interactionPolicyFor(runtime),
      url: (_ctx, interaction) => `${issuerPath}${INTERACTION_PATH}/${interaction.uid}`,
    },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: options.ttl.accessToken,
      ClientCredentials: options.ttl.accessToken,
      AuthorizationCode: options.ttl.authorizationCode,
      IdToken: options.ttl.idToken,
      RefreshToken: options.ttl.refreshToken,
      Session: options.ttl.session,
      Grant: options.ttl.grant,
      Interaction: options.ttl.interaction,
      DeviceCode: options.ttl.deviceCode,
    },
    renderError: renderError(runtime),
    fetch: outgoingFetch(runtime),
  };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * oidc-provider's `fetch` hook (back-channel logout tokens, ...): its default refuses private and
 * loopback addresses (SSRF protection), and so does this one, except in development, where an
 * issuer on a loopback address may reach apps on loopback addresses (a relying party under test).
 */
function outgoingFetch(runtime: Runtime): Configuration['fetch'] {
  const issuerHost = new URL(runtime.options.issuer).hostname;
  const development = !runtime.options.production && LOOPBACK_HOSTS.has(issuerHost);
  return (url, options) => {
    const target = new URL(url instanceof Request ? url.url : url);
    if (development && LOOPBACK_HOSTS.has(target.hostname)) return globalThis.fetch(url, { ...options, dispatcher: undefined } as RequestInit);
    return globalThis.fetch(url, options as RequestInit);
  };
}

/**
 * The Koa app: orgconnect's edge middleware and interaction pages in front of oidc-provider.
 * The app's keys are the cookie keys: oidc-provider signs its cookies with the keys of the app
 * it runs in, and interaction handlers read them with its own.
 */
export function buildApp(runtime: Runtime, provider: Provider): Koa {
  const app = new Koa();
  app.keys = runtime.options.cookies.keys;
  app.proxy = runtime.options.proxy;
  app.maxIpsCount = runtime.options.proxyHops;
  app.silent = true;
  app.use(enterOwnContext(app));
  app.use(responseDefaults({ hsts: runtime.options.production }));

  const { admin } = runtime.options;
  const interactions = interactionRouter(runtime);
  const routes: PathRoute[] = [
    { paths: ['/health'], middleware: [health(runtime.store)] },
    { paths: ['/assets/'], middleware: [assets(runtime.options.views.dir)] },
    {
      paths: [ROUTES.token, ROUTES.device_authorization],
      middleware: [rfcGrantTypeError, devicePolling(runtime.store, { interval: runtime.options.deviceFlow.interval, deviceCodeTtl: runtime.options.ttl.deviceCode })],
    },
    { paths: [ROUTES.introspection, ROUTES.revocation], middleware: [tokenEndpointsForJwts] },
    { paths: [ROUTES.userinfo], middleware: [userinfoForJwts] },
    { paths: ['/.well-known/oauth-authorization-server'], middleware: [authorizationServerMetadata] },
    {
      paths: [INTERACTION_PATH, `${INTERACTION_PATH}/`],
      middleware: [hostSessionLogin(runtime, runtime.currentUser), interactions.routes(), interactions.allowedMethods()],
    },
    { paths: [CONNECTED_APPS_PATH, `${CONNECTED_APPS_PATH}/`], middleware: [connectedAppsRouter(runtime).routes()] },
    { paths: [HOST_LOGOUT_PATH], middleware: [hostLogout(runtime)] },
  ];
  if (admin) {
    const { applications, consents, directory, options } = runtime;
    routes.unshift({ paths: [ADMIN_PATH, `${ADMIN_PATH}/`], middleware: [adminApi({ ...admin, issuer: options.issuer, applications, consents, directory })] });
  }
  // A request oidc-provider does not answer either goes on to the host's middleware, if any.
  app.use(dispatchByPath(routes, [mount(provider), leaveOwnContext]));
  return app;
}

export function createOidcProvider(runtime: Runtime, publicJwks: { keys: object[] }): Provider {
  const provider = new Provider(runtime.options.issuer, providerConfiguration(runtime));
  provider.proxy = runtime.options.proxy;
  provider.maxIpsCount = runtime.options.proxyHops;
  installJwtAccessTokens(runtime, provider, publicJwks as never);
  installRefreshTokenClientCheck(provider);
  reuseClients(runtime, provider);
  // Secrets are stored hashed (registry.ts); oidc-provider asks the registry instead of comparing.
  provider.Client.prototype.compareClientSecret = function compareHashedSecret(this: { clientId: string }, actual: string) {
    return runtime.applications.verifySecret(this.clientId, actual);
  } as never;
  auditProviderEvents(provider, runtime.audit);
  return provider;
}

/**
 * oidc-provider finds a client stored through the adapter by hashing its metadata's JSON on every
 * lookup (a Client is built once per distinct metadata). The registry hands out the same metadata
 * object while an application is unchanged (a seed application, or within one request), so its
 * Client is found by that object directly. Metadata read anew (a stored application in another
 * request) goes the usual way: any change is seen at once.
 */
function reuseClients(runtime: Runtime, provider: Provider): void {
  const findClient = provider.Client.find.bind(provider.Client);
  const clients = new WeakMap<object, Awaited<ReturnType<typeof findClient>>>();
  Object.defineProperty(provider.Client, 'find', {
    configurable: true,
    writable: true,
    async value(id: unknown) {
      const metadata = typeof id === 'string' && id.length > 0 ? await runtime.applications.clientMetadata(id) : undefined;
      if (!metadata) return findClient(id as string);
      let client = clients.get(metadata);
      if (!client) {
        client = await findClient(id as string);
        if (client) clients.set(metadata, client);
      }
      return client;
    },
  });
}
