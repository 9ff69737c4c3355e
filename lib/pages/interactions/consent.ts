import type { Context } from 'koa';
import { errors } from 'oidc-provider';

import { currentInteraction, finish, interactionUrls, signedInAccount, type InteractionDetails } from './context.js';
import { readForm } from './form.js';
import { describeConsent } from './scopes.js';
import { OIDC_SCOPES } from '../../apis/apis.js';
import { imageSrc, initials, tone } from '../brand.js';
import { unverifiedClientHost } from '../../oidc/client-id-metadata.js';
import { organizationChoice } from '../../accounts/organization-choice.js';
import type { Runtime } from '../../runtime.js';
import { renderPage } from '../views.js';

interface ConsentDetails {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

async function chosenOrganization(runtime: Runtime, details: InteractionDetails) {
  const choice = await organizationChoice(runtime.directory, String(details.session?.accountId), details.lastSubmission, details.params.organization_id);
  if (!choice.resolved) throw new errors.InvalidRequest('no organization was chosen');
  return choice.organization;
}

/**
 * Records the approval in a grant for (user, app, organization): the remembered one when it
 * exists, a new one otherwise (never one made for another organization), then resumes.
 */
export async function approve(runtime: Runtime, ctx: Context, details: InteractionDetails): Promise<void> {
  const { provider, grantOrganizations, options } = runtime;
  const accountId = String(details.session?.accountId);
  const clientId = String(details.params.client_id);
  const organizationId = (await chosenOrganization(runtime, details))?.id;

  let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  if (grant && (await grantOrganizations.organizationOf(grant.jti)).organizationId !== organizationId) grant = undefined;
  grant ??= new provider.Grant({ accountId, clientId });

  const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = details.prompt.details as ConsentDetails;
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
  if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));

  const grantId = await grant.save();
  await grantOrganizations.record(grantId, accountId, clientId, organizationId, options.ttl.grant);
  runtime.audit('consent.granted', { client_id: clientId, user_id: accountId, organization_id: organizationId, grant_id: grantId, ip: ctx.ip });
  await finish(runtime, ctx, details, { consent: { grantId } });
}

export async function renderConsent(runtime: Runtime, ctx: Context, details: InteractionDetails): Promise<void> {
  const client = await runtime.provider.Client.find(String(details.params.client_id));
  if (!client) throw new errors.InvalidClient('client not found');
  // First-party apps never show consent; they get here only through prompt=consent or a native app.
  if (client['is_first_party'] === true) return approve(runtime, ctx, details);

  const ownerId = client['organization_id'];
  const owner = typeof ownerId === 'string' ? await runtime.directory.findOrganization(ownerId) : undefined;
  const organization = await chosenOrganization(runtime, details);
  const redirectUri = String(details.params.redirect_uri ?? '');
  const urls = interactionUrls(runtime, details.uid);
  const name = client.clientName ?? client.clientId;
  // The APIs the tokens will be for: the requested resources, else the default audience.
  const resources = [details.params.resource ?? runtime.options.audience].flat().map(String);
  const apis = (await Promise.all(resources.map((resource) => runtime.apis.find(resource)))).filter((api) => api !== undefined);
  const statics = new Set([...OIDC_SCOPES, ...runtime.options.scopes]);
  const permissions = describeConsent(String(details.params.scope ?? ''), statics, apis);
  await renderPage(
    runtime,
    ctx,
    'consent',
    {
      title: `Authorize ${name}`,
      uid: details.uid,
      action: urls.consent,
      abortUrl: urls.abort,
      switchAccountUrl: urls.switchAccount,
      client: {
        id: client.clientId,
        name,
        logoUri: imageSrc(client.logoUri),
        logoUriDark: imageSrc(client['logo_uri_dark']),
        ownerName: owner?.name,
        // A client nobody vouched for (a metadata document, a self-registration): where it comes from.
        unverifiedHost: unverifiedClientHost(client as never),
        initials: initials(name),
        tone: tone(name),
      },
      organization: organization && { id: organization.id, name: organization.name, initials: initials(organization.name), tone: tone(organization.name) },
      account: await signedInAccount(runtime, details),
      scopes: permissions.scopes,
      apis: permissions.apis,
      redirectHost: redirectTarget(redirectUri),
    },
    { clientId: client.clientId },
  );
}

/** Where the user is sent back to, in a few characters: the host, or a native app's scheme. */
function redirectTarget(redirectUri: string): string {
  if (!URL.canParse(redirectUri)) return '';
  const { host, protocol } = new URL(redirectUri);
  return host || protocol.replace(/:$/, '');
}

/** POST decision=allow|deny. Deny sends the user back with error=access_denied. */
export async function submitConsent(runtime: Runtime, ctx: Context): Promise<void> {
  const details = await currentInteraction(runtime, ctx);
  const decision = (await readForm(ctx))('decision');
  if (details.prompt.name !== 'consent') throw new errors.InvalidRequest('this step is already complete');
  if (decision === 'allow') return approve(runtime, ctx, details);
  if (decision === 'deny') {
    runtime.audit('consent.denied', { client_id: String(details.params.client_id), user_id: details.session?.accountId, ip: ctx.ip });
    return finish(runtime, ctx, details, { error: 'access_denied', error_description: 'End-User denied the authorization request' });
  }
  throw new errors.InvalidRequest('decision must be allow or deny');
}
