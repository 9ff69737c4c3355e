import type { Context } from 'koa';

import { currentInteraction, finish, interactionClient, interactionUrls, signedInAccount, type InteractionDetails } from './context.js';
import { readForm } from './form.js';
import { initials, tone } from '../brand.js';
import type { Membership } from '../../accounts/directory.js';
import type { Runtime } from '../../runtime.js';
import { renderPage } from '../views.js';

export async function renderSelectOrganization(
  runtime: Runtime,
  ctx: Context,
  details: InteractionDetails,
  extra: { error?: string } = {},
): Promise<void> {
  const memberships: Membership[] = await runtime.directory.listOrganizations(String(details.session?.accountId));
  const { clientId, clientName } = await interactionClient(runtime, details);
  const urls = interactionUrls(runtime, details.uid);
  await renderPage(
    runtime,
    ctx,
    'select-organization',
    {
      title: 'Choose an organization',
      uid: details.uid,
      action: urls.organization,
      abortUrl: urls.abort,
      switchAccountUrl: urls.switchAccount,
      clientName,
      account: await signedInAccount(runtime, details),
      // Listed in the directory's order; nothing is preselected: each one is its own submit button.
      organizations: memberships.map(({ id, name, role }) => ({ id, name, role, initials: initials(name), tone: tone(name) })),
      error: extra.error,
    },
    { clientId },
  );
}

/** POST organization_id: accepted only if the directory lists the user as a member. */
export async function submitOrganization(runtime: Runtime, ctx: Context): Promise<void> {
  const details = await currentInteraction(runtime, ctx);
  const organizationId = (await readForm(ctx))('organization_id');
  const accountId = details.session?.accountId;
  const memberships = accountId ? await runtime.directory.listOrganizations(accountId) : [];
  if (details.prompt.name !== 'select_organization' || !organizationId || !memberships.some((m) => m.id === organizationId)) {
    ctx.status = 400;
    return renderSelectOrganization(runtime, ctx, details, { error: 'Choose one of your organizations.' });
  }
  runtime.audit('organization.chosen', { client_id: String(details.params.client_id), user_id: accountId, organization_id: organizationId, ip: ctx.ip });
  await finish(runtime, ctx, details, { select_organization: { organization_id: organizationId } });
}
