import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

import { fetchIssuerMetadata, type IssuerMetadata } from './discovery.js';
import {
  AccessTokenError,
  InvalidAudienceError,
  InvalidIssuerError,
  InvalidSignatureError,
  InvalidTokenTypeError,
  MalformedTokenError,
  TokenExpiredError,
  TokenMissingError,
  TokenNotYetValidError,
  TokenRevokedError,
  VerifierError,
} from './errors.js';
import { introspectionEndpointOnIssuerOrigin, Introspector, type IntrospectionOptions } from './introspection.js';
import { resourceMetadata, type ProtectedResourceMetadata, type ResourceMetadataOptions } from './metadata.js';

/** Asymmetric JWS algorithms a verifier can accept. `none` and HS* are not here and never will be. */
export type AccessTokenAlgorithm = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA' | 'Ed25519';

const ASYMMETRIC: ReadonlySet<string> = new Set<AccessTokenAlgorithm>(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);

/**
 * The algorithms orgconnect can sign with (`keys.alg`, lib/options/keys.ts). Each published key carries its
 * `alg`, so a key is only ever used with its own algorithm even with all of them allowed.
 */
const DEFAULT_ALGORITHMS: readonly AccessTokenAlgorithm[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

/** What `createVerifier` takes. */
export interface VerifierOptions {
  /** The orgconnect issuer, e.g. `https://auth.example.com` (a trailing slash is ignored, as orgconnect does). */
  issuer: string;
  /**
   * This API's identifier: what tokens must carry in `aud`. orgconnect's default audience is the
   * issuer itself (its `audience` option); an API with its own identifier is listed in the provider's
   * `audience` or `resources`. Several values accept a token for any of them.
   */
  audience: string | readonly string[];
  /** Allowed signing algorithms. Default RS256, PS256, ES256, EdDSA. */
  algorithms?: readonly AccessTokenAlgorithm[];
  /** Seconds of clock skew allowed on `exp` and `nbf`. Default 5. */
  clockTolerance?: number;
  /**
   * Also ask the introspection endpoint on every `verify` (it sees revoked tokens; signatures
   * alone cannot). Needs `introspection`. Default false; `verify(token, { introspect })` overrides.
   */
  introspect?: boolean;
  /** The API's client credentials for introspection. */
  introspection?: IntrospectionOptions;
  /** JWKS caching. The JWKS URL comes from the issuer's discovery document. */
  jwks?: {
    /** Seconds a JWKS is used before it is fetched again. Default 600. */
    maxAge?: number;
    /**
     * Seconds after a fetch during which a token with an unknown `kid` does not cause another:
     * the rate limit that keeps forged `kid`s from turning into requests to the issuer. Default 30.
     */
    cooldown?: number;
  };
  /** Seconds to wait for discovery, JWKS and introspection responses. Default 5. */
  timeout?: number;
  /**
   * Describe this API with RFC 9728 metadata: the middleware then adds `resource_metadata` to every
   * `WWW-Authenticate` it sends, and `protectedResourceMetadata` serves the document.
   */
  resourceMetadata?: boolean | ResourceMetadataOptions;
}

/** Per-call options of `verify`. */
export interface VerifyOptions {
  /** Ask the introspection endpoint too, for this call (overrides the verifier's `introspect`). */
  introspect?: boolean;
}

/** The claims of an orgconnect access token (RFC 9068 plus orgconnect's own). */
export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  /** The user id; for a client_credentials token, the client id. */
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  /** Space-separated; absent when no scope was granted. */
  scope?: string;
  /** The organization the token was issued for; absent when there is none. */
  org_id?: string;
  /** The grant id; absent on client_credentials tokens. */
  sid?: string;
}

/**
 * `extra` of a verified token: what code that only sees the MCP SDK's `AuthInfo` (an MCP tool's
 * `extra.authInfo`) needs of orgconnect's token. A type alias, not an interface, so it is assignable
 * to `Record<string, unknown>`.
 */
