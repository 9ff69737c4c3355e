import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';

import { z } from 'zod';

import type { ApiInput } from '../apis/apis.js';
import type { ApplicationInput } from '../apps/applications.js';
import { brandOptionSchema, parseBrand, type BrandOption } from '../pages/brand.js';
import type { Directory } from '../accounts/directory.js';
import { OptionsError } from '../errors.js';
import { generateSigningKey, normalizeJwks, SIGNING_ALGS, type PrivateJwks, type SigningAlg } from './keys.js';
import type { Seed } from './seed.js';
import type { ViewsOptions } from '../pages/views.js';
import { adminOptionSchema, type AdminOptions } from '../admin/options.js';
import type { AuditOptions } from '../audit.js';
import type { CurrentUser } from '../accounts/host-session.js';
import type { LoginThrottleOptions } from '../accounts/login-throttle.js';
import type { StoreOption } from '../store/open.js';
import { isLoopbackHost } from '../http/loopback.js';

/** Token and session lifetimes, in seconds. */
export interface TtlOptions {
  /** JWT access tokens (and client_credentials tokens). Short: they are verified offline. Default 300. */
  accessToken?: number;
  /** Default 3600. */
  idToken?: number;
  /** Default 30 days. Rotated on every use. */
  refreshToken?: number;
  /** Default 60. */
  authorizationCode?: number;
  /** Browser sign-in session at the provider. Default 14 days. */
  session?: number;
  /** A grant (and so a remembered consent). Default 365 days. */
  grant?: number;
  /** Time a user has to finish login / organization / consent. Default 1 hour. */
  interaction?: number;
  /**
   * A device code (RFC 8628): how long a device may poll and the user has to enter the code and
   * sign in (the response's `expires_in`). Default 600.
   */
  deviceCode?: number;
}

/** Options of `createProvider`. Only `issuer` is required. */
export interface OrgconnectOptions {
  /** The issuer identifier: the public URL the provider is reached at, path included when mounted. */
  issuer: string;
  /**
   * Where state lives. Default: the embedded in-memory store (one process only). For several
   * instances serving one issuer: `{ redis: 'redis://...' }`, an ioredis client or Cluster, or a
   * list of cluster nodes, with an optional `prefix` (several issuers can share one Redis).
   */
  store?: StoreOption;
  /** The host app's users and organizations. Default: the users and organizations of `seed`. */
  directory?: Directory;
  /** Organizations, users (when no `directory` is given), applications and APIs to start with. */
  seed?: Partial<Omit<Seed, 'apis'>> & { apis?: ApiInput[] };
  /** More applications to register at start. */
  applications?: ApplicationInput[];
  /**
   * APIs (resource servers): `{ identifier, name, scopes: [{ name, description }], access_token_ttl }`.
   * A token requested with `resource=<identifier>` has that `aud` and carries only that API's scopes.
   * Held in memory (configuration), besides the seed's `apis` and those created at run time.
   */
  apis?: ApiInput[];
  /** Signing keys: a private JWKS (several keys allowed, for rotation). Generated when absent (dev only). */
  keys?: { jwks?: PrivateJwks; alg?: SigningAlg };
  /**
   * The provider's cookies. `keys` sign them (newest first; generated when absent, dev only).
   * `prefix` starts their names (default `orgconnect_`), so they cannot collide with the host's
   * cookies or another product's; they live under the issuer's path.
   */
  cookies?: { keys?: string[]; prefix?: string };
  ttl?: TtlOptions;
  /**
   * The `aud` of access tokens when the client names no resource. Default: the issuer. It is an
   * API accepting every one of `scopes` (and the OpenID Connect scopes).
   */
  audience?: string;
  /** Other resource indicators (RFC 8707) clients may request tokens for: each an API accepting every one of `scopes`. */
  resources?: string[];
  /** Scopes, besides openid/profile/email/offline_access, that `audience` and `resources` accept and app allow-lists may name. */
  scopes?: string[];
  /** Custom templates: `{ dir }` holds .ejs files replacing built-in views one by one (docs/views.md). */
  views?: ViewsOptions;
  /**
   * The look of the built-in pages: `{ name, logoUrl, logoUrlDark, primaryColor, supportUrl }`,
   * or a hook `(ctx, { clientId, view }) => Brand` choosing one per request (by host, by app).
   */
  brand?: BrandOption;
  /** Trust X-Forwarded-* headers (behind a TLS-terminating proxy). */
  proxy?: boolean;
  /**
   * With `proxy`: how many proxies in front of orgconnect append to X-Forwarded-For (Koa's
   * `maxIpsCount`). The client IP (the login throttle's per-IP key) is the entry that many hops
   * from the right, never one a client could write itself. Default 1.
   */
  proxyHops?: number;
  /**
   * The host app's signed-in user for a request (a user id), so users already signed in to the
   * host see no login form, and the provider session follows the host (checked on every
   * authorization that has a session; see accounts/host-session.ts). Errors become an error page.
   */
  currentUser?: CurrentUser;
  /**
   * Production mode (default: NODE_ENV=production): refuses to start on a non-https issuer,
   * generated or short keys, or demo credentials; sends HSTS. Development warns instead.
   */
  production?: boolean;
  /** Audit events (logins, consents, tokens, revocations, replays, client auth failures). */
  audit?: AuditOptions;
  /** Brute-force limits on the login form, counted in the store. `false` turns them off. */
  loginThrottle?: LoginThrottleOptions | false;
  /** The admin HTTP API under /admin: off unless a bearer token is given. */
  admin?: AdminOptions;
  /**
   * The device authorization grant (RFC 8628). `interval`: the seconds a device waits between two
   * polls of the token endpoint (the response's `interval`, default 5); a faster poll gets
   * `slow_down` and that device code's interval grows by 5 seconds. Shorter than `ttl.deviceCode`.
   */
  deviceFlow?: { interval?: number };
  /**
   * Dynamic Client Registration (RFC 7591) at `/oauth2/register`, for clients that cannot be
   * registered beforehand (MCP clients). `policy`: `off`; `open` (anyone may register); `token`
   * (an initial access token the operator mints with the admin API, optionally tied to an
   * organization that then owns the app). Registered apps are third-party (consent every time) and
   * public unless they ask for `client_secret_basic`/`client_secret_post`. `perIpPerHour` bounds
   * registrations per client IP (default 20); an app not used within `unusedTtl` seconds of its
   * registration (default a day) disappears. Default: `open` in development (an issuer on a
   * loopback address, not production), `off` otherwise.
   */
  registration?: { policy?: RegistrationPolicy; perIpPerHour?: number; unusedTtl?: number };
  /**
   * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a `client_id` that
   * is an https URL is resolved by fetching its metadata document (public, third-party clients;
   * consent every time, the client's host shown as not verified). `allowHosts` / `denyHosts`
   * (exact host names) restrict which documents are fetched. Never from private, loopback or
   * link-local addresses, except loopback hosts in development. Default: on in development, off otherwise.
   */
  clientIdMetadataDocument?: { enabled?: boolean; allowHosts?: string[]; denyHosts?: string[] };
}

