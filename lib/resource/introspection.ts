import { hash } from 'node:crypto';

import { IntrospectionEndpointError, VerifierError } from './errors.js';

/** The API's own client credentials at the authorization server, for RFC 7662 introspection. */
export interface IntrospectionOptions {
  /**
   * A confidential application registered at orgconnect as a resource server for this API's
   * audience (`resource_server: { audiences: [...] }`; an M2M app suits an API). Any other client
   * is answered `{"active": false}` for tokens not issued to it.
   */
  clientId: string;
  clientSecret: string;
  /**
   * The introspection endpoint. Default: the issuer's discovery document's
   * `introspection_endpoint`. Either way it must be on the issuer's origin (scheme, host and port),
   * or no secret is sent: IntrospectionEndpointError.
   */
  endpoint?: string;
  /** How to send the credentials. Default `client_secret_basic`. */
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  /**
   * How long, in seconds, an "active" answer is reused for the same token: a revocation can go
   * unseen that long. Default 5; 0 asks on every request. "Not active" answers are kept until the
   * token expires, since a revoked token never becomes active again.
   */
  cacheSeconds?: number;
}

/** Enough for a busy API's working set of tokens; the oldest answer goes first beyond it. */
const MAX_CACHED = 10_000;

/**
 * The endpoint, if it is on the issuer's origin: the only place the API's client secret may go.
 * `where` says where it came from ("configured", "discovered"), for the error.
 */
export function introspectionEndpointOnIssuerOrigin(issuer: string, endpoint: unknown, where: string): string {
  const parsed = typeof endpoint === 'string' && URL.canParse(endpoint) ? new URL(endpoint) : undefined;
  const origin = new URL(issuer).origin;
  if (!parsed || parsed.origin !== origin || parsed.username || parsed.password) {
    throw new IntrospectionEndpointError(
      `the ${where} introspection endpoint ${JSON.stringify(endpoint)} is not on the issuer's origin ${origin}: the API's client secret is not sent there`,
    );
  }
  return parsed.href;
}

/** RFC 6749 section 2.3.1: client_secret_basic credentials are form-urlencoded before base64. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

/**
 * Asks the authorization server whether a token is still active: the only way to see a revoked
 * JWT before it expires. Answers are cached by the SHA-256 of the token (tokens themselves are not
 * kept in memory), and concurrent requests with the same token share one call.
 */
export class Introspector {
  readonly #options: Required<Pick<IntrospectionOptions, 'clientId' | 'clientSecret' | 'authMethod'>>;
  readonly #cacheMs: number;
  readonly #endpoint: () => Promise<string>;
  readonly #timeoutMs: number;
  readonly #answers = new Map<string, { active: boolean; until: number }>();
  readonly #pending = new Map<string, Promise<boolean>>();

  constructor(options: IntrospectionOptions, endpoint: () => Promise<string>, timeoutMs: number) {
    if (typeof options?.clientId !== 'string' || !options.clientId || typeof options.clientSecret !== 'string' || !options.clientSecret) {
      throw new TypeError('introspection needs clientId and clientSecret');
    }
    const authMethod = options.authMethod ?? 'client_secret_basic';
    if (authMethod !== 'client_secret_basic' && authMethod !== 'client_secret_post') {
      throw new TypeError('introspection.authMethod must be client_secret_basic or client_secret_post');
    }
    const cacheSeconds = options.cacheSeconds ?? 5;
    if (typeof cacheSeconds !== 'number' || !Number.isFinite(cacheSeconds) || cacheSeconds < 0) {
      throw new TypeError('introspection.cacheSeconds must be a number of seconds, 0 or more');
    }
    this.#options = { clientId: options.clientId, clientSecret: options.clientSecret, authMethod };
    this.#cacheMs = cacheSeconds * 1000;
    this.#endpoint = endpoint;
    this.#timeoutMs = timeoutMs;
  }

  /** Whether the token is active; `expiresAt` (the token's `exp`, seconds) bounds any caching. */
  async isActive(token: string, expiresAt: number): Promise<boolean> {
    const key = hash('sha256', token, 'base64url');
    const now = Date.now();
    const cached = this.#answers.get(key);
    if (cached && cached.until > now) return cached.active;
    if (cached) this.#answers.delete(key);

    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#ask(token).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    const active = await pending;
    this.#remember(key, active, Math.min(active ? Date.now() + this.#cacheMs : Infinity, expiresAt * 1000));
    return active;
  }

  #remember(key: string, active: boolean, until: number): void {
    if (until <= Date.now()) return;
    if (this.#answers.size >= MAX_CACHED) {
      const now = Date.now();
      for (const [k, v] of this.#answers) if (v.until <= now) this.#answers.delete(k);
      if (this.#answers.size >= MAX_CACHED) this.#answers.delete(this.#answers.keys().next().value!);
    }
    this.#answers.set(key, { active, until });
  }

  async #ask(token: string): Promise<boolean> {
    const endpoint = await this.#endpoint();
    const { clientId, clientSecret, authMethod } = this.#options;
    const body = new URLSearchParams({ token, token_type_hint: 'access_token' });
    const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' };
    if (authMethod === 'client_secret_basic') {
      headers.authorization = `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`;
    } else {
      body.set('client_id', clientId);
      body.set('client_secret', clientSecret);
    }

    let response: Response;
    try {
      response = await fetch(endpoint, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (cause) {
      throw new VerifierError(`cannot reach the introspection endpoint ${endpoint}: ${(cause as Error).message}`, { cause });
    }
    const answer = (await response.json().catch(() => undefined)) as { active?: unknown; error?: unknown } | undefined;
    if (response.status !== 200 || typeof answer?.active !== 'boolean') {
      // 401 invalid_client here is the API's misconfiguration, not the caller's: not a token error.
      const error = typeof answer?.error === 'string' ? ` ${answer.error}` : '';
      throw new VerifierError(`the introspection endpoint ${endpoint} answered HTTP ${response.status}${error}`);
    }
    return answer.active;
  }
}
