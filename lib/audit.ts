import type { KoaContextWithOIDC } from 'oidc-provider';
import type Provider from 'oidc-provider';
import { pino, type Logger } from 'pino';

/** What orgconnect reports. Never a secret, token, code or password: ids and outcomes only. */
export type AuditEventType =
  | 'login.succeeded'
  | 'login.failed'
  | 'login.throttled'
  | 'organization.chosen'
  | 'consent.granted'
  | 'consent.denied'
  | 'token.issued'
  | 'token.refreshed'
  | 'token.revoked'
  | 'grant.revoked'
  | 'code.replayed'
  | 'refresh_token.replayed'
  | 'client.authentication_failed'
  | 'session.ended';

export interface AuditEvent {
  type: AuditEventType;
  /** ISO 8601 */
  time: string;
  client_id?: string;
  user_id?: string;
  organization_id?: string;
  grant_id?: string;
  grant_type?: string;
  /** the client's IP (the proxy's view with `proxy: true`) */
  ip?: string;
  /** why something failed, as an OAuth error code or a short fixed phrase */
  reason?: string;
}

export interface AuditOptions {
  /** Write events as JSON lines: `true` for stdout, or a pino logger of the host. Default: off. */
  log?: boolean | Logger;
  /** Called with every event, e.g. to forward them to the host's own audit trail. Errors are ignored. */
  onEvent?: (event: AuditEvent) => void;
}

export type Audit = (type: AuditEventType, fields?: Omit<AuditEvent, 'type' | 'time'>) => void;

export function createAudit(options: AuditOptions = {}): Audit {
  const logger = options.log === true ? pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime }) : options.log || undefined;
  // Every token request reports an event: when nobody listens, build nothing.
  if (!logger && !options.onEvent) return () => {};
  return (type, fields = {}) => {
    const event: AuditEvent = { type, time: new Date().toISOString(), ...fields };
    logger?.info({ event: type, ...fields }, type);
    try {
      options.onEvent?.(event);
    } catch {
      // a failing listener must not break a login or a token request
    }
  };
}

type Ctx = KoaContextWithOIDC | undefined;
const ip = (ctx: Ctx) => ctx?.ip;
const clientId = (ctx: Ctx) => ctx?.oidc?.client?.clientId ?? (typeof ctx?.oidc?.params?.client_id === 'string' ? ctx.oidc.params.client_id : undefined);

/**
 * Turns oidc-provider's events into audit events: tokens issued and refreshed, revocations,
 * replays and client authentication failures. Interaction steps report their own.
 */
export function auditProviderEvents(provider: Provider, audit: Audit): void {
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const grantType = String(ctx.oidc.params?.grant_type ?? '');
    const entities = ctx.oidc.entities as Record<string, { accountId?: string; grantId?: string; jti?: string } | undefined>;
    audit(grantType === 'refresh_token' ? 'token.refreshed' : 'token.issued', {
      client_id: clientId(ctx),
      user_id: entities.Account?.accountId,
      grant_id: entities.Grant?.jti ?? entities.RefreshToken?.grantId,
      grant_type: grantType,
      ip: ip(ctx),
    });
  });

  // oidc-provider puts what happened in `error_detail` (the description stays generic).
  const failure = (ctx: KoaContextWithOIDC, error: { error?: string; error_detail?: string }) => {
    if (error.error === 'invalid_client') {
      audit('client.authentication_failed', { client_id: clientId(ctx), ip: ip(ctx), reason: 'invalid_client' });
    } else if (error.error === 'invalid_grant' && /already (consumed|used)/.test(error.error_detail ?? '')) {
      const refresh = ctx.oidc.params?.grant_type === 'refresh_token';
      audit(refresh ? 'refresh_token.replayed' : 'code.replayed', { client_id: clientId(ctx), ip: ip(ctx), reason: 'invalid_grant' });
    }
  };
  provider.on('grant.error', failure);
  provider.on('introspection.error', failure);
  provider.on('revocation.error', failure);

  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => audit('grant.revoked', { client_id: clientId(ctx), grant_id: grantId, ip: ip(ctx) }));
  for (const kind of ['access_token', 'client_credentials', 'refresh_token'] as const) {
    provider.on(`${kind}.destroyed` as 'access_token.destroyed', (token: { clientId?: string; accountId?: string; grantId?: string }) =>
      audit('token.revoked', { client_id: token.clientId, user_id: token.accountId, grant_id: token.grantId, reason: kind }),
    );
  }
}
