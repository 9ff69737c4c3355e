import { expect } from 'chai';

import { createProvider, OptionsError, parseSeed, SeedError } from '../lib/index.js';
import { demoSeed } from './helpers/provider.js';

const clone = () => structuredClone(demoSeed);

describe('seed validation names the faulty entry', () => {
  it('accepts the demo seed', () => {
    const seed = parseSeed(clone());
    expect(seed.applications).to.have.length(4);
    expect(seed.users.map((u) => u.id)).to.include('user_alice');
  });

  const cases: [string, (seed: any) => void, RegExp][] = [
    ['a third-party app without organization_id', (s) => delete s.applications[1].organization_id, /applications\[1\] \("Partner CRM"\).*third-party application needs organization_id/],
    ['an unknown organization', (s) => (s.applications[1].organization_id = 'org_nope'), /applications\[1\] \("Partner CRM"\).*unknown organization_id "org_nope"/],
    ['a public app with a secret', (s) => (s.applications[2].client_secret = 'x'.repeat(20)), /applications\[2\] \("Acme CLI"\).*public application must not have a client_secret/],
    ['an M2M app with redirect URIs', (s) => (s.applications[3].redirect_uris = ['http://x/cb']), /applications\[3\] \("Nightly sync"\).*redirect_uris/],
    ['duplicate application ids', (s) => (s.applications[1].client_id = s.applications[0].client_id), /applications\[1\]: duplicate id "client_support_portal"/],
    ['duplicate user ids', (s) => (s.users[1].id = s.users[0].id), /users\[1\]: duplicate id "user_alice"/],
    ['duplicate organization ids', (s) => (s.organizations[1].id = 'org_acme'), /organizations\[1\]: duplicate id "org_acme"/],
    ['a user in an unknown organization', (s) => s.users[0].organizations.push('org_ghost'), /users\[0\] \("Alice Liddell"\): unknown organization "org_ghost"/],
    ['an M2M app without organization', (s) => delete s.applications[3].organization_id, /applications\[3\] \("Nightly sync"\).*organization_id/],
    ['an OAuth app without redirect URIs', (s) => (s.applications[0].redirect_uris = []), /applications\[0\] \("Support Portal"\).*redirect_uri/],
    ['an unknown field', (s) => (s.applications[0].colour = 'blue'), /applications\[0\] \("Support Portal"\).*colour/],
  ];
  for (const [name, mutate, message] of cases) {
    it(`rejects ${name}`, () => {
      const seed = clone();
      mutate(seed);
      expect(() => parseSeed(seed)).to.throw(SeedError, message);
    });
  }

  it('fails createProvider with a message naming the option', async () => {
    const attempts: [object, RegExp][] = [
      [{ issuer: 'not a url' }, /invalid option issuer/],
      [{ issuer: 'http://localhost:3000', ttl: { accessToken: -5 } }, /invalid option ttl.accessToken/],
      [{ issuer: 'http://localhost:3000', cookies: { keys: ['short'] } }, /invalid option cookies.keys.0/],
      [{ issuer: 'http://localhost:3000', keys: { jwks: { keys: [] } } }, /keys.jwks/],
      [{ issuer: 'http://localhost:3000', keys: { alg: 'HS256' } }, /invalid option keys.alg/],
      [{ issuer: 'http://localhost:3000', directory: {} }, /invalid option directory/],
      [{ issuer: 'http://localhost:3000', colour: 'blue' }, /colour/],
    ];
    for (const [options, message] of attempts) {
      const error = await createProvider(options as never).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).to.be.instanceOf(OptionsError);
      expect((error as Error).message).to.match(message);
    }
  });
});
