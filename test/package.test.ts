import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';

/*
 * The package as a consumer gets it: `npm pack` (which builds dist/ through `prepare`) from a
 * copy of the sources, so the repository's own dist/ is left alone; the tarball installed into a
 * fresh project from the local npm cache; every export imported from ESM and CommonJS and
 * type-checked by tsc.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, string | { types: string; default: string }>;
  devDependencies: Record<string, string>;
};
const SUBPATHS = Object.keys(pkg.exports).filter((key) => key !== './package.json');
const specifier = (subpath: string) => (subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`);

/** Runs a command with a bounded time; npm's own lifecycle variables are not passed on. */
function run(command: string, args: string[], cwd: string, timeout: number) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('npm_') || ['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig'].includes(key)),
  );
  const result = spawnSync(command, args, { cwd, env: { ...env, NO_UPDATE_NOTIFIER: '1' }, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}${result.error ? `\n${String(result.error)}` : ''}`;
  return { status: result.status, stdout: result.stdout ?? '', output };
}

/** Node 20.19+ and 22.12+ load ES modules with require() without a flag. */
function requireEsmSupported(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major >= 23 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19);
}

describe('package: npm pack, install, import', function () {
  this.timeout(300_000);
  let work: string;
  let tarball: string;
  let files: string[];
  let consumer: string;

  before(function () {
    work = mkdtempSync(join(tmpdir(), 'orgconnect-pack-'));
    const source = join(work, 'source');
    mkdirSync(source);
    for (const entry of ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'lib', 'views', 'fixtures']) {
      if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(source, entry), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
    const packed = run('npm', ['pack', '--json', '--pack-destination', work, '--no-audit', '--no-fund'], source, 180_000);
    expect(packed.status, packed.output).to.equal(0);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(work, info!.filename);
    files = info!.files.map((f) => f.path);

    consumer = join(work, 'consumer');
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // What a TypeScript app using orgconnect/resource/express has anyway: Node's and Express's types,
    // and for an MCP server, Express and the MCP TypeScript SDK (orgconnect does not depend on it).
    // Everything else orgconnect's declarations need must come with orgconnect.
    const types = ['@types/node', '@types/express', 'express', '@modelcontextprotocol/sdk'].map((name) => `${name}@${pkg.devDependencies[name] ?? 'latest'}`);
    // @types/koa 3.0.3 (which orgconnect's declarations need) uses content-disposition's `Options`
    // type; express 5.3 brings content-disposition 2, whose own declarations lack it, and when that
    // copy is the hoisted one @types/koa fails without skipLibCheck. Hoist 1.x (typed by
    // @types/content-disposition), as such an app has to until @types/koa follows.
    types.push('content-disposition@^1.0.1');
    const installed = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball, ...types], consumer, 120_000);
    expect(installed.status, installed.output).to.equal(0);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds the built entries with their declarations, the views and fixtures, and no tests, sources or source maps', () => {
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      const targets = typeof target === 'string' ? [target] : [target.types, target.default];
      for (const file of targets) expect(files, `${subpath} -> ${file}`).to.include(file.replace(/^\.\//, ''));
    }
    expect(files).to.include.members(['package.json', 'README.md', 'views/login.ejs', 'views/layout.ejs', 'views/assets/orgconnect.css', 'fixtures/demo.json']);
    expect(files.filter((f) => f.startsWith('test/') || /\.test\./.test(f) || f.includes('node-test'))).to.deep.equal([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).to.deep.equal([]);
    expect(files.filter((f) => f.endsWith('.map'))).to.deep.equal([]);
    expect(files.filter((f) => f.startsWith('examples/') || f.startsWith('bench/') || f.startsWith('.ci/'))).to.deep.equal([]);
  });

  it('imports every export from ESM in the installed project, and runs the test kit from it', () => {
    const lines = SUBPATHS.map((subpath, index) => `import * as m${index} from '${specifier(subpath)}';`);
    writeFileSync(
      join(consumer, 'imports.mjs'),
      `${lines.join('\n')}
const loaded = { ${SUBPATHS.map((subpath, index) => `'${subpath}': Object.keys(m${index}).length`).join(', ')} };
const op = await m${SUBPATHS.indexOf('./testing')}.startTestProvider({ path: '/oauth' });
const token = await op.mintAccessToken({ app: 'test_web', user: 'bob@example.com' });
const verified = await m${SUBPATHS.indexOf('./resource')}.createVerifier({ issuer: op.issuer, audience: op.issuer }).verify(token);
const css = await fetch(op.issuer + '/assets/orgconnect.css');
await op.stop();
console.log(JSON.stringify({ loaded, sub: verified.sub, org: verified.org_id, css: css.status }));
`,
    );
    const result = run(process.execPath, ['imports.mjs'], consumer, 60_000);
    expect(result.status, result.output).to.equal(0);
    const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { loaded: Record<string, number>; sub: string; org: string; css: number };
    for (const subpath of SUBPATHS) expect(report.loaded[subpath], subpath).to.be.greaterThan(0);
    expect(report).to.deep.include({ sub: 'user_bob', org: 'org_acme', css: 200 });
  });

  it('loads from CommonJS with require() on Node 20.19+ / 22.12+', () => {
    // package.json's engines admit only those versions, so this holds wherever orgconnect runs.
    expect(requireEsmSupported(), `Node ${process.version} cannot require() ES modules`).to.equal(true);
    writeFileSync(
      join(consumer, 'require.cjs'),
      `const loaded = {};
${SUBPATHS.map((subpath) => `loaded['${subpath}'] = Object.keys(require('${specifier(subpath)}')).length;`).join('\n')}
console.log(JSON.stringify(loaded));
`,
    );
    const result = run(process.execPath, ['require.cjs'], consumer, 60_000);
    expect(result.status, result.output).to.equal(0);
    const loaded = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    for (const subpath of SUBPATHS) expect(loaded[subpath], subpath).to.be.greaterThan(0);
    expect(loaded['.']).to.be.greaterThan(5);
  });

  it('type-checks a consumer of every export, and an MCP server, with tsc (strict, NodeNext, no skipLibCheck)', () => {
    writeFileSync(
      join(consumer, 'check.ts'),
      `import { createProvider, MemoryStore, type Directory, type OrgconnectOptions, type OrgconnectProvider } from 'orgconnect';
import { startTestProvider, TestBrowser, type TestProvider, type SignInResult } from 'orgconnect/testing';
import { mountOrgconnect, orgconnectRouter, type OrgconnectHandler } from 'orgconnect/express';
import { createVerifier, type VerifiedAccessToken } from 'orgconnect/resource';
import { requireAccessToken } from 'orgconnect/resource/express';
import { requireAccessToken as requireAccessTokenKoa } from 'orgconnect/resource/koa';
import { MemoryStore as Memory } from 'orgconnect/adapters/memory';
import { RedisStore } from 'orgconnect/adapters/redis';

type IsAny<T> = 0 extends 1 & T ? true : false;
type Typed<T> = IsAny<T> extends true ? never : true;
const typed: [Typed<OrgconnectProvider['provider']>, Typed<OrgconnectProvider['app']>, Typed<TestProvider>, Typed<VerifiedAccessToken>] = [true, true, true, true];

const directory: Directory = { findUser: () => undefined, authenticate: () => undefined, listOrganizations: () => [], findOrganization: () => undefined };
const options: OrgconnectOptions = { issuer: 'http://127.0.0.1:1/oauth', store: new MemoryStore(), directory };

export async function main(): Promise<string | undefined> {
  const provider: OrgconnectProvider = await createProvider(options);
  const handler: OrgconnectHandler = orgconnectRouter(provider);
  mountOrgconnect({ use: () => undefined }, provider);
  const op: TestProvider = await startTestProvider({ users: [], path: '/oauth' });
  const result: SignInResult = await op.signIn({ app: 'test_web', user: 'x@example.com', password: 'x', browser: new TestBrowser() });
  const verified: VerifiedAccessToken = await createVerifier({ issuer: op.issuer, audience: op.issuer }).verify(result.tokens?.access_token);
  void [typed, handler, Memory, RedisStore, requireAccessToken, requireAccessTokenKoa];
  await op.stop();
  await provider.close();
  return verified.org_id;
}
`,
    );
    // An MCP server as the MCP TypeScript SDK documents it: requireAccessToken's req.auth must be
    // the SDK's AuthInfo for handleRequest to compile, without orgconnect importing the SDK's types.
    writeFileSync(
      join(consumer, 'mcp.ts'),
      `import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { createVerifier, type VerifiedAccessToken } from 'orgconnect/resource';
import { protectedResourceMetadata, requireAccessToken } from 'orgconnect/resource/express';
import type { AuthState } from 'orgconnect/resource/koa';

const verifier = createVerifier({ issuer: 'https://auth.example.com', audience: 'https://mcp.example.com/mcp', resourceMetadata: { scopesSupported: ['mcp:tools'] } });

export const app = express();
app.use(express.json());
app.use(protectedResourceMetadata(verifier));
app.post('/mcp', requireAccessToken(verifier, { scopes: ['mcp:tools'] }), async (req, res) => {
  const server = new McpServer({ name: 'consumer', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who the token is for' }, async ({ authInfo }) => ({
    content: [{ type: 'text', text: [authInfo?.clientId, authInfo?.scopes.join(' '), authInfo?.expiresAt, authInfo?.resource?.href, String(authInfo?.extra?.org_id)].join(' ') }],
  }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => void transport.close());
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
});

export const fromVerifier = (auth: VerifiedAccessToken): AuthInfo => auth;
export const fromKoaState = (state: AuthState): AuthInfo => state.auth;
`,
    );
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
        files: ['check.ts', 'mcp.ts'],
      }),
    );
    const result = run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer], consumer, 120_000);
    expect(result.status, result.output).to.equal(0);
  });
});
