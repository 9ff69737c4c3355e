import { parse as parseQuery, stringify as stringifyQuery } from 'node:querystring';
import { Readable } from 'node:stream';

import type { Context, Next } from 'koa';
import getRawBody from 'raw-body';

import { isJwt, userinfoScope, wrapJwt } from './access-tokens.js';
import { ROUTES } from './routes.js';
import { setSecurityHeaders } from './security-headers.js';
import type { Store } from '../adapters/store.js';

/**
 * Koa middleware that runs in front of oidc-provider, one concern each, in the order
 * provider.ts composes them. They adapt requests at the edge; the protocol stays oidc-provider's.
 */

/** RFC 8414 metadata is the OIDC discovery document; serve it at its own well-known path too. */
export async function authorizationServerMetadata(ctx: Context, next: Next): Promise<void> {
  if (ctx.path === '/.well-known/oauth-authorization-server') ctx.path = '/.well-known/openid-configuration';
  await next();
}

/** oidc-provider's own limit for urlencoded bodies. */
const BODY_LIMIT = 56 * 1024;

function oauthError(ctx: Context, status: number, error: string, description: string): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error, error_description: description };
}

/**
 * Introspection and revocation of JWT access tokens. oidc-provider rejects any JWT there before
 * looking it up; orgconnect's models can find its own JWTs (access-tokens.ts), so the token is
 * handed over in an envelope that does not parse as a JWT. The body is read here and replayed
 * to oidc-provider unchanged otherwise.
 * Introspection also answers 401 invalid_client when no client credentials are sent at all
 * (oidc-provider would answer 400). RFC 7662 section 2.1 requires some form of authorization at
 * the endpoint, against token scanning; a client_id alone proves nothing, so a public client cannot
 * introspect, not even its own tokens (it has no need to: the token response tells it the scope
 * and lifetime, and a refresh tells it whether its grant still stands). Revocation stays open to
 * public clients with their client_id (RFC 7009 section 2.1); policies.ts decides whose tokens.
 * A revocation naming no client at all is a 401 invalid_client too (RFC 6749 section 5.2).
 */
export async function tokenEndpointsForJwts(ctx: Context, next: Next): Promise<void> {
  const introspection = ctx.path === ROUTES.introspection;
  if (ctx.method !== 'POST' || !(introspection || ctx.path === ROUTES.revocation) || !ctx.is('application/x-www-form-urlencoded')) {
    return next();
  }
  let raw: string;
  try {
    raw = ctx.req.readable
      ? await getRawBody(ctx.req, { length: ctx.get('content-length') || undefined, limit: BODY_LIMIT, encoding: 'utf8' })
      : preParsedBody(ctx);
  } catch (error) {
    const status = (error as { status?: number }).status === 413 ? 413 : 400;
    return oauthError(ctx, status, 'invalid_request', 'failed to parse the request body');
  }
  const params = parseQuery(raw);

  if (introspection && !ctx.get('authorization') && params.client_secret === undefined && params.client_assertion === undefined) {
    ctx.set('WWW-Authenticate', 'Basic realm="introspection"');
    return oauthError(ctx, 401, 'invalid_client', 'client authentication is required (public clients cannot introspect)');
  }
  // Revocation with no client at all: RFC 6749 section 5.2 names that invalid_client (oidc-provider: 400 invalid_request).
  if (!introspection && !ctx.get('authorization') && params.client_id === undefined && params.client_secret === undefined && params.client_assertion === undefined) {
    ctx.set('WWW-Authenticate', 'Basic realm="revocation"');
    return oauthError(ctx, 401, 'invalid_client', 'client identification is required: client_id, or client authentication');
  }
  const { token } = params;
  replayBody(ctx, isJwt(token) ? withParameter(raw, 'token', token, wrapJwt(token)) ?? stringifyQuery({ ...params, token: wrapJwt(token) }) : raw);
  await next();
}

