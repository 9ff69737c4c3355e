import type { Directory, Membership } from './directory.js';

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