export type VerifiedAccessTokenExtra = {
  /** As `sub` of the token. */
  sub: string;
  /** As `org_id` of the token: undefined when none. */
  org_id: string | undefined;
  /** Every claim. */
  claims: AccessTokenClaims;
};

/**
 * A verified access token: what the middleware puts on `req.auth` / `ctx.state.auth`.
 *
 * Structurally also an `AuthInfo` of the MCP TypeScript SDK (`token`, `clientId`, `scopes`,
 * `expiresAt`, `resource`, `extra`): pass the request straight to
 * `StreamableHTTPServerTransport.handleRequest(req, res, req.body)` and MCP tools get it as
 * `extra.authInfo`. orgconnect does not depend on the SDK; the package test type-checks the fit.
 */
export interface VerifiedAccessToken {
  /** The user id, or the client id for a client_credentials (machine-to-machine) token. */
  sub: string;
  /** The organization the token is for, undefined when none. */
  org_id: string | undefined;
  /** The application that obtained the token. */
  client_id: string;
  /** Granted scopes, split. */
  scope: string[];
  /** Every claim, for anything not lifted above. */
  claims: AccessTokenClaims;
  /** The token itself, to call the issuer (userinfo) or another API on the user's behalf. */
  token: string;
  /** As `client_id` (MCP `AuthInfo.clientId`). */
  clientId: string;
  /** As `scope`, another array (MCP `AuthInfo.scopes`). */
  scopes: string[];
  /** The `exp` claim: seconds since the epoch (MCP `AuthInfo.expiresAt`). */
  expiresAt: number;
  /**
   * The verifier's audience the token was accepted for, when it is a URL (MCP `AuthInfo.resource`,
   * the RFC 8707 resource indicator); absent for an audience that is not one.
   */
  resource?: URL;
  /** `sub`, `org_id` and the claims again, for code that sees the token as an MCP `AuthInfo`. */
  extra: VerifiedAccessTokenExtra;
}

/** Verifies orgconnect access tokens for one API. Create one per process and reuse it: it caches the JWKS. */
export interface AccessTokenVerifier {
  readonly issuer: string;
  readonly audience: string | readonly string[];
  /** This API's RFC 9728 metadata, when `resourceMetadata` was given. */
  readonly resourceMetadata: ProtectedResourceMetadata | undefined;
  /**
   * Resolves with the token's identity, or rejects with an AccessTokenError subclass saying why it
   * is refused; with a VerifierError when the issuer could not be asked (not the token's fault).
   */
  verify(token: string | undefined, options?: VerifyOptions): Promise<VerifiedAccessToken>;
}

/** A failed discovery is retried no sooner than this, so an issuer outage does not become a request storm. */
const DISCOVERY_RETRY_MS = 5_000;

function seconds(value: unknown, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`${what} must be a number of seconds, 0 or more`);
  return value;
}

