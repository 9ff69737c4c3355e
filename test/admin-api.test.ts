import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import Koa from 'koa';
import * as oidc from 'openid-client';

import { adminApi } from '../lib/admin/index.js';
import { adminRoutes } from '../lib/admin/routes.js';
import { createProvider, generateSigningKey, OptionsError, StoreUnavailableError, type OrgconnectOptions } from '../lib/index.js';
import { demoSeed, startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO, discover, signIn } from './helpers/relying-party.js';
import { STORES } from './helpers/stores.js';
import { basic, clientCredentials } from './helpers/http.js';

const TOKEN = `admin-${randomBytes(24).toString('base64url')}`;

/** One signing key for every provider of this file: generating RSA keys is slow on a busy machine. */
let signingKey: ReturnType<typeof generateSigningKey> | undefined;
async function withAdmin(options: Partial<OrgconnectOptions> = {}): Promise<Partial<OrgconnectOptions>> {
  return { admin: { token: TOKEN }, keys: { jwks: { keys: [await (signingKey ??= generateSigningKey('RS256'))] } }, ...options };
}
const addFormats = ((ajvFormats.default as unknown as { default?: unknown }).default ?? ajvFormats.default) as unknown as (ajv: Ajv2020) => void;

/** JSON as received: checked against the OpenAPI document rather than typed. */
type Json = any;
interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: Json;
}

/**
 * Checks responses against the OpenAPI document the server serves: the schema of the operation
 * (path template, method) and status, or the Error schema for statuses an operation does not
 * list (405, a 404 for an unknown route). Counts what it checked, so a test can tell it ran.
 */
class DocumentChecker {
  readonly #ajv = new Ajv2020({ strict: false, allErrors: true, allowUnionTypes: true });
  readonly #compiled = new Map<string, ValidateFunction>();
  readonly #templates: { template: string; pattern: RegExp }[];
  checked = 0;

  constructor(readonly document: Json) {
    addFormats(this.#ajv);
    this.#ajv.addSchema({ $id: 'https://orgconnect.test/admin', components: { schemas: document.components.schemas } });
    this.#templates = Object.keys(document.paths).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`),
    }));
  }

  /** Makes `#/components/...` references absolute, so a schema taken out of the document compiles. */
  #absolute(schema: Json): Json {
    return JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#\//g, '"$ref":"https://orgconnect.test/admin#/'));
  }

  #resolve(node: Json): Json {
    const ref = node?.$ref as string | undefined;
    if (!ref) return node;
    return ref.slice(2).split('/').reduce((at: Json, key: string) => at[key], this.document);
  }

  schemaFor(method: string, path: string, status: number): Json {
    const found = this.#templates.find(({ pattern }) => pattern.test(path));
    const responses = found && this.document.paths[found.template][method.toLowerCase()]?.responses;
    const documented = responses?.[String(status)];
    if (!documented) return { $ref: '#/components/schemas/Error' };
    return this.#resolve(documented).content?.['application/json']?.schema ?? null;
  }

  check(method: string, path: string, reply: Reply): void {
    const schema = this.schemaFor(method, path, reply.status);
    if (reply.status === 204 || method === 'HEAD') {
      expect(reply.text, `${method} ${path}: ${reply.status} has no body`).to.equal('');
      return;
    }
    expect(schema, `${method} ${path}: ${reply.status} is documented with a JSON schema`).to.be.an('object');
    const key = JSON.stringify(schema);
    let validate = this.#compiled.get(key);
    if (!validate) {
      validate = this.#ajv.compile(this.#absolute(schema));
      this.#compiled.set(key, validate);
    }
    const valid = validate(reply.body);
    expect(valid, `${method} ${path} ${reply.status} does not match the document: ${JSON.stringify(validate.errors)}\n${reply.text}`).to.equal(true);
    this.checked += 1;
  }
}

/** A client of the admin API that checks every answer: no-store, no stack trace, never a 500, and the document's schema. */
function adminClient(issuer: string, checker: () => DocumentChecker | undefined) {
  return async function call(
    method: string,
    path: string,
    options: { body?: unknown; raw?: string; headers?: Record<string, string>; token?: string | null } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (options.token !== null) headers.authorization = `Bearer ${options.token ?? TOKEN}`;
    if (options.body !== undefined || options.raw !== undefined) headers['content-type'] = 'application/json';
    Object.assign(headers, options.headers);
    const response = await fetch(`${issuer}${path}`, {
      method,
      headers,
      body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
    });
    const text = await response.text();
    const reply: Reply = { status: response.status, headers: response.headers, text, body: text ? JSON.parse(text) : undefined };
    expect(response.headers.get('cache-control'), `${method} ${path}`).to.equal('no-store');
    expect(reply.status, `${method} ${path}: ${text}`).to.be.below(500);
    expect(text).not.to.match(/\bat .+\.(ts|js):\d+/);
    checker()?.check(method, path.split('?')[0]!, reply);
    return reply;
  };
}



const m2m = (name: string, organization_id = 'org_acme') => ({ application_type: 'm2m', name, organization_id });
const webApp = (name: string, extra: Record<string, unknown> = {}) => ({
  application_type: 'oauth',
  name,
  is_first_party: true,
  redirect_uris: ['http://localhost:5010/callback'],
  ...extra,
});

