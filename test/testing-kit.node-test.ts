/**
 * orgconnect/testing used from node's own test runner (run by test/testing-kit.test.ts):
 *
 *   node --import tsx --test test/testing-kit.node-test.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createRemoteJWKSet, jwtVerify } from 'jose';

import { startTestProvider, type TestProvider } from '../lib/testing/index.js';

describe('orgconnect/testing under node:test', () => {
  let op: TestProvider;
  before(async () => {
    op = await startTestProvider({ path: '/oauth' });
  });
  after(() => op.stop());

  it('mints an access token an API verifies like any other', async () => {
    const token = await op.mintAccessToken({ app: 'test_web', user: 'bob@example.com' });
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${op.issuer}/oauth2/jwks`)), { issuer: op.issuer, audience: op.issuer });
    assert.equal(payload.sub, 'user_bob');
    assert.equal(payload.org_id, 'org_acme');
  });

  it('signs a user in to a third-party app through consent', async () => {
    const { steps, tokens } = await op.signIn({ app: 'test_partner', user: 'alice@example.com', organization: 'org_globex', organizationHint: false });
    assert.deepEqual(steps, ['login', 'organization', 'consent']);
    assert.equal(typeof tokens?.id_token, 'string');
  });

  it('reports a denied consent', async () => {
    const { error, code } = await op.signIn({ app: 'test_partner', user: 'bob@example.com', consent: 'deny' });
    assert.equal(error, 'access_denied');
    assert.equal(code, undefined);
  });
});
