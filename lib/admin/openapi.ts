import { z } from 'zod';

import { DEFAULT_LIMIT, MAX_LIMIT } from './pagination.js';
import { createInitialAccessTokenBody } from './registration.js';
import { BODY_LIMIT, createApiBody, createApplicationBody, createSecretBody, updateApiBody, updateApplicationBody } from './validation.js';

/**
 * The admin API's OpenAPI 3.1 document, served at `/admin/openapi.json`. Request bodies are
 * generated from the zod schemas that validate them (validation.ts), so the two cannot drift;
 * responses are written out here and the tests check real responses against them.
 */

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const response = (name: string): Schema => ({ $ref: `#/components/responses/${name}` });
const parameter = (name: string): Schema => ({ $ref: `#/components/parameters/${name}` });
const json = (schema: Schema) => ({ 'application/json': { schema } });

/** A request body schema from its zod schema, JSON Schema 2020-12 (the dialect of OpenAPI 3.1). */
function fromZod(schema: z.ZodType): Schema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as Schema;
  return rest;
}

const str = (description: string): Schema => ({ type: 'string', description });
const strings = (description: string): Schema => ({ type: 'array', items: { type: 'string' }, description });
const timestamp = (description: string): Schema => ({ type: 'string', format: 'date-time', description });
const resourceServer: Schema = {
  type: 'object',
  description: 'Present on a resource server (an API): besides its own tokens, it may introspect the access tokens whose aud is one of these audiences.',
  required: ['audiences'],
  properties: { audiences: strings('The audiences (API identifiers) it serves.') },
  additionalProperties: false,
};

const ERROR_CODES = [
  'invalid_request',
  'unauthorized',
  'invalid_token',
  'not_found',
  'method_not_allowed',
  'request_too_large',
  'unsupported_media_type',
  'unprocessable_entity',
  'conflict',
  'precondition_failed',
  'temporarily_unavailable',
  'server_error',
];

