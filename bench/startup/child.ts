/**
 * Entry point of the start-up measurement (forked by run.ts, so the numbers are a fresh process's):
 * generates the large seed, then times parseSeed, createSeedDirectory and createProvider on the
 * memory store (empty seed, users only, the whole seed: the applications cost the difference),
 * counting the scrypt calls of each, and logins of seed users. Sends one StartupRecord over IPC.
 */
// First: orgconnect's modules must load with the counting scrypt.
import { scryptStats as scrypt } from './count-scrypt.js';

import { randomBytes } from 'node:crypto';

import { createProvider, createSeedDirectory, generateSigningKey, MemoryStore, parseSeed, type OrgconnectOptions, type Seed } from '../../lib/index.js';
import type { StartupPhase, StartupRecord } from '../report/types.js';
import { generateLargeSeed, LARGE_SEED_PASSWORD, type LargeSeedSize } from './seed.js';

async function phase<T>(name: string, work: () => Promise<T> | T): Promise<{ result: T; phase: StartupPhase }> {
  const calls = scrypt.calls;
  const busy = scrypt.busyMs;
  const started = performance.now();
  const result = await work();
  const ms = performance.now() - started;
  return { result, phase: { name, ms, scryptCalls: scrypt.calls - calls, scryptMs: scrypt.busyMs - busy } };
}

async function measure(size: LargeSeedSize): Promise<StartupRecord> {
  // Input as a file would give it (ids, secrets and so on optional): parseSeed checks it.
  const seed = (await generateLargeSeed(size)) as unknown as Seed;
  const jwk = await generateSigningKey('RS256');
  const base = (input: OrgconnectOptions['seed']): OrgconnectOptions => ({
    issuer: 'http://127.0.0.1:3999',
    store: new MemoryStore(),
    keys: { jwks: { keys: [jwk] } },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    seed: input,
  });
  const phases: StartupPhase[] = [];
  const start = async (name: string, input: OrgconnectOptions['seed']) => {
    const options = base(structuredClone(input));
    const { result, phase: p } = await phase(name, () => createProvider(options));
    phases.push(p);
    return result;
  };

  // The first createProvider of a process pays one-time costs (oidc-provider's first instance): measured alone.
  await (await start('createProvider, empty seed (first in the process)', { organizations: [], users: [], applications: [] })).close();
  await (await start('createProvider, empty seed', { organizations: [], users: [], applications: [] })).close();
  const parsed = await phase(`parseSeed (${size.users} users, ${size.applications} applications)`, () => parseSeed(structuredClone(seed)));
  phases.push(parsed.phase);
  phases.push((await phase('createSeedDirectory', () => createSeedDirectory(parsed.result))).phase);
  await (await start(`createProvider, ${size.users} users, no applications`, { ...seed, applications: [] })).close();
  const full = await start(`createProvider, the whole seed`, seed);
  const rss = process.memoryUsage.rss();

  // Logins of seed users, each kind five times (the median is kept): a first login hashes the stored password too.
  const login = async (name: string, email: (n: number) => string) => {
    const runs: StartupPhase[] = [];
    for (let n = 0; n < 5; n += 1) runs.push((await phase(name, () => full.directory.authenticate(email(n), LARGE_SEED_PASSWORD))).phase);
    phases.push(runs.sort((a, b) => a.ms - b.ms)[2]!);
  };
  await login('first login, plain-text password (hashed now), median of 5 users', (n) => `user${n + 1}@large.example`);
  await login('next login, same users', (n) => `user${n + 1}@large.example`);
  await login('login, password_hash user', (n) => `user${10 * n + 9}@large.example`);
  await login('login, unknown email (decoy)', (n) => `nobody${n}@large.example`);
  await full.close();
  return { ...size, phases, rssAfterStart: rss };
}

process.once('message', (size: LargeSeedSize) => {
  measure(size).then(
    (record) => process.send!({ type: 'result', record }, () => process.exit(0)),
    (error: unknown) => process.send!({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }, () => process.exit(1)),
  );
});
