import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Application, ApplicationInput, OAuthApplication } from '../apps/applications.js';
import { createSeedDirectory, type Directory, type Organization, type SeedUser } from '../accounts/directory.js';
import { createProvider, type OrgconnectOptions, type OrgconnectProvider } from '../index.js';
import { generateSigningKey } from '../options/keys.js';
import { INTERACTION_PATH } from '../http/routes.js';
import { pageText, TestBrowser } from './browser.js';
import { testData } from './defaults.js';

/** Options of `startTestProvider`. Everything is optional. */
export interface TestProviderOptions {
  /** The users to sign in (with plain-text passwords). Default: `testData.users`. Ignored with `directory`. */
  users?: SeedUser[];
  /** Default: `testData.organizations`. */
  organizations?: Organization[];
  /** OAuth and M2M applications. Default: `testData.applications`. */
  applications?: ApplicationInput[];
  /** Your own users and organizations instead of `users` (then `signIn` needs a `password`). */
  directory?: Directory;
  /** Any other provider option (ttl, scopes, resources, audience, keys, views, brand...). */
  options?: Omit<Partial<OrgconnectOptions>, 'issuer' | 'seed' | 'directory' | 'applications'>;
  /** Serve the provider under this path, as a host app mounting it would: `'/oauth'`. Default: at the root. */
  path?: string;
  /** Default: 127.0.0.1. */
  host?: string;
  /** Default: a free port. */
  port?: number;
}

export type Scopes = string | string[];

export interface SignInOptions {
  /** The application: its client_id or its name. Must be an OAuth application. */
  app: string;
  /** The user: id or email. Needed when the provider asks to log in (not for a signed-in `browser`). */
  user?: string;
  /** Default: the user's password from `users`. Needed with a custom `directory`. */
  password?: string;
  /** The organization to sign in for (id). Needed for a user in several organizations. */
  organization?: string;
  /**
   * How `organization` is chosen: sent as the `organization_id` authorization parameter (default:
   * no organization page), or `false` to answer the organization page like a person.
   */
  organizationHint?: boolean;
  /** Default: `openid profile email`. */
  scopes?: Scopes;
  /** The answer on the consent page (third-party apps). Default: allow. */
  consent?: 'allow' | 'deny';
  /** A resource indicator (RFC 8707): the access token's `aud`. Must be an API: the audience, one of `options.resources` or `options.apis`. */
  audience?: string;
  /** Default: the application's first redirect URI. Nothing is ever requested from it. */
  redirectUri?: string;
  /** More authorization parameters (`prompt`, `login_hint`, `max_age`...). */
  params?: Record<string, string>;
  /** Exchange the code for tokens (default), or only return it (with the PKCE verifier). */
  exchange?: boolean;
  /** Reuse a browser (its provider session): a second sign-in of a signed-in user shows no login page. */
  browser?: TestBrowser;
}

export type SignInStep = 'login' | 'organization' | 'consent';

/** A token response of the token endpoint. */
export interface TokenSet {
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
  id_token?: string;
  refresh_token?: string;
  [key: string]: unknown;
}

export interface SignInResult {
  /** The authorization code (already redeemed when `tokens` is set). Undefined when refused. */
  code?: string;
  /** The tokens the code was exchanged for (unless `exchange: false` or refused). */
  tokens?: TokenSet;
  /** `access_denied` when consent was denied, or any error the provider sent back to the app. */
  error?: string;
  errorDescription?: string;
  /** The pages answered, in order. */
  steps: SignInStep[];
  /** Where the provider finally sent the browser (the app's redirect URI with code or error). */
  callbackUrl: string;
  redirectUri: string;
  /** The PKCE verifier, to redeem `code` yourself with `exchange: false`. */
  codeVerifier: string;
  /** The browser that signed in: pass it to another `signIn` to reuse the session. */
  browser: TestBrowser;
}

export interface MintOptions {
  /** The application (client_id or name). An M2M app gets a client_credentials token (no user). */
  app: string;
  /** The user (id or email); required for OAuth applications. */
  user?: string;
  password?: string;
  organization?: string;
  /** Default: `openid profile email` (M2M apps: none). */
  scopes?: Scopes;
  /** A resource indicator: the access token's `aud` (must be an API: the audience, one of `options.resources` or `options.apis`). */
  audience?: string;
}

