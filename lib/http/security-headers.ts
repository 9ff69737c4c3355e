import type { Context } from 'koa';

import { INTERACTION_PATH } from './routes.js';

/**
 * Pages never run script of their own and never load anything from another origin except app
 * logos (any image source: an image cannot run script). oidc-provider adds the hash of its one
 * inline script (the form_post auto-submit) to `script-src` when this header is already set.
 * No `form-action`: browsers apply it to the redirect after a form post, which ends at the app.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  'img-src * data:',
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Headers on every response: pages cannot be framed (consent must not be clickjackable), are
 * not sniffed, leak no URL (interaction ids) in Referer; interaction pages are never cached;
 * HSTS when asked (production on https). Set before the response is built, so any handler may
 * still override one.
 */
export function setSecurityHeaders(ctx: Context, { hsts }: { hsts: boolean }): void {
  ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  if (hsts) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
  if (ctx.path.startsWith(`${INTERACTION_PATH}/`)) ctx.set('Cache-Control', 'no-store');
}