for (const store of STORES.filter((s) => s.name !== 'redis-cluster')) {
  describe(`admin API [${store.name} store]`, function () {
    this.timeout(30_000);
    let op: RunningProvider;
    let checker: DocumentChecker;
    let api: ReturnType<typeof adminClient>;

    before(async function () {
      const storeOptions = await store.options(this);
      op = await startProvider(await withAdmin(storeOptions));
      api = adminClient(op.issuer, () => checker);
      const document = await api('GET', '/admin/openapi.json', { token: null });
      expect(document.status).to.equal(200);
      checker = new DocumentChecker(document.body);
    });
    after(() => op?.stop());

    it('refuses requests without a token or with a wrong one (401, WWW-Authenticate: Bearer)', async () => {
      const none = await api('GET', '/admin/applications', { token: null });
      expect(none.status).to.equal(401);
      expect(none.body.error).to.equal('unauthorized');
      expect(none.headers.get('www-authenticate')).to.match(/^Bearer realm="orgconnect-admin"$/);

      for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, 'Bearer short', `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`, `Bearer ${TOKEN} extra`, 'Bearer']) {
        const wrong = await api('GET', '/admin/applications', { token: null, headers: { authorization } });
        expect(wrong.status, authorization).to.equal(401);
        expect(wrong.body.error).to.equal('invalid_token');
        expect(wrong.headers.get('www-authenticate')).to.equal('Bearer realm="orgconnect-admin", error="invalid_token"');
      }
      // Routes are not revealed before authentication.
      expect((await api('GET', '/admin/nope', { token: null })).status).to.equal(401);
      expect((await api('DELETE', '/admin/applications', { token: null })).status).to.equal(401);
      // The scheme is case-insensitive (RFC 7235).
      expect((await api('GET', '/admin/applications', { token: null, headers: { authorization: `bearer ${TOKEN}` } })).status).to.equal(200);
    });

    it('answers 400 for malformed JSON, wrong types, unknown fields and bad parameters; 415 and 413 for bodies it cannot take', async () => {
      const cases: [string, string, { body?: unknown; raw?: string }, RegExp][] = [
        ['POST', '/admin/applications', { raw: '{"application_type": "m2m",' }, /not valid JSON/],
        ['POST', '/admin/applications', { raw: '' }, /body is required/],
        ['POST', '/admin/applications', { body: [] }, /expected object/],
        ['POST', '/admin/applications', { body: null }, /expected object/],
        ['POST', '/admin/applications', { body: 'm2m' }, /expected object/],
        ['POST', '/admin/applications', { body: { name: 'No type' } }, /application_type/],
        ['POST', '/admin/applications', { body: { application_type: 'saml', name: 'X' } }, /application_type/],
        ['POST', '/admin/applications', { body: { ...m2m('Typed'), name: 42 } }, /name: .*expected string/],
        ['POST', '/admin/applications', { body: webApp('Flag', { is_first_party: 'yes' }) }, /is_first_party: .*expected boolean/],
        ['POST', '/admin/applications', { body: webApp('Uris', { redirect_uris: 'http://localhost:5010/cb' }) }, /redirect_uris: .*expected array/],
        ['POST', '/admin/applications', { body: { ...m2m('Extra'), color: 'red' } }, /color: unknown field/],
        ['POST', '/admin/applications', { body: { ...m2m('Own secret'), client_secret: 'x'.repeat(40) } }, /client_secret: unknown field/],
        ['POST', '/admin/applications', { body: { ...m2m('Own id'), client_id: 'mine' } }, /client_id: unknown field/],
        ['POST', '/admin/applications', { body: { ...m2m('M2M flag'), is_first_party: true } }, /is_first_party: unknown field/],
        ['PATCH', `/admin/applications/${DEMO.portal.clientId}`, { body: { application_type: 'm2m' } }, /application_type: cannot be changed/],
        ['PUT', `/admin/applications/${DEMO.portal.clientId}`, { body: { is_public: true, client_id: 'x' } }, /client_id: cannot be changed; is_public: cannot be changed/],
        ['PATCH', `/admin/applications/${DEMO.portal.clientId}`, { body: { name: ['Portal'] } }, /name: .*expected string/],
        ['PATCH', `/admin/applications/${DEMO.portal.clientId}`, { body: { scopes: 'openid' } }, /scopes/],
        ['PATCH', `/admin/applications/${DEMO.portal.clientId}`, { raw: '' }, /body is required/],
        ['PATCH', `/admin/applications/${DEMO.portal.clientId}`, { body: null }, /expected object/],
        ['POST', `/admin/applications/${DEMO.sync.clientId}/client_secrets`, { body: { expires_in: 3600 } }, /expires_in: unknown field/],
      ];
      for (const [method, path, options, message] of cases) {
        const reply = await api(method, path, options);
        expect(reply.status, `${method} ${path} ${JSON.stringify(options)}`).to.equal(400);
        expect(reply.body.error).to.equal('invalid_request');
        expect(reply.body.error_description).to.match(message);
      }

      for (const query of ['limit=0', 'limit=101', 'limit=ten', 'limit=1.5', 'limit=1&limit=2', 'before=client_a', 'order=desc']) {
        const reply = await api('GET', `/admin/applications?${query}`);
        expect(reply.status, query).to.equal(400);
      }
      expect((await api('GET', `/admin/applications/${DEMO.portal.clientId}?expand=secrets`)).status).to.equal(400);
      expect((await api('GET', '/admin/applications/%E0%A4%A')).status).to.equal(400);

      const text = await api('POST', '/admin/applications', { raw: JSON.stringify(m2m('Texty')), headers: { 'content-type': 'text/plain' } });
      expect(text.status).to.equal(415);
      expect(text.body.error).to.equal('unsupported_media_type');
      const form = await api('POST', '/admin/applications', { raw: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(form.status).to.equal(415);

      const huge = await api('POST', '/admin/applications', { body: { ...m2m('Huge'), description: 'x'.repeat(70 * 1024) } });
      expect(huge.status).to.equal(413);
      expect(huge.body.error).to.equal('request_too_large');
    });

    it('answers 404 for unknown applications, secrets, users and routes, and 405 with Allow for other methods', async () => {
      for (const [method, path, body] of [
        ['GET', '/admin/applications/client_nope'],
        ['PATCH', '/admin/applications/client_nope', { name: 'X' }],
        ['PUT', '/admin/applications/client_nope', { name: 'X' }],
        ['DELETE', '/admin/applications/client_nope'],
        ['GET', '/admin/applications/index'],
        ['GET', '/admin/applications/client_nope/client_secrets'],
        ['POST', '/admin/applications/client_nope/client_secrets'],
        ['DELETE', `/admin/applications/${DEMO.sync.clientId}/client_secrets/secret_nope`],
        ['DELETE', `/admin/applications/${DEMO.cli.clientId}/client_secrets/secret_nope`],
        ['GET', '/admin/users/user_nobody/authorized_applications'],
        ['DELETE', '/admin/users/user_nobody/authorized_applications/client_partner_crm'],
        ['DELETE', `/admin/users/${DEMO.bob.id}/authorized_applications/${DEMO.crm.clientId}`],
        ['GET', '/admin'],
        ['GET', '/admin/nope'],
        ['GET', '/admin/applications/a/b/c/d'],
      ] as [string, string, unknown?][]) {
        const reply = await api(method, path, { body });
        expect(reply.status, `${method} ${path}`).to.equal(404);
        expect(reply.body.error).to.equal('not_found');
      }

      for (const [method, path, allow] of [
        ['DELETE', '/admin/applications', 'GET, HEAD, POST, OPTIONS'],
        ['PUT', '/admin/applications', 'GET, HEAD, POST, OPTIONS'],
        ['POST', `/admin/applications/${DEMO.portal.clientId}`, 'GET, HEAD, PUT, PATCH, DELETE, OPTIONS'],
        ['GET', `/admin/applications/${DEMO.sync.clientId}/client_secrets/secret_x`, 'DELETE, OPTIONS'],
        ['POST', `/admin/users/${DEMO.alice.id}/authorized_applications`, 'GET, HEAD, OPTIONS'],
        ['PUT', '/admin/openapi.json', 'GET, HEAD'],
      ]) {
        const reply = await api(method!, path!, { body: method === 'GET' ? undefined : {} });
        expect(reply.status, `${method} ${path}`).to.equal(405);
        expect(reply.body.error).to.equal('method_not_allowed');
        expect(reply.headers.get('allow')).to.equal(allow);
      }
      const options = await api('OPTIONS', '/admin/applications');
      expect(options.status).to.equal(204);
      expect(options.headers.get('allow')).to.equal('GET, HEAD, POST, OPTIONS');
      expect((await api('HEAD', `/admin/applications/${DEMO.portal.clientId}`)).status).to.equal(200);
    });

    it('answers 422 for well-formed applications the registry refuses', async () => {
      const refused: [string, string, unknown, RegExp][] = [
        ['POST', '/admin/applications', webApp('Partner app', { is_first_party: false }), /third-party application needs organization_id/],
        ['POST', '/admin/applications', m2m('Ghost org', 'org_ghost'), /unknown organization_id "org_ghost"/],
        ['POST', '/admin/applications', { application_type: 'm2m', name: 'No org' }, /M2M application needs organization_id/],
        ['POST', '/admin/applications', webApp('No redirect', { redirect_uris: [] }), /at least one redirect_uri/],
        ['POST', '/admin/applications', webApp('Wild', { redirect_uris: ['https://*.example.com/cb'] }), /wildcards are not allowed/],
        ['POST', '/admin/applications', webApp('Scheme', { redirect_uris: ['com.example.app:/cb'] }), /private-use scheme is for public/],
        ['POST', '/admin/applications', webApp('Dotless', { is_public: true, redirect_uris: ['myapp:/cb'] }), /myapp:\/cb: a private-use scheme must be a reverse domain name/],
        ['POST', '/admin/applications', webApp('Dotless logout', { is_public: true, redirect_uris: ['com.example.app:/cb'], post_logout_redirect_uris: ['myapp:/bye'] }), /myapp:\/bye: a private-use scheme must be a reverse domain name/],
        ['POST', '/admin/applications', webApp('Userinfo', { redirect_uris: ['https://user:pw@app.example.com/cb'] }), /user information \(user:password@\) is not allowed/],
        ['POST', '/admin/applications', webApp('Loopback userinfo', { is_public: true, redirect_uris: ['http://user@127.0.0.1/cb'] }), /user information/],
        ['POST', '/admin/applications', webApp('Logout userinfo', { post_logout_redirect_uris: ['https://user@app.example.com/'] }), /https:\/\/user@app\.example\.com\/: user information/],
        ['PATCH', `/admin/applications/${DEMO.cli.clientId}`, { redirect_uris: ['http://127.0.0.1/callback', 'https://localhost:3000/cb'] }, /must use http, not https, for a loopback host/],
        ['POST', '/admin/applications', webApp('Logo', { logo_uri: 'not a url' }), /logo_uri/],
        ['PATCH', `/admin/applications/${DEMO.sync.clientId}`, { redirect_uris: ['http://localhost:5010/cb'] }, /redirect_uris/],
        ['PATCH', `/admin/applications/${DEMO.sync.clientId}`, { organization_id: null }, /organization_id/],
        ['PATCH', `/admin/applications/${DEMO.crm.clientId}`, { organization_id: null }, /third-party application needs organization_id/],
        ['POST', `/admin/applications/${DEMO.cli.clientId}/client_secrets`, {}, /is public: it has no secrets/],
        ['POST', '/admin/applications', { ...m2m('Stray API'), resource_server: { audiences: ['https://elsewhere.example'] } }, /resource_server\.audiences: "https:\/\/elsewhere\.example" is not an audience/],
        ['POST', '/admin/applications', webApp('Public API', { is_public: true, redirect_uris: ['http://127.0.0.1/cb'], resource_server: { audiences: [op.issuer] } }), /public application cannot be a resource_server/],
        ['PATCH', `/admin/applications/${DEMO.sync.clientId}`, { resource_server: { audiences: ['https://elsewhere.example'] } }, /is not an audience/],
        ['PATCH', `/admin/applications/${DEMO.cli.clientId}`, { resource_server: { audiences: [op.issuer] } }, /public application cannot be a resource_server/],
      ];
      for (const [method, path, body, message] of refused) {
        const reply = await api(method, path, { body });
        expect(reply.status, `${method} ${path} ${JSON.stringify(body)}: ${reply.text}`).to.equal(422);
        expect(reply.body.error).to.equal('unprocessable_entity');
        expect(reply.body.error_description).to.match(message);
      }
      // Nothing refused was saved.
      const names = (await api('GET', '/admin/applications?limit=100')).body.data.map((a: Json) => a.name);
      expect(names).not.to.include.members(['Partner app', 'Ghost org', 'Wild']);
      for (const name of ['Dotless', 'Dotless logout', 'Userinfo', 'Loopback userinfo', 'Logout userinfo']) expect(names).not.to.include(name);
      expect((await api('GET', `/admin/applications/${DEMO.cli.clientId}`)).body.redirect_uris).to.deep.equal([DEMO.cli.redirectUri]);
      expect((await api('GET', `/admin/applications/${DEMO.crm.clientId}`)).body.organization_id).to.equal('org_partner');
    });

    it('marks an application as a resource server: it introspects the access tokens of its audience, until the field is removed', async () => {
      const created = await api('POST', '/admin/applications', { body: { ...m2m('Orders API', 'org_globex'), resource_server: { audiences: [op.issuer] } } });
      expect(created.status).to.equal(201);
      expect(created.body.resource_server).to.deep.equal({ audiences: [op.issuer] });
      const { client_id, client_secret } = created.body;
      const token = (await clientCredentials(op.issuer, DEMO.sync.clientId, DEMO.sync.secret)).json.access_token;
      const introspect = async () =>
        (await fetch(`${op.issuer}/oauth2/introspection`, {
          method: 'POST',
          headers: { authorization: basic(client_id, client_secret), 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token }),
        }).then((r) => r.json())) as Json;
      expect(await introspect()).to.include({ active: true, client_id: DEMO.sync.clientId });

      const removed = await api('PATCH', `/admin/applications/${client_id}`, { body: { resource_server: null } });
      expect(removed.status).to.equal(200);
      expect(removed.body).not.to.have.property('resource_server');
      expect(await introspect()).to.deep.equal({ active: false });

      const web = await api('POST', '/admin/applications', { body: webApp('Web API', { resource_server: { audiences: [op.issuer] } }) });
      expect(web.body.resource_server).to.deep.equal({ audiences: [op.issuer] });
      const malformed = await api('PATCH', `/admin/applications/${client_id}`, { body: { resource_server: { audiences: [] } } });
      expect(malformed.status).to.equal(400);
      expect((await api('PATCH', `/admin/applications/${client_id}`, { body: { resource_server: { audience: op.issuer } } })).status).to.equal(400);
    });

    it('versions applications: ETag on GET and PATCH, If-Match applies an update only to that version (412 otherwise)', async () => {
      const created = await api('POST', '/admin/applications', { body: m2m('Versioned', 'org_globex') });
      const id = created.body.client_id;
      const read = await api('GET', `/admin/applications/${id}`);
      const etag = read.headers.get('etag')!;
      expect(etag).to.match(/^"\d+"$/);
      const patched = await api('PATCH', `/admin/applications/${id}`, { body: { name: 'Versioned 2' }, headers: { 'if-match': etag } });
      expect(patched.status).to.equal(200);
      const next = patched.headers.get('etag')!;
      expect(next).not.to.equal(etag);
      const stale = await api('PATCH', `/admin/applications/${id}`, { body: { name: 'Lost' }, headers: { 'if-match': etag } });
      expect(stale.status).to.equal(412);
      expect(stale.body.error).to.equal('precondition_failed');
      for (const foreign of ['W/' + next, '"abc"', 'nonsense']) {
        expect((await api('PATCH', `/admin/applications/${id}`, { body: { name: 'Lost' }, headers: { 'if-match': foreign } })).status, foreign).to.equal(412);
      }
      expect((await api('PATCH', `/admin/applications/${id}`, { body: { description: 'kept' }, headers: { 'if-match': '*' } })).status).to.equal(200);
      expect((await api('GET', `/admin/applications/${id}`)).body).to.include({ name: 'Versioned 2', description: 'kept' });
      // A seed application not changed yet is version 0; a deleted one stays deleted.
      expect((await api('GET', `/admin/applications/${DEMO.portal.clientId}`)).headers.get('etag')).to.match(/^"\d+"$/);
      expect((await api('DELETE', `/admin/applications/${id}`)).status).to.equal(204);
      expect((await api('PATCH', `/admin/applications/${id}`, { body: { name: 'Back' } })).status).to.equal(404);
      expect((await api('POST', `/admin/applications/${id}/client_secrets`, { body: {} })).status).to.equal(404);
      expect((await api('GET', `/admin/applications/${id}`)).status).to.equal(404);
    });

    it('creates applications (secret shown once) and pages through them with a stable cursor', async () => {
      const created: Json[] = [];
      for (const name of ['Page A', 'Page B', 'Page C', 'Page D', 'Page E']) {
        const reply = await api('POST', '/admin/applications', { body: m2m(name, 'org_globex') });
        expect(reply.status).to.equal(201);
        expect(reply.body).to.include({ object: 'application', application_type: 'm2m', name, organization_id: 'org_globex' });
        expect(reply.body.client_secret).to.be.a('string').with.length.greaterThan(30);
        created.push(reply.body);
      }
      const shown = await api('GET', `/admin/applications/${created[0].client_id}`);
      const { client_secret: _secret, ...withoutSecret } = created[0];
      expect(shown.body).to.deep.equal(withoutSecret);
      expect(shown.text).not.to.include(created[0].client_secret);

      const publicApp = await api('POST', '/admin/applications', {
        body: webApp('Native', { is_public: true, redirect_uris: ['com.example.native:/cb', 'http://127.0.0.1/cb'], organization_id: 'org_acme' }),
      });
      expect(publicApp.status).to.equal(201);
      expect(publicApp.body).to.include({ is_public: true }).and.not.to.have.property('client_secret');

      // Page through org_globex's apps two at a time; an app created mid-listing neither repeats nor hides one.
      const before = new Set(created.map((a) => a.client_id));
      const seen: string[] = [];
      let after: string | null = null;
      let late: Json;
      let pages = 0;
      do {
        const reply: Reply = await api('GET', `/admin/applications?organization_id=org_globex&limit=2${after ? `&after=${encodeURIComponent(after)}` : ''}`);
        expect(reply.status).to.equal(200);
        expect(reply.body.data.length).to.be.at.most(2);
        seen.push(...reply.body.data.map((a: Json) => a.client_id));
        after = reply.body.list_metadata.after;
        pages += 1;
        if (pages === 1) late = (await api('POST', '/admin/applications', { body: m2m('Page late', 'org_globex') })).body;
      } while (after !== null);
      expect(new Set(seen).size, 'no app listed twice').to.equal(seen.length);
      for (const id of before) expect(seen, id).to.include(id);
      expect(seen.includes(late.client_id)).to.equal(late.client_id > seen[1]!);
      expect(seen).to.deep.equal([...seen].sort());

      const all = (await api('GET', '/admin/applications?limit=100')).body;
      expect(all.list_metadata.after).to.equal(null);
      expect(all.data.map((a: Json) => a.client_id)).to.include.members([DEMO.portal.clientId, DEMO.crm.clientId, DEMO.cli.clientId, DEMO.sync.clientId]);
      const defaultPage = (await api('GET', '/admin/applications')).body;
      expect(defaultPage.data).to.have.length(10);
      expect(defaultPage.list_metadata.after).to.equal(defaultPage.data[9].client_id);
      const past = (await api('GET', `/admin/applications?after=${encodeURIComponent('\uffff')}`)).body;
      expect(past).to.deep.equal({ object: 'list', data: [], list_metadata: { after: null } });
    });

    it('updates take effect at once; a deleted application can no longer get tokens', async () => {
      const app = (await api('POST', '/admin/applications', { body: { ...m2m('Mutable'), description: 'v1', scopes: ['openid'] } })).body;
      const first = await clientCredentials(op.issuer, app.client_id, app.client_secret);
      expect(first.status).to.equal(200);
      expect(decodeJwt(first.json.access_token).org_id).to.equal('org_acme');

      const patched = await api('PATCH', `/admin/applications/${app.client_id}`, { body: { name: 'Mutated', organization_id: 'org_globex', description: null, scopes: null } });
      expect(patched.status).to.equal(200);
      expect(patched.body).to.include({ name: 'Mutated', organization_id: 'org_globex' });
      expect(patched.body).not.to.have.any.keys('description', 'scopes', 'client_secret');
      expect((await api('GET', `/admin/applications/${app.client_id}`)).body).to.deep.equal(patched.body);
      const second = await clientCredentials(op.issuer, app.client_id, app.client_secret);
      expect(decodeJwt(second.json.access_token).org_id).to.equal('org_globex');

      const put = await api('PUT', `/admin/applications/${app.client_id}`, { body: { description: 'v2' } });
      expect(put.body).to.include({ name: 'Mutated', description: 'v2' });

      const web = (await api('POST', '/admin/applications', { body: webApp('Web', { logo_uri: 'https://cdn.example.com/logo.png' }) })).body;
      const moved = await api('PATCH', `/admin/applications/${web.client_id}`, { body: { redirect_uris: ['http://localhost:5011/callback'], logo_uri: null, is_first_party: false, organization_id: 'org_partner' } });
      expect(moved.body).to.include({ is_first_party: false, organization_id: 'org_partner' });
      expect(moved.body.redirect_uris).to.deep.equal(['http://localhost:5011/callback']);
      expect(moved.body).not.to.have.property('logo_uri');

      expect((await api('DELETE', `/admin/applications/${app.client_id}`)).status).to.equal(204);
      const refused = await clientCredentials(op.issuer, app.client_id, app.client_secret);
      expect(refused.status).to.equal(401);
      expect(refused.json.error).to.equal('invalid_client');
      expect((await api('GET', `/admin/applications/${app.client_id}`)).status).to.equal(404);
      expect((await api('DELETE', `/admin/applications/${app.client_id}`)).status).to.equal(404);
      const listed = (await api('GET', '/admin/applications?limit=100')).body.data.map((a: Json) => a.client_id);
      expect(listed).not.to.include(app.client_id);
    });

    it('rotates secrets: two valid at once, a revoked one gets invalid_client', async () => {
      const app = (await api('POST', '/admin/applications', { body: m2m('Rotating') })).body;
      const second = await api('POST', `/admin/applications/${app.client_id}/client_secrets`);
      expect(second.status).to.equal(201);
      expect(second.body).to.include({ object: 'client_secret', secret_hint: second.body.secret.slice(-4) });
      const third = await api('POST', `/admin/applications/${app.client_id}/client_secrets`, { body: {} });
      expect(third.status).to.equal(201);

      for (const secret of [app.client_secret, second.body.secret, third.body.secret]) {
        expect((await clientCredentials(op.issuer, app.client_id, secret)).status).to.equal(200);
      }
      const listed = await api('GET', `/admin/applications/${app.client_id}/client_secrets`);
      expect(listed.body.data.map((s: Json) => s.id)).to.have.length(3).and.include.members([second.body.id, third.body.id]);
      expect(listed.body.data[0].last_used_at).to.be.a('string');
      for (const secret of [app.client_secret, second.body.secret, third.body.secret]) expect(listed.text).not.to.include(secret);

      expect((await api('DELETE', `/admin/applications/${app.client_id}/client_secrets/${second.body.id}`)).status).to.equal(204);
      const revoked = await clientCredentials(op.issuer, app.client_id, second.body.secret);
      expect(revoked.status).to.equal(401);
      expect(revoked.json.error).to.equal('invalid_client');
      expect((await clientCredentials(op.issuer, app.client_id, app.client_secret)).status).to.equal(200);
      expect((await clientCredentials(op.issuer, app.client_id, third.body.secret)).status).to.equal(200);
      expect((await api('GET', `/admin/applications/${app.client_id}/client_secrets`)).body.data).to.have.length(2);
      expect((await api('DELETE', `/admin/applications/${app.client_id}/client_secrets/${second.body.id}`)).status).to.equal(404);

      await api('POST', `/admin/applications/${app.client_id}/client_secrets`);
      await api('POST', `/admin/applications/${app.client_id}/client_secrets`);
      await api('POST', `/admin/applications/${app.client_id}/client_secrets`);
      const sixth = await api('POST', `/admin/applications/${app.client_id}/client_secrets`);
      expect(sixth.status).to.equal(422);
      expect(sixth.body.error_description).to.match(/already has 5 secrets/);

      const none = await api('GET', `/admin/applications/${DEMO.cli.clientId}/client_secrets`);
      expect(none.body).to.deep.equal({ object: 'list', data: [], list_metadata: { after: null } });
    });

    it("lists and withdraws a user's authorized applications: tokens end, the list forgets it", async () => {
      const config = await discover(op.issuer, DEMO.crm.clientId, DEMO.crm.secret);
      const { tokens, seen } = await signIn(config, DEMO.crm.redirectUri, { ...DEMO.alice, organizationId: 'org_globex', scope: 'openid email offline_access' });
      expect(seen).to.include('consent');

      const listed = await api('GET', `/admin/users/${DEMO.alice.id}/authorized_applications`);
      expect(listed.status).to.equal(200);
      const crm = listed.body.data.find((a: Json) => a.client_id === DEMO.crm.clientId && a.organization_id === 'org_globex');
      expect(crm).to.include({ object: 'authorized_application', name: 'Partner CRM' });
      expect(crm.scopes).to.include.members(['openid', 'email', 'offline_access']);
      expect(crm.grant_id).to.equal(decodeJwt(tokens!.access_token).sid);
      const paged = await api('GET', `/admin/users/${DEMO.alice.id}/authorized_applications?limit=1`);
      expect(paged.body.data).to.have.length(1);

      const carol = await api('GET', `/admin/users/${DEMO.carol.id}/authorized_applications`);
      expect(carol.body).to.deep.equal({ object: 'list', data: [], list_metadata: { after: null } });

      const otherOrg = await api('DELETE', `/admin/users/${DEMO.alice.id}/authorized_applications/${DEMO.crm.clientId}?organization_id=org_acme`);
      expect(otherOrg.status).to.equal(404);
      const withdrawn = await api('DELETE', `/admin/users/${DEMO.alice.id}/authorized_applications/${DEMO.crm.clientId}?organization_id=org_globex`);
      expect(withdrawn.status).to.equal(204);

      const portal = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
      expect((await oidc.tokenIntrospection(portal, tokens!.access_token)).active).to.equal(false);
      const refresh = await oidc.refreshTokenGrant(config, tokens!.refresh_token!).catch((e: { error?: string }) => e);
      expect((refresh as { error?: string }).error).to.equal('invalid_grant');
      const after = await api('GET', `/admin/users/${DEMO.alice.id}/authorized_applications`);
      expect(after.body.data.some((a: Json) => a.client_id === DEMO.crm.clientId && a.organization_id === 'org_globex')).to.equal(false);
      expect((await api('DELETE', `/admin/users/${DEMO.alice.id}/authorized_applications/${DEMO.crm.clientId}`)).status).to.equal(404);
    });

    it('manages APIs: create, list with a cursor, read with an ETag, update (If-Match), delete; 400, 404, 405, 412 and 422 as documented', async () => {
      const identifier = `https://orders-${randomBytes(4).toString('hex')}.example.com`;
      const created = await api('POST', '/admin/apis', {
        body: { identifier, name: 'Orders API', scopes: [{ name: 'orders:read', description: 'Read your orders' }, { name: 'orders:write' }], access_token_ttl: 120 },
      });
      expect(created.status).to.equal(201);
      expect(created.body).to.include({ object: 'api', identifier, name: 'Orders API', access_token_ttl: 120 });
      const { id } = created.body;
      for (let i = 0; i < 3; i += 1) expect((await api('POST', '/admin/apis', { body: { identifier: `${identifier}/more/${i}`, name: `More ${i}` } })).status).to.equal(201);

      const seen: string[] = [];
      let after: string | null = null;
      do {
        const page: Reply = await api('GET', `/admin/apis?limit=2${after ? `&after=${encodeURIComponent(after)}` : ''}`);
        expect(page.status).to.equal(200);
        seen.push(...page.body.data.map((a: Json) => a.id));
        after = page.body.list_metadata.after;
      } while (after);
      expect(seen).to.include(id);
      expect([...seen].sort()).to.deep.equal(seen);
      expect(new Set(seen).size).to.equal(seen.length);

      const read = await api('GET', `/admin/apis/${id}`);
      const etag = read.headers.get('etag')!;
      expect(etag).to.match(/^"\d+"$/);
      const patched = await api('PATCH', `/admin/apis/${id}`, { body: { name: 'Orders', access_token_ttl: null }, headers: { 'if-match': etag } });
      expect(patched.status).to.equal(200);
      expect(patched.body).not.to.have.property('access_token_ttl');
      expect((await api('PATCH', `/admin/apis/${id}`, { body: { name: 'Lost' }, headers: { 'if-match': etag } })).status).to.equal(412);
      const issuerApi = (await api('GET', '/admin/apis?limit=100')).body.data.find((a: Json) => a.identifier === op.issuer);
      expect(issuerApi).to.include({ configured: true });
      expect((await api('GET', `/admin/apis/${issuerApi.id}`)).headers.get('etag')).to.equal('"0"');

      for (const [method, path, body, status] of [
        ['POST', '/admin/apis', { name: 'No identifier' }, 400],
        ['POST', '/admin/apis', { identifier, name: 'X', scopes: 'orders:read' }, 400],
        ['PATCH', `/admin/apis/${id}`, { identifier: 'https://moved.example.com' }, 400],
        ['PATCH', `/admin/apis/${id}`, { access_token_ttl: 'long' }, 400],
        ['GET', '/admin/apis?order=desc', undefined, 400],
        ['POST', '/admin/apis', { identifier: 'relative/path', name: 'X' }, 422],
        ['POST', '/admin/apis', { identifier, name: 'Twin' }, 422],
        ['PATCH', `/admin/apis/${id}`, { scopes: [{ name: 'profile' }] }, 422],
        ['PATCH', `/admin/apis/${issuerApi.id}`, { name: 'Mine' }, 422],
        ['DELETE', `/admin/apis/${issuerApi.id}`, undefined, 422],
        ['GET', '/admin/apis/api_nope', undefined, 404],
        ['PATCH', '/admin/apis/api_nope', { name: 'X' }, 404],
        ['DELETE', '/admin/apis/api_nope', undefined, 404],
        ['PUT', `/admin/apis/${id}`, { name: 'X' }, 405],
        ['DELETE', '/admin/apis', undefined, 405],
      ] as [string, string, unknown, number][]) {
        const reply = await api(method, path, { body });
        expect(reply.status, `${method} ${path} ${JSON.stringify(body)}: ${reply.text}`).to.equal(status);
      }
      expect((await api('DELETE', `/admin/apis/${id}`)).status).to.equal(204);
      expect((await api('GET', `/admin/apis/${id}`)).status).to.equal(404);
      expect((await api('PATCH', `/admin/apis/${id}`, { body: { name: 'Back' } })).status).to.equal(404);
    });

    it('checked every response above against the OpenAPI document', () => {
      expect(checker.checked).to.be.greaterThan(100);
      // The checker is not vacuous: documents' schemas refuse what the API must not send.
      const listSchema = checker.schemaFor('GET', '/admin/applications', 200);
      expect(() => checker.check('GET', '/admin/applications', { status: 200, headers: new Headers(), text: '{}', body: { object: 'list', data: [{ object: 'application', client_id: 'x' }], list_metadata: { after: null } } })).to.throw(/does not match/);
      expect(listSchema).to.deep.equal({ $ref: '#/components/schemas/ApplicationList' });
      const leaked = { object: 'application', application_type: 'm2m', client_id: 'x', name: 'X', organization_id: 'o', client_secret: 'oops' };
      expect(() => checker.check('GET', '/admin/applications/x', { status: 200, headers: new Headers(), text: '{}', body: leaked })).to.throw(/does not match/);
      expect(() => checker.check('GET', '/admin/applications/x', { status: 404, headers: new Headers(), text: '{}', body: { error: 'not_found' } })).to.throw(/does not match/);
    });
  });
}

