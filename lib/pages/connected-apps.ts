import { createHmac, timingSafeEqual } from 'node:crypto';

import Router from '@koa/router';
import type { Context } from 'koa';

import { readForm } from './interactions/form.js';
import type { Runtime } from '../runtime.js';
import { renderPage } from './views.js';

export const CONNECTED_APPS_PATH = '/account/connected-apps';

/** A per-session token for the remove forms (the session cookie is SameSite=Lax too). */
function csrfToken(runtime: Runtime, sessionId: string): string {
  return createHmac('sha256', runtime.options.cookies.keys[0]!).update(`connected-apps:${sessionId}`).digest('base64url');
}

async function signedInUser(runtime: Runtime, ctx: Context) {
  const session = await runtime.provider.Session.get(ctx as never);
  return session.accountId ? { accountId: session.accountId, sessionId: session.jti } : undefined;
}

async function show(runtime: Runtime, ctx: Context): Promise<void> {
  const user = await signedInUser(runtime, ctx);
  const base = new URL(runtime.options.issuer).pathname.replace(/\/$/, '');
  const apps = user ? await runtime.consents.list(user.accountId) : [];
  const organizations = new Map<string, string | undefined>();
  for (const app of apps) {
    if (app.organization_id && !organizations.has(app.organization_id)) {
      organizations.set(app.organization_id, (await runtime.directory.findOrganization(app.organization_id))?.name);
    }
  }
  await renderPage(runtime, ctx, 'connected-apps', {
    title: 'Connected apps',
    signedIn: user !== undefined,
    action: `${base}${CONNECTED_APPS_PATH}/remove`,
    csrf: user ? csrfToken(runtime, user.sessionId) : '',
    apps: apps.map((app) => ({
      clientId: app.client_id,
      name: app.name,
      organizationId: app.organization_id,
      organizationName: app.organization_id ? (organizations.get(app.organization_id) ?? app.organization_id) : undefined,
      scopes: app.scopes,
      grantedAt: app.granted_at.slice(0, 10),
    })),
  });
}

async function remove(runtime: Runtime, ctx: Context): Promise<void> {
  const user = await signedInUser(runtime, ctx);
  const field = await readForm(ctx);
  const presented = Buffer.from(field('csrf') ?? '');
  const expected = Buffer.from(user ? csrfToken(runtime, user.sessionId) : '');
  const clientId = field('client_id');
  if (!user || !clientId || presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    ctx.status = 403;
    return renderPage(runtime, ctx, 'error', { title: 'Not allowed', message: 'This page has expired. Reload it and try again.', code: 'access_denied' });
  }
  await runtime.consents.revoke(user.accountId, clientId, field('organization_id') || undefined);
  ctx.status = 303;
  ctx.redirect(`${new URL(runtime.options.issuer).pathname.replace(/\/$/, '')}${CONNECTED_APPS_PATH}`);
}

/**
 * "Connected apps": the signed-in user's authorized applications, each removable (the consent is
 * withdrawn: its tokens end and the app asks again next time).
 */
export function connectedAppsRouter(runtime: Runtime): Router {
  const router = new Router({ prefix: CONNECTED_APPS_PATH });
  router.get('/', (ctx) => show(runtime, ctx));
  router.post('/remove', (ctx) => remove(runtime, ctx));
  return router;
}