/**
 * The body with one parameter's value replaced, when the value appears in it as is (a JWT needs
 * no percent-encoding, so clients send it that way): cheaper than re-encoding every parameter.
 */
function withParameter(raw: string, name: string, value: string, replacement: string): string | undefined {
  const field = `${name}=${value}`;
  const start = raw.indexOf(field);
  const end = start + field.length;
  if (start < 0 || (start > 0 && raw[start - 1] !== '&') || (end < raw.length && raw[end] !== '&')) return undefined;
  return `${raw.slice(0, start)}${name}=${replacement}${raw.slice(end)}`;
}

/** A host body parser mounted before orgconnect already read the stream: use what it parsed. */
function preParsedBody(ctx: Context): string {
  const body = (ctx.req as { body?: unknown }).body ?? (ctx.request as { body?: unknown }).body;
  if (typeof body === 'string') return body;
  return body !== null && typeof body === 'object' ? stringifyQuery(body as never) : '';
}

/** Gives oidc-provider a fresh request stream with this body, so it parses the body itself. */
function replayBody(ctx: Context, body: string): void {
  const bytes = Buffer.from(body);
  const replay = Readable.from([bytes], { objectMode: false }) as Readable & { headers: Record<string, unknown> };
  replay.headers = { ...ctx.req.headers, 'content-length': String(bytes.length) };
  for (const key of ['method', 'url', 'httpVersion', 'socket', 'connection'] as const) {
    // writable: koa-mount writes req.url back when the request leaves a mount
    Object.defineProperty(replay, key, { value: (ctx.req as never)[key], configurable: true, writable: true });
  }
  ctx.req = replay as never;
  ctx.request.req = replay as never;
}

/** userinfo accepts orgconnect's JWT access tokens meant for its own audience (access-tokens.ts). */
export async function userinfoForJwts(ctx: Context, next: Next): Promise<void> {
  if (ctx.path !== ROUTES.userinfo) return next();
  await userinfoScope.run(true, next);
}

/**
 * RFC 6749 section 5.2 (and RFC 8628 section 3.2) name the error for a client using a grant type
 * it may not use `unauthorized_client`; oidc-provider answers `invalid_request`. Only that case is renamed.
 */
export async function rfcGrantTypeError(ctx: Context, next: Next): Promise<void> {
  await next();
  if ((ctx.path !== ROUTES.token && ctx.path !== ROUTES.device_authorization) || ctx.status !== 400) return;
  const body = ctx.body as { error?: string; error_description?: string } | undefined;
  const description = body?.error_description ?? '';
  if (body?.error === 'invalid_request' && (description === 'requested grant type is not allowed for this client' || description.endsWith(' is not allowed for this client'))) {
    body.error = 'unauthorized_client';
  }
}

/**
 * `GET /health`: whether the store answers. 200 `{ status: "ok" }` or 503 `{ status: "unavailable" }`,
 * for load balancers and orchestrators; it reveals nothing else.
 */
export function health(store: Store) {
  return async function healthCheck(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== '/health' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.set('Cache-Control', 'no-store');
    try {
      await store.ping();
      ctx.body = { status: 'ok', store: store.kind };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', store: store.kind };
    }
  };
}

/**
 * What every response gets: the security headers first; after the handlers, a `Retry-After` on a
 * 503 from a store outage, and a JSON error like every other refusal for unknown paths and
 * methods instead of Koa's plain text 404. One layer for the three (see dispatch.ts).
 */
export function responseDefaults(options: { hsts: boolean }) {
  return async function defaults(ctx: Context, next: Next): Promise<void> {
    setSecurityHeaders(ctx, options);
    await next();
    if (ctx.status === 503) ctx.set('Retry-After', '1');
    else if (ctx.status === 404 && ctx.body === undefined) {
      ctx.status = 404;
      ctx.body = { error: 'not_found', error_description: 'no such endpoint' };
    }
  };
}
