import { parse } from 'node:querystring';

import type { Context } from 'koa';
import { errors } from 'oidc-provider';
import getRawBody from 'raw-body';

const FORM_LIMIT = 16 * 1024;

/** A form that cannot be read (too large, aborted, bad encoding) is the user's request failing, not a 500. */
function unreadable(cause: unknown): Error {
  const status = (cause as { status?: number })?.status;
  const error = new errors.InvalidRequest('the form could not be read', undefined, { cause } as never);
  if (typeof status === 'number' && status >= 400 && status < 500) Object.assign(error, { status, statusCode: status });
  return error;
}

/** The fields of the form: read from the request, or taken from a host body parser that ran first. */
async function fields(ctx: Context): Promise<Record<string, unknown>> {
  if (!ctx.req.readable) {
    // An Express or Koa body parser of the host app consumed the body already (as oidc-provider does, use its result).
    const parsed = (ctx.req as { body?: unknown }).body ?? (ctx.request as { body?: unknown }).body;
    if (typeof parsed === 'string') return parse(parsed);
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  }
  try {
    return parse(await getRawBody(ctx.req, { length: ctx.get('content-length') || undefined, limit: FORM_LIMIT, encoding: 'utf8' }));
  } catch (cause) {
    throw unreadable(cause);
  }
}

/**
 * Reads an urlencoded form. A field sent twice, or not at all, reads as undefined: the handlers
 * only accept single string values, so a crafted form cannot smuggle arrays (or objects) in.
 */
export async function readForm(ctx: Context): Promise<(name: string) => string | undefined> {
  if (!ctx.is('application/x-www-form-urlencoded')) return () => undefined;
  const form = await fields(ctx);
  return (name) => {
    const value = Object.hasOwn(form, name) ? form[name] : undefined;
    return typeof value === 'string' ? value : undefined;
  };
}
