import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { ResolvedOptions } from './options.js';
import { OptionsError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import type { Seed } from './seed.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const MIN_COOKIE_KEY_LENGTH = 32;

/** Passwords and secrets of fixtures/demo.json: public, so never acceptable in production. */
function demoCredentials(): Set<string> {
  try {
    const demo = JSON.parse(readFileSync(join(packageRoot, 'fixtures', 'demo.json'), 'utf8')) as Seed;
    return new Set([
      ...demo.users.flatMap((u) => (u.password ? [u.password] : [])),
      ...demo.applications.flatMap((a) => (a.client_secret ? [a.client_secret] : [])),
    ]);
  } catch {
    return new Set();
  }
}

/** Everything that makes a configuration unfit for production, one sentence each. */
export function productionProblems(options: ResolvedOptions, seed: Seed): string[] {
  const problems: string[] = [];
  const issuer = new URL(options.issuer);
  if (issuer.protocol !== 'https:' && !LOOPBACK.has(issuer.hostname)) problems.push(`the issuer ${options.issuer} is not https`);
  if (options.cookies.generated) problems.push('cookie keys are generated: set cookies.keys (COOKIE_KEYS), at least 32 characters each');
  else if (options.cookies.keys.some((k) => k.length < MIN_COOKIE_KEY_LENGTH)) problems.push(`a cookie key is shorter than ${MIN_COOKIE_KEY_LENGTH} characters`);
  if (options.keys.generated) problems.push('signing keys are generated: supply a private JWKS (keys.jwks, --jwks FILE, JWKS_FILE)');
  const demo = demoCredentials();
  const demoUsers = seed.users.filter((u) => u.password !== undefined && demo.has(u.password)).map((u) => u.email);
  const demoApps = seed.applications.filter((a) => a.client_secret !== undefined && demo.has(a.client_secret)).map((a) => a.client_id);
  if (demoUsers.length) problems.push(`demo passwords are in use (${demoUsers.join(', ')})`);
  if (demoApps.length) problems.push(`demo client secrets are in use (${demoApps.join(', ')})`);
  return problems;
}

const warned = new Set<string>();

/**
 * Production refuses to start with one line per problem; development warns once per problem
 * per process.
 */
export function checkProduction(options: ResolvedOptions, seed: Seed, production: boolean): void {
  const problems = productionProblems(options, seed);
  if (production && problems.length) {
    throw new OptionsError(`refusing to start in production:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  for (const problem of problems) {
    if (warned.has(problem)) continue;
    warned.add(problem);
    console.warn(`orgconnect warning (fine in development, refused in production): ${problem}`);
  }
}
