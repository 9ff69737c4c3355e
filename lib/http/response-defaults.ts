import type { Context, Next } from 'koa';

import { setSecurityHeaders } from './security-headers.js';

/**
 * What every response gets: the security headers first; after the handlers, a `Retry-After` on a
 * 503 from a store outage, and a JSON error like every other refusal for unknown paths and
 * methods instead of Koa's plain text 404. One layer for the three (see dispatch.ts).
 */
export function responseDefaults(options: { hsts: boolean }) {
  return async function defaults(ctx: Context, next: Next): Promise<void> {
    setSecurityHeaders(ctx, options);
    await next();
    if (ctx.status === 503) ctx.set('Retry-After', '1');
    else if (ctx.status === 404 && ctx.body === undefined) {
      ctx.status = 404;
      ctx.body = { error: 'not_found', error_description: 'no such endpoint' };
    }
  };
}
