import type { Context } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

import { StoreUnavailableError } from './errors.js';
import type { Runtime } from './runtime.js';

/** Fixed words per error code: error descriptions may echo request input, so pages never show them. */
const MESSAGES: Record<string, string> = {
  invalid_client: 'This application is not registered with this sign-in service.',
  invalid_redirect_uri: 'The application asked to send you to an address it has not registered.',
  invalid_request: 'The application sent a request that could not be understood.',
  invalid_scope: 'The application asked for permissions it may not request.',
  invalid_target: 'The application asked for access to an unknown service.',
  unauthorized_client: 'This application may not sign users in this way.',
  unsupported_response_type: 'The application asked for an unsupported kind of response.',
  session_not_found: 'This sign-in attempt has expired or was already completed. Go back to the application and start again.',
  access_denied: 'The request was cancelled.',
  temporarily_unavailable: 'The sign-in service is temporarily unavailable. Please try again in a moment.',
  server_error: 'Something went wrong on our side. Please try again.',
};

interface ErrorLike {
  error?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
}

/** The OAuth error code and HTTP status an error stands for. */
export function classify(error: unknown): { code: string; status: number } {
  if (error instanceof StoreUnavailableError) return { code: 'temporarily_unavailable', status: 503 };
  const e = error as ErrorLike;
  if (typeof e?.error === 'string' && e.expose !== false) {
    const status = e.statusCode ?? e.status ?? 400;
    return { code: e.error === 'invalid_request' && /session|interaction|cookie/i.test(String((error as Error).message)) ? 'session_not_found' : e.error, status };
  }
  return { code: 'server_error', status: 500 };
}

async function page(runtime: Runtime, code: string): Promise<string> {
  return runtime.views.render('error', {
    title: code === 'temporarily_unavailable' ? 'Temporarily unavailable' : 'Something went wrong',
    error: code,
    message: MESSAGES[code] ?? 'The request could not be completed.',
  });
}

/** An error during an interaction page, rendered as a page. */
export async function renderErrorPage(runtime: Runtime, ctx: Context, error: unknown): Promise<void> {
  const { code, status } = classify(error);
  if (status >= 500 && !(error instanceof StoreUnavailableError)) console.error('orgconnect: interaction failed', error);
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = await page(runtime, code);
}

/** oidc-provider's `renderError` hook: errors of browser flows (bad redirect_uri, unknown client...). */
export function renderError(runtime: Runtime) {
  return async function render(ctx: KoaContextWithOIDC, out: { error: string }, error: Error): Promise<void> {
    const code = error instanceof StoreUnavailableError ? 'temporarily_unavailable' : out.error;
    ctx.type = 'html';
    ctx.body = await page(runtime, code);
  };
}
