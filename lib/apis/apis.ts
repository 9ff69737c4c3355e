import { createHash } from 'node:crypto';

import { z } from 'zod';

import { ApiError } from '../errors.js';

/** The scopes of OpenID Connect itself: the provider's own, never an API's. */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

/** A scope token (RFC 6749 section 3.3): printable ASCII without space, `"` or `\`. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** The longest access-token lifetime an API may ask for: JWT access tokens are verified offline, so keep them short. */
export const MAX_ACCESS_TOKEN_TTL = 24 * 60 * 60;

const apiScopeSchema = z
  .object({
    name: z
      .string()
      .regex(SCOPE_TOKEN, 'must be a scope token (printable ASCII, no space, quote or backslash)')
      .refine((name) => !OIDC_SCOPES.includes(name), 'is an OpenID Connect scope: the provider grants it, not an API'),
    description: z.string().min(1).max(200).optional(),
  })
  .strict();

const apiSchema = z
  .object({
    /** Optional: derived from the identifier (given back, as in a parsed seed, it must be that one). */
    id: z.string().optional(),
    identifier: z
      .string()
      .refine((value) => URL.canParse(value), 'must be an absolute URI')
      .refine((value) => !value.includes('#'), 'must not have a fragment (RFC 8707)'),
    name: z.string().trim().min(1).max(100),
    scopes: z
      .array(apiScopeSchema)
      .default([])
      .superRefine((scopes, ctx) => {
        const seen = new Set<string>();
        for (const { name } of scopes) {
          if (seen.has(name)) ctx.addIssue({ code: 'custom', message: `scope "${name}" is listed twice` });
          seen.add(name);
        }
      }),
    access_token_ttl: z.number().int().min(1).max(MAX_ACCESS_TOKEN_TTL).optional(),
  })
  .strict()
  .superRefine((api, ctx) => {
    if (api.id !== undefined && URL.canParse(api.identifier) && api.id !== apiId(api.identifier)) {
      ctx.addIssue({ code: 'custom', path: ['id'], message: `is derived from the identifier: "${apiId(api.identifier)}"` });
    }
  });

/** One scope of an API; `description` is what the consent page shows (else the scope's name). */
export type ApiScope = z.output<typeof apiScopeSchema>;

/**
 * An API (a resource server, RFC 8707): `identifier` is the `resource` clients request tokens for
 * and the tokens' `aud`; `id` is derived from it (URL-safe, the same on every instance).
 */
export interface Api {
  id: string;
  identifier: string;
  /** Shown on the consent page. */
  name: string;
  /** The only scopes its tokens carry. */
  scopes: ApiScope[];
  /** Lifetime of its access tokens, in seconds (default: `ttl.accessToken`). */
  access_token_ttl?: number;
}

/** An API as given in a seed file, the `apis` option or to the registry (its id is derived; an `Api` is one too). */
export type ApiInput = z.input<typeof apiSchema>;

/**
 * An API as the provider serves it. `legacy`: made from the `audience`, `resources` and `scopes`
 * options, which predate APIs: its tokens may also carry the OpenID Connect scopes, and its
 * scopes are the provider's static ones (as before APIs existed).
 */
export type ServedApi = Api & { legacy?: true };

/** The id of the API with this identifier: `api_` and 22 characters of its SHA-256 (base64url). */
export function apiId(identifier: string): string {
  return `api_${createHash('sha256').update(identifier).digest('base64url').slice(0, 22)}`;
}

function describe(input: unknown, where: string): string {
  const name = (input as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? `${where} ("${name}")` : where;
}

/** Validates an API definition and derives its id. Throws ApiError naming the API. */
export function parseApi(input: unknown, where = 'api'): Api {
  const result = apiSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
    throw new ApiError(`${describe(input, where)}: ${issues.join('; ')}`);
  }
  const { identifier, name, scopes, access_token_ttl } = result.data;
  return {
    id: apiId(identifier),
    identifier,
    name,
    scopes: scopes.map(({ name: scope, description }) => (description === undefined ? { name: scope } : { name: scope, description })),
    ...(access_token_ttl === undefined ? {} : { access_token_ttl }),
  };
}

/**
 * The APIs made from the options that predate APIs: the default `audience` and each of
 * `resources`, each accepting every one of `scopes` (and the OpenID Connect scopes), as before.
 * Their name is the identifier's host.
 */
export function legacyApis(options: { audience: string; resources: readonly string[]; scopes: readonly string[] }): ServedApi[] {
  const identifiers = [...new Set([options.audience, ...options.resources])];
  return identifiers.map((identifier) => ({
    id: apiId(identifier),
    identifier,
    name: URL.parse(identifier)?.host || identifier,
    scopes: options.scopes.filter((scope) => !OIDC_SCOPES.includes(scope)).map((name) => ({ name })),
    legacy: true,
  }));
}

/** A configured API and where it was defined (`seed apis[0]`, `apis[1]`, `resources`), for messages. */
export interface ConfiguredApi {
  api: ServedApi;
  where: string;
}

/**
 * The configured APIs in one list: an identifier defined twice (in the seed and the `apis` option,
 * or also the `audience` or one of `resources`) is refused, naming both places.
 */
export function mergeConfiguredApis(sources: ConfiguredApi[]): ServedApi[] {
  const seen = new Map<string, string>();
  for (const { api, where } of sources) {
    const first = seen.get(api.identifier);
    if (first !== undefined) throw new ApiError(`${where} ("${api.name}"): identifier "${api.identifier}" is already an API (${first})`);
    seen.set(api.identifier, where);
  }
  return sources.map(({ api }) => api);
}
