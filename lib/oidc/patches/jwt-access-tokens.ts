import { AsyncLocalStorage } from 'node:async_hooks';

import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type Provider from 'oidc-provider';

import type { Runtime } from '../../runtime.js';

/*
 * Patches oidc-provider's AccessToken and ClientCredentials models (lib/models/access_token.js,
 * client_credentials.js: static `find`, instance `destroy`, `tokenType`).
 * Why no hook serves: oidc-provider stores opaque tokens only and refuses JWT access tokens at
 * introspection and revocation on purpose (`unsupported_token_type`); orgconnect issues JWTs
 * (offline verification) and must still introspect and revoke them (see docs/architecture.md).
 */

/**
 * JWT access tokens are not stored by oidc-provider, so its introspection, revocation and
 * userinfo cannot find them. orgconnect makes its Access Token models find them: a JWT value is
 * verified with the provider's own keys, checked against the revocation list, and turned back into
 * a token object. Everything else (client authentication, grant checks, the response) stays
 * oidc-provider's.
 */

/**
 * Introspection and revocation refuse any value that parses as a JWT before looking it up, so
 * orgconnect's edge middleware wraps a JWT in this envelope: the dots become `~` (a character no
 * JWT has), so it no longer parses as one, and unwrapping is a string replacement.
 */
const WRAPPED_PREFIX = 'orgconnect-jwt~';
export function wrapJwt(jwt: string): string {
  return `${WRAPPED_PREFIX}${jwt.replaceAll('.', '~')}`;
}
function unwrapJwt(value: string): string | undefined {
  if (value.startsWith(WRAPPED_PREFIX)) return value.slice(WRAPPED_PREFIX.length).replaceAll('~', '.');
  return isJwt(value) ? value : undefined;
}

/** Three base64url segments. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Whatever oidc-provider would refuse as a JWT (its check decodes the header). A header that
 * starts with `{"` (base64url `eyJ`, every JWT orgconnect issues) is taken as one without decoding
 * it: jose decodes it again when the token is verified.
 */
export function isJwt(value: unknown): value is string {
  if (typeof value !== 'string' || !COMPACT_JWS.test(value)) return false;
  if (value.startsWith('eyJ')) return true;
  try {
    decodeProtectedHeader(value);
    return true;
  } catch {
    return false;
  }
}

/** Set while oidc-provider serves userinfo: there, tokens for orgconnect's own audiences are accepted. */
export const userinfoScope = new AsyncLocalStorage<true>();

const REVOKED = 'RevokedAccessToken';
const fromJwt = new WeakSet<object>();

/**
 * Signature checks dominate introspection: a verified token's payload is kept until the token
 * expires (bounded, oldest dropped first). Revocation and grant checks still run on every lookup.
 */
const VERIFIED_MAX = 10_000;

/** One cache per provider: a token verified for one issuer says nothing to another. */
async function verifyOwnAccessToken(runtime: Runtime, keySet: ReturnType<typeof createLocalJWKSet>, verified: Map<string, JWTPayload>, jwt: string) {
  const cached = verified.get(jwt);
  if (cached && (cached.exp ?? 0) > Date.now() / 1000) return cached;
  verified.delete(jwt);
  const payload = await verifySignature(runtime, keySet, jwt);
  if (payload) {
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
    verified.set(jwt, payload);
  }
  return payload;
}

async function verifySignature(runtime: Runtime, keySet: ReturnType<typeof createLocalJWKSet>, jwt: string) {
  try {
    const { payload } = await jwtVerify(jwt, keySet, {
      issuer: runtime.options.issuer,
      typ: 'at+jwt',
      algorithms: [runtime.options.keys.alg],
      clockTolerance: 5,
    });
    return payload;
  } catch {
    return undefined;
  }
}

function audienceList(payload: JWTPayload): string[] {
  return Array.isArray(payload.aud) ? payload.aud : payload.aud === undefined ? [] : [payload.aud];
}

/** Installs the lookup on a provider's AccessToken and ClientCredentials models. */
export function installJwtAccessTokens(runtime: Runtime, provider: Provider, publicJwks: JSONWebKeySet): void {
  const keySet = createLocalJWKSet(publicJwks);
  const verified = new Map<string, JWTPayload>();
  const ownAudiences = new Set([runtime.options.audience, runtime.options.issuer]);

  for (const Model of [provider.AccessToken, provider.ClientCredentials] as const) {
    const grantBound = Model === provider.AccessToken;
    const findStored = Model.find.bind(Model);

    Object.defineProperty(Model, 'find', {
      configurable: true,
      writable: true,
      async value(value: unknown, options?: object) {
        const jwt = typeof value === 'string' ? unwrapJwt(value) : undefined;
        if (!jwt) return findStored(value as string, options);

        const payload = await verifyOwnAccessToken(runtime, keySet, verified, jwt);
        // orgconnect puts `sid` (the grant id) in user tokens only; client_credentials tokens have none.
        if (!payload || typeof payload.jti !== 'string' || grantBound !== (typeof payload.sid === 'string')) return undefined;
        // Not revoked, and a deleted application's tokens end with it: two reads, made together.
        if (typeof payload.client_id !== 'string') return undefined;
        const [revoked, client] = await Promise.all([runtime.store.adapter(REVOKED).find(payload.jti), provider.Client.find(payload.client_id)]);
        if (revoked || !client) return undefined;

        const { jti, iat, exp, scope, client_id, sub, sid, org_id } = payload as JWTPayload & Record<string, unknown>;
        const aud = audienceList(payload);
        // userinfo refuses tokens that carry an audience; accept those meant for this provider only.
        const forUserinfo = userinfoScope.getStore() === true && aud.every((a) => ownAudiences.has(a));
        const extra: Record<string, unknown> = {};
        if (org_id !== undefined) extra.org_id = org_id;
        if (sid !== undefined) extra.sid = sid;
        const properties: Record<string, unknown> = { jti, iat, exp, scope, clientId: client_id, aud: forUserinfo ? undefined : payload.aud, extra };
        if (grantBound) Object.assign(properties, { accountId: sub, grantId: sid, sid });
        const token = new Model(properties as never);
        fromJwt.add(token);
        return token;
      },
    });

    const destroyStored = Model.prototype.destroy;
    Object.defineProperty(Model.prototype, 'destroy', {
      configurable: true,
      writable: true,
      async value(this: InstanceType<typeof Model>) {
        if (!fromJwt.has(this)) return destroyStored.call(this);
        // A JWT cannot be deleted: its id is listed as revoked until it would have expired anyway.
        const ttl = Math.max(1, (this.exp ?? 0) - Math.floor(Date.now() / 1000));
        await runtime.store.adapter(REVOKED).upsert(this.jti, { revoked: true } as never, ttl);
        this.emit('destroyed');
      },
    });

    // RFC 6749 token_type is case-insensitive; orgconnect answers `bearer`, as WorkOS does.
    Object.defineProperty(Model.prototype, 'tokenType', {
      configurable: true,
      get(this: { jkt?: string }) {
        return this.jkt ? 'DPoP' : 'bearer';
      },
    });
  }
}
