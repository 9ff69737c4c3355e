import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';

import { authorizationCodeFlow } from '../load/flow.js';
import { send } from '../load/http.js';
import { runPool } from '../load/pool.js';
import { freshUser, type Scenario, type Target } from './types.js';

const KEYS = 'jwt-verify-keys';
const TOKEN = 'jwt-verify-token';

/**
 * What an API does per request with orgconnect's access tokens: verify the JWT offline against the
 * published JWKS (jose createLocalJWKSet + jwtVerify: signature, iss, aud, typ at+jwt, exp). Runs in
 * the bench process, not the server. jose uses WebCrypto, whose work Node runs on its thread pool,
 * so several verifications in flight use both cores.
 */
export const jwtVerifyScenario: Scenario = {
  name: 'jwt_verify',
  unit: 'verification',
  description: 'in-process jose jwtVerify of a user JWT access token against the published JWKS',
  server: false,
  async prepare(target) {
    const jwks = JSON.parse((await send(`${target.issuer}/oauth2/jwks`)).body) as JSONWebKeySet;
    target.state.set(KEYS, createLocalJWKSet(jwks));
  },
  async beforeRun(target) {
    // A fresh token per run: access tokens live 5 minutes.
    target.state.set(TOKEN, (await authorizationCodeFlow(target.issuer, { user: freshUser() })).access_token);
  },
  run({ target, count, concurrency, deadline, onProgress }) {
    const keySet = target.state.get(KEYS) as ReturnType<typeof createLocalJWKSet>;
    const token = target.state.get(TOKEN) as string;
    const options = { issuer: target.issuer, audience: target.issuer, typ: 'at+jwt', algorithms: [target.spec.alg] };
    return runPool({ count, concurrency, deadline, onProgress }, async () => {
      await jwtVerify(token, keySet, options);
    });
  },
};