const schemas: Record<string, Schema> = {
  OAuthApplication: {
    type: 'object',
    description: 'An OAuth application: signs users in with authorization_code (and refresh_token).',
    required: ['object', 'client_id', 'application_type', 'name', 'is_first_party', 'is_public', 'redirect_uris'],
    properties: {
      object: { const: 'application' },
      client_id: str('The application id: its OAuth client_id.'),
      application_type: { const: 'oauth' },
      name: str('Shown on the consent screen and in lists.'),
      description: str('Free text for administrators.'),
      is_first_party: { type: 'boolean', description: 'First-party apps never show a consent screen.' },
      is_public: { type: 'boolean', description: 'Public apps have no secret and must use PKCE (S256).' },
      organization_id: str('The organization that owns the app (always set for third-party apps).'),
      redirect_uris: strings('Exact redirect URIs.'),
      post_logout_redirect_uris: strings('Where RP-initiated logout may return to.'),
      logo_uri: { type: 'string', format: 'uri', description: 'Logo on the consent screen.' },
      logo_uri_dark: { type: 'string', format: 'uri', description: 'Logo in dark mode.' },
      backchannel_logout_uri: { type: 'string', format: 'uri', description: 'Where a logout token is posted when the user signs out (OpenID Connect Back-Channel Logout).' },
      scopes: strings('Scopes the app may request; absent: any configured scope.'),
      resource_server: resourceServer,
    },
  },
  M2MApplication: {
    type: 'object',
    description: 'A machine-to-machine application: gets tokens with client_credentials; they carry its organization as org_id.',
    required: ['object', 'client_id', 'application_type', 'name', 'organization_id'],
    properties: {
      object: { const: 'application' },
      client_id: str('The application id: its OAuth client_id.'),
      application_type: { const: 'm2m' },
      name: str('Shown in lists.'),
      description: str('Free text for administrators.'),
      organization_id: str('The organization its tokens are for.'),
      scopes: strings('Scopes the app may request; absent: any configured scope.'),
      resource_server: resourceServer,
    },
  },
  Application: {
    type: 'object',
    description: 'An application (OAuth or M2M). Optional fields are absent when unset.',
    oneOf: [ref('OAuthApplication'), ref('M2MApplication')],
    unevaluatedProperties: false,
  },
  CreatedApplication: {
    type: 'object',
    description: 'A created application; confidential ones (all but public OAuth apps) carry their first secret, returned this once.',
    oneOf: [ref('OAuthApplication'), ref('M2MApplication')],
    properties: { client_secret: str('The plaintext of the first client secret. Shown only here: store it now.') },
    unevaluatedProperties: false,
  },
  ClientSecret: {
    type: 'object',
    required: ['object', 'id', 'secret_hint', 'created_at'],
    properties: {
      object: { const: 'client_secret' },
      id: str('The secret id (used to revoke it).'),
      secret_hint: str('The last 4 characters of the secret, to tell secrets apart.'),
      created_at: timestamp('When the secret was created.'),
      last_used_at: timestamp('When the secret last authenticated the app (updated at most once a minute); absent if never.'),
    },
    additionalProperties: false,
  },
  CreatedClientSecret: {
    type: 'object',
    required: ['object', 'id', 'secret_hint', 'created_at', 'secret'],
    properties: {
      object: { const: 'client_secret' },
      id: str('The secret id (used to revoke it).'),
      secret_hint: str('The last 4 characters of the secret.'),
      created_at: timestamp('When the secret was created.'),
      secret: str('The plaintext secret. Shown only here: store it now.'),
    },
    additionalProperties: false,
  },
  AuthorizedApplication: {
    type: 'object',
    description: "An application the user has authorized (a remembered consent), per organization.",
    required: ['object', 'grant_id', 'client_id', 'name', 'scopes', 'granted_at'],
    properties: {
      object: { const: 'authorized_application' },
      grant_id: str('The grant holding the consent (the access tokens\' sid claim).'),
      client_id: str('The application.'),
      name: str("The application's name."),
      organization_id: str('The organization the consent was given for; absent for a user without organization.'),
      scopes: strings('The scopes the user approved.'),
      granted_at: timestamp('When the consent was given.'),
    },
    additionalProperties: false,
  },
  ApiScope: {
    type: 'object',
    required: ['name'],
    properties: {
      name: str('The scope as clients request it.'),
      description: str('What it lets an app do, shown on the consent page; absent: the scope\'s name is shown.'),
    },
    additionalProperties: false,
  },
  Api: {
    type: 'object',
    description: 'An API (a resource server): access tokens requested with `resource=<identifier>` have it as `aud` and carry only its scopes.',
    required: ['object', 'id', 'identifier', 'name', 'scopes'],
    properties: {
      object: { const: 'api' },
      id: str('The API id, derived from its identifier.'),
      identifier: str('The resource indicator (RFC 8707): the `resource` clients request, the `aud` of its tokens.'),
      name: str('Shown on the consent page.'),
      scopes: { type: 'array', items: ref('ApiScope'), description: 'The only scopes its access tokens carry.' },
      access_token_ttl: { type: 'integer', minimum: 1, description: 'Lifetime of its access tokens, in seconds; absent: the provider\'s default.' },
      configured: { const: true, description: 'Present on an API from the configuration (seed, options): read-only here.' },
    },
    additionalProperties: false,
  },
  ListMetadata: {
    type: 'object',
    required: ['after'],
    properties: { after: { type: ['string', 'null'], description: 'Pass as `after` to get the next page; null on the last page.' } },
    additionalProperties: false,
  },
  ApplicationList: list('Application'),
  ClientSecretList: list('ClientSecret'),
  AuthorizedApplicationList: list('AuthorizedApplication'),
  ApiList: list('Api'),
  Error: {
    type: 'object',
    required: ['error', 'error_description'],
    properties: {
      error: { type: 'string', enum: ERROR_CODES, description: 'A stable error code.' },
      error_description: str('What is wrong, in one line, for a person.'),
    },
    additionalProperties: false,
  },
  CreateApplicationRequest: fromZod(createApplicationBody),
  UpdateApplicationRequest: fromZod(updateApplicationBody),
  CreateClientSecretRequest: fromZod(createSecretBody),
  CreateApiRequest: fromZod(createApiBody),
  UpdateApiRequest: fromZod(updateApiBody),
  CreateInitialAccessTokenRequest: fromZod(createInitialAccessTokenBody),
  InitialAccessToken: {
    type: 'object',
    required: ['object', 'token', 'expires_at'],
    properties: {
      object: { const: 'initial_access_token' },
      token: str('The token: the bearer of a registration request. Shown only here.'),
      expires_at: timestamp('When it stops working.'),
      organization_id: str('The organization that owns the apps registered with it.'),
    },
    additionalProperties: false,
  },
};

