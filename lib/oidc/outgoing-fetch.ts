import type { Configuration } from 'oidc-provider';

import { isLoopbackHost } from '../http/loopback.js';
import type { ResolvedOptions } from '../options/options.js';

/**
 * oidc-provider's `fetch` hook (back-channel logout tokens, ...): its default refuses private and
 * loopback addresses (SSRF protection), and so does this one, except in development, where an
 * issuer on a loopback address may reach apps on loopback addresses (a relying party under test).
 */
export function outgoingFetch(options: Pick<ResolvedOptions, 'development'>): Configuration['fetch'] {
  const { development } = options;
  return (url, options) => {
    const target = new URL(url instanceof Request ? url.url : url);
    if (development && isLoopbackHost(target.hostname)) return globalThis.fetch(url, { ...options, dispatcher: undefined } as RequestInit);
    return globalThis.fetch(url, options as RequestInit);
  };
}

