import { isScopeToken } from './checks.js';
import {
  AccessTokenError,
  InsufficientScopeError,
  InvalidRequestError,
  TokenMissingError,
  type BearerErrorCode,
} from './errors.js';

/**
 * RFC 6750 at the HTTP edge, framework-free: reading the token from `Authorization` and writing
 * the answer to a refused request. The Express and Koa adapters are thin wrappers around these,
 * and an app on another framework can use them the same way.
 */

/** RFC 6750 section 2.1 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The bearer token of an `Authorization` header. Only the header method (RFC 6750 section 2.1)
 * is supported: tokens in query strings end up in logs, and form bodies would need parsing here.
 * No header, or another scheme (Basic), means no token; `Bearer` with a malformed value is an
 * invalid request.
 */
export function bearerToken(authorization: string | undefined): string {
  const header = typeof authorization === 'string' ? authorization.trim() : '';
  const space = header.search(/\s/);
  const scheme = space === -1 ? header : header.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') throw new TokenMissingError();
  const token = space === -1 ? '' : header.slice(space).trim();
  if (!token) throw new InvalidRequestError('the Authorization header has no token after "Bearer"');
  if (!B64TOKEN.test(token)) throw new InvalidRequestError('the bearer token is not a valid b64token');
  return token;
}

/** What to answer a refused request with. `body` is absent when no token was sent (RFC 6750 section 3.1). */
export interface BearerErrorResponse {
  status: 400 | 401 | 403;
  headers: { 'WWW-Authenticate': string; 'Cache-Control': 'no-store' };
  body?: { error: BearerErrorCode; error_description: string };
}

/** Characters RFC 6750 allows in error_description; anything else is dropped rather than escaped. */
function descriptionText(message: string): string {
  return message.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '');
}

/** What a challenge says besides the error. A string is `resourceMetadata` alone. */
export interface BearerChallengeOptions {
  /** The RFC 9728 metadata URL (`resource_metadata`, RFC 9728 section 5.1): where the client learns which authorization server to ask. */
  resourceMetadata?: string;
  /**
   * The scopes the route requires (`scope`, RFC 6750 section 3), sent with every refusal, a 401
   * included: an MCP client asks for them when it gets a token. The `required` scopes of an
   * InsufficientScopeError are added. Values that are not scope tokens are left out.
   */
  scope?: readonly string[];
}

function challengeOptions(options: string | BearerChallengeOptions | undefined): BearerChallengeOptions {
  return typeof options === 'string' ? { resourceMetadata: options } : (options ?? {});
}

/**
 * The `WWW-Authenticate` challenge for a refusal: `error` and `error_description` (none when no
 * token was sent), `scope`, `resource_metadata`.
 */
export function bearerChallenge(error: AccessTokenError, options?: string | BearerChallengeOptions): string {
  const { resourceMetadata, scope = [] } = challengeOptions(options);
  const params: string[] = [];
  if (error.oauthError) {
    params.push(`error="${error.oauthError}"`, `error_description="${descriptionText(error.message)}"`);
  }
  const scopes = new Set([...scope, ...(error instanceof InsufficientScopeError ? error.required : [])].filter(isScopeToken));
  if (scopes.size) params.push(`scope="${[...scopes].join(' ')}"`);
  if (resourceMetadata) params.push(`resource_metadata="${resourceMetadata}"`);
  return params.length ? `Bearer ${params.join(', ')}` : 'Bearer';
}

/** The full answer to a refusal: status, challenge, and the JSON body when an error code applies. */
export function bearerErrorResponse(error: AccessTokenError, options?: string | BearerChallengeOptions): BearerErrorResponse {
  return {
    status: error.status,
    // A refusal depends on the token: a shared cache must not hand it to another client.
    headers: { 'WWW-Authenticate': bearerChallenge(error, options), 'Cache-Control': 'no-store' },
    ...(error.oauthError ? { body: { error: error.oauthError, error_description: descriptionText(error.message) } } : {}),
  };
}

/**
 * `requireScopes` and `requireOrganization` run after `requireAccessToken` and have no verifier of
 * their own; the challenge options of the `requireAccessToken` that accepted a token (its
 * verifier's metadata URL, its route's scopes) travel with the token here, so their challenges
 * carry `resource_metadata` and `scope` too. Internal: not exported from the package.
 */
const challenges = new WeakMap<object, BearerChallengeOptions>();
export function linkChallenge(auth: object, challenge: BearerChallengeOptions): void {
  challenges.set(auth, challenge);
}
export function challengeOf(auth: object | undefined): BearerChallengeOptions | undefined {
  return auth ? challenges.get(auth) : undefined;
}
