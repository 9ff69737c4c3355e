import type { Directory, Membership } from './directory.js';
import type { Store } from '../adapters/store.js';

/** The organization an authorization is for: resolved (possibly to none) or still to be picked. */
export type OrganizationChoice =
  | { resolved: true; organization?: Membership }
  | { resolved: false; memberships: Membership[] };

/**
 * Decides the organization of an authorization from the user's memberships and what the user
 * posted. A posted id is never trusted: it counts only if the directory lists the membership.
 * No organization: resolved to none (tokens carry no org_id). One: picked without asking.
 */
export function resolveOrganization(memberships: Membership[], posted: unknown): OrganizationChoice {
  if (memberships.length === 0) return { resolved: true };
  if (memberships.length === 1) return { resolved: true, organization: memberships[0] };
  const chosen = typeof posted === 'string' ? memberships.find((m) => m.id === posted) : undefined;
  return chosen ? { resolved: true, organization: chosen } : { resolved: false, memberships };
}

/** What the select_organization interaction posts into the interaction result. */
export interface OrganizationResult {
  select_organization?: { organization_id?: string };
}

export function postedOrganization(result: unknown): string | undefined {
  const id = (result as OrganizationResult | undefined)?.select_organization?.organization_id;
  return typeof id === 'string' ? id : undefined;
}

/**
 * @param hint the `organization_id` authorization parameter: a client may name the organization it
 *   signs the user in for. It is used only when the user is a member; otherwise the user picks.
 */
export async function organizationChoice(
  directory: Directory,
  accountId: string,
  result: unknown,
  hint?: unknown,
): Promise<OrganizationChoice> {
  const memberships = await directory.listOrganizations(accountId);
  const posted = resolveOrganization(memberships, postedOrganization(result));
  return posted.resolved ? posted : resolveOrganization(memberships, hint);
}

const GRANT_ORGANIZATION = 'GrantOrganization';
const REMEMBERED_CONSENT = 'RememberedConsent';
const USER_CONSENTS = 'UserConsents';

/** One remembered consent of a user, as listed in "Connected apps". */
export interface ConsentEntry {
  client_id: string;
  organization_id?: string;
  grant_id: string;
  granted_at: string;
}
/** Stored for grants made without an organization, so "none" is distinguishable from "unknown". */
const NO_ORGANIZATION = '';

/**
 * orgconnect's records beside oidc-provider's grants:
 * - the organization a grant was made for (keyed by grantId, with the grant's lifetime). It never
 *   changes: another organization means another grant, so refresh tokens never switch org.
 * - the remembered consent: which grant holds what a user approved for an app and organization,
 *   so a later authorization (even from a new browser session) does not ask again.
 */
export class GrantOrganizations {
  constructor(readonly store: Store) {}

  async organizationOf(grantId: string): Promise<{ found: boolean; organizationId?: string }> {
    const record = (await this.store.adapter(GRANT_ORGANIZATION).find(grantId)) as { organization_id?: string } | undefined;
    if (!record) return { found: false };
    return { found: true, organizationId: record.organization_id || undefined };
  }

  async bind(grantId: string, organizationId: string | undefined, ttl: number): Promise<void> {
    await this.store.adapter(GRANT_ORGANIZATION).upsert(grantId, { organization_id: organizationId ?? NO_ORGANIZATION } as never, ttl);
  }

  static #consentKey(accountId: string, clientId: string, organizationId: string | undefined): string {
    return JSON.stringify([accountId, clientId, organizationId ?? NO_ORGANIZATION]);
  }

  async rememberedGrant(accountId: string, clientId: string, organizationId: string | undefined): Promise<string | undefined> {
    const key = GrantOrganizations.#consentKey(accountId, clientId, organizationId);
    const record = (await this.store.adapter(REMEMBERED_CONSENT).find(key)) as { grantId?: string } | undefined;
    return record?.grantId;
  }

  /**
   * Records a saved grant as the one for (user, app, organization): the organization it is bound
   * to, the remembered consent and the user's list of consents. Independent writes, made
   * concurrently: on Redis each is a round trip.
   */
  async record(grantId: string, accountId: string, clientId: string, organizationId: string | undefined, ttl: number): Promise<void> {
    const key = GrantOrganizations.#consentKey(accountId, clientId, organizationId);
    await Promise.all([
      this.bind(grantId, organizationId, ttl),
      this.store.adapter(REMEMBERED_CONSENT).upsert(key, { grantId } as never, ttl),
      this.#listConsent(accountId, { client_id: clientId, grant_id: grantId, granted_at: new Date().toISOString(), ...(organizationId ? { organization_id: organizationId } : {}) }, ttl),
    ]);
  }

  /** The user's list of consents (one entry per app and organization), for "Connected apps". */
  async #listConsent(accountId: string, entry: ConsentEntry, ttl: number): Promise<void> {
    const others = (await this.consentsOf(accountId)).filter((e) => e.client_id !== entry.client_id || e.organization_id !== entry.organization_id);
    await this.store.adapter(USER_CONSENTS).upsert(accountId, { entries: [...others, entry] } as never, ttl);
  }

  /** The user's remembered consents whose grant may still exist (callers check the grant). */
  async consentsOf(accountId: string): Promise<ConsentEntry[]> {
    const record = (await this.store.adapter(USER_CONSENTS).find(accountId)) as { entries?: ConsentEntry[] } | undefined;
    return record?.entries ?? [];
  }

  async forget(accountId: string, clientId: string, organizationId: string | undefined): Promise<void> {
    await this.store.adapter(REMEMBERED_CONSENT).destroy(GrantOrganizations.#consentKey(accountId, clientId, organizationId));
    const remaining = (await this.consentsOf(accountId)).filter((e) => e.client_id !== clientId || e.organization_id !== organizationId);
    if (remaining.length) await this.store.adapter(USER_CONSENTS).upsert(accountId, { entries: remaining } as never);
    else await this.store.adapter(USER_CONSENTS).destroy(accountId);
  }
}
