import type { Context } from 'koa';

import { currentInteraction, finish, interactionClient, interactionUrls, isSwitchingAccount, type InteractionDetails } from './context.js';
import { readForm } from './form.js';
import type { Runtime } from '../../runtime.js';
import { renderPage } from '../views.js';

export async function renderLogin(
  runtime: Runtime,
  ctx: Context,
  details: InteractionDetails,
  extra: { error?: string; email?: string } = {},
): Promise<void> {
  const { clientId, clientName } = await interactionClient(runtime, details);
  const urls = interactionUrls(runtime, details.uid);
  const switching = isSwitchingAccount(details);
  const hint = !switching && typeof details.params.login_hint === 'string' ? details.params.login_hint : '';
  await renderPage(
    runtime,
    ctx,
    'login',
    {
      title: 'Sign in',
      uid: details.uid,
      action: urls.login,
      abortUrl: urls.abort,
      clientName,
      email: extra.email ?? hint,
      error: extra.error,
      switching,
    },
    { clientId },
  );
}

/** POST email + password: the directory decides; a failure says the same whatever was wrong. */
export async function submitLogin(runtime: Runtime, ctx: Context): Promise<void> {
  const details = await currentInteraction(runtime, ctx);
  const field = await readForm(ctx);
  const email = field('email')?.trim() ?? '';
  const password = field('password') ?? '';
  const switching = isSwitchingAccount(details);
  if (details.prompt.name !== 'login' && !switching) {
    ctx.status = 400;
    return renderLogin(runtime, ctx, details, { error: 'This sign-in step is already complete.' });
  }
  const clientId = String(details.params.client_id);
  // Brute-force limits: a place is taken before the password is checked (so parallel attempts
  // cannot pass the limit), the same way whether the account exists or not.
  const attempt = await runtime.loginThrottle?.begin(email, ctx.ip);
  if (attempt && !attempt.allowed) {
    runtime.audit('login.throttled', { client_id: clientId, ip: ctx.ip, reason: 'too many failed logins' });
    ctx.status = 429;
    ctx.set('Retry-After', '60');
    return renderLogin(runtime, ctx, details, { error: 'Too many attempts. Wait a few minutes, then try again.', email });
  }
  const user = email && password ? await runtime.directory.authenticate(email, password) : undefined;
  if (!user) {
    if (attempt) await runtime.loginThrottle?.failed(attempt);
    runtime.audit('login.failed', { client_id: clientId, ip: ctx.ip, reason: 'invalid credentials' });
    ctx.status = 401;
    return renderLogin(runtime, ctx, details, { error: 'Incorrect email or password.', email });
  }
  if (attempt) await runtime.loginThrottle?.succeeded(attempt);
  runtime.audit('login.succeeded', { client_id: clientId, user_id: user.id, ip: ctx.ip });
  // After "Use another account" nothing chosen for the previous account carries over. When the
  // account differs from the session's, oidc-provider ends that session first (resume.js).
  await finish(runtime, ctx, details, { login: { accountId: user.id } }, { merge: !switching });
}
