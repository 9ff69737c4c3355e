import { basicAuth, CRM } from '../fixtures.js';
import { cannon } from '../load/cannon.js';
import { authorizationCodeFlow } from '../load/flow.js';
import { FORM } from '../load/http.js';
import { freshUser, type Scenario, type Target } from './types.js';

export const TOKEN = 'introspection-token';

/**
 * An access token of a user flow, as introspection sees it. orgconnect: its JWT access token.
 * The baseline: oidc-provider refuses to introspect JWTs (400 unsupported_token_type), so it gets a
 * token for its `<issuer>/opaque` resource, stored and introspectable: the cheapest way a bare
 * oidc-provider deployment has to answer introspection.
 */
export async function mintIntrospectableToken(target: Target): Promise<string> {
  const resource = target.spec.kind === 'baseline' ? `${target.issuer}/opaque` : undefined;
  const tokens = await authorizationCodeFlow(target.issuer, { user: freshUser(), resource });
  return tokens.access_token;
}

/** Introspection (RFC 7662) of a valid user access token by the app it was issued to (client_secret_basic). */
export const introspection: Scenario = {
  name: 'introspection',
  unit: 'request',
  description: 'POST /oauth2/introspection of a valid user access token (orgconnect: JWT; baseline: opaque, see text)',
  server: true,
  async beforeRun(target) {
    // A fresh token per run: access tokens live 5 minutes.
    target.state.set(TOKEN, await mintIntrospectableToken(target));
  },
  run({ target, count, concurrency, deadline, onProgress }) {
    const token = target.state.get(TOKEN) as string;
    return cannon({
      url: `${target.issuer}/oauth2/introspection`,
      method: 'POST',
      headers: { 'content-type': FORM, authorization: basicAuth(CRM.clientId, CRM.secret) },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      ok: (status, body) => status === 200 && body.includes('"active":true'),
      count,
      concurrency,
      deadline,
      onProgress,
    });
  },
};
