import { errors, type KoaContextWithOIDC } from 'oidc-provider';

/**
 * OIDC Core section 11 lets an OP issue refresh tokens without prompt=consent when "other
 * conditions" permit offline access. oidc-provider drops offline_access from the request unless
 * prompt=consent was sent; orgconnect's conditions are: a first-party app (trusted by the operator),
 * or a third-party app whose consent screen lists offline access. So the scope is put back, on the
 * initial request, for clients allowed to use refresh tokens. The consent prompt still asks a
 * third-party user for it when their grant does not hold it yet.
 * Called from an `extraParams` validator: oidc-provider runs those on every authorization request
 * right after scope processing and before the request is stored for the interaction.
 */
export function restoreOfflineAccess(ctx: KoaContextWithOIDC): void {
  if (ctx.oidc.route !== 'authorization' && ctx.oidc.route !== 'pushed_authorization_request') return;
  const raw = ctx.method === 'POST' ? (ctx.oidc.body as Record<string, unknown> | undefined)?.scope : ctx.query.scope;
  if (typeof raw !== 'string' || !raw.split(' ').includes('offline_access')) return;
  const { params, client } = ctx.oidc;
  const scope = typeof params?.scope === 'string' ? params.scope.split(' ') : [];
  if (!client?.grantTypeAllowed('refresh_token') || scope.includes('offline_access')) return;
  // The app's scope allow-list holds for offline_access as for every scope: oidc-provider checks
  // it only after dropping offline_access, so it is checked here, with oidc-provider's own error.
  if (client.scope && !client.scope.split(' ').includes('offline_access')) throw new errors.InvalidScope('requested scope is not allowed', 'offline_access');
  params!.scope = [...scope, 'offline_access'].join(' ');
}

/**
 * oidc-provider's `issueRefreshToken` hook: a refresh token only for an app that may use the
 * grant type, whose code holds offline_access, and whose scope allow-list (if any) names it.
 */
export async function issueRefreshToken(_ctx: KoaContextWithOIDC, client: { grantTypeAllowed(type: string): boolean; scope?: string }, code: { scopes: Set<string> }): Promise<boolean> {
  if (!client.grantTypeAllowed('refresh_token') || !code.scopes.has('offline_access')) return false;
  return !client.scope || client.scope.split(' ').includes('offline_access');
}
