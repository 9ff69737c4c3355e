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

/**
 * The `WWW-Authenticate` challenge for a refusal. `resourceMetadata` (RFC 9728 section 5.1) tells
 * the client where to find which authorization server to ask for a token.
 */
export function bearerChallenge(error: AccessTokenError, resourceMetadata?: string): string {
  const params: string[] = [];
  if (error.oauthError) {
    params.push(`error="${error.oauthError}"`, `error_description="${descriptionText(error.message)}"`);
  }
  if (error instanceof InsufficientScopeError) params.push(`scope="${error.required.join(' ')}"`);
  if (resourceMetadata) params.push(`resource_metadata="${resourceMetadata}"`);
  return params.length ? `Bearer ${params.join(', ')}` : 'Bearer';
}

/** The full answer to a refusal: status, challenge, and the JSON body when an error code applies. */
export function bearerErrorResponse(error: AccessTokenError, resourceMetadata?: string): BearerErrorResponse {
  return {
    status: error.status,
    // A refusal depends on the token: a shared cache must not hand it to another client.
    headers: { 'WWW-Authenticate': bearerChallenge(error, resourceMetadata), 'Cache-Control': 'no-store' },
    ...(error.oauthError ? { body: { error: error.oauthError, error_description: descriptionText(error.message) } } : {}),
  };
}

/**
 * `requireScopes` and `requireOrganization` run after `requireAccessToken` and have no verifier of
 * their own; the resource metadata URL of the verifier that accepted a token travels with it here,
 * so their challenges carry `resource_metadata` too. Internal: not exported from the package.
 */
const metadataUrls = new WeakMap<object, string>();
export function linkResourceMetadata(auth: object, url: string | undefined): void {
  if (url) metadataUrls.set(auth, url);
}
export function resourceMetadataOf(auth: object | undefined): string | undefined {
  return auth ? metadataUrls.get(auth) : undefined;
}