function checkIssuer(issuer: unknown): string {
  if (typeof issuer !== 'string' || !URL.canParse(issuer) || /[?#]/.test(issuer)) {
    throw new TypeError('issuer must be an absolute URL without query or fragment');
  }
  return issuer.replace(/\/$/, '');
}

function checkAudience(audience: unknown): string | readonly string[] {
  const valid = (a: unknown) => typeof a === 'string' && a.length > 0;
  if (valid(audience)) return audience as string;
  if (Array.isArray(audience) && audience.length > 0 && audience.every(valid)) return Object.freeze([...audience]);
  throw new TypeError('audience must be a non-empty string or array of strings: the API identifier tokens are issued for');
}

function checkAlgorithms(algorithms: unknown): string[] {
  if (algorithms === undefined) return [...DEFAULT_ALGORITHMS];
  if (!Array.isArray(algorithms) || algorithms.length === 0) throw new TypeError('algorithms must be a non-empty array');
  for (const alg of algorithms) {
    // `none` would accept unsigned tokens; HS* would let anyone who has the public key sign.
    if (!ASYMMETRIC.has(alg)) throw new TypeError(`algorithms: ${JSON.stringify(alg)} is not allowed; use asymmetric algorithms (RS256, PS256, ES256, EdDSA...)`);
  }
  return [...algorithms];
}

/** Claims every orgconnect access token has (RFC 9068 section 2.2); jose checks presence, we check types. */
const REQUIRED_CLAIMS = ['exp', 'iat', 'jti', 'sub', 'client_id'];

/** Turns jose's verdict into the refusal the client is told about. */
function refusal(error: unknown): Error {
  if (error instanceof AccessTokenError || error instanceof VerifierError) return error;
  if (error instanceof errors.JWTExpired) return new TokenExpiredError('the access token expired', { cause: error });
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'typ':
        return new InvalidTokenTypeError('the token is not an access token (typ is not at+jwt)', { cause: error });
      case 'iss':
        return new InvalidIssuerError('the access token is from another issuer', { cause: error });
      case 'aud':
        return new InvalidAudienceError('the access token is not for this API (aud)', { cause: error });
      case 'nbf':
        return new TokenNotYetValidError('the access token is not valid yet (nbf)', { cause: error });
      default:
        return new MalformedTokenError(`the access token has a missing or invalid "${error.claim}" claim`, { cause: error });
    }
  }
  if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JOSEAlgNotAllowed ||
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSENotSupported
  ) {
    return new InvalidSignatureError('the access token signature is invalid', { cause: error });
  }
  if (error instanceof errors.JOSEError) return new MalformedTokenError('the access token is not a valid JWT', { cause: error });
  return new VerifierError(`access token verification failed: ${(error as Error)?.message}`, { cause: error });
}

/** The first of the verifier's audiences the token names (jose checked there is one). */
function matchedAudience(aud: string | string[], accepted: string | readonly string[]): string | undefined {
  const named = typeof aud === 'string' ? [aud] : aud;
  return (typeof accepted === 'string' ? [accepted] : accepted).find((a) => named.includes(a));
}

/** What `verify` resolves with: the claims lifted, under orgconnect's names and the MCP SDK's. */
function verifiedToken(token: string, claims: AccessTokenClaims, audience: string | readonly string[]): VerifiedAccessToken {
  const scope = claims.scope ? claims.scope.split(' ').filter(Boolean) : [];
  const resource = matchedAudience(claims.aud, audience);
  return {
    sub: claims.sub,
    org_id: claims.org_id,
    client_id: claims.client_id,
    scope,
    claims,
    token,
    clientId: claims.client_id,
    scopes: [...scope],
    expiresAt: claims.exp,
    ...(resource !== undefined && URL.canParse(resource) ? { resource: new URL(resource) } : {}),
    extra: { sub: claims.sub, org_id: claims.org_id, claims },
  };
}

function claimTypes(payload: JWTPayload): AccessTokenClaims {
  const p = payload as Record<string, unknown>;
  const nonEmpty = (v: unknown) => typeof v === 'string' && v.length > 0;
  const optional = (v: unknown) => v === undefined || typeof v === 'string';
  for (const claim of ['sub', 'client_id', 'jti'] as const) {
    if (!nonEmpty(p[claim])) throw new MalformedTokenError(`the access token has an invalid "${claim}" claim`);
  }
  for (const claim of ['scope', 'org_id', 'sid'] as const) {
    if (!optional(p[claim])) throw new MalformedTokenError(`the access token has an invalid "${claim}" claim`);
  }
  return payload as AccessTokenClaims;
}

/**
 * Creates a verifier for orgconnect access tokens. Nothing is fetched until the first `verify`:
 * then the issuer's discovery document gives the JWKS URL, and the JWKS is cached, refetched when
 * a token names an unknown `kid` (key rotation) at most once per `jwks.cooldown`.
 * Throws a TypeError for invalid options.
 */
