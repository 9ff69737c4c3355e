import { createHmac, timingSafeEqual } from 'node:crypto';

import type { Context } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

import { revokeGrant } from '../consents/consents.js';
import type { Runtime } from '../runtime.js';

/** Where the host sends the browser to end the provider session (relative to the issuer). */
export const HOST_LOGOUT_PATH = '/session/end';
const LIFETIME_SECONDS = 300;

/** What `logoutUrl` takes. */
export interface LogoutUrlOptions {
  /** Where the browser goes afterwards: a path, or a URL on the issuer's origin. Default: the issuer's origin root. */
  returnTo?: string;
}

const sign = (runtime: Runtime, text: string) => createHmac('sha256', runtime.options.cookies.keys[0]!).update(`host-logout:${text}`).digest('base64url');

/** Only a path or the issuer's origin: the URL is the host's to build, but never an open redirect. */
function safeReturnTo(runtime: Runtime, returnTo: string | undefined): string {
  const origin = new URL(runtime.options.issuer).origin;
  if (!returnTo) return `${origin}/`;
  const target = new URL(returnTo, origin);
  if (target.origin !== origin) throw new TypeError('returnTo must be a path or a URL on the issuer\'s origin');
  return target.href;
}

/**
 * The URL that ends the browser's provider session, for the host's own logout: the provider's
 * session cookie lives under the issuer's path, so the host cannot end it from its own routes;
 * it redirects the browser here. Signed with the cookie keys and short-lived, so no other site
 * can sign a user out.
 */
export function logoutUrl(runtime: Runtime, options: LogoutUrlOptions = {}): string {
  const returnTo = safeReturnTo(runtime, options.returnTo);
  const exp = Math.floor(Date.now() / 1000) + LIFETIME_SECONDS;
  const url = new URL(`${runtime.options.issuer.replace(/\/$/, '')}${HOST_LOGOUT_PATH}`);
  url.searchParams.set('return_to', returnTo);
  url.searchParams.set('exp', String(exp));
  url.searchParams.set('sig', sign(runtime, `${exp}:${returnTo}`));
  return url.href;
}

function validSignature(runtime: Runtime, returnTo: string, exp: string, presented: string): boolean {
  if (!/^\d{1,12}$/.test(exp) || Number(exp) < Date.now() / 1000) return false;
  const expected = Buffer.from(sign(runtime, `${exp}:${returnTo}`));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * GET {issuer}/session/end: ends the provider session the way RP-initiated logout does
 * (oidc-provider's end_session confirm step): every app of the session with a
 * `backchannel_logout_uri` is told (OIDC Back-Channel Logout 1.0), grants that do not outlive the
 * session are revoked, the session is destroyed and its cookie cleared.
 */
export function hostLogout(runtime: Runtime) {
  return async function endSession(ctx: Context): Promise<void> {
    const { return_to: returnTo, exp, sig } = ctx.query;
    if (ctx.method !== 'GET' || typeof returnTo !== 'string' || typeof exp !== 'string' || typeof sig !== 'string' || !validSignature(runtime, returnTo, exp, sig)) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'this sign-out link is invalid or has expired' };
      return;
    }
    const { provider } = runtime;
    const session = await provider.Session.get(ctx as unknown as KoaContextWithOIDC);
    const { accountId } = session;
    if (accountId) {
      await Promise.all(
        Object.entries(session.authorizations ?? {}).map(async ([clientId, authorization]) => {
          // backchannelLogout(sub, sid) is the Client method oidc-provider's end_session calls; the
          // type definitions do not list it.
          const client = (await provider.Client.find(clientId)) as (Awaited<ReturnType<typeof provider.Client.find>> & { backchannelLogout(sub: string, sid: string): Promise<void> }) | undefined;
          const notify = client?.backchannelLogoutUri
            ? client.backchannelLogout(accountId, session.sidFor(clientId)!).then(
                () => provider.emit('backchannel.success', ctx, client, accountId, session.sidFor(clientId)),
                (error: unknown) => provider.emit('backchannel.error', ctx, error, client, accountId, session.sidFor(clientId)),
              )
            : undefined;
          const grantId = (authorization as { grantId?: string }).grantId;
          const revoke = grantId && !session.authorizationFor(clientId)?.persistsLogout ? revokeGrant(provider, grantId) : undefined;
          await Promise.all([notify, revoke]);
        }),
      );
      runtime.audit('session.ended', { user_id: accountId, ip: ctx.ip, reason: 'host logout' });
    }
    await session.destroy();
    const { cookies } = runtime.options;
    const path = new URL(runtime.options.issuer).pathname.replace(/\/$/, '') || '/';
    ctx.cookies.set(`${cookies.prefix}session`, null, { path, httpOnly: true, sameSite: 'lax' });
    ctx.status = 303;
    ctx.redirect(returnTo);
  };
}
