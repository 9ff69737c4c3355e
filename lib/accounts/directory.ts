import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import { SeedError } from '../errors.js';
import { DEFAULT_SCRYPT_PARAMS, deriveKey, parsePasswordHash, type ScryptParams } from './passwords.js';

const SALT_BYTES = 16;
const HASH_BYTES = 32;

/** An organization as the host app knows it. */
export interface Organization {
  id: string;
  name: string;
}

/** A user's membership of an organization. */
export interface Membership extends Organization {
  role?: string;
}

/** A user and the claims orgconnect may release about them (by scope: profile, email). */
export interface User {
  id: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  picture?: string;
}

/**
 * The host application's users and organizations. orgconnect never stores users itself: it asks
 * the directory. Every method may be async and may throw; errors become a clean error page.
 */
export interface Directory {
  /** The user with this id, or undefined when there is none (any more). */
  findUser(id: string): Promise<User | undefined> | User | undefined;
  /** The user these credentials belong to, or undefined. Must not reveal which part was wrong. */
  authenticate(email: string, password: string): Promise<User | undefined> | User | undefined;
  /** The organizations the user is a member of (empty when none). */
  listOrganizations(userId: string): Promise<Membership[]> | Membership[];
  /** An organization by id (used to name an app's owner on the consent screen). */
  findOrganization(id: string): Promise<Organization | undefined> | Organization | undefined;
}

export interface SeedUser extends User {
  /** Plain text: hashed (scrypt) at this user's first successful login, so a start with many users stays fast. */
  password?: string;
  /** Or a hash made beforehand (`orgconnect hash-password`): `$scrypt$ln=14,r=8,p=1$<salt>$<hash>`. */
  password_hash?: string;
  organizations?: string[];
}

/** A user's password hash: from the seed's `password_hash`, or made at the first login. */
interface Credential extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

interface Account {
  user: User;
  organizations: string[];
  /** A plain-text password until the user's first successful login, which replaces it with `credential`. */
  password?: string;
  credential?: Credential;
}

const paramsKey = ({ ln, r, p }: ScryptParams) => `${ln},${r},${p}`;

/** The parameters most users' hashes have: an unknown email then costs what a known one usually costs. */
function commonParams(accounts: Iterable<Account>): ScryptParams {
  const counts = new Map<string, { params: ScryptParams; count: number }>();
  for (const account of accounts) {
    const params = account.credential ?? (account.password === undefined ? undefined : DEFAULT_SCRYPT_PARAMS);
    if (!params) continue;
    const entry = counts.get(paramsKey(params)) ?? { params: { ln: params.ln, r: params.r, p: params.p }, count: 0 };
    entry.count += 1;
    counts.set(paramsKey(params), entry);
  }
  let best: { params: ScryptParams; count: number } = { params: DEFAULT_SCRYPT_PARAMS, count: 0 };
  for (const entry of counts.values()) if (entry.count > best.count) best = entry;
  return best.params;
}

/** One scrypt of the candidate with the credential's salt and parameters, compared in constant time. */
async function matches(password: string, credential: Credential): Promise<boolean> {
  return timingSafeEqual(await deriveKey(password, credential.salt, credential.hash.length, credential), credential.hash);
}

/**
 * A password not hashed yet (a plain-text seed password before the user's first successful login).
 * The candidate is hashed with a new salt, as every login hashes once, and compared with the stored
 * text in constant time (SHA-256 digests, equal lengths). When they match, that hash *is* the stored
 * password's hash: it is kept and the text dropped. So the first login costs one scrypt, like any
 * other and like the decoy, where hashing the stored text alongside would cost two. `stored` is read
 * before the hashing: a concurrent login may drop the text meanwhile.
 */
async function matchesPlainText(password: string, account: Account, stored: string): Promise<boolean> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await deriveKey(password, salt, HASH_BYTES, DEFAULT_SCRYPT_PARAMS);
  if (!timingSafeEqual(sha256(password), sha256(stored))) return false;
  account.credential ??= { ...DEFAULT_SCRYPT_PARAMS, salt, hash };
  account.password = undefined;
  return true;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * A directory over in-memory users and organizations (the seed file, the test kit). Passwords are
 * kept as scrypt hashes: a `password_hash` as given, a plain-text `password` hashed at the user's
 * first successful login (a start with 10,000 users hashes nothing). Every login costs one scrypt,
 * an unknown email too (a decoy with the parameters most users' hashes have), so response time
 * does not reveal which accounts exist.
 */
export async function createSeedDirectory(seed: {
  organizations: Organization[];
  users: SeedUser[];
}): Promise<Directory> {
  const organizations = new Map(seed.organizations.map((org) => [org.id, { id: org.id, name: org.name }]));
  const users = new Map<string, Account>();
  const byEmail = new Map<string, string>();

  for (const [index, { password, password_hash, organizations: memberships = [], ...user }] of seed.users.entries()) {
    const account: Account = { user: { email_verified: user.email ? true : undefined, ...user }, organizations: memberships };
    if (password !== undefined && password_hash !== undefined) throw new SeedError(`users[${index}] ("${user.id}"): give password or password_hash, not both`);
    if (password_hash !== undefined) {
      const parsed = parsePasswordHash(password_hash);
      if ('problem' in parsed) throw new SeedError(`users[${index}] ("${user.id}"): password_hash: ${parsed.problem}`);
      account.credential = parsed;
    } else {
      account.password = password;
    }
    users.set(user.id, account);
    if (user.email) byEmail.set(user.email.toLowerCase(), user.id);
  }
  // Random bytes no password hashes to: no scrypt at start, and the comparison never matches.
  const decoyParams = commonParams(users.values());
  const decoy: Credential = { ...decoyParams, salt: randomBytes(SALT_BYTES), hash: randomBytes(HASH_BYTES) };

  return {
    findUser: (id) => users.get(id)?.user,
    async authenticate(email, password) {
      const account = users.get(byEmail.get(email.trim().toLowerCase()) ?? '');
      if (account?.credential) return (await matches(password, account.credential)) ? account.user : undefined;
      if (account?.password !== undefined) return (await matchesPlainText(password, account, account.password)) ? account.user : undefined;
      await matches(password, decoy);
      return undefined;
    },
    listOrganizations: (userId) =>
      (users.get(userId)?.organizations ?? []).flatMap((id) => {
        const org = organizations.get(id);
        return org ? [org] : [];
      }),
    findOrganization: (id) => organizations.get(id),
  };
}
