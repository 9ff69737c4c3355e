import { bearerToken, linkChallenge, type BearerChallengeOptions } from './bearer.js';
import { assertOrganization, assertScopes, requiredScopes } from './checks.js';
import type { AccessTokenVerifier, VerifiedAccessToken } from './verifier.js';

/** The organization a request is about (a route parameter, or looked up from the resource it names). */
export type OrganizationId = string | undefined | null;

/** Options of `requireAccessToken`, whatever the framework; `Req` is its request (or context). */
export interface AccessTokenRequirements<Req> {
  /** Scopes the token must all have; 403 insufficient_scope otherwise. */
  scopes?: readonly string[];
  /**
   * The organization the request is about; 403 unless it is the token's `org_id`. Called after the
   * token is verified (so `req.auth` / `ctx.state.auth` is already set), and may be async.
   */
  organization?: (request: Req) => OrganizationId | Promise<OrganizationId>;
  /** Ask the introspection endpoint too (overrides the verifier's `introspect`). */
  introspect?: boolean;
}

/**
 * The framework-free core of `requireAccessToken`: options checked once, then per request read the
 * bearer token, verify it, hand it to the framework (`attach`) and check scopes and organization.
 * Rejects with an AccessTokenError the adapter turns into an RFC 6750 answer, with `challenge`:
 * the verifier's metadata URL and the route's scopes, on every refusal (401 included).
 */
export function accessTokenGuard<Req>(verifier: AccessTokenVerifier, options: AccessTokenRequirements<Req> = {}) {
  if (typeof verifier?.verify !== 'function') throw new TypeError('requireAccessToken needs a verifier from createVerifier()');
  const scopes = requiredScopes(options.scopes);
  const { organization, introspect } = options;
  if (organization !== undefined && typeof organization !== 'function') throw new TypeError('organization must be a function (request) => organization id');
  const verifyOptions = introspect === undefined ? undefined : { introspect };
  const challenge: BearerChallengeOptions = Object.freeze({ resourceMetadata: verifier.resourceMetadata?.url, scope: scopes });

  async function guard(authorization: string | undefined, request: Req, attach: (auth: VerifiedAccessToken) => void): Promise<VerifiedAccessToken> {
    const auth = await verifier.verify(bearerToken(authorization), verifyOptions);
    linkChallenge(auth, challenge);
    attach(auth);
    assertScopes(auth, scopes);
    if (organization) assertOrganization(auth, await organization(request));
    return auth;
  }
  return Object.assign(guard, { challenge });
}
