import type { Context, Next } from 'koa';

import { ROUTES } from '../../http/routes.js';

/*
 * Patches oidc-provider's answer at the token and device authorization endpoints
 * (lib/actions/token.js, device_authorization.js throw InvalidRequest when the client may not use
 * the grant type). RFC 6749 section 5.2 and RFC 8628 section 3.2 name that error
 * `unauthorized_client`; no hook lets the configuration choose the error, so the answer is
 * renamed after the fact: an `invalid_request` for an authenticated client whose metadata does not
 * allow the grant type it asked for. Nothing is matched by its English description.
 */

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

export async function unauthorizedClientError(ctx: Context, next: Next): Promise<void> {
  await next();
  const device = ctx.path === ROUTES.device_authorization;
  if ((ctx.path !== ROUTES.token && !device) || ctx.status !== 400) return;
  const body = ctx.body as { error?: string } | undefined;
  const oidc = (ctx as { oidc?: { client?: { grantTypeAllowed(type: string): boolean }; params?: { grant_type?: unknown } } }).oidc;
  const grantType = device ? DEVICE_CODE : oidc?.params?.grant_type;
  if (body?.error === 'invalid_request' && oidc?.client && typeof grantType === 'string' && !oidc.client.grantTypeAllowed(grantType)) {
    body.error = 'unauthorized_client';
  }
}
