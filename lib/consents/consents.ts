import type Provider from 'oidc-provider';

import type { Directory } from '../accounts/directory.js';
import type { ConsentEntry, GrantOrganizations } from './grant-records.js';
import type { ApplicationRegistry } from '../apps/registry.js';

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
    /** To find the remembered consent of each organization the user belongs to. */
    readonly directory?: Pick<Directory, 'listOrganizations'>,
  ) {}

  /** One item per app and organization (the newest grant, should a race have made two). */
  async list(userId: string): Promise<AuthorizedApplication[]> {
    const entries = await this.grants.consentsOf(userId);
    const ended: string[] = [];
    const listed = await Promise.all(
      entries.map(async (entry) => {
        const [grant, app] = await Promise.all([this.provider.Grant.find(entry.grant_id), this.#application(entry.client_id)]);
        if (!grant) ended.push(entry.grant_id);
        if (!grant || !app || grant.accountId !== userId) return undefined;
        const scopes = new Set(grant.getOIDCScope().split(' ').filter(Boolean));
        for (const resource of Object.keys(grant.resources ?? {})) grant.getResourceScopeEncountered(resource).split(' ').filter(Boolean).forEach((s) => scopes.add(s));
        const item: AuthorizedApplication = { client_id: entry.client_id, name: app.name, scopes: [...scopes], granted_at: entry.granted_at, grant_id: entry.grant_id };
        if (entry.organization_id) item.organization_id = entry.organization_id;
        return item;
      }),
    );
    await this.grants.prune(userId, ended);
    const newest = new Map<string, AuthorizedApplication>();
    for (const item of listed) {
      if (!item) continue;
      const key = JSON.stringify([item.client_id, item.organization_id ?? '']);
      const seen = newest.get(key);
      if (!seen || seen.granted_at < item.granted_at) newest.set(key, item);
    }
    return [...newest.values()].sort((a, b) => a.grant_id.localeCompare(b.grant_id));
  }

  /** An app of the registry, or a client known by its metadata document (not in the registry). */
  async #application(clientId: string): Promise<{ name: string } | undefined> {
    const app = await this.applications.get(clientId);
    if (app) return app;
    const client = await this.provider.Client.find(clientId).catch(() => undefined);
    return client && (client as unknown as Record<string, unknown>)['clientIdMetadataDocument'] === true ? { name: client.clientName ?? clientId } : undefined;
  }

  /**
   * Withdraws the user's consent to an app (for one organization, or all): its grants end, so its
   * tokens stop working and the next authorization asks again. Every grant is found, from the
   * user's list and from the remembered consents themselves. Returns how many were revoked.
   */
  async revoke(userId: string, clientId: string, organizationId?: string): Promise<number> {
    const entries = (await this.grants.consentsOf(userId)).filter(
      (e) => e.client_id === clientId && (organizationId === undefined || e.organization_id === organizationId),
    );
    const organizations = organizationId !== undefined ? [organizationId] : await this.#organizationsOf(userId, entries);
    const remembered = await this.grants.rememberedGrants(userId, clientId, organizations);
    const grantIds = [...new Set([...entries.map((e) => e.grant_id), ...remembered.map((r) => r.grantId)])];
    // Only grants of this user and app: a remembered consent names a grant, and grants are checked.
    const states = await Promise.all(
      grantIds.map(async (grantId) => {
        const grant = await this.provider.Grant.find(grantId);
        if (!grant) return 'ended';
        return grant.accountId === userId && grant.clientId === clientId ? 'live' : 'foreign';
      }),
    );
    const live = grantIds.filter((_, i) => states[i] === 'live');
    await Promise.all(live.map((grantId) => revokeGrant(this.provider, grantId)));
    await this.grants.forget(userId, clientId, grantIds.filter((_, i) => states[i] !== 'foreign'), organizations);
    return live.length;
  }

  /** Every organization a consent of the user's may be remembered for: none, listed ones, current memberships. */
  async #organizationsOf(userId: string, entries: ConsentEntry[]): Promise<Array<string | undefined>> {
    const memberships = (await this.directory?.listOrganizations(userId)) ?? [];
    return [...new Set<string | undefined>([undefined, ...entries.map((e) => e.organization_id), ...memberships.map((m) => m.id)])];
  }
}
