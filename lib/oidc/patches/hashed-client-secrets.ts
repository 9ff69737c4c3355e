import type Provider from 'oidc-provider';

import type { ApplicationRegistry } from '../../apps/registry.js';

/*
 * Patches oidc-provider's Client.prototype.compareClientSecret (lib/models/client.js), which
 * compares the presented secret with the one in the client's metadata. orgconnect stores only
 * salted hashes (apps/client-secrets.ts), several per app: the registry verifies instead. No
 * configuration hook replaces the comparison; design.md names this override as the way.
 */
export function installHashedClientSecrets(provider: Provider, applications: Pick<ApplicationRegistry, 'verifySecret'>): void {
  provider.Client.prototype.compareClientSecret = function compareHashedSecret(this: { clientId: string }, actual: string) {
    return applications.verifySecret(this.clientId, actual);
  } as never;
}
