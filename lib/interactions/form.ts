import { parse } from 'node:querystring';

import type { Context } from 'koa';
import getRawBody from 'raw-body';

const FORM_LIMIT = 16 * 1024;

/**
 * Reads an urlencoded form. A field sent twice, or not at all, reads as undefined: the handlers
 * only accept single string values, so a crafted form cannot smuggle arrays in.
 */
export async function readForm(ctx: Context): Promise<(name: string) => string | undefined> {
  if (!ctx.is('application/x-www-form-urlencoded')) return () => undefined;
  const raw = await getRawBody(ctx.req, { length: ctx.get('content-length') || undefined, limit: FORM_LIMIT, encoding: 'utf8' });
  const fields = parse(raw);
  return (name) => {
    const value = fields[name];
    return typeof value === 'string' ? value : undefined;
  };
}
