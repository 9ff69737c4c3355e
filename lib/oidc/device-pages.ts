import type { KoaContextWithOIDC } from 'oidc-provider';

import type { Runtime } from '../runtime.js';
import { renderPage } from '../pages/views.js';

/** The CSRF token oidc-provider put in its form: orgconnect renders its own, accessible form around it. */
const xsrfOf = (form: string) => /name="xsrf" value="([^"]*)"/.exec(form)?.[1] ?? '';

/** Fixed words: an error's description may echo the code the user typed. */
function codeError(error: (Error & { userCode?: string }) | undefined): string | undefined {
  if (!error) return undefined;
  if (error.userCode || error.name === 'NoCodeError') return 'That code is not valid or has expired. Check your device and try again.';
  if (error.name === 'AbortedError') return 'The sign-in was cancelled.';
  return 'Something went wrong. Start again on your device.';
}

/**
 * The pages of the device authorization grant (RFC 8628): enter the code, confirm it is the
 * device you hold, done. Between confirmation and success the usual login, organization and
 * consent pages run.
 */
export function deviceFlowPages(runtime: Runtime) {
  return {
    async userCodeInputSource(ctx: KoaContextWithOIDC, form: string, _out: unknown, error?: Error & { userCode?: string }) {
      await renderPage(runtime, ctx, 'device-code', {
        title: 'Connect a device',
        action: ctx.oidc.urlFor('code_verification'),
        xsrf: xsrfOf(form),
        userCode: typeof error?.userCode === 'string' ? error.userCode : '',
        clientName: ctx.oidc.client?.clientName,
        error: codeError(error),
      });
    },
    async userCodeConfirmSource(ctx: KoaContextWithOIDC, form: string, client: { clientId: string; clientName?: string }, _deviceInfo: unknown, userCode: string) {
      await renderPage(
        runtime,
        ctx,
        'device-confirm',
        { title: 'Confirm the device', action: ctx.oidc.urlFor('code_verification'), xsrf: xsrfOf(form), userCode, clientName: client.clientName ?? client.clientId },
        { clientId: client.clientId },
      );
    },
    async successSource(ctx: KoaContextWithOIDC) {
      await renderPage(runtime, ctx, 'device-success', { title: 'Device connected', clientName: ctx.oidc.client?.clientName }, { clientId: ctx.oidc.client?.clientId });
    },
  };
}
