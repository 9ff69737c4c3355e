import type { Context } from 'koa';
import { errors } from 'oidc-provider';

import { initials, tone } from '../brand.js';
import { INTERACTION_PATH } from '../../http/routes.js';
import { onIssuer } from '../../accounts/host-session.js';
import type { Runtime } from '../../runtime.js';

export type InteractionDetails = Awaited<ReturnType<Runtime['provider']['interactionDetails']>>;

/**
 * The interaction this request belongs to. oidc-provider finds it by its cookie (scoped to the
 * interaction's own path, and gone once it expires); the uid in the URL must name the same one,
 * so a form posted for another interaction, or after this one ended, is refused.
 */
export async function currentInteraction(runtime: Runtime, ctx: Context): Promise<InteractionDetails> {
  const details = await runtime.provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== ctx.params.uid) {
    throw new errors.SessionNotFound('this page belongs to another sign-in attempt');
  }
  return details;
}

/**
 * Ends the interaction with a result and sends the browser back to oidc-provider. The result is
 * merged with what the user submitted in earlier steps unless `merge` is false (a new account:
 * nothing the previous one chose may carry over).
 * What `provider.interactionResult` does, on the interaction this request already loaded (and
 * checked against the session): the documented alternative, which spares the store a second read
 * of the interaction and its session.
 */
export async function finish(runtime: Runtime, ctx: Context, details: InteractionDetails, result: Record<string, unknown>, { merge = true } = {}): Promise<void> {
  details.result = merge && !('error' in result) ? { ...details.lastSubmission, ...result } : result;
  await details.save(details.exp - Math.floor(Date.now() / 1000));
  ctx.status = 303;
  ctx.redirect(onIssuer(runtime, details.returnTo));
}

/** The issuer's path, for absolute links in the views when orgconnect is mounted under a prefix. */
export function basePath(runtime: Runtime): string {
  return new URL(runtime.options.issuer).pathname.replace(/\/$/, '');
}

/** Where an interaction's page and forms live. */
export function interactionUrls(runtime: Runtime, uid: string) {
  const page = `${basePath(runtime)}${INTERACTION_PATH}/${uid}`;
  return {
    page,
    login: `${page}/login`,
    organization: `${page}/organization`,
    consent: `${page}/consent`,
    abort: `${page}/abort`,
    switchAccount: `${page}/switch-account`,
  };
}

/**
 * Set on the interaction by "Use another account": its page shows the login form again until a
 * user signs in, whatever prompt oidc-provider is waiting on.
 */
export const SWITCH_ACCOUNT = 'switch_account';

export function isSwitchingAccount(details: InteractionDetails): boolean {
  return (details.result as Record<string, unknown> | undefined)?.[SWITCH_ACCOUNT] === true;
}

/** The client the interaction is for (validated by oidc-provider when the interaction started). */
export async function interactionClient(runtime: Runtime, details: InteractionDetails) {
  const clientId = String(details.params.client_id);
  const client = await runtime.provider.Client.find(clientId);
  return { clientId, client, clientName: client?.clientName ?? clientId };
}

/** Who is signed in, as the pages name them ("Signed in as ..."). */
export async function signedInAccount(
  runtime: Runtime,
  details: InteractionDetails,
): Promise<{ email?: string; name?: string; initials: string; tone: string } | undefined> {
  const accountId = details.session?.accountId;
  if (!accountId) return undefined;
  const user = await runtime.directory.findUser(accountId);
  if (!user) return undefined;
  const label = user.name ?? user.email ?? user.id;
  return { email: user.email, name: user.name, initials: initials(label), tone: tone(label) };
}
