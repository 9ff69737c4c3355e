import { formatPasswordHash, hashPassword } from '../../lib/accounts/passwords.js';

export interface LargeSeedSize {
  users: number;
  applications: number;
  organizations: number;
}

/** The password of every generated user (those with a `password_hash` too). */
export const LARGE_SEED_PASSWORD = 'large-seed-password-1';

/**
 * A seed as a big installation might write it: `users` users (9 in 10 with a plain-text password,
 * 1 in 10 with a `password_hash`, in one or two organizations) and `applications` applications, a
 * mix in tenths: first-party confidential (3: a given secret, a generated one, a given client_id),
 * third-party (2: with and without a secret), public with PKCE (2), M2M (3: a given secret, a
 * generated one, a given client_id). Half have no client_id: theirs is derived from kind and name.
 */
export async function generateLargeSeed(size: LargeSeedSize) {
  const hash = formatPasswordHash(await hashPassword(LARGE_SEED_PASSWORD));
  const organizations = Array.from({ length: size.organizations }, (_, i) => ({ id: `org_${i}`, name: `Organization ${i}` }));
  const org = (i: number) => `org_${i % size.organizations}`;
  const users = Array.from({ length: size.users }, (_, i) => ({
    id: `user_${i}`,
    email: `user${i}@large.example`,
    name: `User ${i}`,
    ...(i % 10 === 9 ? { password_hash: hash } : { password: `${LARGE_SEED_PASSWORD}` }),
    organizations: i % 3 === 0 ? [org(i), org(i + 1)] : [org(i)],
  }));
  const secret = (i: number) => `large-seed-secret-${String(i).padStart(8, '0')}`;
  const redirect = (i: number) => [`https://app${i}.large.example/callback`];
  const applications = Array.from({ length: size.applications }, (_, i) => {
    const name = `App ${i}`;
    switch (i % 10) {
      case 0: return { application_type: 'oauth', is_first_party: true, name, client_secret: secret(i), redirect_uris: redirect(i) };
      case 1: return { application_type: 'oauth', is_first_party: true, name, redirect_uris: redirect(i) };
      case 2: return { application_type: 'oauth', is_first_party: true, name, client_id: `client_app_${i}`, client_secret: secret(i), redirect_uris: redirect(i) };
      case 3: return { application_type: 'oauth', is_first_party: false, organization_id: org(i), name, client_secret: secret(i), redirect_uris: redirect(i) };
      case 4: return { application_type: 'oauth', is_first_party: false, organization_id: org(i), name, client_id: `client_app_${i}`, redirect_uris: redirect(i) };
      case 5: return { application_type: 'oauth', is_first_party: true, is_public: true, name, redirect_uris: ['http://127.0.0.1/callback'] };
      case 6: return { application_type: 'oauth', is_first_party: true, is_public: true, name, client_id: `client_app_${i}`, redirect_uris: [`com.large.app${i}:/callback`] };
      case 7: return { application_type: 'm2m', organization_id: org(i), name, client_secret: secret(i) };
      case 8: return { application_type: 'm2m', organization_id: org(i), name };
      default: return { application_type: 'm2m', organization_id: org(i), name, client_id: `client_app_${i}`, client_secret: secret(i) };
    }
  });
  return { organizations, users, applications };
}
