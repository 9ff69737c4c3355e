/**
 * orgconnect's resource-server kit: what an API uses to accept orgconnect access tokens.
 * `import { createVerifier } from 'orgconnect/resource'`; the middleware is in
 * `orgconnect/resource/express` and `orgconnect/resource/koa`. Nothing here depends on the
 * provider: an API process loads jose and this folder only.
 */
export { createVerifier } from './verifier.js';
export type {
  AccessTokenAlgorithm,
  AccessTokenClaims,
  AccessTokenVerifier,
  VerifiedAccessToken,
  VerifiedAccessTokenExtra,
  VerifierOptions,
  VerifyOptions,
} from './verifier.js';
export type { IntrospectionOptions } from './introspection.js';
export {
  AccessTokenError,
  InvalidTokenError,
  TokenMissingError,
  InvalidRequestError,
  MalformedTokenError,
  InvalidSignatureError,
  InvalidTokenTypeError,
  InvalidIssuerError,
  InvalidAudienceError,
  TokenExpiredError,
  TokenNotYetValidError,
  TokenRevokedError,
  InsufficientScopeError,
  OrganizationMismatchError,
  VerifierError,
  IntrospectionEndpointError,
} from './errors.js';
export type { AccessTokenErrorCode, BearerErrorCode, VerifierErrorCode } from './errors.js';
export { bearerToken, bearerChallenge, bearerErrorResponse } from './bearer.js';
export type { BearerChallengeOptions, BearerErrorResponse } from './bearer.js';
export { assertScopes, assertOrganization } from './checks.js';
export { protectedResourceMetadataUrl } from './metadata.js';
export type { ProtectedResourceMetadata, ProtectedResourceMetadataDocument, ResourceMetadataOptions } from './metadata.js';
export type { AccessTokenRequirements, OrganizationId } from './guard.js';
