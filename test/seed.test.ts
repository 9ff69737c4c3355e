import { createHash } from 'node:crypto';

import { expect } from 'chai';

import { parseApplication } from '../lib/apps/applications.js';
import { createProvider, MemoryStore, OptionsError, parseSeed, SeedError } from '../lib/index.js';
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

describe('seed applications without client_id get a deterministic id', () => {
  const withoutIds = () => {
    const seed = clone();
    for (const app of seed.applications) delete app.client_id;
    return seed;
  };

  it('derives the same id at every parse: client_ + 24 hex of sha256("seed:<kind>:<name>")', () => {
    const first = parseSeed(withoutIds()).applications.map((a) => a.client_id);
    const second = parseSeed(withoutIds()).applications.map((a) => a.client_id);
    expect(first).to.deep.equal(second);
    expect(new Set(first).size).to.equal(4);
    const expected = `client_${createHash('sha256').update('seed:oauth:Support Portal').digest('hex').slice(0, 24)}`;
    expect(first[0]).to.equal(expected);
    const m2m = `client_${createHash('sha256').update('seed:m2m:Nightly sync').digest('hex').slice(0, 24)}`;
    expect(first[3]).to.equal(m2m);
  });

  it('keeps a given client_id, and parsing a parsed seed again changes nothing', () => {
    const seed = withoutIds();
    seed.applications[1].client_id = 'client_mine';
    const parsed = parseSeed(seed);
    expect(parsed.applications[1]!.client_id).to.equal('client_mine');
    expect(parseSeed(structuredClone(parsed)).applications.map((a) => a.client_id)).to.deep.equal(parsed.applications.map((a) => a.client_id));
  });

  it('leaves ids of applications created at run time random', () => {
    const app = { application_type: 'm2m', name: 'Nightly sync', organization_id: 'org_acme' };
    expect(parseApplication(app).client_id).not.to.equal(parseApplication(app).client_id);
  });

  it('two providers started from the same seed know the same client_id', async () => {
    const seeds = [withoutIds(), withoutIds()];
    const providers = await Promise.all(seeds.map((seed) => createProvider({ issuer: 'http://127.0.0.1:1', seed, store: new MemoryStore() })));
    try {
      const [a, b] = await Promise.all(providers.map(async (p) => (await p.applications.list()).map((app) => app.client_id).sort()));
      expect(a).to.have.length(4);
      expect(a).to.deep.equal(b);
      expect(await providers[1]!.applications.get(a![0]!)).to.include({ client_id: a![0] });
    } finally {
      await Promise.all(providers.map((p) => p.close()));
    }
  });

  it('refuses two applications of the same kind and name without client_id, naming the entry', () => {
    const seed = withoutIds();
    seed.applications.push({ ...seed.applications[3], description: 'a second one' });
    expect(() => parseSeed(seed)).to.throw(
      SeedError,
      /^applications\[4\] \("Nightly sync"\): same kind and name as applications\[3\] \("Nightly sync"\), so the same derived client_id "client_[0-9a-f]{24}": give it a client_id$/,
    );
    seed.applications[4].client_id = 'client_second_sync';
    expect(parseSeed(seed).applications).to.have.length(5);
  });

  it('accepts the same name for two kinds (different ids)', () => {
    const seed = withoutIds();
    seed.applications.push({ ...seed.applications[3], application_type: 'oauth', is_first_party: true, redirect_uris: ['http://localhost:5009/cb'] });
    const ids = parseSeed(seed).applications.map((a) => a.client_id);
    expect(ids[4]).not.to.equal(ids[3]);
  });

  it('refuses a client_id equal to the derived id of another entry, saying which one to give an id', () => {
    const seed = withoutIds();
    const derived = parseSeed(withoutIds()).applications[0]!.client_id;
    seed.applications[2].client_id = derived;
    expect(() => parseSeed(seed)).to.throw(SeedError, /^applications\[2\] \("Acme CLI"\): duplicate id "client_[0-9a-f]{24}" \(applications\[0\] \("Support Portal"\) has no client_id.*give it a client_id$/);
  });
});
