import { createHash, hash, randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCallback) as (secret: string, salt: Buffer, keylen: number) => Promise<Buffer>;
const KEYLEN = 32;

/** A client secret as stored: a salted scrypt hash, never the secret itself. */
export interface StoredSecret {
  id: string;
  /**
   * base64url scrypt(secret, salt); with `scheme: 'sha256'` a salted SHA-256, used only in memory
   * for a secret the configuration holds in plain anyway (a seed's), so a large seed starts fast.
   */
  hash: string;
  scheme?: 'sha256';
  salt: string;
  /** the last 4 characters, to tell secrets apart in a list */
  secret_hint: string;
  created_at: string;
}

/** What the registry shows of a secret. `last_used_at` is tracked separately (see registry). */
export interface ClientSecretInfo {
  id: string;
  secret_hint: string;
  created_at: string;
  last_used_at?: string;
}

export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

export async function hashSecret(secret: string): Promise<StoredSecret> {
  const salt = randomBytes(16);
  return {
    id: `secret_${randomBytes(9).toString('base64url')}`,
    hash: (await scrypt(secret, salt, KEYLEN)).toString('base64url'),
    salt: salt.toString('base64url'),
    secret_hint: secret.slice(-4),
    created_at: new Date().toISOString(),
  };
}

/** A configured secret's in-memory hash: never written to the store (see `scheme`). */
export function hashConfiguredSecret(secret: string, id: string, createdAt: string): StoredSecret {
  const salt = randomBytes(16);
  return { id, scheme: 'sha256', hash: sha256(secret, salt).toString('base64url'), salt: salt.toString('base64url'), secret_hint: secret.slice(-4), created_at: createdAt };
}

const sha256 = (secret: string, salt: Buffer) => createHash('sha256').update(salt).update(secret).digest();

async function matches(secret: string, stored: StoredSecret): Promise<boolean> {
  const salt = Buffer.from(stored.salt, 'base64url');
  const candidate = stored.scheme === 'sha256' ? sha256(secret, salt) : await scrypt(secret, salt, KEYLEN);
  const expected = Buffer.from(stored.hash, 'base64url');
  return candidate.length === expected.length && timingSafeEqual(candidate, expected);
}

const CACHE_TTL_MS = 5 * 60 * 1000;
const CACHE_MAX = 10_000;

/**
 * Checks presented secrets against an app's hashes. scrypt is slow on purpose, so a verified
 * (client, secret) pair is remembered briefly in memory, keyed by a SHA-256 of both: a hit names
 * the secret id it matched, and counts only while that id is still among the app's secrets, so
 * a revocation takes effect at once on every instance. Failures are never cached.
 */
export class SecretVerifier {
  readonly #verified = new Map<string, { secretId: string; expires: number }>();

  async verify(clientId: string, presented: string, secrets: StoredSecret[]): Promise<StoredSecret | undefined> {
    // One-shot hash: a third of createHash's cost, on every client authentication.
    const key = hash('sha256', `${clientId}\0${presented}`, 'base64url');
    const hit = this.#verified.get(key);
    if (hit && hit.expires > Date.now()) {
      const secret = secrets.find((s) => s.id === hit.secretId);
      if (secret) return secret;
    }
    this.#verified.delete(key);
    for (const secret of secrets) {
      if (await matches(presented, secret)) {
        if (this.#verified.size >= CACHE_MAX) this.#verified.delete(this.#verified.keys().next().value!);
        this.#verified.set(key, { secretId: secret.id, expires: Date.now() + CACHE_TTL_MS });
        return secret;
      }
    }
    return undefined;
  }
}
