import * as oidc from 'openid-client';

import { authorize, UserAgent, type AuthorizeScript } from './user-agent.js';

export const DEMO = {
  portal: { clientId: 'client_support_portal', secret: 'demo-support-portal-secret-0001', redirectUri: 'http://localhost:5001/callback' },
  crm: { clientId: 'client_partner_crm', secret: 'demo-partner-crm-secret-000002', redirectUri: 'http://localhost:5002/callback' },
  cli: { clientId: 'client_acme_cli', redirectUri: 'http://127.0.0.1/callback' },
  sync: { clientId: 'client_nightly_sync', secret: 'demo-nightly-sync-secret-00003' },
  alice: { email: 'alice@example.com', password: 'wonderland', id: 'user_alice' },
  bob: { email: 'bob@example.com', password: 'builder', id: 'user_bob' },
  carol: { email: 'carol@example.com', password: 'singer', id: 'user_carol' },
} as const;

/** An openid-client configuration found by discovery (plain http is allowed: loopback tests). */
export async function discover(issuer: string, clientId: string, secret?: string): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(issuer), clientId, secret, secret ? oidc.ClientSecretBasic(secret) : oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
}

export interface SignInOptions extends AuthorizeScript {
  scope?: string;
  pkce?: boolean;
  agent?: UserAgent;
  extraParams?: Record<string, string>;
}

/**
 * A full sign-in with openid-client as the relying party: builds the authorization URL (state,
 * nonce, PKCE), lets the scripted user answer the pages, and exchanges the code.
 */
export async function signIn(config: oidc.Configuration, redirectUri: string, options: SignInOptions) {
  const agent = options.agent ?? new UserAgent();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const verifier = oidc.randomPKCECodeVerifier();
  const params: Record<string, string> = {
    redirect_uri: redirectUri,
    scope: options.scope ?? 'openid profile email',
    state,
    nonce,
    ...options.extraParams,
  };
  if (options.pkce !== false) {
    params.code_challenge = await oidc.calculatePKCECodeChallenge(verifier);
    params.code_challenge_method = 'S256';
  }
  const url = oidc.buildAuthorizationUrl(config, params);
  const result = await authorize(agent, url.href, redirectUri, options);
  const callback = new URL(result.callbackUrl);
  if (callback.searchParams.has('error')) return { ...result, agent, callback, tokens: undefined };
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: options.pkce !== false ? verifier : undefined,
    expectedState: state,
    expectedNonce: nonce,
  });
  return { ...result, agent, callback, tokens };
}
