import type { Context } from 'koa';

import { basePath, currentInteraction, finish, type InteractionDetails } from './context.js';
import { readForm } from './form.js';
import type { Membership } from '../directory.js';
import type { Runtime } from '../runtime.js';

export async function renderSelectOrganization(
  runtime: Runtime,
  ctx: Context,
  details: InteractionDetails,
  extra: { error?: string } = {},
): Promise<void> {
  const memberships: Membership[] = await runtime.directory.listOrganizations(String(details.session?.accountId));
  const client = await runtime.provider.Client.find(String(details.params.client_id));
  ctx.type = 'html';
  ctx.body = await runtime.views.render('select-organization', {
    title: 'Choose an organization',
    uid: details.uid,
    action: `${basePath(runtime)}/interaction/${details.uid}/organization`,
    abortUrl: `${basePath(runtime)}/interaction/${details.uid}/abort`,
    clientName: client?.clientName ?? String(details.params.client_id),
    organizations: memberships.map(({ id, name }) => ({ id, name })),
    error: extra.error,
  });
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
  await finish(runtime, ctx, { select_organization: { organization_id: organizationId } });
}
