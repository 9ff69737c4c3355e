import { readFile } from 'node:fs/promises';

import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

import { OptionsError } from '../errors.js';

/** JWS algorithms orgconnect can sign ID tokens and JWT access tokens with. */
export const SIGNING_ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

/** A private JSON Web Key Set: what `keys.jwks` takes and `JWKS_FILE` holds. */
export interface PrivateJwks {
  keys: JWK[];
}

/** A fresh signing key, for development: tokens signed with it die with the process. */
export async function generateSigningKey(alg: SigningAlg = 'RS256'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, alg, use: 'sig', kid: await calculateJwkThumbprint(jwk) };
}

/**
 * Checks a private JWKS and gives every key a `kid` (its thumbprint) so the JWT header always names
 * the key. Order matters: oidc-provider signs with the first key that fits the algorithm, so a new
 * key is published at the end of the list first and moved to the front once clients have it.
 */
export async function normalizeJwks(input: unknown, where = 'keys.jwks'): Promise<PrivateJwks> {
  const keys = (input as PrivateJwks | undefined)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new OptionsError(`${where}: expected a JWKS object with a non-empty "keys" array`);
  return {
    keys: await Promise.all(
      keys.map(async (key, index) => {
        if (typeof key !== 'object' || key === null || typeof key.kty !== 'string') {
          throw new OptionsError(`${where}.keys[${index}]: not a JWK`);
        }
        if (key.d === undefined && key.kty !== 'oct') {
          throw new OptionsError(`${where}.keys[${index}]: a private key is needed (no "d" member)`);
        }
        if (key.kty === 'oct') throw new OptionsError(`${where}.keys[${index}]: symmetric keys cannot sign tokens verified with the JWKS`);
        const { kid, ...rest } = key;
        return { ...rest, kid: kid ?? (await calculateJwkThumbprint(key)), use: key.use ?? 'sig' };
      }),
    ),
  };
}

/** Reads a private JWKS from a file (`--jwks FILE` / `JWKS_FILE`). */
export async function loadJwksFile(path: string): Promise<PrivateJwks> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new OptionsError(`cannot read the JWKS file ${path}: ${(cause as Error).message}`, { cause });
  }
  return normalizeJwks(parsed, path);
}
