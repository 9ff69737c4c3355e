import type { Client, Configuration, KoaContextWithOIDC } from 'oidc-provider';

import type { ResolvedOptions } from '../options/options.js';

/*
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document-02, MCP 2025-11-25):
 * oidc-provider's `features.clientIdMetadataDocument` resolves a `client_id` that is an https URL
 * by fetching its document (https only, no redirects, a size and time limit, private and loopback
 * addresses refused at connect time, so DNS rebinding cannot reach them; a bounded cache). orgconnect
 * adds the operator's host lists and refuses documents that claim orgconnect's operator-set fields.
 */

/** Fields only the operator sets: a document claiming any of them is lying. */
const OPERATOR_FIELDS = ['is_first_party', 'organization_id', 'resource_server', 'registered', 'logo_uri_dark'] as const;

/**
 * A host as the URL parser writes it (lower case, IP addresses in one spelling: `127.1` is
 * `127.0.0.1`, `::1` is `[::1]`), without the trailing dot of an absolute name (`Evil.Example.` is
 * `evil.example`): the option's entries and the client_id's host compare alike, so no spelling of a
 * denied host gets past `denyHosts`.
 */
function hostKey(host: string): string {
  const literal = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const parsed = URL.canParse(`https://${literal}/`) ? new URL(`https://${literal}/`).hostname : host.toLowerCase();
  return parsed.replace(/\.$/, '');
}

export function clientIdMetadataDocumentFeature(options: ResolvedOptions): NonNullable<Configuration['features']>['clientIdMetadataDocument'] {
  const { enabled } = options.clientIdMetadataDocument;
  const allowHosts = options.clientIdMetadataDocument.allowHosts && new Set(options.clientIdMetadataDocument.allowHosts.map(hostKey));
  const denyHosts = new Set(options.clientIdMetadataDocument.denyHosts?.map(hostKey));
  /*
   * One fetch per client_id per request. A fetch that fails is not cached, and oidc-provider's
   * authorization error handler looks the client up again to decide how to answer (shared/
   * authorization_error_handler.js), which would fetch the document a second time: twice the
   * outgoing requests, and a user waiting twice the timeout for a slow document. A document
   * fetched successfully is cached and never reaches this hook again within the request.
   */
  const fetchedIn = new WeakMap<object, Set<string>>();
  const feature = {
    enabled,
    ack: 'draft-02',
    async allowFetch(ctx: KoaContextWithOIDC | undefined, clientId: string) {
      const host = hostKey(new URL(clientId).hostname);
      if (denyHosts.has(host)) return false;
      if (allowHosts && !allowHosts.has(host)) return false;
      if (ctx) {
        const fetched = fetchedIn.get(ctx) ?? new Set<string>();
        if (fetched.has(clientId)) return false;
        fetchedIn.set(ctx, fetched.add(clientId));
      }
      return true;
    },
    async allowClient(_ctx: KoaContextWithOIDC, client: Client) {
      const metadata = client.metadata() as Record<string, unknown>;
      // Public clients only (the draft forbids shared secrets; orgconnect enables no other method).
      return client.clientAuthMethod === 'none' && OPERATOR_FIELDS.every((field) => metadata[field] === undefined);
    },
    cacheDuration: { min: 30, max: 3600 },
  };
  return feature;
}

/** Where a client that vouched for itself comes from, for the consent page: its document's host, or its redirect's. */
export function unverifiedClientHost(client: { clientId: string; redirectUris?: string[]; [key: string]: unknown }): string | undefined {
  if (client['clientIdMetadataDocument'] === true) return new URL(client.clientId).host;
  if (client['registered'] === true) {
    const redirect = client.redirectUris?.[0];
    return redirect && URL.canParse(redirect) ? new URL(redirect).host || new URL(redirect).protocol.replace(/:$/, '') : undefined;
  }
  return undefined;
}
