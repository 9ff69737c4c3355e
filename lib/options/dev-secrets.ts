import { randomBytes } from 'node:crypto';

import { generateSigningKey, type PrivateJwks, type SigningAlg } from './keys.js';
import type { Store } from '../store/store.js';

const MODEL = 'DevSecrets';

export interface DevSecrets {
  jwks: PrivateJwks;
  cookieKeys: string[];
}

/**
 * Development on a shared store (Redis): instances that were given no signing or cookie keys
 * agree on generated ones kept in the store, so a second `npm start -- --redis URL` on another
 * port serves the same issuer. The first to write wins; the others read what it wrote.
 * Production supplies its keys (`--jwks`, `COOKIE_KEYS`) and never gets here.
 */
export async function sharedDevSecrets(store: Store, alg: SigningAlg): Promise<DevSecrets> {
  const adapter = store.adapter(MODEL);
  const id = `secrets:${alg}`;
  const existing = (await adapter.find(id)) as DevSecrets | undefined;
  if (existing) return existing;
  const generated: DevSecrets = { jwks: { keys: [await generateSigningKey(alg)] }, cookieKeys: [randomBytes(32).toString('base64url')] };
  return (await store.putIfAbsent(MODEL, id, generated as never)) as unknown as DevSecrets;
}
