import type { ApplicationInput } from '../apps/applications.js';
import type { Organization, SeedUser } from '../accounts/directory.js';

/**
 * What `startTestProvider()` serves when given nothing: three users (one in two organizations,
 * one in one, one in none), three organizations, and one application of each kind. Every list
 * is replaced as a whole by the option of the same name; spread these to add to them.
 */
export interface TestData {
  organizations: Organization[];
  users: SeedUser[];
  applications: ApplicationInput[];
}

export const testData: TestData = {
  organizations: [
    { id: 'org_acme', name: 'Acme' },
    { id: 'org_globex', name: 'Globex' },
    { id: 'org_partner', name: 'Partner Inc.' },
  ],
  users: [
    {
      id: 'user_alice', email: 'alice@example.com', password: 'wonderland',
      name: 'Alice Liddell', given_name: 'Alice', family_name: 'Liddell',
      organizations: ['org_acme', 'org_globex'],
    },
    {
      id: 'user_bob', email: 'bob@example.com', password: 'builder',
      name: 'Bob Builder', given_name: 'Bob', family_name: 'Builder',
      organizations: ['org_acme'],
    },
    {
      id: 'user_carol', email: 'carol@example.com', password: 'singer',
      name: 'Carol King', given_name: 'Carol', family_name: 'King',
      organizations: [],
    },
  ],
  applications: [
    {
      application_type: 'oauth', is_first_party: true, name: 'Test Web App',
      client_id: 'test_web', client_secret: 'test-web-app-secret-0000000001',
      redirect_uris: ['http://127.0.0.1:3000/callback'],
    },
    {
      application_type: 'oauth', is_first_party: false, organization_id: 'org_partner', name: 'Test Partner App',
      client_id: 'test_partner', client_secret: 'test-partner-secret-0000000002',
      redirect_uris: ['http://127.0.0.1:3001/callback'],
    },
    {
      application_type: 'oauth', is_first_party: true, is_public: true, name: 'Test CLI',
      client_id: 'test_cli', redirect_uris: ['http://127.0.0.1/callback'],
    },
    {
      application_type: 'm2m', name: 'Test Service', organization_id: 'org_acme',
      client_id: 'test_m2m', client_secret: 'test-m2m-secret-00000000000003',
    },
  ],
};
