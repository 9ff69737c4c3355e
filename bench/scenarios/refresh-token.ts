import { basicAuth, CRM } from '../fixtures.js';
import { cannon } from '../load/cannon.js';
import { authorizationCodeFlow } from '../load/flow.js';
import { FORM } from '../load/http.js';
import { runPool } from '../load/pool.js';
import { freshUser, type Scenario, type Target } from './types.js';

const POOL = 'refresh-pool';
/** Refresh tokens minted per target: more than the highest concurrency, as each connection holds one. */
const poolSize = (maxConcurrency: number) => maxConcurrency + 8;

const pool = (target: Target) => target.state.get(POOL) as string[];

/**
 * refresh_token exchange. Refresh tokens rotate and a used one is dead, so the target keeps a pool
 * (minted by full flows beforehand, one grant each): every request takes a token from the pool and
 * its response puts the rotated one back. Each request: client auth, grant and account checks,
 * org_id, a new JWT access token, a new ID token, a new refresh token.
 */
export const refreshToken: Scenario = {
  name: 'refresh_token',
  unit: 'request',
  description: 'POST /oauth2/token grant_type=refresh_token (rotating; new access, ID and refresh token)',
  server: true,
  async prepare(target, deadline, maxConcurrency) {
    const tokens: string[] = [];
    const result = await runPool({ count: poolSize(maxConcurrency), concurrency: 8, deadline }, async () => {
      tokens.push((await authorizationCodeFlow(target.issuer, { user: freshUser() })).refresh_token!);
    });
    if (result.errors) throw new Error(`minting refresh tokens failed: ${result.sampleErrors.join('; ')}`);
    target.state.set(POOL, tokens);
  },
  run({ target, count, concurrency, deadline, onProgress }) {
    const tokens = pool(target);
    if (tokens.length < concurrency) throw new Error(`refresh pool too small (${tokens.length}) for ${concurrency} connections`);
    return cannon({
      url: `${target.issuer}/oauth2/token`,
      method: 'POST',
      headers: { 'content-type': FORM, authorization: basicAuth(CRM.clientId, CRM.secret) },
      nextBody: () => `grant_type=refresh_token&refresh_token=${tokens.shift() ?? 'pool-exhausted'}`,
      onResponse(status, body) {
        if (status === 200) tokens.push((JSON.parse(body) as { refresh_token: string }).refresh_token);
      },
      count,
      concurrency,
      deadline,
      onProgress,
    });
  },
};
