import type Provider from 'oidc-provider';

import type { GrantOrganizations } from './organizations.js';
import type { ApplicationRegistry } from './registry.js';

/** An application a user has authorized (a remembered consent), as "Connected apps" lists it. */
export interface AuthorizedApplication {
  client_id: string;
  name: string;
  organization_id?: string;
  /** the scopes the user approved */
  scopes: string[];
  granted_at: string;
  grant_id: string;
}

/**
 * Ends a grant everywhere: its tokens (refresh tokens, codes; JWT access tokens then introspect
 * as inactive because their grant is gone) and the grant itself. The same steps oidc-provider
 * takes when it revokes a grant during a request.
 */
export async function revokeGrant(provider: Provider, grantId: string): Promise<void> {
  await Promise.all([
    provider.AccessToken.revokeByGrantId(grantId),
    provider.RefreshToken.revokeByGrantId(grantId),
    provider.AuthorizationCode.revokeByGrantId(grantId),
    provider.Grant.adapter.destroy(grantId),
  ]);
}

/** A user's authorized applications, and withdrawing them. */
export class Consents {
  constructor(
    readonly provider: Provider,
    readonly grants: GrantOrganizations,
    readonly applications: ApplicationRegistry,
  ) {}

  async list(userId: string): Promise<AuthorizedApplication[]> {
    const entries = await this.grants.consentsOf(userId);
    const listed = await Promise.all(
      entries.map(async (entry) => {
        const [grant, app] = await Promise.all([this.provider.Grant.find(entry.grant_id), this.applications.get(entry.client_id)]);
        if (!grant || !app || grant.accountId !== userId) return undefined;
        const scopes = new Set(grant.getOIDCScope().split(' ').filter(Boolean));
        for (const resource of Object.keys(grant.resources ?? {})) grant.getResourceScopeEncountered(resource).split(' ').filter(Boolean).forEach((s) => scopes.add(s));
        const item: AuthorizedApplication = { client_id: entry.client_id, name: app.name, scopes: [...scopes], granted_at: entry.granted_at, grant_id: entry.grant_id };
        if (entry.organization_id) item.organization_id = entry.organization_id;
        return item;
      }),
    );
    return listed.filter((item): item is AuthorizedApplication => item !== undefined);
  }

  /**
   * Withdraws the user's consent to an app (for one organization, or all): its grants end, so its
   * tokens stop working and the next authorization asks again. Returns how many were revoked.
   */
  async revoke(userId: string, clientId: string, organizationId?: string): Promise<number> {
    const entries = (await this.grants.consentsOf(userId)).filter(
      (e) => e.client_id === clientId && (organizationId === undefined || e.organization_id === organizationId),
    );
    for (const entry of entries) {
      await revokeGrant(this.provider, entry.grant_id);
      await this.grants.forget(userId, entry.client_id, entry.organization_id);
    }
    return entries.length;
  }
}