describe('admin API: option, document, robustness', function () {
  this.timeout(30_000);
  let op: RunningProvider;
  before(async () => {
    op = await startProvider(await withAdmin());
  });
  after(() => op?.stop());

  it('is off by default: nothing is served under /admin', async () => {
    const off = await startProvider(await withAdmin({ admin: undefined }));
    try {
      for (const path of ['/admin/applications', '/admin/openapi.json']) {
        const response = await fetch(`${off.issuer}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        expect(response.status).to.equal(404);
        expect(await response.text()).not.to.include('client_support_portal');
      }
    } finally {
      await off.stop();
    }
  });

  it('refuses a short or unprintable admin token', async () => {
    for (const token of ['too-short', `${'x'.repeat(31)}`, `${'x'.repeat(40)} spaces`, 42]) {
      const error = await createProvider({ issuer: 'http://127.0.0.1:1', seed: demoSeed, admin: { token: token as string } }).catch((e: unknown) => e);
      expect(error, String(token)).to.be.instanceOf(OptionsError);
      expect((error as Error).message).to.match(/^invalid option admin\.token: /);
    }
    expect(() => adminApi({ token: 'short', issuer: 'http://x', applications: {} as never, consents: {} as never, directory: {} as never })).to.throw(OptionsError);
  });

  it('serves a valid OpenAPI 3.1 document whose schemas compile strictly and whose paths are exactly the routes', async () => {
    {
      const response = await fetch(`${op.issuer}/admin/openapi.json`);
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.match(/^application\/json/);
      const document = (await response.json()) as Json;
      const result = await new Validator().validate(document);
      expect(result.valid, JSON.stringify(result.errors)).to.equal(true);
      expect(document.openapi).to.equal('3.1.0');
      expect(document.servers).to.deep.equal([{ url: op.issuer }]);

      // Every component schema is valid JSON Schema 2020-12 under Ajv's strict mode.
      const strict = new Ajv2020({ strict: true, allowUnionTypes: true });
      addFormats(strict);
      const defs = JSON.parse(JSON.stringify(document.components.schemas).replaceAll('#/components/schemas/', 'https://orgconnect.test/strict#/$defs/'));
      strict.addSchema({ $id: 'https://orgconnect.test/strict', $defs: defs });
      for (const name of Object.keys(defs)) expect(() => strict.compile({ $ref: `https://orgconnect.test/strict#/$defs/${name}` }), name).not.to.throw();

      // Every reference resolves, and the document lists exactly the router's operations.
      const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1]!);
      for (const ref of refs) expect(ref.split('/').reduce((at: Json, key) => at?.[key], document), ref).not.to.equal(undefined);
      const documented = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations as object).map((m) => `${m.toUpperCase()} ${path}`));
      const routed = adminRoutes(null as never, null as never).flatMap((route) => Object.keys(route.methods).map((m) => `${m} /admin${route.path}`));
      expect(documented.sort()).to.deep.equal([...routed, 'GET /admin/openapi.json'].sort());
      const operationIds = documented.map((op) => {
        const [method, path] = op.split(' ');
        return document.paths[path!][method!.toLowerCase()].operationId;
      });
      expect(new Set(operationIds).size).to.equal(operationIds.length);
    }
  });

  it('never answers a 500 to bad input: random bodies, paths and headers', async () => {
    const api = adminClient(op.issuer, () => undefined);
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
    const value = (depth: number): unknown => {
      const kind = pick(['string', 'number', 'bool', 'null', 'array', 'object', 'url']);
      if (depth > 2 || kind === 'string') return pick(['', 'x', 'oauth', 'm2m', 'org_acme', '\u0000', '../../etc', '%00', 'a'.repeat(300)]);
      if (kind === 'number') return pick([0, -1, 1e308, 3.14]);
      if (kind === 'bool') return random() > 0.5;
      if (kind === 'null') return null;
      if (kind === 'url') return pick(['http://localhost:5010/cb', 'https://x.example/cb', 'javascript:alert(1)', 'com.example:/cb']);
      if (kind === 'array') return Array.from({ length: Math.floor(random() * 3) }, () => value(depth + 1));
      const keys = ['application_type', 'name', 'is_first_party', 'is_public', 'organization_id', 'redirect_uris', 'logo_uri', 'scopes', 'description', 'identifier', 'access_token_ttl', '__proto__', 'constructor'];
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 6) }, () => [pick(keys), value(depth + 1)]));
    };
    {
      const statuses = new Set<number>();
      for (let i = 0; i < 150; i++) {
        const method = pick(['POST', 'PATCH', 'PUT', 'DELETE', 'GET']);
        const path = pick(['/admin/applications', `/admin/applications/${DEMO.portal.clientId}`, `/admin/applications/${DEMO.sync.clientId}`, '/admin/applications/%2e%2e', `/admin/applications/${DEMO.sync.clientId}/client_secrets`, '/admin/users/user_alice/authorized_applications/x', '/admin/apis', '/admin/apis/api_nope']);
        const body = method === 'GET' || method === 'DELETE' ? undefined : random() > 0.1 ? JSON.stringify(value(0)) : pick(['{', '{"a":}', '\u0000', 'true']);
        const reply = await api(method, path, { raw: body });
        statuses.add(reply.status);
        if (reply.status >= 400) expect(reply.body.error_description, `${method} ${path} ${body}`).to.be.a('string');
      }
      expect([...statuses].every((s) => [200, 201, 204, 400, 404, 405, 413, 415, 422].includes(s)), [...statuses].join()).to.equal(true);
    }
  });

  it('as a middleware of its own: a failing directory is a 500 without details, a store outage a 503', async () => {
    const reported: unknown[] = [];
    const app = new Koa();
    app.on('error', (error) => reported.push(error));
    app.use(
      adminApi({
        token: TOKEN,
        issuer: op.issuer,
        applications: op.orgconnect.applications,
        consents: {
          list: async (userId) => {
            if (userId === 'user_outage') throw new StoreUnavailableError('Redis store unavailable: connection refused');
            return [];
          },
          revoke: async () => 0,
        },
        directory: {
          findUser: () => {
            throw new Error('database password is hunter2 at /srv/app/db.ts:12');
          },
        },
      }),
    );
    app.use((ctx) => {
      ctx.body = 'host app';
    });
    const server: Server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const get = (path: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    try {
      const failed = await get('/admin/users/user_x/authorized_applications');
      expect(failed.status).to.equal(500);
      const text = await failed.text();
      expect(JSON.parse(text)).to.deep.equal({ error: 'server_error', error_description: 'internal server error' });
      expect(text).not.to.match(/hunter2|db\.ts/);
      expect(reported).to.have.length(1);

      const outage = await get('/admin/users/user_outage/authorized_applications');
      expect(outage.status).to.equal(503);
      expect(outage.headers.get('retry-after')).to.equal('1');
      expect(((await outage.json()) as Json).error).to.equal('temporarily_unavailable');

      expect(await (await get('/elsewhere')).text()).to.equal('host app');
      expect((await get('/admin/applications')).status).to.equal(200);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
