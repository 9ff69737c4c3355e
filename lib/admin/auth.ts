import { createHash, timingSafeEqual } from 'node:crypto';

import type { Context } from 'koa';

import { AdminError } from './errors.js';

const REALM = 'orgconnect-admin';
const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * The admin API's bearer token check (RFC 6750). Both sides are hashed with SHA-256 before
 * `timingSafeEqual`, so the comparison takes the same time whatever the presented token's length
 * or content. Without credentials: 401 `unauthorized`; with wrong ones: 401 `invalid_token`.
 */
export function bearerAuth(token: string): (ctx: Context) => void {
  const expected = sha256(token);
  return function authorize(ctx: Context): void {
    const header = ctx.get('authorization');
    if (!header) {
      throw new AdminError(401, 'unauthorized', 'an admin bearer token is required', { 'WWW-Authenticate': `Bearer realm="${REALM}"` });
    }
    const match = /^Bearer +([\x21-\x7E]+) *$/i.exec(header);
    const presented = sha256(match?.[1] ?? '');
    // Always compare, even when the header is malformed, so every refusal costs the same.
    const valid = timingSafeEqual(presented, expected) && match !== null;
    if (!valid) {
      throw new AdminError(401, 'invalid_token', 'the admin bearer token is not valid', {
        'WWW-Authenticate': `Bearer realm="${REALM}", error="invalid_token"`,
      });
    }
  };
}
