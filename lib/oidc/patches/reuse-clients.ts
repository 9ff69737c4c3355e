import type Provider from 'oidc-provider';

import type { ApplicationRegistry } from '../../apps/registry.js';

/**
 * oidc-provider finds a client stored through the adapter by hashing its metadata's JSON on every
 * lookup (a Client is built once per distinct metadata). The registry hands out the same metadata
 * object while an application is unchanged (a seed application, or within one request), so its
 * Client is found by that object directly. Metadata read anew (a stored application in another
 * request) goes the usual way: any change is seen at once.
 */
export function reuseClients(applications: Pick<ApplicationRegistry, 'clientMetadata'>, provider: Provider): void {
  const findClient = provider.Client.find.bind(provider.Client);
  const clients = new WeakMap<object, Awaited<ReturnType<typeof findClient>>>();
  Object.defineProperty(provider.Client, 'find', {
    configurable: true,
    writable: true,
    async value(id: unknown) {
      const metadata = typeof id === 'string' && id.length > 0 ? await applications.clientMetadata(id) : undefined;
      if (!metadata) return findClient(id as string);
      let client = clients.get(metadata);
      if (!client) {
        client = await findClient(id as string);
        if (client) clients.set(metadata, client);
      }
      return client;
    },
  });
}
