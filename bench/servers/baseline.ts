import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';

import Provider, { errors, interactionPolicy, type ClientMetadata, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import getRawBody from 'raw-body';

import { RedisStore } from '../../lib/store/redis.js';
import { MemoryStore } from '../../lib/index.js';
import { ROUTES } from '../../lib/http/routes.js';
import { createBenchDirectory } from '../directory.js';
import { CRM, demoSeed, SYNC } from '../fixtures.js';
import type { RunningServer, ServerSpec } from './protocol.js';

/**
 * The baseline: bare oidc-provider configured by hand with what orgconnect configures (features,
 * routes, keys, RS256/ES256, JWT access tokens through resourceIndicators, org_id/sid claims, refresh
 * token rotation, the same TTLs) on the same store adapters, and an organization step. Its
 * interactions are answered by one small Koa middleware: no views, no consent memory beyond the
 * browser session (oidc-provider's default loadExistingGrant), static clients.
 * orgconnect / baseline is then what orgconnect's layer costs.
 *
 * One addition: `<issuer>/opaque` is a resource whose access tokens are opaque. oidc-provider cannot
 * introspect JWT access tokens at all (400 unsupported_token_type), so the introspection scenario
 * compares orgconnect's JWT introspection with oidc-provider's introspection of a stored token.
 */
const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'];
const DAY = 24 * 60 * 60;
/** lib/options.ts defaults. */
const TTL = { accessToken: 300, idToken: 3600, refreshToken: 30 * DAY, authorizationCode: 60, session: 14 * DAY, grant: 365 * DAY, interaction: 3600 };
const GRANT_ORGANIZATION = 'BaselineGrantOrganization';

const { base, Prompt, Check } = interactionPolicy;

function clients(): ClientMetadata[] {
  const app = (id: string) => demoSeed.applications.find((a) => a.client_id === id)!;
  return [
    {
      client_id: CRM.clientId,
      client_secret: CRM.secret,
      client_name: String(app(CRM.clientId).name),
      organization_id: CRM.ownerOrganization,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [CRM.redirectUri],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: SYNC.clientId,
      client_secret: SYNC.secret,
      client_name: String(app(SYNC.clientId).name),
      organization_id: SYNC.organization,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ];
}

export async function startBaseline(spec: ServerSpec): Promise<RunningServer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const opaqueResource = `${issuer}/opaque`;

  const memory = spec.store === 'memory' ? new MemoryStore() : undefined;
  const redis = spec.store === 'redis' ? new RedisStore({ redis: spec.redisUrl!, prefix: spec.prefix }) : undefined;
  const store = (memory ?? redis)!;
  const directory = await createBenchDirectory(demoSeed.organizations);
  const ttl = { ...TTL, ...spec.ttl };
  const alg = spec.alg;

  const selectOrganization = new Prompt(
    { name: 'select_organization', requestable: false },
    new Check('organization_not_chosen', 'the End-User must choose an organization', async (ctx: KoaContextWithOIDC) => {
      const accountId = ctx.oidc.session?.accountId;
      if (!accountId) return Check.NO_NEED_TO_PROMPT;
      const memberships = await directory.listOrganizations(accountId);
      const chosen = (ctx.oidc.result?.select_organization as { organization_id?: string } | undefined)?.organization_id;
      return memberships.length < 2 || memberships.some((m) => m.id === chosen) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  );
  const policy = base();
  policy.add(selectOrganization, 1);

  const configuration: Configuration = {
    adapter: (name: string) => store.adapter(name),
    clients: clients(),
    async findAccount(_ctx, sub) {
      const user = await directory.findUser(sub);
      return user && { accountId: user.id, claims: () => ({ ...user, sub: user.id }) };
    },
    jwks: spec.secrets.jwks[alg] as Configuration['jwks'],
    cookies: { keys: spec.secrets.cookieKeys },
    routes: ROUTES,
    scopes: OIDC_SCOPES,
    claims: { openid: ['sub'], profile: ['name', 'given_name', 'family_name', 'picture'], email: ['email', 'email_verified'] },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: alg,
    },
    enabledJWA: { idTokenSigningAlgValues: [alg] },
    responseTypes: ['code'],
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    extraClientMetadata: { properties: ['organization_id'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => oneOf ?? issuer,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== issuer && resource !== opaqueResource) throw new errors.InvalidTarget('unknown resource indicator');
          return {
            scope: OIDC_SCOPES.join(' '),
            audience: resource,
            accessTokenTTL: ttl.accessToken,
            ...(resource === opaqueResource ? { accessTokenFormat: 'opaque' as const } : { accessTokenFormat: 'jwt' as const, jwt: { sign: { alg } } }),
          };
        },
      },
    },
    async extraTokenClaims(ctx, token) {
      if (token.kind === 'ClientCredentials') {
        const organizationId = ctx.oidc.client?.['organization_id'];
        return typeof organizationId === 'string' ? { org_id: organizationId } : undefined;
      }
      const grantId = (token as { grantId?: string }).grantId;
      if (!grantId) return undefined;
      const bound = (await store.adapter(GRANT_ORGANIZATION).find(grantId)) as { organization_id?: string } | undefined;
      return { ...(bound?.organization_id ? { org_id: bound.organization_id } : {}), sid: grantId };
    },
    interactions: { policy, url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: ttl.accessToken,
      ClientCredentials: ttl.accessToken,
      AuthorizationCode: ttl.authorizationCode,
      IdToken: ttl.idToken,
      RefreshToken: ttl.refreshToken,
      Session: ttl.session,
      Grant: ttl.grant,
      Interaction: ttl.interaction,
    },
  };

  const provider = new Provider(issuer, configuration);

  /** The interactions: GET shows a one-form page naming the step; POSTs finish the step. */
  provider.use(async (ctx, next) => {
    const match = /^\/interaction\/([^/]+)(?:\/(login|organization|consent))?$/.exec(ctx.path);
    if (!match) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== match[1]) throw new errors.SessionNotFound('another interaction');
    const step = match[2];
    if (!step) {
      if (ctx.method !== 'GET') return next();
      const name = details.prompt.name === 'select_organization' ? 'organization' : details.prompt.name;
      ctx.type = 'html';
      ctx.body = `<form method="post" action="/interaction/${details.uid}/${name}"></form>`;
      return;
    }
    if (ctx.method !== 'POST') return next();
    const form = parseQuery(await getRawBody(ctx.req, { limit: 16 * 1024, encoding: 'utf8' }));
    const field = (name: string) => (typeof form[name] === 'string' ? (form[name] as string) : '');
    const accountId = details.session?.accountId;
    let result: Record<string, unknown>;
    let merge = true;
    if (step === 'login') {
      const user = await directory.authenticate(field('email'), field('password'));
      if (!user) {
        ctx.status = 401;
        ctx.body = 'wrong email or password';
        return;
      }
      result = { login: { accountId: user.id } };
      merge = false;
    } else if (step === 'organization') {
      const memberships = accountId ? await directory.listOrganizations(accountId) : [];
      if (!memberships.some((m) => m.id === field('organization_id'))) throw new errors.InvalidRequest('not a member');
      result = { select_organization: { organization_id: field('organization_id') } };
    } else {
      if (details.prompt.name !== 'consent' || field('decision') !== 'allow') throw new errors.AccessDenied();
      const grant = (details.grantId && (await provider.Grant.find(details.grantId))) || new provider.Grant({ accountId, clientId: String(details.params.client_id) });
      const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = details.prompt.details as {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
      if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
      const grantId = await grant.save();
      const organizationId = (details.lastSubmission?.select_organization as { organization_id?: string } | undefined)?.organization_id;
      await store.adapter(GRANT_ORGANIZATION).upsert(grantId, { organization_id: organizationId } as never, ttl.grant);
      result = { consent: { grantId } };
    }
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
    ctx.status = 303;
    ctx.redirect(returnTo);
  });

  server.on('request', provider.callback());

  return {
    issuer,
    storeSize: () => memory?.size,
    storeCommands: () => redis?.commandCount,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}
