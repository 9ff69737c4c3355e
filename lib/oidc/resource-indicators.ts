import { errors, type Configuration } from 'oidc-provider';

import type { ResolvedOptions } from '../options/options.js';

/** The scopes of OpenID Connect itself, which every resource server accepts. */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

/** Every access token is a JWT for a known audience: the default one unless the client names another. */
export function resourceIndicators(options: Pick<ResolvedOptions, 'audience' | 'resources' | 'scopes' | 'ttl' | 'keys'>): NonNullable<Configuration['features']>['resourceIndicators'] {
  const { audience, resources, scopes, ttl, keys } = options;
  const known = new Set([audience, ...resources]);
  return {
    enabled: true,
    defaultResource: (_ctx, _client, oneOf) => oneOf ?? audience,
    useGrantedResource: () => true,
    getResourceServerInfo: (_ctx, resource) => {
      if (!known.has(resource)) throw new errors.InvalidTarget('unknown resource indicator');
      return {
        scope: [...OIDC_SCOPES, ...scopes].join(' '),
        audience: resource,
        accessTokenTTL: ttl.accessToken,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: keys.alg } },
      };
    },
  };
}

