import { createHash, randomBytes } from 'node:crypto';

import { basicAuth, BENCH_PASSWORD, CRM, PICKED_ORGANIZATION, userEmail } from '../fixtures.js';
import { CookieJar, form, FORM, send, type HttpResponse } from './http.js';

export interface FlowTokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  token_type: string;
  expires_in: number;
}

/** Milliseconds spent per kind of request in one flow (summed when a kind occurs twice). */
export type StepTimes = Record<string, number>;

export interface FlowOptions {
  /** The synthetic user signing in (a fresh one per flow: consent is then always shown). */
  user: number;
  /** Log in as a `slow` user: the password is checked with scrypt, as the seed directory does. */
  scrypt?: boolean;
  /** RFC 8707 resource of the authorization (the baseline's opaque-token resource, for introspection). */
  resource?: string;
  /** Filled with time per step, when given. */
  steps?: StepTimes;
}

const MAX_HOPS = 16;
const base64url = (buffer: Buffer) => buffer.toString('base64url');

/** The form on an interaction page whose action ends with one of the steps the script answers. */
function formAction(html: string, pageUrl: string): { step: 'login' | 'organization' | 'consent'; url: string } | undefined {
  for (const match of html.matchAll(/<form[^>]*action="([^"]+)"/g)) {
    const action = match[1]!.replace(/&amp;/g, '&');
    const step = /\/(login|organization|consent)$/.exec(action)?.[1] as 'login' | 'organization' | 'consent' | undefined;
    if (step) return { step, url: new URL(action, pageUrl).href };
  }
  return undefined;
}

function label(method: string, url: string): string {
  const { pathname } = new URL(url);
  if (pathname === '/oauth2/authorize') return 'GET authorize';
  if (pathname.startsWith('/oauth2/authorize/')) return 'GET authorize (resume)';
  if (pathname.startsWith('/interaction/')) return method === 'GET' ? 'GET interaction page' : `POST ${pathname.slice(pathname.lastIndexOf('/') + 1)}`;
  return `${method} ${pathname}`;
}

/**
 * One authorization_code flow with PKCE, as a browser and a relying party would run it over HTTP:
 * authorize -> login -> pick an organization -> consent -> redirect with the code -> token request.
 * A fresh cookie jar (a new browser) and, by default, a fresh user, so nothing is remembered.
 * `offline_access` with `prompt=consent` (so bare oidc-provider issues a refresh token too).
 * Throws on anything unexpected.
 */
export async function authorizationCodeFlow(issuer: string, options: FlowOptions): Promise<FlowTokens> {
  const jar = new CookieJar();
  const steps = options.steps;
  const verifier = base64url(randomBytes(32));
  const state = base64url(randomBytes(16));
  const params = new URLSearchParams({
    client_id: CRM.clientId,
    response_type: 'code',
    redirect_uri: CRM.redirectUri,
    scope: 'openid profile email offline_access',
    prompt: 'consent',
    state,
    nonce: base64url(randomBytes(16)),
    code_challenge: base64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  });
  if (options.resource) params.set('resource', options.resource);

  const request = async (url: string, method = 'GET', body?: string): Promise<HttpResponse> => {
    const headers: Record<string, string> = {};
    const cookie = jar.header(url);
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) headers['content-type'] = FORM;
    const t0 = performance.now();
    const response = await send(url, { method, headers, body });
    if (steps) {
      const key = label(method, url);
      steps[key] = (steps[key] ?? 0) + performance.now() - t0;
    }
    jar.store(response, url);
    return response;
  };

  const answered = new Set<string>();
  let url = `${issuer}/oauth2/authorize?${params}`;
  let response = await request(url);
  let callback: URL | undefined;
  for (let hop = 0; hop < MAX_HOPS && !callback; hop += 1) {
    if (response.status >= 300 && response.status < 400) {
      const location = new URL(String(response.headers.location), url).href;
      if (location.startsWith(CRM.redirectUri)) {
        callback = new URL(location);
        break;
      }
      url = location;
      response = await request(url);
      continue;
    }
    const action = response.status === 200 ? formAction(response.body, url) : undefined;
    if (!action) throw new Error(`unexpected ${response.status} at ${new URL(url).pathname}: ${response.body.slice(0, 200)}`);
    const fields: Record<string, string> =
      action.step === 'login'
        ? { email: userEmail(options.user, options.scrypt), password: BENCH_PASSWORD }
        : action.step === 'organization'
          ? { organization_id: PICKED_ORGANIZATION }
          : { decision: 'allow' };
    answered.add(action.step);
    url = action.url;
    response = await request(url, 'POST', form(fields));
  }
  if (!callback) throw new Error('no redirect to the client after the interactions');
  // Every flow must be a first-time one: a skipped step would measure a cheaper flow.
  for (const step of ['login', 'organization', 'consent']) if (!answered.has(step)) throw new Error(`the ${step} step was not shown`);
  const code = callback.searchParams.get('code');
  if (!code || callback.searchParams.get('state') !== state) throw new Error(`authorization failed: ${callback.search}`);

  const t0 = performance.now();
  const token = await send(`${issuer}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': FORM, authorization: basicAuth(CRM.clientId, CRM.secret) },
    body: form({ grant_type: 'authorization_code', code, redirect_uri: CRM.redirectUri, code_verifier: verifier }),
  });
  if (steps) steps['POST token'] = (steps['POST token'] ?? 0) + performance.now() - t0;
  if (token.status !== 200) throw new Error(`token endpoint: ${token.status} ${token.body.slice(0, 200)}`);
  return JSON.parse(token.body) as FlowTokens;
}
