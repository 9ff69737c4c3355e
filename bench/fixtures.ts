import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import type { JWK } from 'jose';

import { generateSigningKey } from '../lib/options/keys.js';
import type { Organization } from '../lib/accounts/directory.js';

/**
 * What every benchmarked server serves: the demo organizations and applications (fixtures/demo.json),
 * the same signing keys and cookie keys for orgconnect and the baseline, and synthetic users.
 */
export const demoSeed = JSON.parse(readFileSync(new URL('../fixtures/demo.json', import.meta.url), 'utf8')) as {
  organizations: Organization[];
  applications: Array<Record<string, unknown>>;
};

/** The third-party app the authorization_code flow signs in to (consent is shown). */
export const CRM = {
  clientId: 'client_partner_crm',
  secret: 'demo-partner-crm-secret-000002',
  redirectUri: 'http://localhost:5002/callback',
  ownerOrganization: 'org_partner',
} as const;

/** The M2M app of the client_credentials scenario. */
export const SYNC = { clientId: 'client_nightly_sync', secret: 'demo-nightly-sync-secret-00003', organization: 'org_acme' } as const;

/** Every synthetic user is a member of these two organizations, so the organization step always shows. */
export const USER_ORGANIZATIONS = ['org_acme', 'org_globex'] as const;
/** The organization the scripted user picks. */
export const PICKED_ORGANIZATION = 'org_globex';

export const BENCH_PASSWORD = 'bench-password-1';
/** A synthetic user (bench/directory.ts): `slow` ones log in with scrypt, the others with one SHA-256. */
export const userEmail = (n: number, slow = false) => `${slow ? 'slow' : 'user'}${n}@bench.example`;

export const basicAuth = (clientId: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;

export type Alg = 'RS256' | 'ES256';

/** Secrets shared by every server of one bench run (handed to the children over IPC). */
export interface SharedSecrets {
  jwks: Record<Alg, { keys: JWK[] }>;
  cookieKeys: string[];
}

export async function createSharedSecrets(): Promise<SharedSecrets> {
  return {
    jwks: {
      RS256: { keys: [await generateSigningKey('RS256')] },
      ES256: { keys: [await generateSigningKey('ES256')] },
    },
    cookieKeys: [randomBytes(32).toString('base64url')],
  };
}