export interface TestProvider {
  /** The issuer identifier (the server's URL plus `path`). */
  issuer: string;
  /** The server's base URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** The provider itself: `orgconnect.applications`, `orgconnect.provider` (events), `orgconnect.options`... */
  orgconnect: OrgconnectProvider;
  /** The applications registered, with their client ids and secrets. */
  applications: Application[];
  /** The users (with passwords) when no `directory` was given. */
  users: SeedUser[];
  organizations: Organization[];
  /** A real access token (JWT), issued through the real flow. */
  mintAccessToken(options: MintOptions): Promise<string>;
  /** A real ID token, issued through the real flow. */
  mintIdToken(options: Omit<MintOptions, 'audience'>): Promise<string>;
  /** Signs a user in to an application over HTTP: login, organization and consent pages, then the code exchange. */
  signIn(options: SignInOptions): Promise<SignInResult>;
  /** A new scripted browser (a cookie jar) to drive your relying party with. */
  browser(): TestBrowser;
  /** Stops the server and the provider. */
  stop(): Promise<void>;
}

const DEFAULT_SCOPES = 'openid profile email';

function scopeString(scopes: Scopes | undefined, fallback: string): string {
  if (scopes === undefined) return fallback;
  return (Array.isArray(scopes) ? scopes : scopes.split(/\s+/)).filter(Boolean).join(' ');
}

function normalizePath(path: string | undefined): string {
  if (!path || path === '/') return '';
  if (!path.startsWith('/')) throw new TypeError(`orgconnect/testing: path must start with "/" (got ${JSON.stringify(path)})`);
  return path.replace(/\/+$/, '');
}

const AUDIENCE_HINT = ' (declare the API in startTestProvider({ options: { apis } }), or list it in options.resources)';

function refused(error: string | undefined, description: string | undefined): Error {
  const hint = error === 'invalid_target' ? AUDIENCE_HINT : '';
  return new Error(`orgconnect/testing: the provider refused: ${String(error)}${description ? ` (${description})` : ''}${hint}`);
}

/** Serves the provider's handler under `path`, the way Express's `app.use(path, handler)` does. */
function underPath(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void) {
  if (!path) return handler;
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (url !== path && !url.startsWith(`${path}/`) && !url.startsWith(`${path}?`)) {
      res.statusCode = 404;
      res.end('Not Found');
      return;
    }
    const request = req as IncomingMessage & { originalUrl?: string; baseUrl?: string };
    request.originalUrl = url;
    request.baseUrl = path;
    const rest = url.slice(path.length);
    req.url = rest.startsWith('/') ? rest : `/${rest}`;
    handler(req, res);
  };
}

/**
 * Starts a real orgconnect provider on a free loopback port, with test users, organizations and
 * applications (a small built-in set by default). Tokens come from the real endpoints: a verifier,
 * introspection, userinfo and revocation treat them like any other. Plain async functions, no test
 * framework globals: works from mocha, node:test, vitest and jest alike.
 */
