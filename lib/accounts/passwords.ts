import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Password hashes of seed users: scrypt, written in the PHC string format
 * `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>` (salt and hash in standard base64 without padding).
 * `orgconnect hash-password` writes them; the seed's `password_hash` takes them.
 */

/** scrypt's cost parameters: N = 2^ln (CPU and memory), r (block size), p (parallelization). */
export interface ScryptParams {
  ln: number;
  r: number;
  p: number;
}

/** A parsed password hash. */
export interface PasswordHash extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

/** Node's scrypt defaults (N = 16384, r = 8, p = 1): what orgconnect hashes plain-text seed passwords with. */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ ln: 14, r: 8, p: 1 });

/**
 * What a `password_hash` may ask for. A seed must not make one login cost seconds or a large part of
 * the machine's memory: 128 * N * r bytes at most 128 MiB (ln=17, r=8: OWASP's recommendation), and
 * N * r * p at most 8 times Node's default work (about 0.4 s where the default takes 50 ms).
 */
export const PASSWORD_HASH_LIMITS = Object.freeze({
  ln: [14, 17],
  r: [8, 16],
  p: [1, 8],
  saltBytes: [16, 64],
  hashBytes: [32, 64],
  maxMemoryBytes: 128 * 2 ** 20,
  maxWork: 2 ** 20,
} as const);

const SALT_BYTES = 16;
const HASH_BYTES = 32;
const FORMAT = /^\$scrypt\$ln=([1-9]\d{0,2}),r=([1-9]\d{0,2}),p=([1-9]\d{0,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const DESCRIPTION = '$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt, base64 without padding>$<hash, base64 without padding>';

/** Standard base64 without padding, canonical (re-encodes to the same text), or undefined. */
function decodeBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64').replace(/=+$/, '') === text ? bytes : undefined;
}

function within(value: number, [min, max]: readonly [number, number]): boolean {
  return value >= min && value <= max;
}

/** What is wrong with these parameters (one sentence), or undefined when they are within the limits. */
export function scryptParamsProblem({ ln, r, p }: ScryptParams): string | undefined {
  const L = PASSWORD_HASH_LIMITS;
  if (!within(ln, L.ln)) return `ln must be between ${L.ln[0]} and ${L.ln[1]} (got ${ln})`;
  if (!within(r, L.r)) return `r must be between ${L.r[0]} and ${L.r[1]} (got ${r})`;
  if (!within(p, L.p)) return `p must be between ${L.p[0]} and ${L.p[1]} (got ${p})`;
  if (128 * 2 ** ln * r > L.maxMemoryBytes) return `ln=${ln},r=${r} needs more than ${L.maxMemoryBytes / 2 ** 20} MiB (128 * 2^ln * r)`;
  if (2 ** ln * r * p > L.maxWork) return `ln=${ln},r=${r},p=${p} costs more than 8 times scrypt's default work (2^ln * r * p <= 2^20)`;
  return undefined;
}

/** The memory scrypt needs, OpenSSL's own count (128 * r * (N + 2 + p)): its `maxmem`. */
function memoryBytes({ ln, r, p }: ScryptParams): number {
  return 128 * r * (2 ** ln + 2 + p);
}

/**
 * Parses a password hash strictly: the format, canonical base64, salt and hash lengths and the
 * parameter limits. Returns the hash, or one sentence saying what is wrong.
 */
export function parsePasswordHash(text: string): PasswordHash | { problem: string } {
  const match = FORMAT.exec(text);
  if (!match) return { problem: `not an scrypt hash in the format ${DESCRIPTION}` };
  const [, ln, r, p, salt64, hash64] = match as unknown as [string, string, string, string, string, string];
  const params = { ln: Number(ln), r: Number(r), p: Number(p) };
  const problem = scryptParamsProblem(params);
  if (problem) return { problem };
  const salt = decodeBase64(salt64);
  const hash = decodeBase64(hash64);
  if (!salt) return { problem: 'the salt is not base64 without padding' };
  if (!hash) return { problem: 'the hash is not base64 without padding' };
  const L = PASSWORD_HASH_LIMITS;
  if (!within(salt.length, L.saltBytes)) return { problem: `the salt must be ${L.saltBytes[0]} to ${L.saltBytes[1]} bytes (got ${salt.length})` };
  if (!within(hash.length, L.hashBytes)) return { problem: `the hash must be ${L.hashBytes[0]} to ${L.hashBytes[1]} bytes (got ${hash.length})` };
  return { ...params, salt, hash };
}

/** The PHC string of a hash. */
export function formatPasswordHash({ ln, r, p, salt, hash }: PasswordHash): string {
  const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${ln},r=${r},p=${p}$${b64(salt)}$${b64(hash)}`;
}

/** scrypt of a password (its UTF-8 bytes) with these parameters, on libuv's thread pool. */
export function deriveKey(password: string, salt: Buffer, keylen: number, params: ScryptParams): Promise<Buffer> {
  const options = { N: 2 ** params.ln, r: params.r, p: params.p, maxmem: memoryBytes(params) };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** A new hash of a password: random 16-byte salt, 32-byte hash. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<PasswordHash> {
  const problem = scryptParamsProblem(params);
  if (problem) throw new RangeError(problem);
  const salt = randomBytes(SALT_BYTES);
  return { ...params, salt, hash: await deriveKey(password, salt, HASH_BYTES, params) };
}

/** Whether a password matches a hash: scrypt with the hash's own parameters, compared in constant time. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  return timingSafeEqual(await deriveKey(password, stored.salt, stored.hash.length, stored), stored.hash);
}
