// The host app's own tiny user store, shared by the Express and Koa host examples.
import { createHash, timingSafeEqual } from 'node:crypto';

import type { Directory, Membership, Organization, User } from '../../lib/index.js'; // in your app: from 'orgconnect'

/**
 * The host app's own users and organizations: a tiny in-memory store. orgconnect never stores
 * users; it asks the app through these four methods (the `Directory` interface).
 */
const organizations: Organization[] = [
  { id: 'org_acme', name: 'Acme' },
  { id: 'org_globex', name: 'Globex' },
];

interface StoredUser extends User {
  passwordHash: Buffer;
  memberships: Membership[];
}

// An example: hash passwords with scrypt or argon2 in a real app.
const hash = (password: string) => createHash('sha256').update(password).digest();

const users: StoredUser[] = [
  {
    id: 'user_ada', email: 'ada@example.com', name: 'Ada Lovelace', given_name: 'Ada', family_name: 'Lovelace', email_verified: true,
    passwordHash: hash('analytical-engine'),
    memberships: [{ id: 'org_acme', name: 'Acme', role: 'admin' }, { id: 'org_globex', name: 'Globex', role: 'member' }],
  },
  {
    id: 'user_grace', email: 'grace@example.com', name: 'Grace Hopper', given_name: 'Grace', family_name: 'Hopper', email_verified: true,
    passwordHash: hash('compiler'),
    memberships: [{ id: 'org_acme', name: 'Acme', role: 'member' }],
  },
];

/** The claims orgconnect may release: never the password hash. */
const publicUser = ({ passwordHash: _hash, memberships: _memberships, ...user }: StoredUser): User => user;

export const directory: Directory = {
  findUser: (id) => {
    const user = users.find((u) => u.id === id);
    return user && publicUser(user);
  },
  authenticate: (email, password) => {
    const user = users.find((u) => u.email === email.trim().toLowerCase());
    const matches = timingSafeEqual(hash(password), user?.passwordHash ?? hash(`${password}!`));
    return user && matches ? publicUser(user) : undefined;
  },
  listOrganizations: (userId) => users.find((u) => u.id === userId)?.memberships ?? [],
  findOrganization: (id) => organizations.find((o) => o.id === id),
};
