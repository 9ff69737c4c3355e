import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { expect } from 'chai';

import { MemoryStore } from '../lib/store/memory.js';
import { createProvider, generateSigningKey, type Directory, type OrgconnectOptions, type OrgconnectProvider } from '../lib/index.js';
import { createSeedDirectory } from '../lib/accounts/directory.js';
import { demoSeed } from './helpers/provider.js';
import { DEMO } from './helpers/relying-party.js';
import { STORES } from './helpers/stores.js';
import { clientCredentials } from './helpers/http.js';
import { formAction, UserAgent } from './helpers/user-agent.js';

/*
 * Races on orgconnect's own records, sent as truly concurrent HTTP requests to two provider
 * instances serving one issuer from one store (memory: one MemoryStore shared in process; Redis
 * and Cluster: one key prefix). Each race runs several rounds: a read-modify-write loses some of
 * them reliably, an atomic store operation none.
 */

const TOKEN = `admin-${randomBytes(24).toString('base64url')}`;
const ROUNDS = 6;

/** Counts password checks, to prove the throttle stops them before the directory is asked. */
class CountingDirectory {
  checks = 0;
  constructor(readonly inner: Directory) {}
  findUser = (id: string) => this.inner.findUser(id);
  listOrganizations = (id: string) => this.inner.listOrganizations(id);
  findOrganization = (id: string) => this.inner.findOrganization(id);
  authenticate = (email: string, password: string) => {
    this.checks += 1;
    return this.inner.authenticate(email, password);
  };
}

interface Instance {
  url: string;
  orgconnect: OrgconnectProvider;
  server: Server;
}

async function listen(): Promise<{ server: Server; url: string }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

