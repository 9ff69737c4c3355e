import type { Context, Next } from 'koa';

import type { Store } from '../store/store.js';

/**
 * `GET /health`: whether the store answers. 200 `{ status: "ok" }` or 503 `{ status: "unavailable" }`,
 * for load balancers and orchestrators; it reveals nothing else.
 */
export function health(store: Store) {
  return async function healthCheck(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== '/health' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.set('Cache-Control', 'no-store');
    try {
      await store.ping();
      ctx.body = { status: 'ok', store: store.kind };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', store: store.kind };
    }
  };
}