function list(item: string): Schema {
  return {
    type: 'object',
    required: ['object', 'data', 'list_metadata'],
    properties: { object: { const: 'list' }, data: { type: 'array', items: ref(item) }, list_metadata: ref('ListMetadata') },
    additionalProperties: false,
  };
}

const errorResponse = (description: string, headers?: Schema): Schema => ({
  description,
  ...(headers ? { headers } : {}),
  content: json(ref('Error')),
});

const responses: Record<string, Schema> = {
  BadRequest: errorResponse('Malformed request: invalid JSON, wrong types, missing or unknown fields, bad query parameters (`invalid_request`).'),
  Unauthorized: errorResponse('No bearer token (`unauthorized`) or a wrong one (`invalid_token`).', {
    'WWW-Authenticate': { description: 'Bearer realm="orgconnect-admin" (with error="invalid_token" for a wrong token).', schema: { type: 'string' } },
  }),
  NotFound: errorResponse('No such application, client secret, user, authorization or API (`not_found`).'),
  PayloadTooLarge: errorResponse(`The body is larger than ${BODY_LIMIT} bytes (\`request_too_large\`).`),
  UnsupportedMediaType: errorResponse('The body is not application/json (`unsupported_media_type`).'),
  Unprocessable: errorResponse(
    'Well-formed but refused (`unprocessable_entity`): a third-party or M2M app without organization_id, an unknown organization, a bad redirect URI or URL, changing an M2M app\'s OAuth-only fields, a sixth secret, a secret for a public app; ' +
      'an API identifier that is not an absolute URI or is already an API, a bad scope, changing or deleting a configured API.',
  ),
  Conflict: errorResponse('Other writes to the same application or API kept winning; nothing was changed: try again (`conflict`).'),
  PreconditionFailed: errorResponse('`If-Match` does not name the current version of the application or API; nothing was changed (`precondition_failed`).'),
  ServiceUnavailable: errorResponse('The store is unavailable (`temporarily_unavailable`); retry after the Retry-After delay.', {
    'Retry-After': { description: 'Seconds to wait.', schema: { type: 'string' } },
  }),
};

const parameters: Record<string, Schema> = {
  ClientId: { name: 'client_id', in: 'path', required: true, description: 'The application id (client_id).', schema: { type: 'string' } },
  ApiId: { name: 'id', in: 'path', required: true, description: 'The API id (`api_...`).', schema: { type: 'string' } },
  SecretId: { name: 'secret_id', in: 'path', required: true, description: 'The client secret id.', schema: { type: 'string' } },
  UserId: { name: 'user_id', in: 'path', required: true, description: 'The user id (the `sub` of their tokens).', schema: { type: 'string' } },
  Limit: {
    name: 'limit',
    in: 'query',
    description: `Page size, 1 to ${MAX_LIMIT} (default ${DEFAULT_LIMIT}).`,
    schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
  },
  IfMatch: {
    name: 'If-Match',
    in: 'header',
    description: 'The `ETag` of the version this update is for: applied only if the application (or API) is still at that version (412 otherwise). `*` or absent: applied to the current version.',
    schema: { type: 'string' },
  },
  After: { name: 'after', in: 'query', description: 'The cursor from `list_metadata.after` of the previous page.', schema: { type: 'string' } },
};

