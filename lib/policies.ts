import { errors, type KoaContextWithOIDC } from 'oidc-provider';

interface ClientLike {
  clientId: string;
  clientAuthMethod: string;
}

/**
 * Introspection (RFC 7662): an authenticated (confidential) client, such as an API registered as
 * an M2M app, may introspect any token: that is what the endpoint is for. A public client, which
 * cannot authenticate, only learns about its own tokens.
 */
export function introspectionAllowed(_ctx: KoaContextWithOIDC, client: ClientLike, token: { clientId?: string }): boolean {
  return client.clientAuthMethod !== 'none' || token.clientId === client.clientId;
}

/**
 * Revocation (RFC 7009 section 2.1): a client may revoke only tokens issued to itself; an
 * authenticated client is told so (400 invalid_request), a public one gets the silent 200.
 */
export function revocationAllowed(_ctx: KoaContextWithOIDC, client: ClientLike, token: { clientId?: string }): boolean {
  if (token.clientId === client.clientId) return true;
  if (client.clientAuthMethod === 'none') return false;
  throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
}
