import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { errors } from 'oidc-provider';

import { submitConsent, renderConsent } from './consent.js';
import { currentInteraction, finish, interactionUrls, isSwitchingAccount, SWITCH_ACCOUNT } from './context.js';
import { renderLogin, submitLogin } from './login.js';
import { renderSelectOrganization, submitOrganization } from './organization.js';
import { renderErrorPage } from '../../oidc/render-error.js';
import { INTERACTION_PATH } from '../../http/routes.js';
import type { Runtime } from '../../runtime.js';

/** GET shows the page for the prompt oidc-provider is waiting on. */
async function showPrompt(runtime: Runtime, ctx: Context): Promise<void> {
  const details = await currentInteraction(runtime, ctx);
  if (isSwitchingAccount(details)) return renderLogin(runtime, ctx, details);
  switch (details.prompt.name) {
    case 'login':
      return renderLogin(runtime, ctx, details);
    case 'select_organization':
      return renderSelectOrganization(runtime, ctx, details);
    case 'consent':
      return renderConsent(runtime, ctx, details);
    default:
      throw new errors.InvalidRequest(`unsupported prompt ${details.prompt.name}`);
  }
}

/** "Cancel": the user leaves; the app gets error=access_denied. */
async function abort(runtime: Runtime, ctx: Context): Promise<void> {
  const details = await currentInteraction(runtime, ctx);
  await finish(runtime, ctx, details, { error: 'access_denied', error_description: 'End-User aborted interaction' });
}

/**
 * "Use another account": marks the interaction so its page asks for credentials again, whatever
 * step it is at. Nothing is decided yet: the user may still sign in as the same account, or
 * cancel. oidc-provider ends the current session once another account signs in (see login.ts).
 */
async function switchAccount(runtime: Runtime, ctx: Context): Promise<void> {
  const details = await currentInteraction(runtime, ctx);
  if (details.session?.accountId) {
    details.result = { [SWITCH_ACCOUNT]: true };
    await details.save(details.exp - Math.floor(Date.now() / 1000));
  }
  ctx.status = 303;
  ctx.redirect(interactionUrls(runtime, details.uid).page);
}

/**
 * Interaction pages fail as pages: an expired or foreign interaction, a bad form, a directory
 * that throws. The user sees what happened in plain words; no stack trace, no echoed input.
 */
function pageErrors(runtime: Runtime) {
  return async function interactionErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (error) {
      await renderErrorPage(runtime, ctx, error);
    }
  };
}

async function notFoundPage(runtime: Runtime, ctx: Context): Promise<void> {
  ctx.status = 404;
  await renderErrorPage(runtime, ctx, Object.assign(new Error('not found'), { error: 'not_found', status: 404 }));
}

export function interactionRouter(runtime: Runtime): Router {
  const router = new Router({ prefix: INTERACTION_PATH });
  router.use(pageErrors(runtime));
  router.get('/:uid', (ctx) => showPrompt(runtime, ctx));
  router.post('/:uid/login', (ctx) => submitLogin(runtime, ctx));
  router.post('/:uid/organization', (ctx) => submitOrganization(runtime, ctx));
  router.post('/:uid/consent', (ctx) => submitConsent(runtime, ctx));
  router.post('/:uid/abort', (ctx) => abort(runtime, ctx));
  router.post('/:uid/switch-account', (ctx) => switchAccount(runtime, ctx));
  // Anything else under the interaction path (a made-up step, a method a page does not take) is a
  // page too, not the router's plain-text 404/405.
  router.all('/{*rest}', (ctx) => notFoundPage(runtime, ctx));
  return router;
}