/** The errors every authenticated operation may answer, besides its own. */
const common = { '400': response('BadRequest'), '401': response('Unauthorized'), '503': response('ServiceUnavailable') };
const withBody = { '413': response('PayloadTooLarge'), '415': response('UnsupportedMediaType') };
const noContent = (description: string) => ({ '204': { description } });
const ok = (description: string, schema: string) => ({ description, content: json(ref(schema)) });

const etagHeader = { description: 'The version of the application (or API), for `If-Match`.', schema: { type: 'string' } };

const updateOperation = (method: 'put' | 'patch') => ({
  operationId: method === 'put' ? 'replaceApplication' : 'updateApplication',
  summary: method === 'put' ? 'Update an application (same as PATCH)' : 'Update an application',
  description:
    'A partial update: fields left out keep their value, `null` removes an optional field, lists are replaced whole. ' +
    'application_type, is_public and client_id cannot change. Takes effect at once on every instance. ' +
    'The change is applied to the application as it is when written: a concurrent change of other fields, or a secret created meanwhile, is kept. ' +
    'With `If-Match`, it applies only to that version.',
  tags: ['applications'],
  parameters: [parameter('ClientId'), parameter('IfMatch')],
  requestBody: { required: true, content: json(ref('UpdateApplicationRequest')) },
  responses: {
    '200': { ...ok('The updated application.', 'Application'), headers: { ETag: etagHeader } },
    ...common,
    '404': response('NotFound'),
    '409': response('Conflict'),
    '412': response('PreconditionFailed'),
    ...withBody,
    '422': response('Unprocessable'),
  },
});

export interface OpenApiDocumentOptions {
  /** The provider's issuer: the server URL the paths are relative to. */
  issuer: string;
}

