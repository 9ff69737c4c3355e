import { InsufficientScopeError, OrganizationMismatchError } from './errors.js';
import type { VerifiedAccessToken } from './verifier.js';

/**
 * Authorization decisions on an already verified token, framework-free. Both fail closed: a
 * missing scope claim or a missing organization is a refusal, never a pass.
 */

/** RFC 6749 section 3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Whether `value` is one scope token (what a challenge's `scope` may carry). */
export function isScopeToken(value: unknown): value is string {
  return typeof value === 'string' && SCOPE_TOKEN.test(value);
}

/**
 * Checks the scopes a route requires once, when the middleware is built: a typo such as
 * 'orders:read ' would otherwise make every request fail, and the scopes go into a header.
 */
export function requiredScopes(scopes: readonly string[] | undefined, where = 'scopes'): readonly string[] {
  if (scopes === undefined) return [];
  if (!Array.isArray(scopes)) throw new TypeError(`${where} must be an array of scope strings`);
  for (const scope of scopes) {
    if (!isScopeToken(scope)) throw new TypeError(`${where}: ${JSON.stringify(scope)} is not a valid scope`);
  }
  return Object.freeze([...new Set(scopes)]);
}

/** Throws InsufficientScopeError unless the token has every one of `required` (all of them, not any). */
export function assertScopes(auth: VerifiedAccessToken, required: readonly string[]): void {
  if (required.length === 0) return;
  const granted = new Set(auth.scope);
  const missing = required.filter((scope) => !granted.has(scope));
  if (missing.length) throw new InsufficientScopeError(required, missing);
}

/**
 * Throws OrganizationMismatchError unless the token's `org_id` is `organizationId`. A token
 * without `org_id` (a user who signed in for no organization) never matches, nor does an
 * undefined or empty `organizationId`: a route whose organization cannot be told is refused.
 */
export function assertOrganization(auth: VerifiedAccessToken, organizationId: string | undefined | null): void {
  if (typeof organizationId !== 'string' || organizationId === '') {
    throw new OrganizationMismatchError('the organization of this request is unknown');
  }
  if (auth.org_id === undefined) throw new OrganizationMismatchError('the access token is not for any organization');
  if (auth.org_id !== organizationId) throw new OrganizationMismatchError();
}
