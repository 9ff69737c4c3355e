import { basicAuth, SYNC } from '../fixtures.js';
import { cannon } from '../load/cannon.js';
import { FORM } from '../load/http.js';
import type { Scenario } from './types.js';

/** client_credentials for the M2M app: client authentication, then one signed JWT access token with org_id. */
export const clientCredentials: Scenario = {
  name: 'client_credentials',
  unit: 'request',
  description: 'POST /oauth2/token grant_type=client_credentials (M2M app, client_secret_basic) -> JWT access token',
  server: true,
  run: ({ target, count, concurrency, deadline, onProgress }) =>
    cannon({
      url: `${target.issuer}/oauth2/token`,
      method: 'POST',
      headers: { 'content-type': FORM, authorization: basicAuth(SYNC.clientId, SYNC.secret) },
      body: 'grant_type=client_credentials',
      count,
      concurrency,
      deadline,
      onProgress,
    }),
};
