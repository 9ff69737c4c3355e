import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { z } from 'zod';

import { AdminError, badRequest } from './errors.js';

/**
 * Request validation: structure only (types, required fields, unknown fields), answered with a
 * 400. Whether a well-formed application makes sense (a third-party app needs an organization,
 * redirect URI rules, URLs that parse) is the registry's call, answered with a 422.
 */

/** Largest JSON body accepted, in bytes. */
export const BODY_LIMIT = 64 * 1024;

const text = (description: string) => z.string().min(1).meta({ description });
const list = (description: string) => z.array(z.string().min(1)).meta({ description });

const NAME = 'Shown on the consent screen and in lists.';
const DESCRIPTION = 'Free text for administrators.';
const ORGANIZATION = 'The organization that owns the app: required for third-party and M2M apps (M2M tokens carry it as org_id).';
const REDIRECT_URIS = 'Exact redirect URIs (at least one). Loopback redirects of native apps match on any port.';
const POST_LOGOUT = 'Where RP-initiated logout may send the user back to.';
const LOGO = 'Absolute URL of a logo shown on the consent screen.';
const BACKCHANNEL = 'OpenID Connect Back-Channel Logout: where a logout token is posted when the user signs out (RP-initiated or host logout).';
const LOGO_DARK = 'Absolute URL of the logo used in dark mode.';
const SCOPES = 'Allow-list of the scopes the app may request (default: any configured scope).';
const RESOURCE_SERVER =
  'Marks the app as a resource server (an API): besides its own tokens, it may introspect the access tokens whose aud is one of `audiences` ' +
  "(each the identifier of one of the provider's APIs; another is a 422). Confidential OAuth apps and M2M apps only.";

const resourceServer = (description: string) =>
  z
    .object({ audiences: z.array(z.string().min(1)).min(1).meta({ description: 'The audiences (API identifiers) the app serves.' }) })
    .strict()
    .meta({ description });

const createOAuthApplication = z
  .object({
    application_type: z.literal('oauth').meta({ description: 'Signs users in with authorization_code.' }),
    name: text(NAME),
    description: z.string().optional().meta({ description: DESCRIPTION }),
    is_first_party: z.boolean().meta({ description: 'First-party apps never show a consent screen; third-party apps do.' }),
    is_public: z.boolean().optional().meta({ description: 'A public app (CLI, mobile, SPA) has no secret and must use PKCE. Default false. Cannot change later.' }),
    organization_id: text(ORGANIZATION).optional(),
    redirect_uris: list(REDIRECT_URIS),
    post_logout_redirect_uris: list(POST_LOGOUT).optional(),
    logo_uri: text(LOGO).optional(),
    logo_uri_dark: text(LOGO_DARK).optional(),
    backchannel_logout_uri: text(BACKCHANNEL).optional(),
    scopes: list(SCOPES).optional(),
    resource_server: resourceServer(RESOURCE_SERVER).optional(),
  })
  .strict()
  .meta({ title: 'CreateOAuthApplication' });

const createM2MApplication = z
  .object({
    application_type: z.literal('m2m').meta({ description: 'Gets tokens with client_credentials for its organization.' }),
    name: text(NAME),
    description: z.string().optional().meta({ description: DESCRIPTION }),
    // Optional here: a missing organization is the registry's 422, as for a third-party app.
    organization_id: text(ORGANIZATION).optional(),
    scopes: list(SCOPES).optional(),
    resource_server: resourceServer(RESOURCE_SERVER).optional(),
  })
  .strict()
  .meta({ title: 'CreateM2MApplication' });

/** POST /admin/applications. client_id and the first secret are generated. */
export const createApplicationBody = z.discriminatedUnion('application_type', [createOAuthApplication, createM2MApplication]);
export type CreateApplicationBody = z.output<typeof createApplicationBody>;

/** Fields an update may set; `null` removes an optional field. application_type and is_public are fixed. */
export const updateApplicationBody = z
  .object({
    name: text(NAME).optional(),
    description: z.string().nullable().optional().meta({ description: `${DESCRIPTION} null removes it.` }),
    is_first_party: z.boolean().optional().meta({ description: 'OAuth apps only.' }),
    organization_id: text(ORGANIZATION).nullable().optional(),
    redirect_uris: list(`${REDIRECT_URIS} Replaces the list. OAuth apps only.`).optional(),
    post_logout_redirect_uris: list(POST_LOGOUT).nullable().optional(),
    logo_uri: text(LOGO).nullable().optional(),
    logo_uri_dark: text(LOGO_DARK).nullable().optional(),
    backchannel_logout_uri: text(BACKCHANNEL).nullable().optional(),
    scopes: list(SCOPES).nullable().optional(),
    resource_server: resourceServer(`${RESOURCE_SERVER} Replaces the audiences; null removes it.`).nullable().optional(),
  })
  .strict()
  .meta({ title: 'UpdateApplication' });
