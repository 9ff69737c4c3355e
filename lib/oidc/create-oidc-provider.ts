import Provider, { type KoaContextWithOIDC } from 'oidc-provider';

import { auditProviderEvents } from '../audit.js';
import type { Runtime } from '../runtime.js';
import { providerConfiguration } from './configuration.js';
import { installPatches } from './patches/index.js';

/** The oidc-provider instance: orgconnect's configuration, then the patches no hook covers. */
export function createOidcProvider(runtime: Runtime, publicJwks: { keys: object[] }): Provider {
  const provider = new Provider(runtime.options.issuer, providerConfiguration(runtime));
  provider.proxy = runtime.options.proxy;
  provider.maxIpsCount = runtime.options.proxyHops;
  installPatches(runtime, provider, publicJwks as never);
  auditProviderEvents(provider, runtime.audit);
  // A self-registered client that got tokens is in use: it no longer disappears unused.
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const client = ctx.oidc.client;
    if (client?.['registered'] === true) runtime.applications.markUsed(client.clientId).catch(() => {});
  });
  return provider;
}
