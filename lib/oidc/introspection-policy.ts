import { errors, type KoaContextWithOIDC } from 'oidc-provider';

interface ClientLike {
  clientId: string;
  clientAuthMethod: string;
  /** orgconnect's client metadata (apps/applications.ts `toClientMetadata`): set on resource-server apps. */
  resource_server?: { audiences?: unknown };
}

interface TokenLike {
  kind?: string;
  clientId?: string;
  aud?: string | string[];
}

/** The kinds of token that are access tokens (a user's, or an M2M app's client_credentials token). */
const ACCESS_TOKENS = new Set(['AccessToken', 'ClientCredentials']);

/** The audiences a resource-server app serves; none for any other client. */
function servedAudiences(client: ClientLike): string[] {
  const audiences = client.resource_server?.audiences;
  return Array.isArray(audiences) ? audiences.filter((a): a is string => typeof a === 'string') : [];
}

/**
 * Introspection (RFC 7662 section 2.2: the server may answer `{"active": false}` to a caller that
 * is not allowed to know about the token). Who may see a token:
 * - the client it was issued to (any kind of token);
 * - an application marked as a resource server, for access tokens whose `aud` names one of its
 *   `resource_server.audiences` (never refresh tokens: those are for the client alone).
 * Anyone else (another first-party app, a partner's app, another organization's M2M app) gets
 * `{"active": false}`, exactly as for an unknown token, so the answer does not reveal that the token
 * exists. Public clients cannot introspect at all: the edge answers 401 before (patches/jwt-access-token-endpoints.ts), and this
 * refuses them again should one get this far.
 */
export function introspectionAllowed(_ctx: KoaContextWithOIDC, client: ClientLike, token: TokenLike): boolean {
  if (client.clientAuthMethod === 'none') return false;
  if (token.clientId === client.clientId) return true;
  if (!token.kind || !ACCESS_TOKENS.has(token.kind)) return false;
  const served = servedAudiences(client);
  if (served.length === 0) return false;
  const audiences = Array.isArray(token.aud) ? token.aud : token.aud === undefined ? [] : [token.aud];
  return audiences.some((audience) => served.includes(audience));
}

/**
 * Revocation (RFC 7009 section 2.1): a client may revoke only tokens issued to itself. A public
 * client revokes with its client_id alone (RFC 7009 allows it: revoking only ends access, it
 * reveals nothing). A token of another client is left alone: an authenticated client is told so
 * (400 invalid_request), a public one, which proved nothing, gets the silent 200 of an unknown token.
 */
export function revocationAllowed(_ctx: KoaContextWithOIDC, client: ClientLike, token: TokenLike): boolean {
  if (token.clientId === client.clientId) return true;
  if (client.clientAuthMethod === 'none') return false;
  throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
}