export function openApiDocument({ issuer }: OpenApiDocumentOptions): Schema {
  return {
    openapi: '3.1.0',
    info: {
      title: 'orgconnect admin API',
      version: '1',
      description: [
        'Manage applications, their client secrets, users\' authorized applications, and APIs (resource servers).',
        '',
        'Every operation but this document requires `Authorization: Bearer <admin token>`. Bodies are JSON (`application/json`, at most ' +
          `${BODY_LIMIT} bytes). Every response carries \`Cache-Control: no-store\`. Errors are \`{ "error": code, "error_description": text }\`; ` +
          'a method a path does not support gets 405 `method_not_allowed` with an `Allow` header; an unexpected failure 500 `server_error`, without details.',
        '',
        'Lists are paginated with a cursor: `?limit=&after=`, answered with `list_metadata.after` (null on the last page). A page never repeats or skips an item that existed when the listing began.',
      ].join('\n'),
    },
    servers: [{ url: issuer }],
    security: [{ adminToken: [] }],
    tags: [
      { name: 'applications', description: 'OAuth and M2M applications' },
      { name: 'client_secrets', description: 'Client secrets (rotation: create the new one, deploy it, revoke the old one)' },
      { name: 'users', description: "Users' authorized applications (remembered consents)" },
      { name: 'registration', description: 'Dynamic client registration (RFC 7591): initial access tokens' },
      { name: 'apis', description: 'APIs (resource servers): what clients request tokens for (RFC 8707), and their scopes' },
      { name: 'meta', description: 'This document' },
    ],
    paths: {
      '/admin/applications': {
        get: {
          operationId: 'listApplications',
          summary: 'List applications',
          description: 'Ordered by client_id; the cursor is a client_id. Seed applications are listed too.',
          tags: ['applications'],
          parameters: [
            parameter('Limit'),
            parameter('After'),
            { name: 'organization_id', in: 'query', description: 'Only the applications of this organization.', schema: { type: 'string' } },
          ],
          responses: { '200': ok('A page of applications.', 'ApplicationList'), ...common },
        },
        post: {
          operationId: 'createApplication',
          summary: 'Create an application',
          description: 'The client_id is generated, and so is the first secret of a confidential app: it is in the response, and never shown again.',
          tags: ['applications'],
          requestBody: { required: true, content: json(ref('CreateApplicationRequest')) },
          responses: { '201': ok('The application, with its first secret.', 'CreatedApplication'), ...common, ...withBody, '422': response('Unprocessable') },
        },
      },
      '/admin/applications/{client_id}': {
        get: {
          operationId: 'getApplication',
          summary: 'Get an application',
          tags: ['applications'],
          parameters: [parameter('ClientId')],
          responses: { '200': { ...ok('The application.', 'Application'), headers: { ETag: etagHeader } }, ...common, '404': response('NotFound') },
        },
        put: updateOperation('put'),
        patch: updateOperation('patch'),
        delete: {
          operationId: 'deleteApplication',
          summary: 'Delete an application',
          description:
            'Its tokens stop working at once: introspection answers inactive, refresh and client authentication fail. ' +
            'A deleted application stays deleted: no later update, secret or create with its client_id brings it back.',
          tags: ['applications'],
          parameters: [parameter('ClientId')],
          responses: { ...noContent('Deleted.'), ...common, '404': response('NotFound') },
        },
      },
      '/admin/applications/{client_id}/client_secrets': {
        get: {
          operationId: 'listClientSecrets',
          summary: "List an application's client secrets",
          description: 'Never the secrets themselves: their ids and hints. A public app has none. At most 5, in creation order, on one page.',
          tags: ['client_secrets'],
          parameters: [parameter('ClientId')],
          responses: { '200': ok('The secrets.', 'ClientSecretList'), ...common, '404': response('NotFound') },
        },
        post: {
          operationId: 'createClientSecret',
          summary: 'Create a client secret',
          description: 'The plaintext is in the response, and never shown again. Up to 5 secrets per application, all valid at once.',
          tags: ['client_secrets'],
          parameters: [parameter('ClientId')],
          requestBody: { required: false, content: json(ref('CreateClientSecretRequest')) },
          responses: {
            '201': ok('The secret, with its plaintext.', 'CreatedClientSecret'),
            ...common,
            '404': response('NotFound'),
            ...withBody,
            '422': response('Unprocessable'),
          },
        },
      },
      '/admin/applications/{client_id}/client_secrets/{secret_id}': {
        delete: {
          operationId: 'revokeClientSecret',
          summary: 'Revoke a client secret',
          description: 'At once, on every instance: the secret gets invalid_client at the token endpoint.',
          tags: ['client_secrets'],
          parameters: [parameter('ClientId'), parameter('SecretId')],
          responses: { ...noContent('Revoked.'), ...common, '404': response('NotFound') },
        },
      },
      '/admin/users/{user_id}/authorized_applications': {
        get: {
          operationId: 'listAuthorizedApplications',
          summary: "List a user's authorized applications",
          description: 'Third-party apps the user consented to, one entry per organization. Ordered by grant_id; the cursor is a grant_id.',
          tags: ['users'],
          parameters: [parameter('UserId'), parameter('Limit'), parameter('After')],
          responses: { '200': ok('A page of authorized applications.', 'AuthorizedApplicationList'), ...common, '404': response('NotFound') },
        },
      },
      '/admin/users/{user_id}/authorized_applications/{client_id}': {
        delete: {
          operationId: 'revokeAuthorizedApplication',
          summary: "Withdraw a user's consent to an application",
          description: "Ends the grants (for one organization, or all): the app's tokens for the user stop working and the next authorization asks again.",
          tags: ['users'],
          parameters: [
            parameter('UserId'),
            parameter('ClientId'),
            { name: 'organization_id', in: 'query', description: 'Only the consent given for this organization (default: all).', schema: { type: 'string' } },
          ],
          responses: { ...noContent('Withdrawn.'), ...common, '404': response('NotFound') },
        },
      },
      '/admin/initial_access_tokens': {
        post: {
          operationId: 'createInitialAccessToken',
          summary: 'Mint an initial access token for dynamic client registration',
          description:
            'With `registration.policy` "token", a client registers at /oauth2/register with `Authorization: Bearer <token>` (RFC 7591 section 3). ' +
            'A token minted for an organization makes the registered app owned by it. 404 while that policy is off.',
          tags: ['registration'],
          requestBody: { required: false, content: json(ref('CreateInitialAccessTokenRequest')) },
          responses: { '201': ok('The token: shown once.', 'InitialAccessToken'), ...common, '404': response('NotFound'), ...withBody, '422': response('Unprocessable') },
        },
      },
      '/admin/apis': {
        get: {
          operationId: 'listApis',
          summary: 'List APIs',
          description: 'Ordered by id; the cursor is an id. Configured APIs (seed, options) are listed too, marked `configured`.',
          tags: ['apis'],
          parameters: [parameter('Limit'), parameter('After')],
          responses: { '200': ok('A page of APIs.', 'ApiList'), ...common },
        },
        post: {
          operationId: 'createApi',
          summary: 'Create an API',
          description:
            'Takes effect at once on every instance: tokens may be requested with `resource=<identifier>`. The id is derived from the identifier. ' +
            'An identifier that is already an API is a 422; a deleted API\'s identifier may be used again.',
          tags: ['apis'],
          requestBody: { required: true, content: json(ref('CreateApiRequest')) },
          responses: { '201': ok('The API.', 'Api'), ...common, '409': response('Conflict'), ...withBody, '422': response('Unprocessable') },
        },
      },
      '/admin/apis/{id}': {
        get: {
          operationId: 'getApi',
          summary: 'Get an API',
          tags: ['apis'],
          parameters: [parameter('ApiId')],
          responses: { '200': { ...ok('The API.', 'Api'), headers: { ETag: etagHeader } }, ...common, '404': response('NotFound') },
        },
        patch: {
          operationId: 'updateApi',
          summary: 'Update an API',
          description:
            'A partial update: fields left out keep their value, `scopes` is replaced whole, `null` removes access_token_ttl; the identifier cannot change. ' +
            'Takes effect at once on every instance (tokens issued before keep their scopes until they expire). With `If-Match`, it applies only to that version. ' +
            'A configured API is read-only (422).',
          tags: ['apis'],
          parameters: [parameter('ApiId'), parameter('IfMatch')],
          requestBody: { required: true, content: json(ref('UpdateApiRequest')) },
          responses: {
            '200': { ...ok('The updated API.', 'Api'), headers: { ETag: etagHeader } },
            ...common,
            '404': response('NotFound'),
            '409': response('Conflict'),
            '412': response('PreconditionFailed'),
            ...withBody,
            '422': response('Unprocessable'),
          },
        },
        delete: {
          operationId: 'deleteApi',
          summary: 'Delete an API',
          description:
            'At once, on every instance: its identifier becomes an unknown resource (`invalid_target`); tokens issued before stay valid until they expire. ' +
            'No later update brings it back. A configured API cannot be deleted here (422).',
          tags: ['apis'],
          parameters: [parameter('ApiId')],
          responses: { ...noContent('Deleted.'), ...common, '404': response('NotFound'), '409': response('Conflict'), '422': response('Unprocessable') },
        },
      },
      '/admin/openapi.json': {
        get: {
          operationId: 'getOpenApiDocument',
          summary: 'This document',
          description: 'Needs no token.',
          tags: ['meta'],
          security: [],
          responses: { '200': { description: 'The OpenAPI 3.1 document.', content: json({ type: 'object' }) } },
        },
      },
    },
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'The admin token configured with `admin: { token }` (or --admin-token).' } },
      schemas,
      responses,
      parameters,
    },
  };
}
