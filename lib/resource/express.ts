import type { IncomingMessage, ServerResponse } from 'node:http';

import { bearerErrorResponse, challengeOf, type BearerChallengeOptions } from './bearer.js';
import { assertOrganization, assertScopes, requiredScopes } from './checks.js';
import { AccessTokenError } from './errors.js';
import { accessTokenGuard, type AccessTokenRequirements, type OrganizationId } from './guard.js';
import type { AccessTokenVerifier, VerifiedAccessToken } from './verifier.js';

/**
 * Express (4 and 5) middleware: `import { requireAccessToken } from 'orgconnect/resource/express'`.
 *
 * Typed with Node's own request and response, not Express's types, so the package needs no
 * @types/express and fits either Express major (and any connect-style server) the same way. Express 4
 * ignores the promise a middleware returns, so each one settles its own: a refusal is answered
 * here, any other error goes to `next(error)`.
 */

declare global {
  // Merges with @types/express when the app has it; a harmless empty namespace otherwise.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified access token, set by `requireAccessToken` (orgconnect/resource/express). */
      auth?: VerifiedAccessToken;
    }
  }
}

export type { OrganizationId } from './guard.js';

/** What the middleware reads and sets on a request. */
export type AuthenticatedRequest = IncomingMessage & { auth?: VerifiedAccessToken };

/**
 * The request the `organization` callback gets by default: route parameters as strings, so
 * `(req) => req.params.orgId` type-checks (Express 5's own types say `string | string[]`; arrays
 * come from `*wildcards` only, and are refused like any non-string). Annotate the callback's
 * parameter (`(req: express.Request) => ...`) to get Express's full request type instead.
 */
export type OrganizationRequest = AuthenticatedRequest & { params: Record<string, string> };

/** A connect-style middleware, assignable to Express 4 and 5 `RequestHandler`s. */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** Options of `requireAccessToken`. */
export type RequireAccessTokenOptions<Req extends IncomingMessage = OrganizationRequest> = AccessTokenRequirements<Req>;

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (body === undefined) {
    res.end();
    return;
  }
  const json = JSON.stringify(body);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(json));
  res.end(json);
}

function settle(res: ServerResponse, next: (error?: unknown) => void, challenge: BearerChallengeOptions | undefined) {
  return (error: unknown) => {
    if (error instanceof AccessTokenError && !res.headersSent) {
      const { status, headers, body } = bearerErrorResponse(error, challenge);
      send(res, status, headers, body);
    } else {
      next(error);
    }
  };
}

/** The token `requireAccessToken` verified, or an error naming the misplaced middleware. */
function authOf(req: AuthenticatedRequest, middleware: string): VerifiedAccessToken {
  if (!req.auth) throw new Error(`${middleware} needs requireAccessToken() before it`);
  return req.auth;
}

/**
 * Requires a valid orgconnect access token in `Authorization: Bearer` and puts it on `req.auth`.
 * Refuses with 401 (no token, or an invalid one), 400 (a malformed header) or 403 (missing scopes,
 * another organization), with the RFC 6750 `WWW-Authenticate` challenge.
 */
export function requireAccessToken<Req extends IncomingMessage = OrganizationRequest>(
  verifier: AccessTokenVerifier,
  options: RequireAccessTokenOptions<Req> = {},
): Middleware {
  const guard = accessTokenGuard<Req>(verifier, options);
  return function requireAccessTokenMiddleware(req, res, next) {
    const request = req as AuthenticatedRequest;
    guard(req.headers.authorization, req as Req, (auth) => (request.auth = auth)).then(() => next(), settle(res, next, guard.challenge));
  };
}

/** Requires every one of `scopes` on the token `requireAccessToken` put on `req.auth`; 403 otherwise. */
export function requireScopes(...scopes: string[]): Middleware {
  const required = requiredScopes(scopes);
  return function requireScopesMiddleware(req, res, next) {
    const request = req as AuthenticatedRequest;
    try {
      assertScopes(authOf(request, 'requireScopes'), required);
    } catch (error) {
      return settle(res, next, challengeOf(request.auth))(error);
    }
    next();
  };
}

/**
 * Requires the token's `org_id` to be the organization the request is about:
 * `requireOrganization((req) => req.params.orgId)`. 403 when it is another one, none, or when
 * `organization` gives none. Runs after `requireAccessToken`; `organization` may be async.
 */
export function requireOrganization<Req extends IncomingMessage = OrganizationRequest>(
  organization: (req: Req) => OrganizationId | Promise<OrganizationId>,
): Middleware {
  if (typeof organization !== 'function') throw new TypeError('requireOrganization needs a function (req) => organization id');
  return function requireOrganizationMiddleware(req, res, next) {
    const request = req as AuthenticatedRequest;
    (async () => assertOrganization(authOf(request, 'requireOrganization'), await organization(req as Req)))().then(
      () => next(),
      settle(res, next, challengeOf(request.auth)),
    );
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
  return function protectedResourceMetadataMiddleware(req, res, next) {
    // `req.url` is relative to where the middleware is mounted, as Express's `req.path` is.
    const pathname = (req.url ?? '').split('?', 1)[0];
    if (pathname !== path || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    send(res, 200, { 'Access-Control-Allow-Origin': '*' }, metadata.document);
  };
}
