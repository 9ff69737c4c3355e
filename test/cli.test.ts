import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { demoSeed } from './helpers/provider.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs the CLI (from source, through tsx) until it prints its banner or exits. */
function runCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', ...args], {
    env: { ...process.env, PORT: '', ISSUER: '', SEED_FILE: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const ready = new Promise<{ output: string; code: number | null }>((resolve) => {
    child.stdout!.on('data', () => output.includes('discovery:') && resolve({ output, code: null }));
    child.on('exit', (code) => resolve({ output, code }));
  });
  return { child, ready };
}

describe('CLI (npm start)', function () {
  this.timeout(30_000);
  const children: ChildProcess[] = [];
  afterEach(() => children.splice(0).forEach((c) => c.kill('SIGTERM')));

  it('starts with --port, --issuer and --seed, prints the issuer, discovery URL and credentials', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'orgconnect-cli-'));
    const seed = structuredClone(demoSeed);
    seed.applications[0].name = 'Custom Portal';
    writeFileSync(join(dir, 'my.json'), JSON.stringify(seed));
    const { child, ready } = runCli(['--port', String(port), '--issuer', `http://127.0.0.1:${port}`, '--seed', join(dir, 'my.json')]);
    children.push(child);
    const { output } = await ready;
    expect(output).to.include(`issuer:    http://127.0.0.1:${port}`);
    expect(output).to.include(`http://127.0.0.1:${port}/.well-known/openid-configuration`);
    expect(output).to.include('Custom Portal');
    expect(output).to.include('client_secret: demo-support-portal-secret-0001');
    const discovery = await (await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)).json();
    expect(discovery.issuer).to.equal(`http://127.0.0.1:${port}`);
  });

  it('reads PORT, ISSUER and SEED_FILE from the environment', async () => {
    const port = await freePort();
    const { child, ready } = runCli([], { PORT: String(port), ISSUER: `http://127.0.0.1:${port}/`, SEED_FILE: 'fixtures/demo.json' });
    children.push(child);
    const { output } = await ready;
    expect(output).to.include(`issuer:    http://127.0.0.1:${port}`);
    const token = await fetch(`http://127.0.0.1:${port}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('client_nightly_sync:demo-nightly-sync-secret-00003').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(token.status).to.equal(200);
  });

  it('signs with a private JWKS given inline in the JWKS environment variable', async () => {
    const { generateSigningKey } = await import('../lib/options/keys.js');
    const key = await generateSigningKey('ES256');
    const port = await freePort();
    const { child, ready } = runCli(['--port', String(port), '--issuer', `http://127.0.0.1:${port}`], { JWKS: JSON.stringify({ keys: [key] }) });
    children.push(child);
    const { code, output } = await ready;
    expect(code, output).to.equal(null);
    const jwks = await (await fetch(`http://127.0.0.1:${port}/oauth2/jwks`)).json();
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).to.deep.equal([key.kid]);
    expect(JSON.stringify(jwks)).not.to.include(String(key.d));
  });

  it('exits non-zero with a message naming the bad seed entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orgconnect-cli-'));
    const seed = structuredClone(demoSeed);
    delete seed.applications[1].organization_id;
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(seed));
    const { child, ready } = runCli(['--port', String(await freePort()), '--seed', join(dir, 'bad.json')]);
    children.push(child);
    const { output, code } = await ready;
    expect(code).to.equal(1);
    expect(output).to.match(/applications\[1\] \("Partner CRM"\): a third-party application needs organization_id/);
    expect(output).not.to.match(/at .*\.ts:\d+/);
  });

  it('rejects a bad --port', async () => {
    const { child, ready } = runCli(['--port', 'eighty']);
    children.push(child);
    const { output, code } = await ready;
    expect(code).not.to.equal(0);
    expect(output).to.match(/port/);
  });
});
