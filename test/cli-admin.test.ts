import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';

import { expect } from 'chai';
import { Command } from 'commander';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';

import { registerAdminCommands, type CliIo } from '../lib/cli/index.js';
import { generateSigningKey, type OrgconnectOptions } from '../lib/index.js';
import { startProvider, type RunningProvider } from './helpers/provider.js';
import { requireRedis } from './helpers/redis-server.js';
import { DEMO, discover, signIn } from './helpers/relying-party.js';
import { sharedRedis } from './helpers/stores.js';
import { basic, clientCredentials } from './helpers/http.js';

const TOKEN = `cli-admin-${randomBytes(24).toString('base64url')}`;
const TARGET_ENV = ['ORGCONNECT_SERVER', 'ORGCONNECT_ADMIN_TOKEN', 'REDIS_URL', 'REDIS_PREFIX', 'SEED_FILE', 'ISSUER'];
const STACK = /\bat .+\.(ts|js):\d+/;

let signingKey: ReturnType<typeof generateSigningKey> | undefined;
async function providerOptions(options: Partial<OrgconnectOptions> = {}): Promise<Partial<OrgconnectOptions>> {
  return { admin: { token: TOKEN }, keys: { jwks: { keys: [await (signingKey ??= generateSigningKey('RS256'))] } }, ...options };
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Runs `orgconnect <args>` in this process: the commands as registered, with their output captured. */
async function cli(...args: string[]): Promise<Result> {
  const result: Result = { code: 0, stdout: '', stderr: '' };
  const io: CliIo = {
    stdout: (text) => void (result.stdout += text),
    stderr: (text) => void (result.stderr += text),
    fail: (code) => void (result.code = code),
    exit: (code) => {
      throw new Exit(code);
    },
  };
  const program = new Command('orgconnect').exitOverride();
  registerAdminCommands(program, io);
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (!(error instanceof Exit)) throw error;
    result.code = error.code;
  }
  expect(result.stdout + result.stderr).not.to.match(STACK);
  if (result.code === 1) expect(result.stderr.trim().split('\n'), result.stderr).to.have.length(1);
  return result;
}


/** The plaintext secret a human-format `create` printed. */
const printedSecret = (stdout: string) => /client_secret: (\S+)/.exec(stdout)?.[1];

