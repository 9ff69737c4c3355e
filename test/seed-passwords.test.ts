import { spawn } from 'node:child_process';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { Readable } from 'node:stream';

import { expect } from 'chai';
import { Command } from 'commander';
import * as oidc from 'openid-client';

import { registerAdminCommands, type CliIo } from '../lib/cli/index.js';
import { createSeedDirectory, parseSeed, SeedError, type Directory } from '../lib/index.js';
import { formatPasswordHash, hashPassword, parsePasswordHash, verifyPassword, type PasswordHash } from '../lib/accounts/passwords.js';
import { demoSeed, startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO, discover, signIn } from './helpers/relying-party.js';
import { formAction, UserAgent } from './helpers/user-agent.js';

const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');

/**
 * Records every scrypt the process runs, its cost parameters and (into `salts`) its salt:
 * lib/passwords.ts calls node:crypto's scrypt, and a builtin's named exports follow its object after
 * syncBuiltinESMExports. Behaviour, not timing.
 */
async function countScrypt<T>(work: () => Promise<T>, salts: string[] = []): Promise<{ result: T; calls: Array<{ N: number; r: number; p: number }> }> {
  const original = crypto.scrypt;
  const calls: Array<{ N: number; r: number; p: number }> = [];
  crypto.scrypt = ((...args: unknown[]) => {
    const options = (typeof args[3] === 'object' ? args[3] : {}) as { N?: number; r?: number; p?: number };
    calls.push({ N: options.N ?? 16384, r: options.r ?? 8, p: options.p ?? 1 });
    salts.push(Buffer.from(args[1] as Buffer).toString('hex'));
    return (original as (...a: unknown[]) => void)(...args);
  }) as typeof crypto.scrypt;
  syncBuiltinESMExports();
  try {
    return { result: await work(), calls };
  } finally {
    crypto.scrypt = original;
    syncBuiltinESMExports();
  }
}

const DEFAULT_COST = { N: 16384, r: 8, p: 1 };
const seedWith = (users: object[]) => parseSeed({ organizations: [], users, applications: [] });

