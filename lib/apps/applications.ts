import { randomBytes } from 'node:crypto';

import type { ClientMetadata } from 'oidc-provider';
import { z } from 'zod';

import { ApplicationError } from '../errors.js';
import { isLoopbackHost } from '../http/loopback.js';

const url = z.string().url();

/**
 * An application that is also a resource server (an API): it may introspect the access tokens
 * whose `aud` is one of these audiences (RFC 7662 section 2.2), besides its own tokens. Each must be
 * the identifier of one of the provider's APIs (configured or created at run time): the registry checks that.
 */
const resourceServerSchema = z
  .object({
    audiences: z.array(url).min(1, 'a resource server serves at least one audience'),
  })
  .strict();
export type ResourceServer = z.output<typeof resourceServerSchema>;

/**
 * Set on an application a client registered itself (RFC 7591): such an app is third-party and may
 * have no owner; `unused_until`, while set, is when it disappears unless it has been used.
 */
const registrationSchema = z
  .object({
    method: z.literal('dynamic'),
    registered_at: z.string(),
    unused_until: z.string().optional(),
  })
  .strict();
export type Registration = z.output<typeof registrationSchema>;

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
    /** OpenID Connect Back-Channel Logout: where the provider posts a logout token when the user's session ends. */
    backchannel_logout_uri: url.optional(),
    scopes: z.array(z.string().min(1)).optional(),
    resource_server: resourceServerSchema.optional(),
    registration: registrationSchema.optional(),
  })
  .strict()
  .superRefine((app, ctx) => {
    if (!app.is_first_party && !app.organization_id && !app.registration) {
      ctx.addIssue({ code: 'custom', message: 'a third-party application needs organization_id' });
    }
    if (app.is_public && app.client_secret !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'a public application must not have a client_secret' });
    }
    if (app.registration && (app.is_first_party || app.resource_server)) {
      ctx.addIssue({ code: 'custom', message: 'an application a client registered itself is third-party and no resource server' });
    }
    if (app.is_public && app.resource_server !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'a public application cannot be a resource_server: introspection needs client authentication' });
    }
  });

const m2mApplicationSchema = z
  .object({
    application_type: z.literal('m2m'),
    client_id: z.string().min(1).optional(),
    client_secret: z.string().min(16).optional(),
    name: z.string().min(1),
    description: z.string().optional(),
    organization_id: z.string({ error: 'an M2M application needs organization_id' }).min(1, 'an M2M application needs organization_id'),
    scopes: z.array(z.string().min(1)).optional(),
    resource_server: resourceServerSchema.optional(),
    redirect_uris: z.never({ message: 'an M2M application has no redirect_uris' }).optional(),
  })
  .strict();

export const applicationSchema = z.discriminatedUnion('application_type', [oauthApplicationSchema, m2mApplicationSchema]);

/** An application as given in a seed file or to the registry (ids and secrets may be omitted: generated). */
export type ApplicationInput = z.input<typeof applicationSchema>;
/** An OAuth application: signs users in with authorization_code (+ refresh_token). */
export type OAuthApplication = Omit<z.output<typeof oauthApplicationSchema>, 'client_secret'> & { client_id: string };
/** A machine-to-machine application: gets tokens with client_credentials for its organization. */
export type M2MApplication = Omit<z.output<typeof m2mApplicationSchema>, 'redirect_uris' | 'client_secret'> & { client_id: string };
/** An application as the registry shows it: never with a secret (see `client_secrets` in the API). */
export type Application = OAuthApplication | M2MApplication;
/** What `parseApplication` returns: the application and, for confidential apps, its first secret. */
export type ParsedApplication = Application & { client_secret?: string };

/** A short, human name for an application in error messages: `applications[2] ("Partner CRM")`. */
function describe(input: unknown, where: string): string {
  const name = (input as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? `${where} ("${name}")` : where;
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message)).join('; ');
}

