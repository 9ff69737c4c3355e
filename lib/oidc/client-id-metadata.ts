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

export function clientIdMetadataDocumentFeature(options: ResolvedOptions): NonNullable<Configuration['features']>['clientIdMetadataDocument'] {
  const { enabled, allowHosts, denyHosts } = options.clientIdMetadataDocument;
  const feature = {
    enabled,
    ack: 'draft-02',
    async allowFetch(_ctx: KoaContextWithOIDC, clientId: string) {
      const host = new URL(clientId).hostname;
      if (denyHosts?.includes(host)) return false;
      return allowHosts === undefined || allowHosts.includes(host);
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