describe('CLI apps/secrets commands (in-process)', function () {
  this.timeout(30_000);
  const saved: Record<string, string | undefined> = {};
  let op: RunningProvider;
  let server: string[];

  before(async () => {
    for (const key of TARGET_ENV) {
      saved[key] = process.env[key];
      delete process.env[key];
    }
    op = await startProvider(await providerOptions());
    server = ['--server', op.issuer, '--admin-token', TOKEN];
  });
  after(async () => {
    for (const key of TARGET_ENV) if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
    await op?.stop();
  });

  describe('against a server (--server, --admin-token)', () => {
    it('creates an M2M app and prints its secret once, with a note; the secret works at once', async () => {
      const human = await cli('apps', 'create', '--type', 'm2m', '--name', 'Reporter', '--organization', 'org_acme', '--scope', 'openid', ...server);
      expect(human.code, human.stderr).to.equal(0);
      expect(human.stdout).to.match(/created application client_\w+/);
      expect(human.stdout).to.match(/type:\s+m2m/);
      expect(human.stdout).to.include('Store this secret now: it is shown only once');
      const clientId = /created application (\S+)/.exec(human.stdout)![1]!;
      const secret = printedSecret(human.stdout)!;
      const token = await clientCredentials(op.issuer, clientId, secret);
      expect(token.status).to.equal(200);
      expect(decodeJwt(token.json.access_token).org_id).to.equal('org_acme');

      const json = await cli('apps', 'create', '--type', 'm2m', '--name', 'Reporter 2', '--organization', 'org_globex', '--json', ...server);
      expect(json.code).to.equal(0);
      const created = JSON.parse(json.stdout);
      expect(created).to.include({ object: 'application', application_type: 'm2m', name: 'Reporter 2', organization_id: 'org_globex' });
      expect(created.client_secret).to.be.a('string');
      expect(json.stderr).to.match(/Store this secret now/);
      expect((await cli('apps', 'show', created.client_id, '--json', ...server)).stdout).not.to.include(created.client_secret);
    });

    it('creates OAuth apps from flags: first-party by default, third-party, public, repeatable redirect URIs and scopes', async () => {
      const web = await cli(
        'apps', 'create', '--name', 'Wiki', '--redirect-uri', 'http://localhost:5020/cb', '--redirect-uri', 'http://localhost:5021/cb',
        '--scope', 'openid', '--scope', 'profile', '--description', 'Team wiki', '--logo-uri', 'https://cdn.example.com/wiki.png', '--json', ...server,
      );
      expect(web.code, web.stderr).to.equal(0);
      const app = JSON.parse(web.stdout);
      expect(app).to.include({ is_first_party: true, is_public: false, description: 'Team wiki', logo_uri: 'https://cdn.example.com/wiki.png' });
      expect(app.redirect_uris).to.deep.equal(['http://localhost:5020/cb', 'http://localhost:5021/cb']);
      expect(app.scopes).to.deep.equal(['openid', 'profile']);

      const partner = JSON.parse(
        (await cli('apps', 'create', '--name', 'Partner', '--third-party', '--organization', 'org_partner', '--redirect-uri', 'https://partner.example.com/cb', '--logo-uri-dark', 'https://cdn.example.com/dark.png', '--json', ...server)).stdout,
      );
      expect(partner).to.include({ is_first_party: false, organization_id: 'org_partner', logo_uri_dark: 'https://cdn.example.com/dark.png' });

      const native = await cli('apps', 'create', '--name', 'Desktop', '--public', '--redirect-uri', 'http://127.0.0.1/cb', ...server);
      expect(native.code).to.equal(0);
      expect(native.stdout).to.match(/type:\s+oauth, first-party, public \(PKCE\)/);
      expect(native.stdout).not.to.include('client_secret');
      expect(native.stdout).not.to.include('Store this secret');
    });

    it('lists (following the cursor past one page), shows, updates and deletes', async () => {
      const listed = await cli('apps', 'list', ...server);
      expect(listed.code).to.equal(0);
      expect(listed.stdout.split('\n')[0]).to.match(/^CLIENT_ID\s+NAME\s+TYPE\s+ORGANIZATION$/);
      expect(listed.stdout).to.match(/client_partner_crm\s+Partner CRM\s+oauth, third-party, confidential\s+org_partner/);
      const all = JSON.parse((await cli('apps', 'list', '--json', ...server)).stdout);
      expect(all.length).to.equal(listed.stdout.trim().split('\n').length - 1);
      // Public apps: no secret to hash, so a hundred are quick to make.
      for (let i = all.length; i <= 101; i++) {
        await op.orgconnect.applications.create({ application_type: 'oauth', is_first_party: true, is_public: true, name: `Bulk ${i}`, redirect_uris: ['http://127.0.0.1/cb'] });
      }
      const many = JSON.parse((await cli('apps', 'list', '--json', ...server)).stdout) as { client_id: string }[];
      expect(many.length).to.be.greaterThan(100);
      expect(new Set(many.map((a) => a.client_id)).size).to.equal(many.length);
      const partner = JSON.parse((await cli('apps', 'list', '--organization', 'org_partner', '--json', ...server)).stdout);
      expect(partner.every((a: { organization_id: string }) => a.organization_id === 'org_partner')).to.equal(true);

      const shown = await cli('apps', 'show', DEMO.crm.clientId, ...server);
      expect(shown.stdout).to.match(/^Partner CRM\n/);
      expect(shown.stdout).to.match(/organization:\s+org_partner/);
      expect(shown.stdout).to.match(/logo_uri_dark:\s+http:\/\/localhost:5002\/logo-dark.png/);

      const app = JSON.parse((await cli('apps', 'create', '--name', 'Editable', '--redirect-uri', 'http://localhost:5030/cb', '--description', 'old', '--scope', 'openid', '--json', ...server)).stdout);
      const updated = await cli('apps', 'update', app.client_id, '--name', 'Edited', '--description', '', '--scope', '', '--redirect-uri', 'http://localhost:5031/cb', '--json', ...server);
      expect(updated.code, updated.stderr).to.equal(0);
      const after = JSON.parse(updated.stdout);
      expect(after).to.include({ name: 'Edited' });
      expect(after).not.to.have.any.keys('description', 'scopes');
      expect(after.redirect_uris).to.deep.equal(['http://localhost:5031/cb']);
      expect((await op.orgconnect.applications.get(app.client_id))!.name).to.equal('Edited');
      const thirdParty = await cli('apps', 'update', app.client_id, '--third-party', ...server);
      expect(thirdParty.code).to.equal(1);
      expect(thirdParty.stderr).to.match(/^orgconnect: application .*a third-party application needs organization_id\n$/);

      const deleted = await cli('apps', 'delete', app.client_id, ...server);
      expect(deleted).to.deep.include({ code: 0, stdout: `deleted application ${app.client_id}\n` });
      const gone = await cli('apps', 'show', app.client_id, ...server);
      expect(gone.code).to.equal(1);
      expect(gone.stderr).to.equal(`orgconnect: no application "${app.client_id}"\n`);
      expect((await cli('apps', 'delete', app.client_id, ...server)).code).to.equal(1);
    });

    it('creates, lists and revokes secrets: the plaintext once, a revoked secret refused at once', async () => {
      const app = JSON.parse((await cli('apps', 'create', '--type', 'm2m', '--name', 'Rotated', '--organization', 'org_acme', '--json', ...server)).stdout);
      const created = await cli('secrets', 'create', app.client_id, ...server);
      expect(created.code).to.equal(0);
      expect(created.stdout).to.include('Store this secret now');
      const secret = printedSecret(created.stdout)!;
      const secretId = /created client secret (\S+)/.exec(created.stdout)![1]!;
      expect((await clientCredentials(op.issuer, app.client_id, secret)).status).to.equal(200);

      const listed = await cli('secrets', 'list', app.client_id, ...server);
      expect(listed.stdout.split('\n')[0]).to.match(/^SECRET_ID\s+HINT\s+CREATED\s+LAST_USED$/);
      expect(listed.stdout).to.include(secretId).and.include(`...${secret.slice(-4)}`).and.not.include(secret);
      expect(JSON.parse((await cli('secrets', 'list', app.client_id, '--json', ...server)).stdout)).to.have.length(2);

      const revoked = await cli('secrets', 'revoke', app.client_id, secretId, ...server);
      expect(revoked).to.deep.include({ code: 0, stdout: `revoked client secret ${secretId} of ${app.client_id}\n` });
      const refused = await clientCredentials(op.issuer, app.client_id, secret);
      expect(refused.status).to.equal(401);
      expect(refused.json.error).to.equal('invalid_client');
      expect((await clientCredentials(op.issuer, app.client_id, app.client_secret)).status).to.equal(200);
      expect((await cli('secrets', 'revoke', app.client_id, secretId, ...server)).code).to.equal(1);

      const json = await cli('secrets', 'create', app.client_id, '--json', ...server);
      expect(JSON.parse(json.stdout)).to.include({ object: 'client_secret' }).and.have.property('secret');
      const publicApp = await cli('secrets', 'create', DEMO.cli.clientId, ...server);
      expect(publicApp).to.deep.include({ code: 1, stderr: `orgconnect: application "${DEMO.cli.clientId}" is public: it has no secrets\n` });
      expect((await cli('secrets', 'list', DEMO.cli.clientId, ...server)).stdout).to.equal('no client secrets\n');
    });

    it('reads ORGCONNECT_SERVER and ORGCONNECT_ADMIN_TOKEN; a flag wins over the environment', async () => {
      process.env.ORGCONNECT_SERVER = op.issuer;
      process.env.ORGCONNECT_ADMIN_TOKEN = TOKEN;
      process.env.REDIS_URL = 'redis://127.0.0.1:1';
      try {
        const listed = await cli('apps', 'show', DEMO.portal.clientId, '--json');
        expect(listed.code, listed.stderr).to.equal(0);
        expect(JSON.parse(listed.stdout).client_id).to.equal(DEMO.portal.clientId);
        const wrong = await cli('apps', 'list', '--admin-token', `${TOKEN}-wrong`);
        expect(wrong.code).to.equal(1);
      } finally {
        delete process.env.ORGCONNECT_SERVER;
        delete process.env.ORGCONNECT_ADMIN_TOKEN;
        delete process.env.REDIS_URL;
      }
    });

    it('fails with one line and exit code 1: wrong token, no admin API, unreachable server, refused input', async () => {
      const wrong = await cli('apps', 'list', '--server', op.issuer, '--admin-token', 'not-the-token');
      expect(wrong).to.deep.include({ code: 1, stdout: '' });
      expect(wrong.stderr).to.equal('orgconnect: the admin bearer token is not valid (check --admin-token or ORGCONNECT_ADMIN_TOKEN)\n');

      const plain = await startProvider(await providerOptions({ admin: undefined }));
      try {
        const off = await cli('apps', 'list', '--server', plain.issuer, '--admin-token', TOKEN);
        expect(off.code).to.equal(1);
        expect(off.stderr).to.match(/has no admin API \(start it with --admin-token or ORGCONNECT_ADMIN_TOKEN\)/);
      } finally {
        await plain.stop();
      }

      const port = await closedPort();
      const unreachable = await cli('apps', 'list', '--server', `http://127.0.0.1:${port}`, '--admin-token', TOKEN);
      expect(unreachable.code).to.equal(1);
      expect(unreachable.stderr).to.match(/^orgconnect: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED\n$/);

      const refused = await cli('apps', 'create', '--name', 'Ghost', '--type', 'm2m', '--organization', 'org_ghost', ...server);
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.equal('orgconnect: application ("Ghost"): unknown organization_id "org_ghost"\n');
    });

    it('answers usage errors with exit code 2 before connecting', async () => {
      const usage: [string[], RegExp][] = [
        [['apps', 'list'], /pass --server URL --admin-token TOKEN .* or --redis URL/],
        [['apps', 'list', '--server', op.issuer], /--server needs --admin-token/],
        [['apps', 'list', '--server', 'ftp://x', '--admin-token', TOKEN], /--server must be an http\(s\) URL/],
        [['apps', 'list', ...server, '--redis', 'redis://127.0.0.1:1'], /either --server or --redis/],
        [['apps', 'create', ...server], /--name is required/],
        [['apps', 'create', '--name', 'X', ...server], /--redirect-uri is required for --type oauth/],
        [['apps', 'create', '--name', 'X', '--type', 'saml', ...server], /argument 'saml' is invalid/],
        [['apps', 'create', '--name', 'X', '--type', 'm2m', ...server], /--organization is required for --type m2m/],
        [['apps', 'create', '--name', 'X', '--type', 'm2m', '--organization', 'o', '--redirect-uri', 'http://x/cb', '--public', ...server], /--public, --redirect-uri: only for --type oauth/],
        [['apps', 'create', '--name', 'X', '--first-party', '--third-party', '--redirect-uri', 'http://localhost/cb', ...server], /cannot be used with/],
        [['apps', 'update', DEMO.portal.clientId, ...server], /nothing to update/],
        [['apps', 'update', DEMO.portal.clientId, '--public', ...server], /unknown option '--public'/],
        [['apps', 'update', DEMO.portal.clientId, '--type', 'm2m', ...server], /unknown option '--type'/],
        [['apps', 'show', ...server], /missing required argument 'client_id'/],
        [['apps', 'frobnicate'], /unknown command 'frobnicate'/],
        [['apps'], /Usage: orgconnect apps/],
        [['secrets', 'revoke', DEMO.sync.clientId, ...server], /missing required argument 'secret_id'/],
        [['secrets', 'list', DEMO.sync.clientId, '--bogus', ...server], /unknown option '--bogus'/],
      ];
      for (const [args, message] of usage) {
        const result = await cli(...args);
        expect(result.code, args.join(' ')).to.equal(2);
        expect(result.stderr, args.join(' ')).to.match(message);
      }
      const help = await cli('apps', 'create', '--help');
      expect(help.code).to.equal(0);
      expect(help.stdout).to.include('--redirect-uri <uri>').and.include('--admin-token <token>').and.include('ORGCONNECT_SERVER');
    });
  });

  describe('consents (--server)', () => {
    it('lists a user\'s authorized applications and withdraws one: its tokens end', async () => {
      const config = await discover(op.issuer, DEMO.crm.clientId, DEMO.crm.secret);
      const { tokens } = await signIn(config, DEMO.crm.redirectUri, { ...DEMO.bob, scope: 'openid email' });
      const listed = await cli('consents', 'list', DEMO.bob.id, ...server);
      expect(listed.code, listed.stderr).to.equal(0);
      expect(listed.stdout).to.match(/client_partner_crm\s+Partner CRM\s+org_acme/);
      const asJson = JSON.parse((await cli('consents', 'list', DEMO.bob.id, '--json', ...server)).stdout);
      expect(asJson[0]).to.include({ client_id: DEMO.crm.clientId, organization_id: 'org_acme' });

      const revoked = await cli('consents', 'revoke', DEMO.bob.id, DEMO.crm.clientId, '--organization', 'org_acme', ...server);
      expect(revoked.code, revoked.stderr).to.equal(0);
      expect((await cli('consents', 'list', DEMO.bob.id, ...server)).stdout).to.include('no authorized applications');
      const sync = await discover(op.issuer, DEMO.sync.clientId, DEMO.sync.secret);
      expect((await oidc.tokenIntrospection(sync, tokens!.access_token)).active).to.equal(false);
    });

    it('explains that the store mode cannot manage consents', async () => {
      const result = await cli('consents', 'list', DEMO.bob.id, '--redis', 'redis://127.0.0.1:1');
      expect(result.code).to.equal(1);
      expect(result.stderr).to.match(/--server|unavailable|connect/i);
    });
  });

  describe('against the store (--redis)', () => {
    let url: string;
    let prefix: string;
    let shared: RunningProvider;
    let store: string[];

    before(async function () {
      requireRedis(this);
      url = (await sharedRedis()).url;
      prefix = `test-cli-${randomBytes(4).toString('hex')}:`;
      shared = await startProvider(await providerOptions({ admin: undefined, store: { redis: url, prefix } }));
      store = ['--redis', url, '--redis-prefix', prefix];
    });
    after(() => shared?.stop());

    it('writes the store a running server reads: created, updated, rotated and deleted apps take effect there at once', async () => {
      const created = await cli('apps', 'create', '--type', 'm2m', '--name', 'Direct', '--organization', 'org_acme', '--json', ...store);
      expect(created.code, created.stderr).to.equal(0);
      const app = JSON.parse(created.stdout);
      const token = await clientCredentials(shared.issuer, app.client_id, app.client_secret);
      expect(token.status).to.equal(200);

      expect((await cli('apps', 'update', app.client_id, '--organization', 'org_globex', ...store)).code).to.equal(0);
      expect(decodeJwt((await clientCredentials(shared.issuer, app.client_id, app.client_secret)).json.access_token).org_id).to.equal('org_globex');

      const rotated = await cli('secrets', 'create', app.client_id, '--json', ...store);
      const second = JSON.parse(rotated.stdout);
      const [first] = JSON.parse((await cli('secrets', 'list', app.client_id, '--json', ...store)).stdout);
      expect((await cli('secrets', 'revoke', app.client_id, first.id, ...store)).code).to.equal(0);
      expect((await clientCredentials(shared.issuer, app.client_id, app.client_secret)).status).to.equal(401);
      expect((await clientCredentials(shared.issuer, app.client_id, second.secret)).status).to.equal(200);

      const listed = await cli('apps', 'list', ...store);
      expect(listed.stdout).to.include(app.client_id);
      expect(listed.stdout, 'seed apps live in the server, not the store').not.to.include(DEMO.portal.clientId);

      expect((await cli('apps', 'delete', app.client_id, ...store)).code).to.equal(0);
      expect((await clientCredentials(shared.issuer, app.client_id, second.secret)).status).to.equal(401);
    });

    it('accepts any organization without --seed, only the seed file\'s with it (and then lists its apps)', async () => {
      const anyOrg = await cli('apps', 'create', '--type', 'm2m', '--name', 'Anywhere', '--organization', 'org_elsewhere', '--json', ...store);
      expect(anyOrg.code, anyOrg.stderr).to.equal(0);

      const seeded = [...store, '--seed', 'fixtures/demo.json'];
      const refused = await cli('apps', 'create', '--type', 'm2m', '--name', 'Nowhere', '--organization', 'org_elsewhere', ...seeded);
      expect(refused).to.deep.include({ code: 1, stderr: 'orgconnect: application ("Nowhere"): unknown organization_id "org_elsewhere"\n' });
      const listed = JSON.parse((await cli('apps', 'list', '--json', ...seeded)).stdout).map((a: { client_id: string }) => a.client_id);
      expect(listed).to.include.members([DEMO.portal.clientId, DEMO.sync.clientId, JSON.parse(anyOrg.stdout).client_id]);
      const badSeed = await cli('apps', 'list', ...store, '--seed', 'no/such/seed.json');
      expect(badSeed.code).to.equal(1);
      expect(badSeed.stderr).to.match(/^orgconnect: cannot read seed file no\/such\/seed.json/);
    });

    it('refuses what the admin API refuses, the same way', async () => {
      const https = [...store, '--issuer', 'https://id.example.com'];
      const plainHttp = await cli('apps', 'create', '--name', 'Plain', '--redirect-uri', 'http://app.example.com/cb', ...https);
      expect(plainHttp.code).to.equal(1);
      expect(plainHttp.stderr).to.match(/plain http is allowed only for loopback hosts/);
      const noApp = await cli('secrets', 'list', 'client_nope', ...store);
      expect(noApp).to.deep.include({ code: 1, stderr: 'orgconnect: no application "client_nope"\n' });
    });

    it('fails with one line when Redis does not answer', async () => {
      const port = await closedPort();
      const down = await cli('apps', 'list', '--redis', `redis://127.0.0.1:${port}`);
      expect(down.code).to.equal(1);
      expect(down.stderr).to.match(/^orgconnect: Redis store unavailable: /);
    });
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs the real CLI (`node --import tsx lib/cli.ts ...`, as `orgconnect`) to its end. */
function runCli(args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<Result> } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !TARGET_ENV.includes(key)));
  const child = spawn(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', ...args], { env: { ...clean, PORT: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const result: Result = { code: -1, stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => (result.stdout += d));
  child.stderr!.on('data', (d) => (result.stderr += d));
  const done = new Promise<Result>((resolve) => child.on('exit', (code) => resolve({ ...result, code: code ?? -1 })));
  return { child, done };
}

describe('CLI apps/secrets commands (the orgconnect executable)', function () {
  this.timeout(60_000);
  const children: ChildProcess[] = [];
  afterEach(() => children.splice(0).forEach((c) => c.kill('SIGTERM')));

  it('exit codes 0, 1 and 2 from the real process; JSON on stdout, no stack trace', async function () {
    const op = await startProvider(await providerOptions());
    try {
      const runs = [
        runCli(['apps', 'create', '--type', 'm2m', '--name', 'Spawned', '--organization', 'org_acme', '--json', '--server', op.issuer], { ORGCONNECT_ADMIN_TOKEN: TOKEN }),
        runCli(['apps', 'show', 'client_nope', '--server', op.issuer, '--admin-token', TOKEN]),
        runCli(['apps', 'create', '--name', 'No redirect', '--server', op.issuer, '--admin-token', TOKEN]),
      ];
      children.push(...runs.map((r) => r.child));
      const [ok, error, usage] = await Promise.all(runs.map((r) => r.done));

      expect(ok!.code, ok!.stderr).to.equal(0);
      const created = JSON.parse(ok!.stdout);
      expect((await clientCredentials(op.issuer, created.client_id, created.client_secret)).status).to.equal(200);
      expect(ok!.stderr).to.match(/Store this secret now/);

      expect(error!.code).to.equal(1);
      expect(error!.stderr.split('\n').filter((l) => l.startsWith('orgconnect:'))).to.deep.equal(['orgconnect: no application "client_nope"']);
      expect(usage!.code).to.equal(2);
      expect(usage!.stderr).to.match(/--redirect-uri is required/);
      for (const run of [ok, error, usage]) expect(run!.stdout + run!.stderr).not.to.match(STACK);
    } finally {
      await op.stop();
    }
  });

  it('reaches the store through REDIS_URL', async function () {
    requireRedis(this);
    const url = (await sharedRedis()).url;
    const prefix = `test-cli-${randomBytes(4).toString('hex')}:`;
    const create = runCli(['apps', 'create', '--type', 'm2m', '--name', 'From env', '--organization', 'org_acme', '--redis-prefix', prefix], { REDIS_URL: url });
    children.push(create.child);
    const created = await create.done;
    expect(created.code, created.stderr).to.equal(0);
    const clientId = /created application (\S+)/.exec(created.stdout)![1]!;
    const listed = await cli('apps', 'list', '--json', '--redis', url, '--redis-prefix', prefix);
    expect(JSON.parse(listed.stdout).map((a: { client_id: string }) => a.client_id)).to.deep.equal([clientId]);
  });

  it('npm start --admin-token serves the admin API the CLI uses', async () => {
    const port = await closedPort();
    const server = runCli(['start', '--port', String(port), '--issuer', `http://127.0.0.1:${port}`], { ORGCONNECT_ADMIN_TOKEN: TOKEN });
    children.push(server.child);
    await new Promise<void>((resolve, reject) => {
      let output = '';
      server.child.stdout!.on('data', (d) => (output += d) && output.includes('admin API:') && resolve());
      server.child.on('exit', () => reject(new Error(`start exited: ${output}`)));
    });
    const list = runCli(['apps', 'list', '--server', `http://127.0.0.1:${port}`, '--admin-token', TOKEN]);
    children.push(list.child);
    const listed = await list.done;
    expect(listed.code, listed.stderr).to.equal(0);
    expect(listed.stdout).to.match(/client_nightly_sync\s+Nightly sync\s+m2m\s+org_acme/);
  });
});