export type UpdateApplicationBody = z.output<typeof updateApplicationBody>;

const API_IDENTIFIER =
  "The API's resource indicator (RFC 8707): an absolute URI without fragment, the `resource` clients request tokens for and the `aud` of those tokens. " +
  'The API id is derived from it; it cannot change.';
const API_NAME = 'Shown on the consent page ("In Orders API, Partner CRM will be able to: ...").';
const API_SCOPES = "The API's scopes: the only ones its access tokens carry.";
const API_TTL = 'Lifetime of its access tokens in seconds (at most a day; default: the provider\'s ttl.accessToken).';

const apiScope = z
  .object({
    name: text('The scope as clients request it (e.g. orders:read). Not an OpenID Connect scope.'),
    description: text('What it lets an app do, in plain words, shown on the consent page (e.g. "Read your orders"). Default: the scope\'s name.').optional(),
  })
  .strict()
  .meta({ title: 'ApiScopeInput' });

/** POST /admin/apis. The id is derived from the identifier. */
export const createApiBody = z
  .object({
    identifier: text(API_IDENTIFIER),
    name: text(API_NAME),
    scopes: z.array(apiScope).optional().meta({ description: `${API_SCOPES} Default: none.` }),
    access_token_ttl: z.number().int().positive().optional().meta({ description: API_TTL }),
  })
  .strict()
  .meta({ title: 'CreateApi' });

/** PATCH /admin/apis/{id}: `null` removes access_token_ttl. The identifier is fixed. */
export const updateApiBody = z
  .object({
    name: text(API_NAME).optional(),
    scopes: z.array(apiScope).optional().meta({ description: `${API_SCOPES} Replaces the list.` }),
    access_token_ttl: z.number().int().positive().nullable().optional().meta({ description: `${API_TTL} null removes it.` }),
  })
  .strict()
  .meta({ title: 'UpdateApi' });

/** Fields of an API that an update cannot change: named in the 400. */
export const API_READ_ONLY_FIELDS = ['id', 'identifier', 'configured'] as const;

/** POST .../client_secrets takes no parameters: an empty object, or no body at all. */
export const createSecretBody = z.object({}).strict().meta({ title: 'CreateClientSecret' });

/** Fields of an application that an update cannot change: named in the 400. */
export const READ_ONLY_FIELDS = ['client_id', 'application_type', 'is_public'] as const;

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${[...issue.path, key].join('.')}: unknown field`).join('; ');
      return issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/**
 * Validates a parsed JSON body; a mismatch is a 400 naming every offending field. `readOnly`
 * fields get "cannot be changed" rather than "unknown field".
 */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown, readOnly: readonly string[] = []): z.output<T> {
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const fixed = readOnly.filter((key) => Object.hasOwn(body, key));
    if (fixed.length) throw badRequest(`invalid request body: ${fixed.map((key) => `${key}: cannot be changed`).join('; ')}`);
  }
  const result = schema.safeParse(body);
  if (!result.success) throw badRequest(`invalid request body: ${describeIssues(result.error)}`);
  return result.data;
}

/**
 * Reads a JSON request body (at most BODY_LIMIT bytes). `required`: an empty body is a 400;
 * otherwise it reads as `{}`. A body of another media type is a 415, malformed JSON a 400.
 */
export async function readJsonBody(ctx: Context, { required }: { required: boolean }): Promise<unknown> {
  const hasBody = (ctx.request.length ?? 0) > 0 || ctx.get('transfer-encoding') !== '';
  if (hasBody && !ctx.is('application/json', 'application/*+json')) {
    throw new AdminError(415, 'unsupported_media_type', 'the request body must be application/json');
  }
  let raw: string;
  try {
    raw = await getRawBody(ctx.req, { length: ctx.get('content-length') || undefined, limit: BODY_LIMIT, encoding: 'utf8' });
  } catch (error) {
    if ((error as { status?: number }).status === 413) {
      throw new AdminError(413, 'request_too_large', `the request body is larger than ${BODY_LIMIT} bytes`);
    }
    throw badRequest('the request body could not be read');
  }
  if (raw.trim() === '') {
    if (required) throw badRequest('a JSON request body is required');
    return {};
  }
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw badRequest('the request body is not valid JSON');
  }
}

/** The query string's parameters, each at most once, none but `allowed`. */
export function readQuery(ctx: Context, allowed: readonly string[]): Record<string, string | undefined> {
  const values: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(ctx.query)) {
    if (!allowed.includes(key)) throw badRequest(`unknown query parameter "${key}"${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`);
    if (Array.isArray(value)) throw badRequest(`query parameter "${key}" is given more than once`);
    values[key] = value === '' ? undefined : value;
  }
  return values;
}
