import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import type { Runtime } from '../runtime.js';

/**
 * `extraTokenClaims`: `org_id` for the organization chosen for the grant (for client_credentials,
 * the app's own organization), and `sid`, the grant id, which also lets orgconnect find the grant
 * of a JWT access token again. A user who left the organization gets no new tokens for it.
 */
export function extraTokenClaims(runtime: Runtime) {
  return async function claims(ctx: KoaContextWithOIDC, token: { kind: string; grantId?: string; accountId?: string; clientId?: string }) {
    if (token.kind === 'ClientCredentials') {
      const organizationId = ctx.oidc.client?.['organization_id'];
      return typeof organizationId === 'string' ? { org_id: organizationId } : undefined;
    }
    if (!token.grantId) return undefined;
    const bound = await runtime.grantOrganizations.organizationOf(token.grantId);
    if (!bound.organizationId) return { sid: token.grantId };
    const memberships = await runtime.directory.listOrganizations(token.accountId!);
    if (!memberships.some((m) => m.id === bound.organizationId)) {
      throw new errors.InvalidGrant('the End-User is no longer a member of the organization this grant was made for');
    }
    return { org_id: bound.organizationId, sid: token.grantId };
  };
}