describe('seed passwords: password_hash', () => {
  let hash: string;
  before(async () => {
    hash = formatPasswordHash(await hashPassword('correct horse battery'));
  });

  it('accepts a password_hash and signs the user in with that password through the login form', async () => {
    const seed = structuredClone(demoSeed);
    delete seed.users[1].password;
    seed.users[1].password_hash = hash;
    const op: RunningProvider = await startProvider({ seed });
    try {
      const config = await discover(op.issuer, DEMO.portal.clientId, DEMO.portal.secret);
      const { tokens } = await signIn(config, DEMO.portal.redirectUri, { email: DEMO.bob.email, password: 'correct horse battery' });
      expect(tokens!.claims()).to.include({ sub: DEMO.bob.id, email: DEMO.bob.email });

      // the demo password is gone, a wrong one is refused
      for (const password of [DEMO.bob.password, 'correct horse batteryX']) {
        const agent = new UserAgent();
        const url = oidc.buildAuthorizationUrl(config, { redirect_uri: DEMO.portal.redirectUri, scope: 'openid' });
        const page = await agent.follow(url.href, DEMO.portal.redirectUri);
        const login = formAction(page.html!, page.url, '/login')!;
        const answer = await agent.follow(login, DEMO.portal.redirectUri, { form: { email: DEMO.bob.email, password } });
        expect(answer.response?.status, password).to.equal(401);
        expect(answer.html).to.include('Incorrect email or password');
      }
    } finally {
      await op.stop();
    }
  });

  it('verifies with the hash’s own parameters (a stronger hash made elsewhere)', async () => {
    const strong = formatPasswordHash(await hashPassword('pw-strong', { ln: 15, r: 8, p: 2 }));
    const directory = await createSeedDirectory(seedWith([{ id: 'u1', email: 'u1@example.com', password_hash: strong }]));
    const { result, calls } = await countScrypt(async () => directory.authenticate('u1@example.com', 'pw-strong'));
    expect(result).to.include({ id: 'u1' });
    expect(calls).to.deep.equal([{ N: 32768, r: 8, p: 2 }]);
    expect(await directory.authenticate('u1@example.com', 'pw-strong ')).to.equal(undefined);
  });

  const b64 = (bytes: number, fill = 1) => Buffer.alloc(bytes, fill).toString('base64').replace(/=+$/, '');
  const phc = (params: string, salt = b64(16), hashPart = b64(32)) => `$scrypt$${params}$${salt}$${hashPart}`;
  const bad: Array<[string, () => string, RegExp]> = [
    ['plain text', () => 'correct horse battery', /not an scrypt hash in the format \$scrypt\$ln=/],
    ['another algorithm', () => hash.replace('$scrypt$', '$argon2id$'), /not an scrypt hash/],
    ['padded base64', () => `${hash}=`, /not an scrypt hash/],
    ['base64url', () => phc('ln=14,r=8,p=1', b64(16, 0xfb).replace(/\+/g, '-').replace(/\//g, '_')), /not an scrypt hash/],
    ['non-canonical base64', () => phc('ln=14,r=8,p=1', `${b64(16).slice(0, -1)}B`), /the salt is not base64/],
    ['a leading zero', () => phc('ln=014,r=8,p=1'), /not an scrypt hash/],
    ['parameters in another order', () => phc('r=8,ln=14,p=1'), /not an scrypt hash/],
    ['ln too small', () => phc('ln=10,r=8,p=1'), /ln must be between 14 and 17 \(got 10\)/],
    ['ln too large (a login costing minutes)', () => phc('ln=24,r=8,p=1'), /ln must be between 14 and 17/],
    ['r too large', () => phc('ln=14,r=64,p=1'), /r must be between 8 and 16/],
    ['p = 0', () => phc('ln=14,r=8,p=0'), /not an scrypt hash/],
    ['p too large', () => phc('ln=14,r=8,p=9'), /p must be between 1 and 8/],
    ['too much memory', () => phc('ln=17,r=16,p=1'), /needs more than 128 MiB/],
    ['too much work', () => phc('ln=16,r=8,p=8'), /costs more than 8 times/],
    ['a short salt', () => phc('ln=14,r=8,p=1', b64(8)), /the salt must be 16 to 64 bytes \(got 8\)/],
    ['a short hash', () => phc('ln=14,r=8,p=1', b64(16), b64(16)), /the hash must be 32 to 64 bytes \(got 16\)/],
  ];
  for (const [name, make, message] of bad) {
    it(`refuses a password_hash that is ${name}, naming the entry`, () => {
      const seed = structuredClone(demoSeed);
      delete seed.users[1].password;
      seed.users[1].password_hash = make();
      let error: unknown;
      try {
        parseSeed(seed);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(SeedError);
      expect((error as Error).message).to.match(/^users\[1\] \("Bob Builder"\): password_hash: /);
      expect((error as Error).message).to.match(message);
    });
  }

  it('accepts the limits themselves (ln=17,r=8,p=1 and ln=14,r=8,p=8)', () => {
    for (const params of ['ln=17,r=8,p=1', 'ln=14,r=8,p=8', 'ln=14,r=16,p=4']) {
      expect(() => seedWith([{ id: 'u', email: 'u@example.com', password_hash: phc(params) }]), params).not.to.throw();
    }
  });

  it('refuses password and password_hash together, naming the entry', () => {
    const seed = structuredClone(demoSeed);
    seed.users[2].password_hash = hash;
    expect(() => parseSeed(seed)).to.throw(SeedError, /^users\[2\] \("Carol King"\): give password or password_hash, not both$/);
  });

  it('createSeedDirectory refuses a bad password_hash too (it is public API)', async () => {
    const error = await createSeedDirectory({ organizations: [], users: [{ id: 'u9', email: 'u9@example.com', password_hash: '$scrypt$nope' }] }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(SeedError);
    expect((error as Error).message).to.match(/^users\[0\] \("u9"\): password_hash: not an scrypt hash/);
  });
});

describe('seed passwords: plain text hashed at the first login', () => {
  const users = Array.from({ length: 2000 }, (_, i) => ({ id: `u${i}`, email: `u${i}@example.com`, password: `pw-${i}` }));
  let directory: Directory;

  it('hashes nothing at start, even with 2,000 users', async () => {
    const { result, calls } = await countScrypt(() => createSeedDirectory(seedWith(users)));
    directory = result;
    expect(calls).to.have.length(0);
  });

  it('a first login costs one scrypt, like any login, and accepts the right password', async () => {
    const { result, calls } = await countScrypt(async () => directory.authenticate('U1@example.com ', 'pw-1'));
    expect(result).to.include({ id: 'u1', email: 'u1@example.com' });
    expect(calls).to.deep.equal([DEFAULT_COST]);
  });

  it('then checks against the hash made at that login (its salt): one scrypt, right accepted, wrong refused', async () => {
    const salts: string[] = [];
    const first = await countScrypt(async () => directory.authenticate('u4@example.com', 'pw-4'), salts);
    expect(first.result).to.include({ id: 'u4' });
    const wrong = await countScrypt(async () => directory.authenticate('u4@example.com', 'pw-2'), salts);
    expect(wrong.result).to.equal(undefined);
    expect(wrong.calls).to.deep.equal([DEFAULT_COST]);
    const right = await countScrypt(async () => directory.authenticate('u4@example.com', 'pw-4'), salts);
    expect(right.result).to.include({ id: 'u4' });
    expect(right.calls).to.deep.equal([DEFAULT_COST]);
    expect(new Set(salts).size, 'the salt of the first login, kept').to.equal(1);
  });

  it('refuses a wrong password at the first login (one scrypt too), which never becomes the password', async () => {
    for (const wrong of ['pw-1', '', 'pw-2 ', 'PW-2']) {
      const { result, calls } = await countScrypt(async () => directory.authenticate('u2@example.com', wrong));
      expect(result, wrong).to.equal(undefined);
      expect(calls, wrong).to.deep.equal([DEFAULT_COST]);
    }
    expect(await directory.authenticate('u2@example.com', 'pw-2')).to.include({ id: 'u2' });
    for (const wrong of ['pw-1', '']) expect(await directory.authenticate('u2@example.com', wrong), wrong).to.equal(undefined);
  });

  it('concurrent first logins: each right one accepted, each wrong one refused, then the hash holds', async () => {
    const attempts = ['pw-3', 'nope', '', 'pw-3', 'pw-4'];
    const results = await Promise.all(attempts.map((password) => directory.authenticate('u3@example.com', password)));
    expect(results.map((u) => u?.id)).to.deep.equal(['u3', undefined, undefined, 'u3', undefined]);
    for (const [password, id] of [['', undefined], ['nope', undefined], ['pw-3', 'u3']] as const) {
      expect((await directory.authenticate('u3@example.com', password))?.id, password).to.equal(id);
    }
  });

  it('an unknown email, or a user without password, still runs one scrypt with the users’ parameters (a decoy)', async () => {
    const mixed = await createSeedDirectory(seedWith([...users.slice(0, 10), { id: 'nopw', email: 'nopw@example.com' }]));
    for (const email of ['nobody@example.com', 'nopw@example.com']) {
      for (const password of ['pw-1', '']) {
        const { result, calls } = await countScrypt(async () => mixed.authenticate(email, password));
        expect(result, email).to.equal(undefined);
        expect(calls, email).to.deep.equal([DEFAULT_COST]);
      }
    }
  });

  it('the decoy has the parameters most users’ hashes have', async () => {
    const strong = formatPasswordHash(await hashPassword('x', { ln: 15, r: 8, p: 1 }));
    const hashed = await createSeedDirectory(
      seedWith([
        { id: 'a', email: 'a@example.com', password_hash: strong },
        { id: 'b', email: 'b@example.com', password_hash: strong },
        { id: 'c', email: 'c@example.com', password: 'plain' },
      ]),
    );
    const { calls } = await countScrypt(async () => hashed.authenticate('nobody@example.com', 'x'));
    expect(calls).to.deep.equal([{ N: 32768, r: 8, p: 1 }]);
  });
});

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

/** `orgconnect hash-password` in this process, stdin from `input`. */
async function hashPasswordCli(input: string | Buffer, ...args: string[]): Promise<Result> {
  const result: Result = { code: 0, stdout: '', stderr: '' };
  const io: CliIo = {
    stdout: (text) => void (result.stdout += text),
    stderr: (text) => void (result.stderr += text),
    fail: (code) => void (result.code = code),
    exit: (code) => {
      throw new Exit(code);
    },
    stdin: Readable.from([Buffer.from(input)]),
  };
  const program = new Command('orgconnect').exitOverride();
  registerAdminCommands(program, io);
  try {
    await program.parseAsync(['hash-password', ...args], { from: 'user' });
  } catch (error) {
    if (!(error instanceof Exit)) throw error;
    result.code = error.code;
  }
  return result;
}

const parsed = (text: string): PasswordHash => {
  const hash = parsePasswordHash(text.trim());
  if ('problem' in hash) throw new Error(hash.problem);
  return hash;
};

describe('orgconnect hash-password', function () {
  this.timeout(30_000);

  it('hashes the line read from stdin; the hash verifies and a seed takes it', async () => {
    const { code, stdout, stderr } = await hashPasswordCli('pässwörd with spaces \n');
    expect(code, stderr).to.equal(0);
    expect(stdout).to.match(/^\$scrypt\$ln=14,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}\n$/);
    expect(await verifyPassword('pässwörd with spaces ', parsed(stdout))).to.equal(true);
    expect(await verifyPassword('pässwörd with spaces', parsed(stdout))).to.equal(false);
    const directory = await createSeedDirectory(seedWith([{ id: 'u', email: 'u@example.com', password_hash: stdout.trim() }]));
    expect(await directory.authenticate('u@example.com', 'pässwörd with spaces ')).to.include({ id: 'u' });
  });

  it('takes input without a final newline, or with \\r\\n, and salts every hash', async () => {
    const a = await hashPasswordCli('secret');
    const b = await hashPasswordCli('secret\r\n');
    expect(a.stdout).not.to.equal(b.stdout);
    for (const { stdout } of [a, b]) expect(await verifyPassword('secret', parsed(stdout))).to.equal(true);
  });

  const usage: Array<[string, string | Buffer, string[], RegExp]> = [
    ['the password as an argument', 'x\n', ['secret'], /too many arguments/],
    ['an unknown flag', 'x\n', ['--password'], /unknown option/],
    ['empty stdin', '', [], /no password on stdin/],
    ['an empty line', '\n', [], /no password on stdin/],
    ['two lines', 'one\ntwo\n', [], /more than one line/],
    ['a file piped by mistake', 'x'.repeat(5000), [], /more than 4096 bytes/],
    ['bytes that are not UTF-8', Buffer.from([0x70, 0xff, 0x0a]), [], /not UTF-8/],
  ];
  for (const [name, input, args, message] of usage) {
    it(`exits 2 on ${name}, printing no hash`, async () => {
      const { code, stdout, stderr } = await hashPasswordCli(input, ...args);
      expect(code).to.equal(2);
      expect(stdout).to.equal('');
      expect(stderr).to.match(message);
      expect(stderr).not.to.include('secret');
    });
  }

  it('works as the installed command: reads stdin, prints the hash, exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', 'hash-password'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stdin.end('from a pipe\n');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).to.equal(0);
    expect(await verifyPassword('from a pipe', parsed(stdout))).to.equal(true);
  });
});
