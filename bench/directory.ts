import { createHash, randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

import type { Directory, Organization, User } from '../lib/accounts/directory.js';
import { BENCH_PASSWORD, USER_ORGANIZATIONS } from './fixtures.js';

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

/**
 * A directory of as many users as the bench needs, made up on demand so that every authorization can
 * be a first-time one (consent shown) without hashing thousands of passwords at start. orgconnect
 * (through its `directory` option) and the baseline both authenticate with it. Two kinds of users:
 * - `user<n>@bench.example` (`bench_user_<n>`): the password is checked against a SHA-256 digest, so
 *   a flow measures the provider, not password hashing;
 * - `slow<n>@bench.example` (`bench_slow_<n>`): checked exactly as orgconnect's seed directory
 *   (lib/directory.ts) does, one scrypt with Node's defaults (N=16384, r=8, p=1, 32 bytes) on the libuv
 *   thread pool: what a login really costs with the seed directory.
 */
export async function createBenchDirectory(organizations: Organization[]): Promise<Directory> {
  const byId = new Map(organizations.map((org) => [org.id, { id: org.id, name: org.name }]));
  const memberships = USER_ORGANIZATIONS.map((id) => byId.get(id)!);
  const salt = randomBytes(16);
  const hash = await scrypt(BENCH_PASSWORD, salt, 32);
  const digest = createHash('sha256').update(salt).update(BENCH_PASSWORD).digest();

  const user = (kind: string, n: string): User => ({
    id: `bench_${kind}_${n}`,
    email: `${kind === 'user' ? 'user' : 'slow'}${n}@bench.example`,
    email_verified: true,
    name: `Bench User ${n}`,
    given_name: 'Bench',
    family_name: `User ${n}`,
  });
  const parseId = (id: string) => /^bench_(user|slow)_(\d+)$/.exec(id);
  const parseEmail = (email: string) => /^(user|slow)(\d+)@bench\.example$/.exec(email.trim().toLowerCase());

  return {
    findUser(id) {
      const match = parseId(id);
      return match ? user(match[1]!, match[2]!) : undefined;
    },
    async authenticate(email, password) {
      const match = parseEmail(email);
      const matches =
        match?.[1] === 'user'
          ? timingSafeEqual(createHash('sha256').update(salt).update(password).digest(), digest)
          : timingSafeEqual(await scrypt(password, salt, 32), hash);
      return matches && match ? user(match[1]!, match[2]!) : undefined;
    },
    listOrganizations: (id) => (parseId(id) ? memberships : []),
    findOrganization: (id) => byId.get(id),
  };
}