export function createVerifier(options: VerifierOptions): AccessTokenVerifier {
  const issuer = checkIssuer(options?.issuer);
  const audience = checkAudience(options.audience);
  const algorithms = checkAlgorithms(options.algorithms);
  const clockTolerance = seconds(options.clockTolerance, 5, 'clockTolerance');
  const timeoutMs = Math.max(1, Math.round(seconds(options.timeout, 5, 'timeout') * 1000));
  const maxAgeMs = seconds(options.jwks?.maxAge, 600, 'jwks.maxAge') * 1000;
  const cooldownMs = seconds(options.jwks?.cooldown, 30, 'jwks.cooldown') * 1000;
  const introspectByDefault = options.introspect ?? false;
  if (introspectByDefault && !options.introspection) throw new TypeError('introspect: true needs introspection credentials (introspection: { clientId, clientSecret })');
  const metadata = options.resourceMetadata ? resourceMetadata(issuer, audience, options.resourceMetadata) : undefined;

  let discovered: Promise<IssuerMetadata> | undefined;
  function discover(): Promise<IssuerMetadata> {
    if (!discovered) {
      const attempt = fetchIssuerMetadata(issuer, timeoutMs);
      discovered = attempt;
      attempt.catch(() => setTimeout(() => discovered === attempt && (discovered = undefined), DISCOVERY_RETRY_MS).unref());
    }
    return discovered;
  }

  let remoteJwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  // Discovery happens inside the key lookup, after jose has checked the header: a token with a
  // disallowed algorithm or no valid structure is refused without any request to the issuer.
  const getKey: JWTVerifyGetKey = async (header, token) => {
    const { jwks_uri } = await discover();
    // After the await, so concurrent first requests share one key set (and one JWKS fetch).
    remoteJwks ??= createRemoteJWKSet(new URL(jwks_uri), { timeoutDuration: timeoutMs, cacheMaxAge: maxAgeMs, cooldownDuration: cooldownMs });
    try {
      return await remoteJwks(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      // Anything else (timeout, HTTP error, a JWKS that does not parse) is the issuer's problem.
      throw new VerifierError(`cannot use the issuer's JWKS: ${(error as Error).message}`, { cause: error });
    }
  };

  // The API's client secret goes to the issuer's origin only: a configured endpoint is checked
  // now, a discovered one before the first request (IntrospectionEndpointError, nothing sent).
  const configuredEndpoint =
    options.introspection?.endpoint === undefined ? undefined : introspectionEndpointOnIssuerOrigin(issuer, options.introspection.endpoint, 'configured');
  const introspector = options.introspection
    ? new Introspector(options.introspection, async () => {
        if (configuredEndpoint) return configuredEndpoint;
        const endpoint = (await discover()).introspection_endpoint;
        if (!endpoint) throw new VerifierError(`the issuer ${issuer} publishes no introspection_endpoint`);
        return introspectionEndpointOnIssuerOrigin(issuer, endpoint, 'discovered');
      }, timeoutMs)
    : undefined;

  return Object.freeze({
    issuer,
    audience,
    resourceMetadata: metadata,
    async verify(token: string | undefined, verifyOptions?: VerifyOptions): Promise<VerifiedAccessToken> {
      if (typeof token !== 'string' || token === '') throw new TokenMissingError();
      const introspect = verifyOptions?.introspect ?? introspectByDefault;
      if (introspect && !introspector) throw new TypeError('verify({ introspect: true }) needs the verifier to have introspection credentials');

      let claims: AccessTokenClaims;
      try {
        const { payload } = await jwtVerify(token, getKey, {
          issuer,
          audience: audience as string | string[],
          algorithms,
          clockTolerance,
          typ: 'at+jwt',
          requiredClaims: REQUIRED_CLAIMS,
        });
        claims = claimTypes(payload);
      } catch (error) {
        throw refusal(error);
      }

      // Signature first: the issuer is only asked about tokens it issued.
      if (introspect && !(await introspector!.isActive(token, claims.exp))) {
        throw new TokenRevokedError('the access token is no longer active (revoked)');
      }

      return verifiedToken(token, claims, audience);
    },
  });
}
