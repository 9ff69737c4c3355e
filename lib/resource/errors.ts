/**
 * Why a request's access token was refused. Each class has a stable `code` to branch on (messages
 * may change), and carries the HTTP answer RFC 6750 prescribes for it (`status`, `oauthError`), so
 * every framework adapter answers the same way and a hand-written one can too (`bearerChallenge`).
 *
 * The messages are the `error_description` sent to the client: they say what is wrong with the
 * token, never what the token contains.
 */

/** RFC 6750 section 3.1 error codes. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

/** Stable codes of the access token errors. */
export type AccessTokenErrorCode =
  | 'token_missing'
  | 'invalid_request'
  | 'token_malformed'
  | 'invalid_signature'
  | 'invalid_token_type'
  | 'invalid_issuer'
  | 'invalid_audience'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_revoked'
  | 'insufficient_scope'
  | 'organization_mismatch';

/** The token (or its absence) is why the request is refused. Base class of all refusals. */
export abstract class AccessTokenError extends Error {
  abstract readonly code: AccessTokenErrorCode;
  /** The HTTP status to answer with. */
  abstract readonly status: 400 | 401 | 403;
  /** The RFC 6750 `error` of the `WWW-Authenticate` challenge; none when no token was sent at all. */
  abstract readonly oauthError: BearerErrorCode | undefined;
  /** Frameworks (Koa, http-errors) show `message` to the client only when `expose` is true. */
  readonly expose = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No `Authorization: Bearer` credentials. RFC 6750 section 3.1: answer a bare challenge, no error code. */
export class TokenMissingError extends AccessTokenError {
  readonly code = 'token_missing';
  readonly status = 401;
  readonly oauthError = undefined;
  constructor(message = 'no access token was sent') {
    super(message);
  }
}

/** The `Authorization` header names Bearer but is malformed (no token, extra parts). */
export class InvalidRequestError extends AccessTokenError {
  readonly code = 'invalid_request';
  readonly status = 400;
  readonly oauthError = 'invalid_request';
}

/** Base of the refusals answered with 401 `invalid_token`: the client should get a new token. */
export abstract class InvalidTokenError extends AccessTokenError {
  readonly status = 401;
  readonly oauthError = 'invalid_token';
}

/** Not a JWT (an opaque refresh token, garbage), or a required claim is missing or mistyped. */
export class MalformedTokenError extends InvalidTokenError {
  readonly code = 'token_malformed';
}

/**
 * The signature does not verify: tampered with, signed by a key the issuer does not publish, or
 * with an algorithm outside the allow-list (`none` and HMAC never are in it).
 */
export class InvalidSignatureError extends InvalidTokenError {
  readonly code = 'invalid_signature';
}

/** Signed by the issuer but not an access token (`typ` is not `at+jwt`): an ID token, for one. */
export class InvalidTokenTypeError extends InvalidTokenError {
  readonly code = 'invalid_token_type';
}

/** `iss` is not the configured issuer. */
export class InvalidIssuerError extends InvalidTokenError {
  readonly code = 'invalid_issuer';
}

/** `aud` does not name this API: the token was issued for another resource. */
export class InvalidAudienceError extends InvalidTokenError {
  readonly code = 'invalid_audience';
}

/** `exp` has passed (beyond the clock tolerance). */
export class TokenExpiredError extends InvalidTokenError {
  readonly code = 'token_expired';
}

/** `nbf` is still in the future (beyond the clock tolerance). */
export class TokenNotYetValidError extends InvalidTokenError {
  readonly code = 'token_not_yet_valid';
}

/** The introspection endpoint says the token is no longer active: revoked, or its grant is gone. */
export class TokenRevokedError extends InvalidTokenError {
  readonly code = 'token_revoked';
}

/** The token is valid but lacks scopes the route requires. 403, with the required scopes in the challenge. */
export class InsufficientScopeError extends AccessTokenError {
  readonly code = 'insufficient_scope';
  readonly status = 403;
  readonly oauthError = 'insufficient_scope';
  /** Every scope the route requires: what RFC 6750 puts in the challenge's `scope` attribute. */
  readonly required: readonly string[];
  /** The required scopes the token lacks. */
  readonly missing: readonly string[];

  constructor(required: readonly string[], missing: readonly string[]) {
    super(`the access token lacks the scope${missing.length === 1 ? '' : 's'}: ${missing.join(' ')}`);
    this.required = required;
    this.missing = missing;
  }
}

/**
 * The token is valid but for another organization (or none) than the one the request is about.
 * RFC 6750 has no code of its own for this; `insufficient_scope` ("the request requires higher
 * privileges than provided by the access token") is the one that fits, and 403 tells the client
 * that refreshing the same token will not help.
 */
export class OrganizationMismatchError extends AccessTokenError {
  readonly code = 'organization_mismatch';
  readonly status = 403;
  readonly oauthError = 'insufficient_scope';
  constructor(message = 'the access token is not for this organization') {
    super(message);
  }
}

/** Stable codes of the verifier errors. */
export type VerifierErrorCode = 'verifier_unavailable' | 'untrusted_introspection_endpoint';

/**
 * Not the token's fault: the authorization server could not be used (discovery, JWKS or
 * introspection unreachable, refused the API's credentials, or answered nonsense). Not an
 * AccessTokenError, so the middleware hands it to the app's error handling instead of telling the
 * client to drop a token that may be fine; `status` 503 is what Express and Koa answer by default.
 */
export class VerifierError extends Error {
  readonly code: VerifierErrorCode = 'verifier_unavailable';
  readonly status = 503;
  readonly expose = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The introspection endpoint, discovered or configured, is not on the issuer's origin: the API's
 * client secret is sent nowhere else (a tampered discovery document or a typo would hand it to a
 * stranger). Thrown by `createVerifier` for a configured endpoint, and by the first introspecting
 * `verify` for a discovered one; nothing is sent. A VerifierError: the app's error handling sees
 * it (503), the client is not told to drop its token.
 */
export class IntrospectionEndpointError extends VerifierError {
  override readonly code = 'untrusted_introspection_endpoint';
}
