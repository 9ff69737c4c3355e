import { authorizationCodeFlow, type StepTimes } from '../load/flow.js';
import { runPool } from '../load/pool.js';
import { freshUser, type RunContext, type Scenario } from './types.js';

/** Per-step time of the last measured run on each target and concurrency (ms per flow), for the JSON. */
export const stepTimes = new Map<string, StepTimes>();

function flows(scrypt: boolean) {
  return async ({ target, count, concurrency, deadline, onProgress }: RunContext) => {
    const steps: StepTimes = {};
    const result = await runPool({ count, concurrency, deadline, onProgress }, async () => {
      const tokens = await authorizationCodeFlow(target.issuer, { user: freshUser(), scrypt, steps });
      if (!tokens.access_token || !tokens.refresh_token || !tokens.id_token) throw new Error('incomplete token response');
    });
    const done = result.ok + result.errors || 1;
    stepTimes.set(`${target.name} ${scrypt ? 'scrypt' : 'sha256'} c=${concurrency}`, Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, v / done])));
    return result;
  };
}

/**
 * The whole authorization_code flow with PKCE for a user in two organizations and the third-party
 * app: authorize -> login -> organization -> consent -> code -> token (11 HTTP requests). A new user
 * and a new cookie jar per flow, so it is always a first-time authorization and consent is shown.
 * The user's password is checked with one SHA-256 (see bench/directory.ts), so the provider is measured.
 */
export const authorizationCode: Scenario = {
  name: 'authorization_code',
  unit: 'flow',
  description: 'full first-time authorization_code + PKCE flow, third-party app, 2 organizations (11 requests; login check: SHA-256)',
  server: true,
  run: flows(false),
};

/** The same flow with the password checked by scrypt, as orgconnect's seed directory does. */
export const authorizationCodeScrypt: Scenario = {
  name: 'authorization_code_scrypt',
  unit: 'flow',
  description: 'the same flow, login checked with scrypt (N=16384) as the seed directory does',
  server: true,
  run: flows(true),
};
