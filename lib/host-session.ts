import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Context, Next } from 'koa';

import { INTERACTION_PATH } from './routes.js';
import type { Runtime } from './runtime.js';

/**
 * The `currentUser` option: who is signed in to the host application for this request (its own
 * session cookie, a header set by its auth middleware...), as a user id, or undefined.
 */
export type CurrentUser = (req: IncomingMessage, res: ServerResponse) => string | undefined | Promise<string | undefined>;

const LOGIN_PAGE = new RegExp(`^${INTERACTION_PATH}/([A-Za-z0-9_-]+)$`);

/**
 * Users already signed in to the host app see no login form: when oidc-provider asks for a login
 * only because there is no provider session (not for prompt=login, max_age or a changed account),
 * the host's user is signed in directly. Anything unexpected falls through to the login page.
 */
export function hostSessionLogin(runtime: Runtime, currentUser: CurrentUser | undefined) {
  return async function loginFromHostSession(ctx: Context, next: Next): Promise<void> {
    const match = ctx.method === 'GET' ? LOGIN_PAGE.exec(ctx.path) : null;
    if (!currentUser || !match) return next();
    const details = await runtime.provider.interactionDetails(ctx.req, ctx.res).catch(() => undefined);
    if (!details || details.uid !== match[1] || details.prompt.name !== 'login') return next();
    if (details.prompt.reasons.some((reason) => reason !== 'no_session')) return next();

    const userId = await currentUser(ctx.req, ctx.res);
    const user = userId ? await runtime.directory.findUser(userId) : undefined;
    if (!user) return next();
    const returnTo = await runtime.provider.interactionResult(ctx.req, ctx.res, { login: { accountId: user.id } }, { mergeWithLastSubmission: true });
    ctx.status = 303;
    ctx.redirect(returnTo);
  };
}