/** Validates an application definition and fills in generated ids and secrets. */
export function parseApplication(input: unknown, where = 'application'): ParsedApplication {
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

/** oidc-provider's loopback hosts (the ones whose port it ignores for native clients). */

/** A loopback or private-use-scheme redirect marks a native app (RFC 8252): a CLI, desktop or mobile app. */
function isNativeRedirect(uri: string): boolean {
  const parsed = URL.parse(uri);
  if (!parsed) return false;
  return parsed.protocol === 'http:' ? isLoopbackHost(parsed.hostname) : parsed.protocol !== 'https:';
}

/**
 * A public app with any loopback or private-use redirect (login or logout) is a native app. Its
 * https redirects stay allowed: oidc-provider accepts them for native clients as claimed https
 * URIs (RFC 8252 section 7.2). Only for `application_type: 'native'` does oidc-provider match a
 * loopback redirect on any port (`Client#redirectUriAllowed`), which RFC 8252 section 7.3
 * requires for every loopback redirect of a native app.
 */
export function isNativeApp(app: OAuthApplication): boolean {
  return app.is_public && (app.redirect_uris.some(isNativeRedirect) || (app.post_logout_redirect_uris?.some(isNativeRedirect) ?? false));
}

/**
 * oidc-provider needs a `client_secret` in the metadata of clients that authenticate with one.
 * orgconnect keeps only hashes and overrides the comparison (oidc/patches/hashed-client-secrets.ts), so the metadata holds
 * this marker instead: it is never compared, and no HMAC-based method (client_secret_jwt, HS256
 * ID tokens) is enabled that could use it as a key.
 */
export const HASHED_SECRET_MARKER = 'orgconnect:client-secrets-are-hashed';

/**
 * The single place where an application's kind decides its oidc-provider client metadata.
 * Confidential apps authenticate with client_secret_basic or client_secret_post (oidc-provider
 * accepts either for a client registered with one of them); public apps with `none` + PKCE.
 */
export function toClientMetadata(app: Application): ClientMetadata {
  // Flat literals: on Node 20 (V8 11) `{ ...common, more }` costs about 20 µs here, and
  // oidc-provider reads a client several times per request.
  if (app.application_type === 'm2m') {
    return {
      client_id: app.client_id,
      client_name: app.name,
      organization_id: app.organization_id,
      scope: app.scopes?.join(' '),
      is_first_party: true,
      resource_server: app.resource_server,
      client_secret: HASHED_SECRET_MARKER,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    };
  }
  return {
    client_id: app.client_id,
    client_name: app.name,
    organization_id: app.organization_id,
    scope: app.scopes?.join(' '),
    is_first_party: app.is_first_party,
    logo_uri: app.logo_uri,
    logo_uri_dark: app.logo_uri_dark,
    backchannel_logout_uri: app.backchannel_logout_uri,
    resource_server: app.resource_server,
    registered: app.registration ? true : undefined,
    client_secret: app.is_public ? undefined : HASHED_SECRET_MARKER,
    application_type: isNativeApp(app) ? 'native' : 'web',
    // Public (CLI, desktop) apps may also use the device authorization grant (RFC 8628).
    grant_types: app.is_public
      ? ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code']
      : ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: app.redirect_uris,
    post_logout_redirect_uris: app.post_logout_redirect_uris,
    token_endpoint_auth_method: app.is_public ? 'none' : 'client_secret_basic',
  };
}

/** Client metadata fields orgconnect adds to oidc-provider's (`extraClientMetadata`). */
export const EXTRA_CLIENT_METADATA = ['is_first_party', 'organization_id', 'logo_uri_dark', 'resource_server', 'registered'];

/** An authority with user information, even an empty one (`http://@host` is `http://host` to URL). */
const USERINFO = /^[a-z][a-z\d+.-]*:\/\/[^/?#]*@/i;

/**
 * Redirect URI rules beyond oidc-provider's own (RFC 8252, OAuth 2.0 Security BCP), for login and
 * logout redirects alike: no wildcards, no user information (`user:pw@host`), private-use schemes
 * for public native apps only and named after a domain (`com.example.app:/cb`, RFC 8252 section
 * 7.1), plain http to a non-loopback host only while the issuer itself is plain http and never for
 * a native app, https to a loopback host never for a native app (oidc-provider refuses it).
 * Exact matching is oidc-provider's; loopback redirects of native apps (`isNativeApp`) match on
 * any port (RFC 8252 section 7.3).
 */
export function redirectUriProblems(app: Application, issuer: string): string[] {
  if (app.application_type !== 'oauth') return [];
  const problems: string[] = [];
  const httpsIssuer = issuer.startsWith('https:');
  const native = isNativeApp(app);
  for (const uri of [...app.redirect_uris, ...(app.post_logout_redirect_uris ?? [])]) {
    if (uri.includes('*')) problems.push(`${uri}: wildcards are not allowed`);
    const parsed = URL.parse(uri);
    if (!parsed) {
      problems.push(`${uri}: not an absolute URI`);
      continue;
    }
    const { protocol, hostname } = parsed;
    const loopback = isLoopbackHost(hostname);
    if (USERINFO.test(uri)) problems.push(`${uri}: user information (user:password@) is not allowed`);
    if (protocol !== 'http:' && protocol !== 'https:') {
      if (!app.is_public) problems.push(`${uri}: a private-use scheme is for public (native) apps only`);
      else if (!protocol.slice(0, -1).includes('.')) problems.push(`${uri}: a private-use scheme must be a reverse domain name such as com.example.app (RFC 8252 section 7.1)`);
    }
    if (protocol === 'http:' && !loopback) {
      if (httpsIssuer) problems.push(`${uri}: plain http is allowed only for loopback hosts`);
      else if (native) problems.push(`${uri}: a native app (it has a loopback or private-use redirect) may use plain http only for loopback hosts`);
    }
    if (protocol === 'https:' && loopback && native) problems.push(`${uri}: a native app (it has a loopback or private-use redirect) must use http, not https, for a loopback host (RFC 8252 section 7.3)`);
  }
  return problems;
}