/** Who may register a client dynamically. */
export type RegistrationPolicy = 'off' | 'open' | 'token';

export interface ResolvedOptions {
  issuer: string;
  audience: string;
  resources: string[];
  scopes: string[];
  ttl: Required<TtlOptions>;
  keys: { jwks: PrivateJwks; alg: SigningAlg; generated: boolean };
  cookies: { keys: string[]; generated: boolean; prefix: string };
  views: ViewsOptions;
  /** A validated brand (color normalized to #rrggbb), or the hook, whose results are checked per request. */
  brand: BrandOption;
  proxy: boolean;
  proxyHops: number;
  /** Production checks passed; HSTS is sent. */
  production: boolean;
  /** The admin API's settings; undefined when it is off. */
  admin?: AdminOptions;
  deviceFlow: { interval: number };
  /** True when the issuer is on a loopback address and production mode is off. */
  development: boolean;
  registration: { policy: RegistrationPolicy; perIpPerHour: number; unusedTtl: number };
  clientIdMetadataDocument: { enabled: boolean; allowHosts?: string[]; denyHosts?: string[] };
}

const seconds = z.number().int().positive();
const absoluteUrl = z.string().refine((v) => URL.canParse(v), 'must be an absolute URL');

const optionsSchema = z
  .object({
    issuer: absoluteUrl.refine((v) => !/[?#]/.test(v), 'must not have a query or fragment'),
    store: z
      .custom<StoreOption>(
        (v) => typeof (v as { adapter?: unknown })?.adapter === 'function' || (typeof v === 'object' && v !== null && 'redis' in v),
        'must be a Store or { redis: url | client | nodes, prefix? }',
      )
      .optional(),
    directory: z
      .custom<Directory>(
        (v) => ['findUser', 'authenticate', 'listOrganizations', 'findOrganization'].every((m) => typeof (v as Record<string, unknown>)?.[m] === 'function'),
        'must implement findUser, authenticate, listOrganizations and findOrganization',
      )
      .optional(),
    seed: z.record(z.string(), z.unknown()).optional(),
    applications: z.array(z.unknown()).optional(),
    apis: z.array(z.unknown()).optional(),
    keys: z.object({ jwks: z.unknown().optional(), alg: z.enum(SIGNING_ALGS).optional() }).strict().optional(),
    cookies: z
      .object({
        keys: z.array(z.string().min(16, 'each cookie key needs at least 16 characters')).min(1).optional(),
        prefix: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ and - only (at most 32)').optional(),
      })
      .strict()
      .optional(),
    ttl: z
      .object({
        accessToken: seconds.optional(),
        idToken: seconds.optional(),
        refreshToken: seconds.optional(),
        authorizationCode: seconds.optional(),
        session: seconds.optional(),
        grant: seconds.optional(),
        interaction: seconds.optional(),
        deviceCode: seconds.optional(),
      })
      .strict()
      .optional(),
    audience: absoluteUrl.optional(),
    resources: z.array(absoluteUrl).optional(),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a valid scope token')).optional(),
    views: z
      .object({
        dir: z
          .string()
          .min(1)
          .refine((dir) => statSync(dir, { throwIfNoEntry: false })?.isDirectory() === true, 'must be an existing folder')
          .optional(),
      })
      .strict()
      .optional(),
    brand: brandOptionSchema.optional(),
    proxy: z.boolean().optional(),
    proxyHops: z.number().int().min(1).max(10).optional(),
    production: z.boolean().optional(),
    audit: z
      .object({
        log: z.union([z.boolean(), z.custom<object>((v) => typeof (v as { info?: unknown })?.info === 'function', 'must be a pino logger')]).optional(),
        onEvent: z.custom<(e: unknown) => void>((v) => typeof v === 'function', 'must be a function').optional(),
      })
      .strict()
      .optional(),
    loginThrottle: z
      .union([
        z.literal(false),
        z.object({ perAccount: z.number().int().positive().optional(), perIp: z.number().int().positive().optional(), windowSeconds: seconds.optional() }).strict(),
      ])
      .optional(),
    admin: adminOptionSchema.optional(),
    deviceFlow: z.object({ interval: seconds.optional() }).strict().optional(),
    registration: z
      .object({ policy: z.enum(['off', 'open', 'token']).optional(), perIpPerHour: seconds.optional(), unusedTtl: seconds.optional() })
      .strict()
      .optional(),
    clientIdMetadataDocument: z
      .object({ enabled: z.boolean().optional(), allowHosts: z.array(z.string().min(1)).optional(), denyHosts: z.array(z.string().min(1)).optional() })
      .strict()
      .optional(),
    currentUser: z.custom<CurrentUser>((v) => typeof v === 'function', 'must be a function (req, res) => user id | undefined').optional(),
  })
  .strict();

const DAY = 24 * 60 * 60;

/** The signing algorithm of a supplied JWKS when `keys.alg` is not given: its first key decides. */
function algorithmOf(key: { alg?: string; kty?: string }): SigningAlg {
  if (key.alg && (SIGNING_ALGS as readonly string[]).includes(key.alg)) return key.alg as SigningAlg;
  return key.kty === 'EC' ? 'ES256' : key.kty === 'OKP' ? 'EdDSA' : 'RS256';
}

/** Validates options and fills in defaults. Throws OptionsError naming the first bad option. */
export async function resolveOptions(input: OrgconnectOptions): Promise<ResolvedOptions> {
  const parsed = optionsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.length ? issue.path.join('.') : 'options';
    throw new OptionsError(`invalid option ${path}: ${issue.message}`);
  }
  const options = parsed.data;
  if ((options.deviceFlow?.interval ?? 5) >= (options.ttl?.deviceCode ?? 600)) {
    throw new OptionsError('invalid option deviceFlow.interval: must be shorter than ttl.deviceCode');
  }
  const issuer = options.issuer.replace(/\/$/, '');
  const jwks = options.keys?.jwks === undefined ? undefined : await normalizeJwks(options.keys.jwks);
  const alg = options.keys?.alg ?? (jwks ? algorithmOf(jwks.keys[0]!) : 'RS256');

  const production = options.production ?? process.env.NODE_ENV === 'production';
  const development = !production && isLoopbackHost(new URL(options.issuer).hostname);
  return {
    issuer,
    audience: options.audience ?? issuer,
    resources: options.resources ?? [],
    scopes: options.scopes ?? [],
    ttl: {
      accessToken: 300,
      idToken: 3600,
      refreshToken: 30 * DAY,
      authorizationCode: 60,
      session: 14 * DAY,
      grant: 365 * DAY,
      interaction: 3600,
      deviceCode: 600,
      ...options.ttl,
    },
    keys: jwks ? { jwks, alg, generated: false } : { jwks: { keys: [await generateSigningKey(alg)] }, alg, generated: true },
    cookies: {
      ...(options.cookies?.keys ? { keys: options.cookies.keys, generated: false } : { keys: [randomBytes(32).toString('base64url')], generated: true }),
      prefix: options.cookies?.prefix ?? 'orgconnect_',
    },
    views: options.views ?? {},
    brand: typeof options.brand === 'function' ? options.brand : parseBrand(options.brand),
    proxy: options.proxy ?? false,
    proxyHops: options.proxyHops ?? 1,
    production,
    admin: options.admin as AdminOptions | undefined,
    deviceFlow: { interval: options.deviceFlow?.interval ?? 5 },
    development,
    registration: {
      policy: options.registration?.policy ?? (development ? 'open' : 'off'),
      perIpPerHour: options.registration?.perIpPerHour ?? 20,
      unusedTtl: options.registration?.unusedTtl ?? 24 * 60 * 60,
    },
    clientIdMetadataDocument: { ...options.clientIdMetadataDocument, enabled: options.clientIdMetadataDocument?.enabled ?? development },
  };
}
