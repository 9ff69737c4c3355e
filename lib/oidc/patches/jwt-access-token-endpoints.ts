import { parse as parseQuery, stringify as stringifyQuery } from 'node:querystring';
import { Readable } from 'node:stream';

import type { Context, Next } from 'koa';
import getRawBody from 'raw-body';

import { ROUTES } from '../../http/routes.js';
import { isJwt, userinfoScope, wrapJwt } from './jwt-access-tokens.js';

/*
 * The edge half of the JWT access-token patch (jwt-access-tokens.ts holds the model half):
 * oidc-provider's introspection and revocation (lib/actions/introspection.js, revocation.js)
 * refuse any token that parses as a JWT before looking it up, and its userinfo
 * (lib/actions/userinfo.js) refuses tokens that carry an audience. No hook runs before those checks.
 */

/** oidc-provider's own limit for urlencoded bodies. */
const BODY_LIMIT = 56 * 1024;

function oauthError(ctx: Context, status: number, error: string, description: string): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error, error_description: description };
}

/**
 * Introspection and revocation of JWT access tokens. oidc-provider rejects any JWT there before
 * looking it up; orgconnect's models can find its own JWTs (jwt-access-tokens.ts), so the token is
 * handed over in an envelope that does not parse as a JWT. The body is read here and replayed
 * to oidc-provider unchanged otherwise.
 * Introspection also answers 401 invalid_client when no client credentials are sent at all
 * (oidc-provider would answer 400). RFC 7662 section 2.1 requires some form of authorization at
 * the endpoint, against token scanning; a client_id alone proves nothing, so a public client cannot
 * introspect, not even its own tokens (it has no need to: the token response tells it the scope
 * and lifetime, and a refresh tells it whether its grant still stands). Revocation stays open to
 * public clients with their client_id (RFC 7009 section 2.1); introspection-policy.ts decides whose tokens.
 * A revocation naming no client at all is a 401 invalid_client too (RFC 6749 section 5.2).
 */
export async function jwtAccessTokenEndpoints(ctx: Context, next: Next): Promise<void> {
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


/** userinfo accepts orgconnect's JWT access tokens meant for its own audience (jwt-access-tokens.ts). */
export async function userinfoForJwts(ctx: Context, next: Next): Promise<void> {
  if (ctx.path !== ROUTES.userinfo) return next();
  await userinfoScope.run(true, next);
}
