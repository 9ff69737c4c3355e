import type { Context } from 'koa';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import { StoreUnavailableError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { renderPage } from '../pages/views.js';

/**
 * Fixed words per error code. Error descriptions may echo request input (a client_id, a
 * redirect_uri), so pages never show them: only these texts and the code itself.
 */
const PAGES: Record<string, { title: string; message: string }> = {
  invalid_client: {
    title: 'Unknown application',
    message: 'The application that sent you here is not registered with this sign-in service. Contact the application’s support team.',
  },
  invalid_client_metadata: {
    title: 'Application not accepted',
    message: 'The application described itself in a way this sign-in service does not accept, so the request was stopped. Contact the application’s support team.',
  },
  invalid_redirect_uri: {
    title: 'Unexpected return address',
    message: 'The application asked to send you to an address it has not registered, so the request was stopped to keep your account safe.',
  },
  invalid_request: { title: 'Invalid request', message: 'The application sent a request that could not be understood. Go back to the application and try again.' },
  invalid_scope: { title: 'Invalid request', message: 'The application asked for permissions it may not request.' },
  invalid_target: { title: 'Invalid request', message: 'The application asked for access to an unknown service.' },
  unauthorized_client: { title: 'Not allowed', message: 'This application may not sign users in this way.' },
  unsupported_response_type: { title: 'Invalid request', message: 'The application asked for an unsupported kind of response.' },
  session_not_found: {
    title: 'This sign-in has expired',
    message: 'This page belongs to a sign-in attempt that has expired or was already completed. Go back to the application and sign in again.',
  },
  not_found: { title: 'Page not found', message: 'This page does not exist. Go back to the application and sign in again.' },
  access_denied: { title: 'Request cancelled', message: 'The request was cancelled.' },
  temporarily_unavailable: { title: 'Temporarily unavailable', message: 'The sign-in service is temporarily unavailable. Please try again in a moment.' },
  server_error: { title: 'Something went wrong', message: 'Something went wrong on our side. Please try again.' },
};

const FALLBACK = { title: 'Something went wrong', message: 'The request could not be completed. Go back to the application and try again.' };

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
    // An expired, finished or foreign interaction (oidc-provider says invalid_request): say so.
    return { code: error instanceof errors.SessionNotFound ? 'session_not_found' : e.error, status };
  }
  return { code: 'server_error', status: 500 };
}

async function page(runtime: Runtime, ctx: Context, code: string, clientId?: string): Promise<void> {
  const { title, message } = PAGES[code] ?? FALLBACK;
  // Codes come from oidc-provider's error classes; print one only if it looks like one.
  await renderPage(runtime, ctx, 'error', { title, message, code: /^[a-z_]{1,64}$/.test(code) ? code : undefined }, { clientId });
}

/** An error during an interaction page, rendered as a page. */
export async function renderErrorPage(runtime: Runtime, ctx: Context, error: unknown): Promise<void> {
  const { code, status } = classify(error);
  if (status >= 500 && !(error instanceof StoreUnavailableError)) console.error('orgconnect: interaction failed', error);
  ctx.status = status;
  await page(runtime, ctx, code);
}

/** oidc-provider's `renderError` hook: errors of browser flows (bad redirect_uri, unknown client...). */
export function renderError(runtime: Runtime) {
  return async function render(ctx: KoaContextWithOIDC, out: { error: string }, error: Error): Promise<void> {
    const code =
      error instanceof StoreUnavailableError ? 'temporarily_unavailable' : error instanceof errors.SessionNotFound ? 'session_not_found' : out.error;
    // Only a registered application picks the brand: an unknown client_id never reaches the hook.
    await page(runtime, ctx, code, ctx.oidc?.client?.clientId);
  };
}
