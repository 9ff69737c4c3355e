import { scrypt as scryptCallback, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

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
  password?: string;
  organizations?: string[];
}

const SCRYPT_KEYLEN = 32;

async function hashPassword(password: string): Promise<{ salt: Buffer; hash: Buffer }> {
  const salt = randomBytes(16);
  return { salt, hash: await scrypt(password, salt, SCRYPT_KEYLEN) };
}

/**
 * A directory over in-memory users and organizations (the seed file, the test kit). Passwords
 * are kept only as scrypt hashes, and an unknown email costs the same scrypt as a known one so
 * response time does not reveal which accounts exist.
 */
export async function createSeedDirectory(seed: {
  organizations: Organization[];
  users: SeedUser[];
}): Promise<Directory> {
  const organizations = new Map(seed.organizations.map((org) => [org.id, { id: org.id, name: org.name }]));
  const users = new Map<string, { user: User; organizations: string[]; password?: { salt: Buffer; hash: Buffer } }>();
  const byEmail = new Map<string, string>();

  for (const { password, organizations: memberships = [], ...user } of seed.users) {
    users.set(user.id, {
      user: { email_verified: user.email ? true : undefined, ...user },
      organizations: memberships,
      password: password === undefined ? undefined : await hashPassword(password),
    });
    if (user.email) byEmail.set(user.email.toLowerCase(), user.id);
  }
  const decoy = await hashPassword(randomBytes(16).toString('hex'));

  return {
    findUser: (id) => users.get(id)?.user,
    async authenticate(email, password) {
      const record = users.get(byEmail.get(email.trim().toLowerCase()) ?? '');
      const stored = record?.password ?? decoy;
      const candidate = await scrypt(password, stored.salt, SCRYPT_KEYLEN);
      const matches = timingSafeEqual(candidate, stored.hash);
      return matches && record?.password ? record.user : undefined;
    },
    listOrganizations: (userId) =>
      (users.get(userId)?.organizations ?? []).flatMap((id) => {
        const org = organizations.get(id);
        return org ? [org] : [];
      }),
    findOrganization: (id) => organizations.get(id),
  };
}
