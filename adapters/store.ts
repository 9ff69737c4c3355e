import type { Adapter } from 'oidc-provider';

/**
 * Where orgconnect keeps state: every oidc-provider model (sessions, interactions, grants, codes,
 * tokens...) and orgconnect's own records (the organization chosen for a grant, remembered
 * consents, applications, revoked JWT ids). One adapter per model name, all in one store.
 */
export interface Store {
  /** 'memory' or 'redis': reported by /health. */
  readonly kind: string;
  /** The oidc-provider adapter for a model name (also used for orgconnect's own models). */
  adapter(model: string): Adapter;
  /** Resolves when the store answers; rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  /** Releases timers and connections. */
  close(): Promise<void>;
}

/** Models whose records belong to a grant and go away with it (revokeByGrantId). */
export const GRANTABLE_MODELS = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);