export async function startTestProvider(input: TestProviderOptions = {}): Promise<TestProvider> {
  const path = normalizePath(input.path);
  const users = input.directory ? [] : (input.users ?? testData.users);
  const organizations = input.organizations ?? (input.directory ? [] : testData.organizations);
  // With your own directory the default organizations may not exist: only the first-party apps then.
  const applicationInputs =
    input.applications ?? (input.directory ? testData.applications.filter((a) => a.application_type === 'oauth' && a.is_first_party) : testData.applications);

  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(input.port ?? 0, input.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  const issuer = `${url}${path}`;

  let orgconnect: OrgconnectProvider;
  try {
    const directory = input.directory ?? (await createSeedDirectory({ organizations, users }));
    // Keys of its own for every test provider, so it starts without the generated-keys warnings.
    const alg = input.options?.keys?.alg ?? 'RS256';
    orgconnect = await createProvider({
      ...input.options,
      keys: { alg, jwks: input.options?.keys?.jwks ?? { keys: [await generateSigningKey(alg)] } },
      cookies: { keys: input.options?.cookies?.keys ?? [randomBytes(32).toString('base64url')] },
      issuer,
      directory,
      seed: { organizations },
    });
  } catch (error) {
    server.close();
    throw error;
  }
  const applications: Application[] = [];
  try {
    for (const [index, app] of applicationInputs.entries()) applications.push(await orgconnect.applications.create(app, `applications[${index}]`));
  } catch (error) {
    server.close();
    await orgconnect.close();
    throw error;
  }
  server.on('request', underPath(path, orgconnect.callback()));

  let metadata: Promise<Record<string, string>> | undefined;
  const discovery = () =>
    (metadata ??= fetch(`${issuer}/.well-known/openid-configuration`).then(async (response) => {
      if (!response.ok) throw new Error(`orgconnect/testing: discovery answered ${response.status}`);
      return (await response.json()) as Record<string, string>;
    }));

  async function findApp(id: string): Promise<Application> {
    const app = applications.find((a) => a.client_id === id || a.name === id) ?? (await orgconnect.applications.get(id));
    if (!app) throw new Error(`orgconnect/testing: no application ${JSON.stringify(id)} (known: ${applications.map((a) => a.client_id).join(', ')})`);
    return app;
  }

  async function findUser(id: string): Promise<{ id: string; email: string; password?: string }> {
    const wanted = id.toLowerCase();
    const seeded = users.find((u) => u.id === id || u.email?.toLowerCase() === wanted);
    if (seeded?.email) return { id: seeded.id, email: seeded.email, password: seeded.password };
    if (id.includes('@')) return { id, email: id };
    const found = await orgconnect.directory.findUser(id);
    if (!found?.email) throw new Error(`orgconnect/testing: no user ${JSON.stringify(id)} with an email to log in with`);
    return { id: found.id, email: found.email };
  }

  function clientAuth(app: Application, body: URLSearchParams): Record<string, string> {
    const secret = (app as { client_secret?: string }).client_secret;
    if (!secret) {
      body.set('client_id', app.client_id);
      return {};
    }
    const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
    return { authorization: `Basic ${Buffer.from(`${encode(app.client_id)}:${encode(secret)}`).toString('base64')}` };
  }

  async function tokenRequest(app: Application, params: Record<string, string>): Promise<TokenSet> {
    const body = new URLSearchParams(params);
    const headers = { ...clientAuth(app, body), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    const response = await fetch((await discovery()).token_endpoint!, { method: 'POST', headers, body });
    const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      const hint = json.error === 'invalid_target' ? AUDIENCE_HINT : '';
      throw new Error(`orgconnect/testing: token endpoint answered ${response.status} ${String(json.error)}: ${String(json.error_description ?? '')}${hint}`);
    }
    return json as TokenSet;
  }

  async function signIn(options: SignInOptions): Promise<SignInResult> {
    const app = await findApp(options.app);
    if (app.application_type !== 'oauth') throw new Error(`orgconnect/testing: ${app.client_id} is an M2M application: it signs no user in (use mintAccessToken)`);
    const oauthApp = app as OAuthApplication;
    const redirectUri = options.redirectUri ?? oauthApp.redirect_uris[0]!;
    const browser = options.browser ?? new TestBrowser();
    const state = randomBytes(16).toString('base64url');
    const nonce = randomBytes(16).toString('base64url');
    const codeVerifier = randomBytes(32).toString('base64url');
    const authorization = new URL((await discovery()).authorization_endpoint!);
    const params: Record<string, string> = {
      client_id: app.client_id,
      response_type: 'code',
      redirect_uri: redirectUri,
      scope: scopeString(options.scopes, DEFAULT_SCOPES),
      state,
      nonce,
      code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
      code_challenge_method: 'S256',
      ...(options.organization && options.organizationHint !== false ? { organization_id: options.organization } : {}),
      ...(options.audience ? { resource: options.audience } : {}),
      ...options.params,
    };
    for (const [key, value] of Object.entries(params)) authorization.searchParams.set(key, value);

    const interactionPrefix = `${issuer}${INTERACTION_PATH}/`;
    const steps: SignInStep[] = [];
    let page = await browser.follow(authorization, { stopAt: redirectUri });
    while (!page.redirectedTo) {
      const html = page.html ?? '';
      const uid = page.url.startsWith(interactionPrefix) ? page.url.slice(interactionPrefix.length).split(/[/?#]/)[0] : undefined;
      if (page.response.status !== 200 || !uid) {
        throw new Error(`orgconnect/testing: signIn stopped: ${page.response.status} at ${page.url}: ${pageText(html)}`);
      }
      if (steps.length >= 10) throw new Error('orgconnect/testing: signIn: too many pages');
      const interaction = await orgconnect.provider.Interaction.find(uid);
      const prompt = interaction?.prompt.name;
      const base = `${issuer}${INTERACTION_PATH}/${uid}`;
      let action: string;
      let form: Record<string, string>;
      if (prompt === 'login' || (interaction?.result as Record<string, unknown> | undefined)?.switch_account === true) {
        if (!options.user) throw new Error(`orgconnect/testing: ${app.client_id} asks the user to log in: pass \`user\``);
        const user = await findUser(options.user);
        const password = options.password ?? user.password;
        if (password === undefined) throw new Error(`orgconnect/testing: no password known for ${user.email}: pass \`password\``);
        steps.push('login');
        action = `${base}/login`;
        form = { email: user.email, password };
      } else if (prompt === 'select_organization') {
        if (!options.organization) {
          const accountId = interaction?.session?.accountId;
          const memberships = accountId ? await orgconnect.directory.listOrganizations(accountId) : [];
          throw new Error(`orgconnect/testing: ${String(accountId)} belongs to several organizations (${memberships.map((m) => m.id).join(', ')}): pass \`organization\``);
        }
        steps.push('organization');
        action = `${base}/organization`;
        form = { organization_id: options.organization };
      } else if (prompt === 'consent') {
        steps.push('consent');
        action = `${base}/consent`;
        form = { decision: options.consent ?? 'allow' };
      } else {
        throw new Error(`orgconnect/testing: signIn: unexpected page for prompt ${String(prompt)} at ${page.url}: ${pageText(html)}`);
      }
      page = await browser.follow(action, { form, stopAt: redirectUri });
      if (!page.redirectedTo && page.response.status >= 400) {
        throw new Error(`orgconnect/testing: ${steps.at(-1)} refused (${page.response.status}): ${pageText(page.html ?? '')}`);
      }
    }

    const callbackUrl = page.redirectedTo;
    const callback = new URL(callbackUrl);
    const result: SignInResult = { steps, callbackUrl, redirectUri, codeVerifier, browser };
    const error = callback.searchParams.get('error');
    if (error) return { ...result, error, errorDescription: callback.searchParams.get('error_description') ?? undefined };
    if (callback.searchParams.get('state') !== state) throw new Error('orgconnect/testing: the provider answered with another state');
    const code = callback.searchParams.get('code');
    if (!code) throw new Error(`orgconnect/testing: no code in ${callbackUrl}`);
    if (options.exchange === false) return { ...result, code };

    const tokens = await tokenRequest(app, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: codeVerifier });
    if (tokens.id_token) {
      const claims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { nonce?: string };
      if (claims.nonce !== nonce) throw new Error('orgconnect/testing: the ID token carries another nonce');
    }
    if (options.organization) {
      const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { org_id?: string };
      if (claims.org_id !== options.organization) {
        throw new Error(`orgconnect/testing: signed in for ${String(claims.org_id)}, not ${options.organization}: is the user a member of it?`);
      }
    }
    return { ...result, code, tokens };
  }

  return {
    issuer,
    url,
    orgconnect,
    applications,
    users,
    organizations,
    signIn,
    browser: () => new TestBrowser(),
    async mintAccessToken(options) {
      const app = await findApp(options.app);
      if (app.application_type === 'm2m') {
        const params: Record<string, string> = { grant_type: 'client_credentials' };
        if (options.scopes !== undefined) params.scope = scopeString(options.scopes, '');
        if (options.audience) params.resource = options.audience;
        return (await tokenRequest(app, params)).access_token;
      }
      const { tokens, error, errorDescription } = await signIn({ ...options, consent: 'allow' });
      if (!tokens) throw refused(error, errorDescription);
      return tokens.access_token;
    },
    async mintIdToken(options) {
      const scopes = scopeString(options.scopes, DEFAULT_SCOPES).split(' ');
      if (!scopes.includes('openid')) scopes.unshift('openid');
      const { tokens, error, errorDescription } = await signIn({ ...options, scopes, consent: 'allow' });
      if (!tokens?.id_token) throw refused(error, errorDescription);
      return tokens.id_token;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await orgconnect.close();
    },
  };
}
