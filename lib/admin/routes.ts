import type { ApiAdmin } from './apis.js';
import type { ApplicationAdmin } from './applications.js';
import { AdminError, notFound } from './errors.js';
import type { RegistrationAdmin } from './registration.js';
import { parsePage } from './pagination.js';
import type { Route } from './router.js';
import type { UserAdmin } from './users.js';
import { readJsonBody, readQuery } from './validation.js';

const PAGE = ['limit', 'after'] as const;

/**
 * The admin API's routes, relative to `/admin`. The same templates are the paths of the
 * OpenAPI document (openapi.ts); a test checks that both list the same operations.
 */
export function adminRoutes(apps: ApplicationAdmin, users: UserAdmin, registration?: RegistrationAdmin, apis?: ApiAdmin): Route[] {
  const apiAdmin = (): ApiAdmin => {
    if (!apis) throw notFound('this admin API manages no APIs (adminApi was given no apis)');
    return apis;
  };
  return [
    {
      path: '/initial_access_tokens',
      methods: {
        async POST(ctx) {
          readQuery(ctx, []);
          const body = await readJsonBody(ctx, { required: false });
          if (!registration) throw new AdminError(404, 'not_found', 'dynamic client registration with initial access tokens is off');
          ctx.body = await registration.createInitialAccessToken(body);
          ctx.status = 201;
        },
      },
    },
    {
      path: '/applications',
      methods: {
        async GET(ctx) {
          const query = readQuery(ctx, [...PAGE, 'organization_id']);
          ctx.body = await apps.list(parsePage(query.limit, query.after), { organization_id: query.organization_id });
        },
        async POST(ctx) {
          readQuery(ctx, []);
          const body = await readJsonBody(ctx, { required: true });
          ctx.body = await apps.create(body);
          ctx.status = 201;
        },
      },
    },
    {
      path: '/applications/{client_id}',
      methods: {
        async GET(ctx, { client_id }) {
          readQuery(ctx, []);
          const { object, version } = await apps.getVersioned(client_id!);
          ctx.set('ETag', etag(version));
          ctx.body = object;
        },
        PUT: update,
        PATCH: update,
        async DELETE(ctx, { client_id }) {
          readQuery(ctx, []);
          await apps.delete(client_id!);
          ctx.status = 204;
        },
      },
    },
    {
      path: '/applications/{client_id}/client_secrets',
      methods: {
        async GET(ctx, { client_id }) {
          readQuery(ctx, []);
          ctx.body = await apps.listSecrets(client_id!);
        },
        async POST(ctx, { client_id }) {
          readQuery(ctx, []);
          const body = await readJsonBody(ctx, { required: false });
          ctx.body = await apps.createSecret(client_id!, body);
          ctx.status = 201;
        },
      },
    },
    {
      path: '/applications/{client_id}/client_secrets/{secret_id}',
      methods: {
        async DELETE(ctx, { client_id, secret_id }) {
          readQuery(ctx, []);
          await apps.revokeSecret(client_id!, secret_id!);
          ctx.status = 204;
        },
      },
    },
    {
      path: '/apis',
      methods: {
        async GET(ctx) {
          const query = readQuery(ctx, PAGE);
          ctx.body = await apiAdmin().list(parsePage(query.limit, query.after));
        },
        async POST(ctx) {
          readQuery(ctx, []);
          const body = await readJsonBody(ctx, { required: true });
          ctx.body = await apiAdmin().create(body);
          ctx.status = 201;
        },
      },
    },
    {
      path: '/apis/{id}',
      methods: {
        async GET(ctx, { id }) {
          readQuery(ctx, []);
          const { object, version } = await apiAdmin().getVersioned(id!);
          ctx.set('ETag', etag(version));
          ctx.body = object;
        },
        async PATCH(ctx, { id }) {
          readQuery(ctx, []);
          const body = await readJsonBody(ctx, { required: true });
          const { object, version } = await apiAdmin().updateVersioned(id!, body, ifMatch(ctx.get('If-Match'), 'API'));
          ctx.set('ETag', etag(version));
          ctx.body = object;
        },
        async DELETE(ctx, { id }) {
          readQuery(ctx, []);
          await apiAdmin().delete(id!);
          ctx.status = 204;
        },
      },
    },
    {
      path: '/users/{user_id}/authorized_applications',
      methods: {
        async GET(ctx, { user_id }) {
          const query = readQuery(ctx, PAGE);
          ctx.body = await users.listAuthorized(user_id!, parsePage(query.limit, query.after));
        },
      },
    },
    {
      path: '/users/{user_id}/authorized_applications/{client_id}',
      methods: {
        async DELETE(ctx, { user_id, client_id }) {
          const query = readQuery(ctx, ['organization_id']);
          await users.revokeAuthorized(user_id!, client_id!, query.organization_id);
          ctx.status = 204;
        },
      },
    },
  ];

  async function update(ctx: Parameters<NonNullable<Route['methods']['PUT']>>[0], { client_id }: Record<string, string>) {
    readQuery(ctx, []);
    const body = await readJsonBody(ctx, { required: true });
    const { object, version } = await apps.updateVersioned(client_id!, body, ifMatch(ctx.get('If-Match')));
    ctx.set('ETag', etag(version));
    ctx.body = object;
  }
}

/** An application's (or API's) version as an entity tag (RFC 9110 section 8.8.3). */
const etag = (version: number) => `"${version}"`;

/**
 * The version an `If-Match` header asks for: undefined when absent or `*` (the application
 * exists: checked anyway). A tag that is not one of ours can never match: 412.
 */
function ifMatch(header: string, what = 'application'): number | undefined {
  const value = header.trim();
  if (value === '' || value === '*') return undefined;
  const match = /^"(\d{1,15})"$/.exec(value); // strong comparison only (RFC 9110 section 13.1.1)
  if (!match) throw new AdminError(412, 'precondition_failed', `If-Match does not name a version of this ${what}`);
  return Number(match[1]);
}
