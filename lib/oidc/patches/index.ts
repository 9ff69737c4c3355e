import type Provider from 'oidc-provider';
import type { JSONWebKeySet } from 'jose';

import type { Runtime } from '../../runtime.js';
import { installHashedClientSecrets } from './hashed-client-secrets.js';
import { installJwtAccessTokens } from './jwt-access-tokens.js';
import { installRefreshTokenClientCheck } from './refresh-token-client-check.js';
import { reuseClients } from './reuse-clients.js';

/**
 * Every change orgconnect makes to oidc-provider that no documented hook covers, in one place.
 * Each file names the upstream file and behaviour it changes and why no hook serves. Two more
 * act at the HTTP edge, in front of oidc-provider: jwt-access-token-endpoints.ts and
 * unauthorized-client-error.ts (composed in http/app.ts).
 *
 * They were checked against these oidc-provider versions; test/oidc-patches.test.ts fails on any
 * other, so an upgrade is a deliberate step: re-read each patched file upstream, then add the version.
 */
export const PATCHES_CHECKED_AGAINST = ['9.13.3'] as const;

export const PATCHES = [
  'jwt-access-tokens: AccessToken/ClientCredentials find, destroy, tokenType',
  'jwt-access-token-endpoints: introspection/revocation body envelope, userinfo audience',
  'refresh-token-client-check: RefreshToken.find',
  'reuse-clients: Client.find',
  'hashed-client-secrets: Client.prototype.compareClientSecret',
  'unauthorized-client-error: token/device_authorization error code',
] as const;

export function installPatches(runtime: Runtime, provider: Provider, publicJwks: JSONWebKeySet): void {
  installJwtAccessTokens(runtime, provider, publicJwks);
  installRefreshTokenClientCheck(provider);
  // The registry is built after the provider (its validation uses the provider's Client): looked up when used.
  reuseClients({ clientMetadata: (id) => runtime.applications.clientMetadata(id) }, provider);
  installHashedClientSecrets(provider, { verifySecret: (id, secret) => runtime.applications.verifySecret(id, secret) });
}
