import type { Middleware, ParameterizedContext } from 'koa';

import { bearerErrorResponse, challengeOf, type BearerChallengeOptions } from './bearer.js';
import { assertOrganization, assertScopes, requiredScopes } from './checks.js';
import { AccessTokenError } from './errors.js';
import { accessTokenGuard, type AccessTokenRequirements, type OrganizationId } from './guard.js';
import type { AccessTokenVerifier, VerifiedAccessToken } from './verifier.js';

/**
 * Koa (2 and 3) middleware, for Koa apps and @koa/router routes. A refusal is answered here;
 * any other error is thrown on to the app's error handling (a VerifierError has status 503).
 * `import { requireAccessToken } from 'orgconnect/resource/koa'`.
 */

/** What the middleware adds to `ctx.state`: `new Router<AuthState>()` types `ctx.state.auth`. */
export interface AuthState {
  auth: VerifiedAccessToken;
}

/** The context the `organization` callback gets (with @koa/router, `ctx.params` is there). */
export type AuthContext = ParameterizedContext<AuthState>;

export type { OrganizationId } from './guard.js';
/** Options of `requireAccessToken`. */
export type RequireAccessTokenOptions = AccessTokenRequirements<AuthContext>;

function refuse(ctx: ParameterizedContext, error: AccessTokenError, challenge: BearerChallengeOptions | undefined): void {
  const { status, headers, body } = bearerErrorResponse(error, challenge);
  ctx.status = status;
  ctx.set(headers);
  if (body) {
    ctx.body = body;
  } else {
    // No error information without a token (RFC 6750 section 3.1); Koa would send "Unauthorized"
    // for no body, and turns a null body into a 204.
    ctx.body = '';
    ctx.remove('Content-Type');
  }
}

function authOf(ctx: AuthContext, middleware: string): VerifiedAccessToken {
  if (!ctx.state.auth) throw new Error(`${middleware} needs requireAccessToken() before it`);
  return ctx.state.auth;
}

/**
 * Requires a valid orgconnect access token in `Authorization: Bearer` and puts it on
 * `ctx.state.auth`. Refuses with 401 (no token, or an invalid one), 400 (a malformed header) or 403
 * (missing scopes, another organization), with the RFC 6750 `WWW-Authenticate` challenge.
 */
export function requireAccessToken(verifier: AccessTokenVerifier, options: RequireAccessTokenOptions = {}): Middleware<AuthState> {
  const guard = accessTokenGuard(verifier, options);
  return async function requireAccessTokenMiddleware(ctx, next) {
    try {
      await guard(ctx.get('authorization') || undefined, ctx, (auth) => (ctx.state.auth = auth));
    } catch (error) {
      if (error instanceof AccessTokenError) return refuse(ctx, error, guard.challenge);
      throw error;
    }
    // Outside the try: errors thrown downstream are the app's, not refusals of the token.
    await next();
  };
}

/** Requires every one of `scopes` on the token `requireAccessToken` put on `ctx.state.auth`; 403 otherwise. */
export function requireScopes(...scopes: string[]): Middleware<AuthState> {
  const required = requiredScopes(scopes);
  return async function requireScopesMiddleware(ctx, next) {
    try {
      assertScopes(authOf(ctx, 'requireScopes'), required);
    } catch (error) {
      if (error instanceof AccessTokenError) return refuse(ctx, error, challengeOf(ctx.state.auth));
      throw error;
    }
    await next();
  };
}

/**
 * Requires the token's `org_id` to be the organization the request is about:
 * `requireOrganization((ctx) => ctx.params.orgId)`. 403 when it is another one, none, or when
 * `organization` gives none. Runs after `requireAccessToken`; `organization` may be async.
 */
export function requireOrganization(organization: (ctx: AuthContext) => OrganizationId | Promise<OrganizationId>): Middleware<AuthState> {
  if (typeof organization !== 'function') throw new TypeError('requireOrganization needs a function (ctx) => organization id');
  return async function requireOrganizationMiddleware(ctx, next) {
    try {
      assertOrganization(authOf(ctx, 'requireOrganization'), await organization(ctx));
    } catch (error) {
      if (error instanceof AccessTokenError) return refuse(ctx, error, challengeOf(ctx.state.auth));
      throw error;
    }
    await next();
  };
}

/**
 * Serves the verifier's RFC 9728 metadata on GET/HEAD at its well-known path (or `path`, when the
 * app is reached through a proxy that rewrites paths): `app.use(protectedResourceMetadata(verifier))`.
 * Other requests pass through. The document is public, so any origin may read it (CORS).
 */
export function protectedResourceMetadata(verifier: AccessTokenVerifier, options: { path?: string } = {}): Middleware {
  const metadata = verifier?.resourceMetadata;
  if (!metadata) throw new TypeError('the verifier has no resource metadata: createVerifier({ ..., resourceMetadata: true })');
  const path = options.path ?? metadata.path;
  return async function protectedResourceMetadataMiddleware(ctx, next) {
    if (ctx.path !== path || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.body = metadata.document;
  };
}
