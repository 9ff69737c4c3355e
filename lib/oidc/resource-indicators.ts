import { errors, type Configuration } from 'oidc-provider';

import { OIDC_SCOPES, type ServedApi } from '../apis/apis.js';
import type { ApiRegistry } from '../apis/registry.js';
import type { ResolvedOptions } from '../options/options.js';

export { OIDC_SCOPES } from '../apis/apis.js';

/**
 * What oidc-provider needs to issue a token for an API: its scopes (an API's own only; an API made
 * from the `audience`/`resources` options also the OpenID Connect ones, as before APIs existed),
 * its audience, its access-token lifetime, and the JWT format.
 */
export function resourceServerInfo(api: ServedApi, options: Pick<ResolvedOptions, 'ttl' | 'keys'>) {
  const scopes = api.scopes.map((scope) => scope.name);
  return {
    scope: (api.legacy ? [...OIDC_SCOPES, ...scopes] : scopes).join(' '),
    audience: api.identifier,
    accessTokenTTL: api.access_token_ttl ?? options.ttl.accessToken,
    accessTokenFormat: 'jwt' as const,
    jwt: { sign: { alg: options.keys.alg } },
  };
}

/**
 * Every access token is a JWT for a known API: the default audience unless the client names
 * another `resource`. The API is looked up per request (apis/registry.ts): one created, changed or
 * deleted at run time takes effect at once; an unknown one is `invalid_target`.
 */
export function resourceIndicators(runtime: { options: Pick<ResolvedOptions, 'audience' | 'ttl' | 'keys'>; apis: ApiRegistry }): NonNullable<Configuration['features']>['resourceIndicators'] {
  const { audience } = runtime.options;
  return {
    enabled: true,
    defaultResource: (_ctx, _client, oneOf) => oneOf ?? audience,
    useGrantedResource: () => true,
    getResourceServerInfo: async (_ctx, resource) => {
      const api = await runtime.apis.find(resource);
      if (!api) throw new errors.InvalidTarget('unknown resource indicator');
      return resourceServerInfo(api, runtime.options);
    },
  };
}
