import type { Context } from 'koa';

import { basePath, currentInteraction, finish, type InteractionDetails } from './context.js';
import { readForm } from './form.js';
import type { Runtime } from '../runtime.js';

async function clientName(runtime: Runtime, details: InteractionDetails): Promise<string> {
  const client = await runtime.provider.Client.find(String(details.params.client_id));
  return client?.clientName ?? String(details.params.client_id);
}

export async function renderLogin(
  runtime: Runtime,
  ctx: Context,
  details: InteractionDetails,
  extra: { error?: string; email?: string } = {},
): Promise<void> {
  ctx.type = 'html';
  ctx.body = await runtime.views.render('login', {
    title: 'Sign in',
    uid: details.uid,
    action: `${basePath(runtime)}/interaction/${details.uid}/login`,
    abortUrl: `${basePath(runtime)}/interaction/${details.uid}/abort`,
    clientName: await clientName(runtime, details),
    email: extra.email ?? (typeof details.params.login_hint === 'string' ? details.params.login_hint : ''),
    error: extra.error,
  });
}

/** POST email + password: the directory decides; a failure says the same whatever was wrong. */
export async function submitLogin(runtime: Runtime, ctx: Context): Promise<void> {
  const details = await currentInteraction(runtime, ctx);
  const field = await readForm(ctx);
  const email = field('email')?.trim() ?? '';
  const password = field('password') ?? '';
  if (details.prompt.name !== 'login') {
    ctx.status = 400;
    return renderLogin(runtime, ctx, details, { error: 'This sign-in step is already complete.' });
  }
  const user = email && password ? await runtime.directory.authenticate(email, password) : undefined;
  if (!user) {
    ctx.status = 401;
    return renderLogin(runtime, ctx, details, { error: 'Incorrect email or password.', email });
  }
  await finish(runtime, ctx, { login: { accountId: user.id } });
}
