import type { Context, Middleware, Next } from 'koa';

import type { Consents } from '../consents/consents.js';
import type { Directory } from '../accounts/directory.js';
import { OptionsError } from '../errors.js';
import type { ApiRegistry } from '../apis/registry.js';
import type { ApplicationRegistry } from '../apps/registry.js';
import { ApiAdmin } from './apis.js';
import { ApplicationAdmin } from './applications.js';
import { bearerAuth } from './auth.js';
import { AdminError, toAdminError } from './errors.js';
import { openApiDocument } from './openapi.js';
import { adminOptionSchema, type AdminOptions } from './options.js';
import { dispatch } from './router.js';
import { adminRoutes } from './routes.js';
import { RegistrationAdmin, type MintInitialAccessToken } from './registration.js';
import { UserAdmin } from './users.js';

export { AdminError } from './errors.js';
export type { ErrorBody } from './errors.js';
export { ApplicationAdmin } from './applications.js';
export { ApiAdmin } from './apis.js';
export { UserAdmin } from './users.js';
export { openApiDocument } from './openapi.js';
export { adminRoutes } from './routes.js';
export type { ListResponse, PageRequest } from './pagination.js';
export type * from './objects.js';
export { adminOptionSchema, type AdminOptions } from './options.js';

/** Where the admin API lives, relative to the issuer. */
export const ADMIN_PATH = '/admin';
export const OPENAPI_PATH = `${ADMIN_PATH}/openapi.json`;

export interface AdminApiOptions extends AdminOptions {
  /** The issuer: the server URL of the OpenAPI document. */
  issuer: string;
  applications: ApplicationRegistry;
  /** APIs (resource servers): `/admin/apis` answers 404 without them. */
  apis?: ApiRegistry;
  consents: Pick<Consents, 'list' | 'revoke'>;
  directory: Pick<Directory, 'findUser'>;
  /** Mints initial access tokens when dynamic registration uses the `token` policy. */
  initialAccessTokens?: MintInitialAccessToken;
  /** Whether an organization exists (for tokens tied to one). */
  organizationExists?: (id: string) => Promise<boolean>;
}

/**
 * The admin API as one Koa middleware: it answers every request under `/admin` and passes any
 * other on. JSON in and out, `Cache-Control: no-store` on every response, errors as
 * `{ error, error_description }` (never a stack trace), bearer token on everything but
 * `/admin/openapi.json`.
 */
export function adminApi(options: AdminApiOptions): Middleware {
  const parsed = adminOptionSchema.safeParse({ token: options.token });
  if (!parsed.success) throw new OptionsError(`invalid option admin.token: ${parsed.error.issues[0]!.message}`);
  const authorize = bearerAuth(parsed.data.token);
  const registration = new RegistrationAdmin(options.initialAccessTokens, options.organizationExists ?? (async () => true));
  const routes = adminRoutes(
    new ApplicationAdmin(options.applications),
    new UserAdmin(options.consents, options.directory),
    registration,
    options.apis && new ApiAdmin(options.apis),
  );
  const document = openApiDocument({ issuer: options.issuer });

  return async function admin(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== ADMIN_PATH && !ctx.path.startsWith(`${ADMIN_PATH}/`)) return next();
    ctx.set('Cache-Control', 'no-store');
    try {
      const path = ctx.path.slice(ADMIN_PATH.length).replace(/(.)\/$/, '$1');
      if (`${ADMIN_PATH}${path}` === OPENAPI_PATH) return serveDocument(ctx, document);
      authorize(ctx);
      await dispatch(routes, ctx, path);
    } catch (caught) {
      const { error, exposed } = toAdminError(caught);
      // Reported to the app's error listeners (a host's logger), never to the client.
      if (!exposed && ctx.app.listenerCount('error') > 0) ctx.app.emit('error', caught, ctx);
      ctx.status = error.status;
      ctx.set(error.headers);
      ctx.body = error.body;
    }
  };
}

function serveDocument(ctx: Context, document: object): void {
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
    throw new AdminError(405, 'method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}`, { Allow: 'GET, HEAD' });
  }
  ctx.body = document;
}
