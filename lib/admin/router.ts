import type { Context } from 'koa';

import { AdminError, badRequest, notFound } from './errors.js';

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type Method = (typeof METHODS)[number];
export type Params = Record<string, string>;
export type Handler = (ctx: Context, params: Params) => Promise<void>;

/** A route: a path template in OpenAPI form (`/applications/{client_id}`) and its handlers by method. */
export interface Route {
  path: string;
  methods: Partial<Record<Method, Handler>>;
}

/** The route a path names, and its decoded parameters. */
export function matchRoute(routes: readonly Route[], path: string): { route: Route; params: Params } | undefined {
  const segments = path.split('/');
  for (const route of routes) {
    const template = route.path.split('/');
    if (template.length !== segments.length) continue;
    const params: Params = {};
    const matched = template.every((part, i) => {
      const segment = segments[i]!;
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      if (name === undefined) return part === segment;
      if (segment === '') return false;
      params[name] = decodeSegment(segment);
      return true;
    });
    if (matched) return { route, params };
  }
  return undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest('the path is not validly percent-encoded');
  }
}

const allowed = (route: Route) => {
  const methods: string[] = METHODS.filter((m) => route.methods[m]);
  if (route.methods.GET) methods.splice(1, 0, 'HEAD');
  return [...methods, 'OPTIONS'].join(', ');
};

/**
 * Runs the handler of the route `path` names: 404 for no route, 405 (with `Allow`) for a method
 * it does not have, 204 with `Allow` for OPTIONS. HEAD runs GET (Koa sends no body).
 */
export async function dispatch(routes: readonly Route[], ctx: Context, path: string): Promise<void> {
  const match = matchRoute(routes, path);
  if (!match) throw notFound(`no admin API route ${ctx.path}`);
  if (ctx.method === 'OPTIONS') {
    ctx.set('Allow', allowed(match.route));
    ctx.status = 204;
    return;
  }
  const method = (ctx.method === 'HEAD' ? 'GET' : ctx.method) as Method;
  const handler = match.route.methods[method];
  if (!handler) {
    throw new AdminError(405, 'method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}`, { Allow: allowed(match.route) });
  }
  await handler(ctx, match.params);
}
