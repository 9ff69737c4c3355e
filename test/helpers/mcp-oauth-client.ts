import { randomBytes } from 'node:crypto';

import type { OAuthClientProvider, OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

import { authorize, type AuthorizeScript, type Step, type UserAgent } from './user-agent.js';

/*
 * The client side of an MCP authorization, as an MCP host application implements it for the MCP
 * TypeScript SDK: an OAuthClientProvider that keeps everything in memory, a fetch that records what
 * the SDK sends, and the "browser" part (the user following the authorization URL through
 * orgconnect's pages, and the redirect back to the client's loopback callback).
 */

export interface MemoryOAuthClientOptions {
  /** The loopback callback, `http://127.0.0.1:<port>/callback`. */
  redirectUrl: string;
  clientMetadata: OAuthClientMetadata;
  /** Pre-registered client information. Without it the provider can register (DCR). */
  clientInformation?: OAuthClientInformationMixed;
  /**
   * The https URL of the client's metadata document (CIMD): `auth()` uses it as the client_id,
   * instead of registering, when the authorization server advertises
   * `client_id_metadata_document_supported`.
   */
  clientMetadataUrl?: string;
}

/**
 * An in-memory OAuthClientProvider. Without `clientInformation` it implements
 * `saveClientInformation`, which is what lets `auth()` register dynamically; with it, it is a
 * pre-registered client that cannot register.
 */
export class MemoryOAuthClientProvider implements OAuthClientProvider {
  readonly redirectUrl: string;
  readonly clientMetadata: OAuthClientMetadata;
  readonly clientMetadataUrl?: string;
  /** Every URL `redirectToAuthorization` was given, oldest first. */
  readonly authorizationUrls: URL[] = [];
  /** Every state value handed out, to check the one the callback carries. */
  readonly states: string[] = [];
  /** Every `invalidateCredentials` call. */
  readonly invalidated: string[] = [];
  /** Every token set `saveTokens` got, oldest first. */
  readonly savedTokens: OAuthTokens[] = [];
  saveClientInformation?: (info: OAuthClientInformationMixed) => void;

  #clientInformation: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #codeVerifier: string | undefined;
  #discovery: OAuthDiscoveryState | undefined;

  constructor(options: MemoryOAuthClientOptions) {
    this.redirectUrl = options.redirectUrl;
    this.clientMetadata = options.clientMetadata;
    this.#clientInformation = options.clientInformation;
    if (options.clientMetadataUrl) this.clientMetadataUrl = options.clientMetadataUrl;
    if (!options.clientInformation) {
      this.saveClientInformation = (info) => {
        this.#clientInformation = info;
      };
    }
  }

  state(): string {
    const state = randomBytes(16).toString('base64url');
    this.states.push(state);
    return state;
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.#clientInformation;
  }

  tokens(): OAuthTokens | undefined {
    return this.#tokens;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens;
    this.savedTokens.push(tokens);
  }

  /** Replaces the stored tokens (a test spoiling or expiring them). */
  setTokens(tokens: OAuthTokens | undefined): void {
    this.#tokens = tokens;
  }

  redirectToAuthorization(authorizationUrl: URL): void {
    this.authorizationUrls.push(authorizationUrl);
  }

  /** The last authorization URL, which the "browser" follows. */
  get lastAuthorizationUrl(): URL {
    const url = this.authorizationUrls.at(-1);
    if (!url) throw new Error('auth() did not redirect to the authorization server');
    return url;
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.#codeVerifier = codeVerifier;
  }

  codeVerifier(): string {
    if (!this.#codeVerifier) throw new Error('no code verifier saved');
    return this.#codeVerifier;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discovery = state;
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#discovery;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    this.invalidated.push(scope);
    if (scope === 'all' || scope === 'client') this.#clientInformation = undefined;
    if (scope === 'all' || scope === 'tokens') this.#tokens = undefined;
    if (scope === 'all' || scope === 'verifier') this.#codeVerifier = undefined;
    if (scope === 'all' || scope === 'discovery') this.#discovery = undefined;
  }
}

/** One request the SDK made: method, URL, answer status, its challenge, and the body of form and JSON posts. */
export interface RecordedRequest {
  method: string;
  url: string;
  status: number;
  /** The challenge of a 401 or 403. */
  wwwAuthenticate?: string;
  form?: Record<string, string>;
  json?: Record<string, unknown>;
}

/** A fetch for the SDK (transport `fetch`, `auth({ fetchFn })`) that records every request. */
export function recordingFetch(log: RecordedRequest[]): FetchLike {
  return async (url, init) => {
    const response = await fetch(url, init);
    const entry: RecordedRequest = { method: (init?.method ?? 'GET').toUpperCase(), url: String(url), status: response.status };
    const challenge = response.headers.get('www-authenticate');
    if (challenge) entry.wwwAuthenticate = challenge;
    if (init?.body instanceof URLSearchParams) entry.form = Object.fromEntries(init.body);
    else if (typeof init?.body === 'string' && init.body.startsWith('{')) {
      try {
        entry.json = JSON.parse(init.body) as Record<string, unknown>;
      } catch {
        // not JSON
      }
    }
    log.push(entry);
    return response;
  };
}

export interface CallbackResult {
  /** Where the browser was finally sent: the client's redirect URL with the answer. */
  callbackUrl: URL;
  /** The pages the user answered, in order. */
  seen: Step[];
  code?: string;
  state?: string;
  error?: string;
  errorDescription?: string;
}

/**
 * The user's part: follows the authorization URL the SDK handed to `redirectToAuthorization`,
 * answers orgconnect's pages (login, organization, consent) from `script`, and reads the redirect to
 * the client's callback. The callback is never requested: its URL is the answer.
 */
export async function completeInBrowser(agent: UserAgent, authorizationUrl: URL, redirectUrl: string, script: AuthorizeScript): Promise<CallbackResult> {
  const { callbackUrl, seen } = await authorize(agent, authorizationUrl.href, redirectUrl, script);
  const url = new URL(callbackUrl);
  const param = (name: string) => url.searchParams.get(name) ?? undefined;
  return { callbackUrl: url, seen, code: param('code'), state: param('state'), error: param('error'), errorDescription: param('error_description') };
}
