import type { Context } from 'koa';
import { errors } from 'oidc-provider';

import type { Runtime } from '../runtime.js';

export type InteractionDetails = Awaited<ReturnType<Runtime['provider']['interactionDetails']>>;

/**
 * The interaction this request belongs to. oidc-provider finds it by its cookie; the uid in the
 * URL must name the same one, so a form posted for another (older) interaction is refused.
 */
export async function currentInteraction(runtime: Runtime, ctx: Context): Promise<InteractionDetails> {
  const details = await runtime.provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== ctx.params.uid) {
    throw new errors.SessionNotFound('this page belongs to another sign-in attempt');
  }
  return details;
}

/** Ends the interaction with a result and sends the browser back to oidc-provider. */
export async function finish(runtime: Runtime, ctx: Context, result: Record<string, unknown>): Promise<void> {
  const returnTo = await runtime.provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
  ctx.status = 303;
  ctx.redirect(returnTo);
}

/** The issuer's path, for absolute links in the views when orgconnect is mounted under a prefix. */
export function basePath(runtime: Runtime): string {
  return new URL(runtime.options.issuer).pathname.replace(/\/$/, '');
}
