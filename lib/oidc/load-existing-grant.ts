import type { Grant, KoaContextWithOIDC } from 'oidc-provider';

import { organizationChoice } from '../accounts/organization-choice.js';
import type { Runtime } from '../runtime.js';

/** Adds to a grant whatever this request asks that the grant does not hold yet; true if it changed. */
export function addRequested(ctx: KoaContextWithOIDC, grant: Grant): boolean {
  let changed = false;
  const encountered = new Set(grant.getOIDCScopeEncountered().split(' '));
  const missingScopes = [...ctx.oidc.requestParamOIDCScopes].filter((scope) => !encountered.has(scope));
  if (missingScopes.length) {
    grant.addOIDCScope(missingScopes.join(' '));
    changed = true;
  }
  const claims = new Set(grant.getOIDCClaimsEncountered());
  const missingClaims = [...ctx.oidc.requestParamClaims].filter((claim) => !claims.has(claim));
  if (missingClaims.length) {
    grant.addOIDCClaims(missingClaims);
    changed = true;
  }
  for (const [indicator, server] of Object.entries(ctx.oidc.resourceServers ?? {})) {
    const held = new Set(grant.getResourceScopeEncountered(indicator).split(' '));
    const missing = [...ctx.oidc.requestParamScopes].filter((scope) => server.scopes.has(scope) && !held.has(scope));
    if (missing.length) {
      grant.addResourceScope(indicator, missing.join(' '));
      changed = true;
    }
  }
  return changed;
}

/**
 * oidc-provider's `loadExistingGrant` hook. Grants are looked up by (user, app, organization),
 * not by browser session, so a consent is remembered across sessions and never reused for
 * another organization. First-party apps get their grant here, so the consent prompt never shows.
 */
export function loadExistingGrant(runtime: Runtime) {
  return async function loadGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
    const { provider, grantOrganizations, options } = runtime;
    const accountId = ctx.oidc.session!.accountId!;
    const client = ctx.oidc.client!;

    const choice = await organizationChoice(runtime.directory, accountId, ctx.oidc.result, ctx.oidc.params?.organization_id);
    // Not picked yet: an empty grant for now; the select_organization prompt runs before consent.
    if (!choice.resolved) return undefined;
    const organizationId = choice.organization?.id;

    const firstParty = client['is_first_party'] === true;
    const consentGrantId = (ctx.oidc.result?.consent as { grantId?: string } | undefined)?.grantId;
    // A first-party app's automatic grant is not a consent: a third-party app only finds what the
    // user approved on the consent page.
    // A client that vouched for itself (a metadata document, a self-registration) asks every time.
    const selfVouched = client['clientIdMetadataDocument'] === true || client['registered'] === true;
    const grantId =
      consentGrantId ??
      (firstParty
        ? await grantOrganizations.firstPartyGrant(accountId, client.clientId, organizationId)
        : selfVouched
          ? undefined
          : await grantOrganizations.rememberedGrant(accountId, client.clientId, organizationId));
    // The grant and its organization are read together (two round trips at once on Redis).
    let [grant, bound] = grantId ? await Promise.all([provider.Grant.find(grantId), grantOrganizations.organizationOf(grantId)]) : [];
    if (grant && (grant.accountId !== accountId || grant.clientId !== client.clientId)) grant = undefined;
    if (grant && (!bound?.found || bound.organizationId !== organizationId)) grant = undefined;

    if (firstParty) {
      const fresh = !grant;
      grant ??= new provider.Grant({ accountId, clientId: client.clientId });
      if (addRequested(ctx, grant) || fresh) {
        const id = await grant.save();
        if (fresh) await grantOrganizations.recordFirstParty(id, accountId, client.clientId, organizationId, options.ttl.grant);
      }
    }
    return grant;
  };
}