for (const kind of STORES) {
  describe(`races on orgconnect's records, two instances [${kind.name} store]`, function () {
    this.timeout(120_000);
    const instances: Instance[] = [];
    let issuer: string;
    let directory: CountingDirectory;
    const at = (i: number) => instances[i % instances.length]!;

    before(async function () {
      const storeOptions = kind.name === 'memory' ? { store: new MemoryStore() } : await kind.options(this);
      const keys = { jwks: { keys: [await generateSigningKey('RS256')] } };
      const cookies = { keys: [randomBytes(32).toString('base64url')] };
      directory = new CountingDirectory(await createSeedDirectory(demoSeed));
      const listening = [await listen(), await listen()];
      issuer = listening[0]!.url;
      for (const { server, url } of listening) {
        const options: OrgconnectOptions = { ...storeOptions, issuer, seed: demoSeed, directory, keys, cookies, admin: { token: TOKEN } };
        const orgconnect = await createProvider(options);
        server.on('request', orgconnect.callback());
        instances.push({ url, orgconnect, server });
      }
    });
    after(async () => {
      for (const { server, orgconnect } of instances) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await orgconnect.close();
      }
      await (instances[0]?.orgconnect.store as MemoryStore | undefined)?.close?.();
    });

    /** An admin API call to instance i. */
    async function api(i: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const response = await fetch(`${at(i).url}/admin${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as any };
    }
    const token = (i: number, id: string, secret: string) => clientCredentials(at(i).url, id, secret);
    const m2m = async (name: string) => {
      const created = await api(0, 'POST', '/applications', { application_type: 'm2m', name, organization_id: 'org_acme' });
      expect(created.status).to.equal(201);
      return created.body as { client_id: string; client_secret: string };
    };
    const firstSecretId = async (clientId: string) => (await api(0, 'GET', `/applications/${clientId}/client_secrets`)).body.data[0].id as string;

    it('concurrent secret creates: every secret answered 201 works', async () => {
      for (let round = 0; round < ROUNDS; round += 1) {
        const app = await m2m(`Concurrent secrets ${round}`);
        const created = await Promise.all([0, 1, 2, 3].map((i) => api(i, 'POST', `/applications/${app.client_id}/client_secrets`, {})));
        for (const [i, reply] of created.entries()) {
          expect(reply.status, `round ${round}`).to.equal(201);
          expect((await token(i + 1, app.client_id, reply.body.secret)).status, `round ${round}, secret ${i}`).to.equal(200);
        }
        expect((await api(1, 'GET', `/applications/${app.client_id}/client_secrets`)).body.data).to.have.length(5);
      }
    });

    it('a secret revoke racing a secret create: the revoked secret stays revoked, the new one works', async () => {
      for (let round = 0; round < ROUNDS; round += 1) {
        const app = await m2m(`Rotation ${round}`);
        const oldId = await firstSecretId(app.client_id);
        const [created, revoked] = await Promise.all([
          api(0, 'POST', `/applications/${app.client_id}/client_secrets`, {}),
          api(1, 'DELETE', `/applications/${app.client_id}/client_secrets/${oldId}`),
        ]);
        expect([created.status, revoked.status], `round ${round}`).to.deep.equal([201, 204]);
        expect((await token(round, app.client_id, app.client_secret)).status, `round ${round}: revoked secret`).to.equal(401);
        expect((await token(round + 1, app.client_id, created.body.secret)).status, `round ${round}: new secret`).to.equal(200);
      }
    });

    it('a PATCH racing a secret create: both changes are kept (or one is refused)', async () => {
      for (let round = 0; round < ROUNDS; round += 1) {
        const created = await api(0, 'POST', '/applications', {
          application_type: 'oauth',
          name: `Patched ${round}`,
          is_first_party: true,
          redirect_uris: ['https://a.example.com/cb', 'https://b.example.com/cb'],
        });
        const id = created.body.client_id as string;
        const [patched, secret] = await Promise.all([
          api(0, 'PATCH', `/applications/${id}`, { redirect_uris: ['https://a.example.com/cb'] }),
          api(1, 'POST', `/applications/${id}/client_secrets`, {}),
        ]);
        const app = (await api(1, 'GET', `/applications/${id}`)).body;
        if (patched.status === 200) expect(app.redirect_uris, `round ${round}`).to.deep.equal(['https://a.example.com/cb']);
        else expect(patched.status).to.be.oneOf([409, 412]);
        if (secret.status === 201) {
          const listed = (await api(0, 'GET', `/applications/${id}/client_secrets`)).body.data.map((s: { id: string }) => s.id);
          expect(listed, `round ${round}`).to.include(secret.body.id);
        } else expect(secret.status).to.be.oneOf([409, 412]);
      }
    });

    it('a DELETE racing a secret create: the application stays deleted', async () => {
      for (let round = 0; round < ROUNDS; round += 1) {
        const app = await m2m(`Deleted ${round}`);
        const [deleted, secret] = await Promise.all([
          api(0, 'DELETE', `/applications/${app.client_id}`),
          api(1, 'POST', `/applications/${app.client_id}/client_secrets`, {}),
        ]);
        expect(deleted.status, `round ${round}`).to.equal(204);
        expect((await api(1, 'GET', `/applications/${app.client_id}`)).status, `round ${round}`).to.equal(404);
        expect((await token(0, app.client_id, app.client_secret)).status, `round ${round}`).to.equal(401);
        if (secret.status === 201) expect((await token(1, app.client_id, secret.body.secret)).status, `round ${round}`).to.equal(401);
        const listed = await api(0, 'GET', '/applications?limit=100');
        expect(listed.body.data.map((a: { client_id: string }) => a.client_id)).not.to.include(app.client_id);
      }
    });

    it('concurrent creates on both instances: every application answered 201 is listed', async () => {
      const replies = await Promise.all(
        Array.from({ length: 16 }, (_, i) => api(i, 'POST', '/applications', { application_type: 'm2m', name: `Parallel ${i}`, organization_id: 'org_globex' })),
      );
      const ids = replies.map((reply) => {
        expect(reply.status).to.equal(201);
        return reply.body.client_id as string;
      });
      for (const i of [0, 1]) {
        const listed = await api(i, 'GET', '/applications?limit=100&organization_id=org_globex');
        expect(listed.body.data.map((a: { client_id: string }) => a.client_id)).to.include.members(ids);
      }
    });

    it('one user consenting to four apps at once on both instances: every consent is listed and can be withdrawn', async () => {
      for (let round = 0; round < ROUNDS / 2; round += 1) {
        const apps = await Promise.all(
          [0, 1, 2, 3].map(async (i) => {
            const reply = await api(i, 'POST', '/applications', {
              application_type: 'oauth',
              name: `Partner ${round}-${i}`,
              is_first_party: false,
              organization_id: 'org_partner',
              redirect_uris: ['http://localhost:5009/callback'],
            });
            return reply.body as { client_id: string };
          }),
        );
        const forms = await Promise.all(apps.map((app) => consentPage(app.client_id)));
        const decisions = await Promise.all(forms.map(({ agent, action }, i) => agent.request(onInstance(action, i), { form: { decision: 'allow' } })));
        for (const decision of decisions) expect(decision.status).to.be.within(300, 399);

        const listed = await api(1, 'GET', `/users/${DEMO.bob.id}/authorized_applications?limit=100`);
        const listedIds = listed.body.data.map((a: { client_id: string }) => a.client_id);
        for (const app of apps) expect(listedIds, `round ${round}`).to.include(app.client_id);
        for (const [i, app] of apps.entries()) {
          expect((await api(i, 'DELETE', `/users/${DEMO.bob.id}/authorized_applications/${app.client_id}`)).status, `round ${round}`).to.equal(204);
        }
        // withdrawn: the next authorization asks again
        for (const app of apps) expect((await consentPage(app.client_id)).action).to.be.a('string');
      }
    });

    it('parallel wrong passwords for one account: at most the limit are checked', async () => {
      const email = 'carol@example.com';
      const pages = await Promise.all(Array.from({ length: 20 }, () => loginPage()));
      directory.checks = 0;
      const replies = await Promise.all(
        pages.map(({ agent, action }, i) => agent.request(onInstance(action, i), { form: { email, password: `wrong-${i}` } })),
      );
      for (const reply of replies) expect(reply.status).to.be.oneOf([401, 429]);
      expect(replies.filter((reply) => reply.status === 401)).to.have.length(directory.checks);
      expect(directory.checks).to.be.at.most(5);
      expect(directory.checks).to.be.greaterThan(0);
    });

    /** The same URL on instance i (both serve one issuer). */
    function onInstance(url: string, i: number): string {
      const target = new URL(url);
      const base = new URL(at(i).url);
      target.host = base.host;
      return target.href;
    }

    function authorizationUrl(clientId: string): string {
      const params = new URLSearchParams({
        client_id: clientId,
        response_type: 'code',
        redirect_uri: 'http://localhost:5009/callback',
        scope: 'openid profile',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        state: randomBytes(8).toString('hex'),
      });
      return `${issuer}/oauth2/authorize?${params}`;
    }

    async function loginPage(): Promise<{ agent: UserAgent; action: string }> {
      const agent = new UserAgent();
      const page = await agent.follow(authorizationUrl(DEMO.portal.clientId).replace('5009', '5001'), 'http://localhost:5001/callback');
      const action = formAction(page.html ?? '', page.url, '/login');
      expect(action, page.html?.slice(0, 300)).to.be.a('string');
      return { agent, action: action! };
    }

    /** Bob signed in and shown the consent page of an app (organization picked automatically: he has one). */
    async function consentPage(clientId: string): Promise<{ agent: UserAgent; action: string }> {
      const agent = new UserAgent();
      let page = await agent.follow(authorizationUrl(clientId), 'http://localhost:5009/callback');
      const login = formAction(page.html ?? '', page.url, '/login');
      expect(login, page.html?.slice(0, 300)).to.be.a('string');
      page = await agent.follow(login!, 'http://localhost:5009/callback', { form: { email: DEMO.bob.email, password: DEMO.bob.password } });
      const action = formAction(page.html ?? '', page.url, '/consent');
      expect(action, page.html?.slice(0, 300) ?? page.url).to.be.a('string');
      return { agent, action: action! };
    }
  });
}
