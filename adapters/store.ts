import type { Adapter, AdapterPayload } from 'oidc-provider';

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
  /**
   * Stores a record without expiry unless one exists, atomically, and returns the record that is
   * stored afterwards (the caller's or the existing one). Used for values instances must agree on.
   */
  putIfAbsent?(model: string, id: string, payload: AdapterPayload): Promise<AdapterPayload>;
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
