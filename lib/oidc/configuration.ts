import { errors, type ClientMetadata, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

import { EXTRA_CLIENT_METADATA } from '../apps/applications.js';
import { logoutPages } from '../pages/views.js';
import { INTERACTION_PATH, ROUTES } from '../http/routes.js';
import type { Runtime } from '../runtime.js';
import { deviceFlowPages } from './device-pages.js';
import { extraTokenClaims } from './extra-token-claims.js';
import { findAccount } from './find-account.js';
import { interactionPolicyFor } from './interaction-policy.js';
import { introspectionAllowed, revocationAllowed } from './introspection-policy.js';
import { issueRefreshToken, restoreOfflineAccess } from './issue-refresh-token.js';
import { loadExistingGrant } from './load-existing-grant.js';
import { outgoingFetch } from './outgoing-fetch.js';
import { renderError } from './render-error.js';
import { OIDC_SCOPES, resourceIndicators } from './resource-indicators.js';
import { clientIdMetadataDocumentFeature } from './client-id-metadata.js';
import { refuseOperatorFields, registrationFeature, storeRegisteredClient } from './registration.js';

const ASYMMETRIC_ALGS = ['RS256', 'PS256', 'ES256', 'Ed25519', 'EdDSA'] as const;

/** The oidc-provider configuration: the table of contents of what orgconnect adds. */
export function providerConfiguration(runtime: Runtime): Configuration {
  const { options, store } = runtime;
  const issuerPath = new URL(options.issuer).pathname.replace(/\/$/, '');
  return {
    adapter: (model: string) =>
      model === 'Client'
        ? ({
            find: (id: string) => runtime.applications.clientMetadata(id),
            upsert: (id: string, metadata: ClientMetadata) => storeRegisteredClient(runtime.applications, store, options)(id, metadata),
          } as never)
        : store.adapter(model),
    findAccount: findAccount(runtime.directory),
    jwks: options.keys.jwks as Configuration['jwks'],
    // Named with a prefix and kept under the issuer's path: two products mounted in one host, or a
    // host cookie called `_session`, never collide with them. (The interaction cookies already
    // live under the interaction and resume paths.)
    cookies: {
      keys: options.cookies.keys,
      names: { session: `${options.cookies.prefix}session`, interaction: `${options.cookies.prefix}interaction`, resume: `${options.cookies.prefix}resume` },
      long: { httpOnly: true, sameSite: 'lax', path: issuerPath || '/' },
    },
    routes: ROUTES,
    scopes: [...OIDC_SCOPES, ...options.scopes],
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'picture'],
      email: ['email', 'email_verified'],
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: options.keys.alg,
    },
    // Client secrets are stored hashed, so no HMAC algorithm may use one as a key: none is enabled
    // (oidc-provider enables HS256 for client assertions and request objects by default).
    enabledJWA: {
      idTokenSigningAlgValues: [options.keys.alg],
      clientAuthSigningAlgValues: [...ASYMMETRIC_ALGS],
      requestObjectSigningAlgValues: [...ASYMMETRIC_ALGS],
    },
    responseTypes: ['code'],
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    extraClientMetadata: {
      properties: EXTRA_CLIENT_METADATA,
      validator(ctx, key, value) {
        refuseOperatorFields(ctx, key, value);
        if (key === 'is_first_party' && value !== undefined && typeof value !== 'boolean') throw new errors.InvalidClientMetadata('is_first_party must be a boolean');
      },
    },
    // An `organization_id` hint names the organization to sign in for. oidc-provider runs every
    // extraParams validator on each authorization request, after scope processing: the one place
    // to restore offline_access (see issue-refresh-token.ts).
    extraParams: {
      organization_id(ctx: KoaContextWithOIDC) {
        restoreOfflineAccess(ctx);
      },
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: introspectionAllowed as never },
      revocation: { enabled: true, allowedPolicy: revocationAllowed as never },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true, ...logoutPages(runtime) },
      // Apps with a backchannel_logout_uri are told when a session ends (logout, host logout, another account).
      backchannelLogout: { enabled: true },
      // RFC 8628, for apps that cannot receive a redirect (CLIs on a server, TVs): public apps only.
      deviceFlow: { enabled: true, charset: 'base-20', mask: '****-****', ...deviceFlowPages(runtime) } as never,
      resourceIndicators: resourceIndicators(runtime),
      registration: registrationFeature(options),
      clientIdMetadataDocument: clientIdMetadataDocumentFeature(options),
    },
    loadExistingGrant: loadExistingGrant(runtime),
    issueRefreshToken: issueRefreshToken as never,
    extraTokenClaims: extraTokenClaims(runtime) as Configuration['extraTokenClaims'],
    interactions: {
      policy: interactionPolicyFor(runtime),
      url: (_ctx, interaction) => `${issuerPath}${INTERACTION_PATH}/${interaction.uid}`,
    },
    rotateRefreshToken: true,
    ttl: {
      // An API may set its own lifetime (getResourceServerInfo's accessTokenTTL).
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? options.ttl.accessToken,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? options.ttl.accessToken,
      AuthorizationCode: options.ttl.authorizationCode,
      IdToken: options.ttl.idToken,
      RefreshToken: options.ttl.refreshToken,
      Session: options.ttl.session,
      Grant: options.ttl.grant,
      Interaction: options.ttl.interaction,
      DeviceCode: options.ttl.deviceCode,
    },
    renderError: renderError(runtime),
    fetch: outgoingFetch(runtime.options),
  };
}

