import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Context, Next } from 'koa';
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

import { asHost } from '../http/own-context.js';
import { INTERACTION_PATH } from '../http/routes.js';
import type { Runtime } from '../runtime.js';

/**
 * The `currentUser` option: who is signed in to the host application for this request (its own
 * session cookie, a header set by its auth middleware...), as a user id, or undefined.
 * `ctx` is the Koa context: the host's own for a Koa host (`ctx.session`, `ctx.state` work as
 * in its middleware), orgconnect's for an Express or plain Node host.
 */
export type CurrentUser = (req: IncomingMessage, res: ServerResponse, ctx: Context) => string | undefined | Promise<string | undefined>;

/**
 * The `amr` of a provider session the host's user started: such a session lasts only as long as
 * the host says that user is signed in.
 */
export const HOST_AMR = 'host';

const LOGIN_PAGE = new RegExp(`^${INTERACTION_PATH}/([A-Za-z0-9_-]+)$`);
const { Check } = interactionPolicy;

/** Reasons the login prompt gives when the host's user and the provider session disagree. */
export const HOST_USER_CHANGED = 'host_user_changed';
export const HOST_SIGNED_OUT = 'host_signed_out';

const askedThisRequest = new WeakMap<object, Promise<string | undefined>>();

/**
 * The host's user for this request, asked once (as the host: its cookies, its app) however many
 * checks need it: the checks of a prompt run concurrently, and the host's context must not be
 * entered twice at once.
 */
export function hostUser(currentUser: CurrentUser, ctx: Context): Promise<string | undefined> {
  let asked = askedThisRequest.get(ctx.req);
  if (!asked) {
    asked = asHost(ctx, async () => (await currentUser(ctx.req, ctx.res, ctx)) || undefined);
    askedThisRequest.set(ctx.req, asked);
  }
  return asked;
}

/**
 * A check of the login prompt, run on every authorization: with `currentUser`, the provider
 * session must belong to the host's user. Another user signed in to the host: log in again (as
 * that user, without a form). Nobody signed in to the host: a session the host started has no
 * authority any more (the login form is shown; prompt=none answers login_required). A session
 * started with the login form is the provider's own and is kept.
 */
export function hostSessionChecks(runtime: Runtime) {
  const check = (reason: string, description: string, mismatch: (hostUserId: string | undefined, ctx: KoaContextWithOIDC) => boolean) =>
    new Check(reason, description, 'login_required', async (ctx: KoaContextWithOIDC) => {
      const { currentUser } = runtime;
      const accountId = ctx.oidc.session?.accountId;
      if (!currentUser || !accountId) return Check.NO_NEED_TO_PROMPT;
      return mismatch(await hostUser(currentUser, ctx), ctx) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
    });
  return [
    check(HOST_USER_CHANGED, "another user is signed in to the host application", (hostUserId, ctx) => hostUserId !== undefined && hostUserId !== ctx.oidc.session!.accountId),
    check(HOST_SIGNED_OUT, 'nobody is signed in to the host application any more', (hostUserId, ctx) => hostUserId === undefined && (ctx.oidc.session!.amr ?? []).includes(HOST_AMR)),
  ];
}

/**
 * Users already signed in to the host app see no login form: when oidc-provider asks for a login
 * only because there is no provider session, or because the host's user is not the session's,
 * the host's user is signed in directly (oidc-provider then ends the old session). Anything else
 * (prompt=login, max_age...) falls through to the login page.
 */
export function hostSessionLogin(runtime: Runtime, currentUser: CurrentUser | undefined) {
  return async function loginFromHostSession(ctx: Context, next: Next): Promise<void> {
    const match = ctx.method === 'GET' ? LOGIN_PAGE.exec(ctx.path) : null;
    if (!currentUser || !match) return next();
    const details = await runtime.provider.interactionDetails(ctx.req, ctx.res).catch(() => undefined);
    if (!details || details.uid !== match[1] || details.prompt.name !== 'login') return next();
    if (details.prompt.reasons.some((reason) => reason !== 'no_session' && reason !== HOST_USER_CHANGED)) return next();

    const userId = await hostUser(currentUser, ctx);
    const user = userId ? await runtime.directory.findUser(userId) : undefined;
    if (!user) return next();
    // Not merged with earlier choices when the account changes: nothing the previous user chose carries over.
    details.result = { login: { accountId: user.id, amr: [HOST_AMR] } };
    await details.save(details.exp - Math.floor(Date.now() / 1000));
    ctx.status = 303;
    ctx.redirect(onIssuer(runtime, details.returnTo));
  };
}

/**
 * A URL oidc-provider built from the request (its Host header) moved onto the configured issuer's
 * origin: behind a proxy that rewrites Host, or on a port other than the issuer's, the browser
 * stays on the address the provider is known by.
 */
export function onIssuer(runtime: Runtime, url: string): string {
  const target = new URL(url, runtime.options.issuer);
  const issuer = new URL(runtime.options.issuer);
  target.protocol = issuer.protocol;
  target.host = issuer.host;
  return target.href;
}
