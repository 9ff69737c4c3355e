import type Provider from 'oidc-provider';

/*
 * Patches oidc-provider's RefreshToken.find (lib/models/refresh_token.js, via base_token.js):
 * no hook runs when a refresh token is looked up, and a token whose client was deleted would
 * make oidc-provider fail with a 500 where it loads the missing client.
 */

/**
 * Refresh tokens of a deleted application are not found any more: refresh fails and introspection
 * says inactive (oidc-provider would otherwise look the missing client up and fail with a 500).
 */
export function installRefreshTokenClientCheck(provider: Provider): void {
  const findStored = provider.RefreshToken.find.bind(provider.RefreshToken);
  Object.defineProperty(provider.RefreshToken, 'find', {
    configurable: true,
    writable: true,
    async value(value: string, options?: object) {
      const token = (await findStored(value, options)) as { clientId?: string } | undefined;
      if (!token?.clientId || !(await provider.Client.find(token.clientId))) return undefined;
      return token;
    },
  });
}
