/**
 * `orgconnect/express`: serving orgconnect from an Express (4 or 5) or Connect app.
 *
 * ```ts
 * import express from 'express';
 * import { createProvider } from 'orgconnect';
 * import { mountOrgconnect } from 'orgconnect/express';
 *
 * const app = express();
 * app.get('/', home);                                    // the host's own routes
 * const orgconnect = await createProvider({ issuer: 'https://example.com/oauth', directory });
 * mountOrgconnect(app, orgconnect);                      // = app.use('/oauth', orgconnectRouter(orgconnect))
 * app.use(express.urlencoded({ extended: false }));      // the host's body parsers: after the mount
 * ```
 *
 * The provider ends every response it is given, 404 included: a host route under the same path
 * (`/oauth/...`) is reached only when it is registered before the mount. Body parsers are best
 * registered after the mount (or on the host's own routes): oidc-provider reads a body already
 * parsed by the host, but prefers to read the request itself.
 *
 * Nothing here imports Express: the handler is a plain `(req, res, next)` function.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { OrgconnectProvider } from '../index.js';

/** Express's `next`. */
export type NextFunction = (error?: unknown) => void;

/** A Node / Connect / Express request handler. */
export type OrgconnectHandler = (req: IncomingMessage, res: ServerResponse, next?: NextFunction) => void;

/** What `mountOrgconnect` needs of an app: Express's `app.use(path, handler)` (or a Router's). */
export interface MountTarget {
  use(path: string, handler: OrgconnectHandler): unknown;
}

/** The provider as these helpers need it. */
export type MountableProvider = Pick<OrgconnectProvider, 'issuer' | 'callback'>;

/** The path of the issuer (`'/oauth'` for `https://example.com/oauth`, `''` at the root). */
export function issuerPath(orgconnect: Pick<OrgconnectProvider, 'issuer'>): string {
  return new URL(orgconnect.issuer).pathname.replace(/\/+$/, '');
}

function wrongPath(orgconnect: Pick<OrgconnectProvider, 'issuer'>, mountedAt: string): Error {
  return new Error(
    `orgconnect is mounted at "${mountedAt || '/'}" but its issuer ${orgconnect.issuer} has the path "${issuerPath(orgconnect) || '/'}": ` +
      'mount it at the path of the issuer, or change the issuer',
  );
}

/**
 * The handler serving orgconnect under a path of an Express app: `app.use('/oauth', orgconnectRouter(orgconnect))`.
 * The path must be the issuer's (`https://host/oauth` is mounted at `/oauth`): a request reaching
 * it under another path is passed to `next` with an error saying so. Works as a plain Node
 * request listener too (then the server's URLs must already be the issuer's).
 */
export function orgconnectRouter(orgconnect: MountableProvider): OrgconnectHandler {
  const callback = orgconnect.callback();
  const expected = issuerPath(orgconnect);
  return function orgconnectHandler(req, res, next) {
    // Express sets baseUrl to the full path the handler is mounted at (nested routers included).
    const baseUrl = (req as IncomingMessage & { baseUrl?: string }).baseUrl;
    if (baseUrl !== undefined && baseUrl.replace(/\/+$/, '') !== expected) {
      const error = wrongPath(orgconnect, baseUrl);
      if (next) return next(error);
      res.statusCode = 500;
      res.end('orgconnect is mounted at the wrong path');
      return;
    }
    callback(req, res);
  };
}

/**
 * Where RFC 8414 clients look for the metadata of an issuer with a path: at the host's root,
 * `/.well-known/oauth-authorization-server/oauth` for `https://host/oauth` (OpenID Connect
 * clients look under the issuer, `/oauth/.well-known/openid-configuration`, which the mount serves).
 */
export function metadataPath(orgconnect: Pick<OrgconnectProvider, 'issuer'>): string {
  return `/.well-known/oauth-authorization-server${issuerPath(orgconnect)}`;
}

/**
 * The handler answering RFC 8414 metadata at the host's root: `app.use(metadataPath(orgconnect),
 * oauthMetadataRouter(orgconnect))`. `mountOrgconnect` registers it for you.
 */
export function oauthMetadataRouter(orgconnect: MountableProvider): OrgconnectHandler {
  const callback = orgconnect.callback();
  const base = issuerPath(orgconnect);
  return function oauthMetadata(req, res, next) {
    const rest = (req.url ?? '/').split('?')[0];
    if ((rest !== '/' && rest !== '') || (req.method !== 'GET' && req.method !== 'HEAD')) {
      if (next) return next();
      res.statusCode = 404;
      res.end('Not Found');
      return;
    }
    // Seen by the provider as the metadata route under its own path.
    const request = req as IncomingMessage & { originalUrl?: string; baseUrl?: string };
    req.url = '/.well-known/oauth-authorization-server';
    request.originalUrl = `${base}${req.url}`;
    request.baseUrl = base;
    callback(req, res);
  };
}

/**
 * Mounts orgconnect on an Express app or Router at the issuer's path (or `path`, which must be the
 * same) and returns the handler. When the issuer has a path, RFC 8414 metadata is also served at
 * the host's root (`metadataPath`). Register the routes that must win over the provider's before.
 */
export function mountOrgconnect(app: MountTarget, orgconnect: MountableProvider, path: string = issuerPath(orgconnect) || '/'): OrgconnectHandler {
  const normalized = path.replace(/\/+$/, '');
  if (normalized !== issuerPath(orgconnect)) throw wrongPath(orgconnect, normalized);
  if (normalized) app.use(metadataPath(orgconnect), oauthMetadataRouter(orgconnect));
  const handler = orgconnectRouter(orgconnect);
  app.use(path, handler);
  return handler;
}
