import type { Store } from '../store/store.js';

const GRANT_ORGANIZATION = 'GrantOrganization';
const REMEMBERED_CONSENT = 'RememberedConsent';
/** The grant a first-party app got automatically: reused across sessions, but not a consent. */
const FIRST_PARTY_GRANT = 'FirstPartyGrant';
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
 * - the user's consents: a group with one member per grant, so two consents given at the same
 *   instant (on two instances) are both listed, and each can be withdrawn.
 * Each write is one atomic store operation on a record of its own; none is read and written back.
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

  /** The grant a first-party app last got automatically for (user, app, organization). */
  async firstPartyGrant(accountId: string, clientId: string, organizationId: string | undefined): Promise<string | undefined> {
    const record = (await this.store.adapter(FIRST_PARTY_GRANT).find(GrantOrganizations.#consentKey(accountId, clientId, organizationId))) as { grantId?: string } | undefined;
    return record?.grantId;
  }

  /**
   * Records a grant a first-party app got without asking: bound to its organization and reused
   * by later authorizations, but neither a remembered consent nor listed as one. Should the app
   * become third-party, its next authorization asks.
   */
  async recordFirstParty(grantId: string, accountId: string, clientId: string, organizationId: string | undefined, ttl: number): Promise<void> {
    const key = GrantOrganizations.#consentKey(accountId, clientId, organizationId);
    await Promise.all([this.bind(grantId, organizationId, ttl), this.store.adapter(FIRST_PARTY_GRANT).upsert(key, { grantId } as never, ttl)]);
  }

  /**
   * Records a saved grant as the one for (user, app, organization): the organization it is bound
   * to, the remembered consent and the user's list of consents. Independent writes, made
   * concurrently: on Redis each is a round trip.
   */
  async record(grantId: string, accountId: string, clientId: string, organizationId: string | undefined, ttl: number): Promise<void> {
    const key = GrantOrganizations.#consentKey(accountId, clientId, organizationId);
    const entry: ConsentEntry = { client_id: clientId, grant_id: grantId, granted_at: new Date().toISOString(), ...(organizationId ? { organization_id: organizationId } : {}) };
    await Promise.all([
      this.bind(grantId, organizationId, ttl),
      this.store.adapter(REMEMBERED_CONSENT).upsert(key, { grantId } as never, ttl),
      this.store.groupPut(USER_CONSENTS, accountId, grantId, JSON.stringify(entry), { ttlSeconds: ttl }),
    ]);
  }

  /** The user's consents, one per grant (callers check the grant still exists). */
  async consentsOf(accountId: string): Promise<ConsentEntry[]> {
    const members = await this.store.groupRead(USER_CONSENTS, accountId);
    return Object.values(members).map((value) => JSON.parse(value) as ConsentEntry);
  }

  /**
   * The grants remembered for the user and app: for one organization, or (organizationIds) for
   * each of several. Read from the remembered consents themselves, so a consent can be withdrawn
   * even if the user's list were to miss it.
   */
  async rememberedGrants(accountId: string, clientId: string, organizationIds: Array<string | undefined>): Promise<Array<{ organizationId?: string; grantId: string }>> {
    const found = await Promise.all(
      organizationIds.map(async (organizationId) => {
        const grantId = await this.rememberedGrant(accountId, clientId, organizationId);
        return grantId ? { grantId, ...(organizationId ? { organizationId } : {}) } : undefined;
      }),
    );
    return found.filter((item) => item !== undefined);
  }

  /** Forgets withdrawn consents: the grants' entries and the remembered consents for those organizations. */
  async forget(accountId: string, clientId: string, grantIds: string[], organizationIds: Array<string | undefined>): Promise<void> {
    await Promise.all([
      this.store.groupRemove(USER_CONSENTS, accountId, grantIds),
      ...organizationIds.map((organizationId) => this.store.adapter(REMEMBERED_CONSENT).destroy(GrantOrganizations.#consentKey(accountId, clientId, organizationId))),
    ]);
  }

  /** Drops list entries whose grant has ended (expired or revoked elsewhere). */
  async prune(accountId: string, grantIds: string[]): Promise<void> {
    if (grantIds.length) await this.store.groupRemove(USER_CONSENTS, accountId, grantIds);
  }
}
