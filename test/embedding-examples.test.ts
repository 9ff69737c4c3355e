import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';

import { TestBrowser } from '../lib/testing/index.js';

/*
 * The runnable examples, started the way their READMEs say (one command each, configured by
 * PORT / ISSUER / ...), and a sign-in through each host by the example relying party.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Runs `node --import tsx <file>` and waits for its "listening on <url>" line. */
function start(file: string, env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not start in time:\n${output}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, output: () => output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${code}) before listening:\n${output}`));
    });
  });
}

async function stopAll(started: Array<Started | undefined>): Promise<void> {
  await Promise.all(
    started.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (!s || s.child.exitCode !== null) return resolve();
          s.child.once('exit', () => resolve());
          s.child.kill('SIGTERM');
          setTimeout(() => s.child.kill('SIGKILL'), 5000).unref();
        }),
    ),
  );
}

/** A free loopback port (the relying party's port must be known before the host registers it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Answers the provider's pages (by their forms) until the browser is sent back to `stopAt`. */
async function answerPages(agent: TestBrowser, start: string, stopAt: (url: string) => boolean, script: { email?: string; password?: string; organization?: string }) {
  const steps: string[] = [];
  let page = await agent.follow(start, { stopAt });
  while (!page.redirectedTo) {
    if (page.response.status !== 200) throw new Error(`unexpected ${page.response.status} at ${page.url}: ${page.html?.slice(0, 300)}`);
    const actions = [...page.html!.matchAll(/<form[^>]*action="([^"]+)"/g)].map((m) => new URL(m[1]!.replace(/&amp;/g, '&'), page.url).href);
    const login = actions.find((a) => a.endsWith('/login'));
    const organization = actions.find((a) => a.endsWith('/organization'));
    if (login) {
      steps.push('login');
      page = await agent.follow(login, { form: { email: script.email!, password: script.password! }, stopAt });
    } else if (organization) {
      steps.push('organization');
      page = await agent.follow(organization, { form: { organization_id: script.organization! }, stopAt });
    } else throw new Error(`no form to answer at ${page.url}`);
    if (steps.length > 5) throw new Error('too many pages');
  }
  return steps;
}

const ada = { email: 'ada@example.com', password: 'analytical-engine' };

for (const host of ['express-host', 'koa-host'] as const) {
  describe(`examples/${host} with examples/relying-party`, function () {
    this.timeout(60_000);
    let provider: Started | undefined;
    let rp: Started | undefined;

    before(async () => {
      const rpPort = await freePort();
      provider = await start(`examples/${host}/server.ts`, { PORT: '0', RP_REDIRECT_URI: `http://127.0.0.1:${rpPort}/auth/callback` });
      rp = await start('examples/relying-party/server.ts', { PORT: String(rpPort), ISSUER: `${provider.url}/oauth` });
    });
    after(() => stopAll([rp, provider]));

    it('publishes discovery under /oauth', async () => {
      const metadata = (await (await fetch(`${provider!.url}/oauth/.well-known/openid-configuration`)).json()) as Record<string, string>;
      expect(metadata.issuer).to.equal(`${provider!.url}/oauth`);
      expect(metadata.token_endpoint).to.equal(`${provider!.url}/oauth/oauth2/token`);
      const rfc8414 = (await (await fetch(`${provider!.url}/.well-known/oauth-authorization-server/oauth`)).json()) as Record<string, string>;
      expect(rfc8414.issuer).to.equal(`${provider!.url}/oauth`);
    });

    it("signs a host user in to the relying party, picking one of the user's organizations", async () => {
      const agent = new TestBrowser();
      const steps = await answerPages(agent, `${rp!.url}/login`, (url) => url === `${rp!.url}/`, { ...ada, organization: 'org_globex' });
      expect(steps).to.deep.equal(['login', 'organization']);
      const me = await agent.request(`${rp!.url}/me`);
      expect(await me.json()).to.deep.equal({ sub: 'user_ada', email: 'ada@example.com', name: 'Ada Lovelace', org_id: 'org_globex' });
      expect(await (await agent.request(`${rp!.url}/`)).text()).to.include('Signed in as Ada Lovelace (ada@example.com) for org_globex');
    });

    if (host === 'express-host') {
      it('skips the login form for a user already signed in to the host (currentUser)', async () => {
        const agent = new TestBrowser();
        const login = await agent.follow(`${provider!.url}/login`, { form: ada });
        expect(login.html).to.include('Signed in to the host as ada@example.com');
        const steps = await answerPages(agent, `${rp!.url}/login`, (url) => url === `${rp!.url}/`, { organization: 'org_acme' });
        expect(steps).to.deep.equal(['organization']);
        expect(await (await agent.request(`${rp!.url}/me`)).json()).to.include({ sub: 'user_ada', org_id: 'org_acme' });
      });
    }
  });
}
