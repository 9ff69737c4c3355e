import type Koa from 'koa';
import type { Context, Next } from 'koa';

/**
 * `koaApp.use(mount('/oauth', orgconnect.app))` runs orgconnect's middleware on the host's Koa
 * context. oidc-provider would then sign its cookies with the host's `app.keys` and read them
 * back with its own, and the host's `proxy` setting would apply instead of orgconnect's. So while
 * orgconnect handles a request, the context uses orgconnect's app and cookies; a request that
 * falls through to the host's later middleware gets the host's back.
 */
interface Owner {
  app: Koa;
  cookies: Context['cookies'];
}
const hosts = new WeakMap<Context, Owner>();
/** orgconnect's own app and cookies for a context it entered: what `asHost` goes back to. */
const owns = new WeakMap<Context, Owner>();

function become(ctx: Context, owner: Owner): void {
  ctx.app = owner.app;
  ctx.request.app = owner.app;
  ctx.response.app = owner.app;
  ctx.cookies = owner.cookies;
}

export function enterOwnContext(app: Koa) {
  return async function ownContext(ctx: Context, next: Next): Promise<void> {
    if (ctx.app === app) return next();
    const host: Owner = { app: ctx.app, cookies: ctx.cookies };
    const own: Owner = { app, cookies: app.createContext(ctx.req, ctx.res).cookies };
    hosts.set(ctx, host);
    owns.set(ctx, own);
    become(ctx, own);
    try {
      await next();
    } finally {
      become(ctx, host);
      hosts.delete(ctx);
      owns.delete(ctx);
    }
  };
}

export async function leaveOwnContext(ctx: Context, next: Next): Promise<void> {
  const host = hosts.get(ctx);
  if (!host) return next();
  const own: Owner = { app: ctx.app, cookies: ctx.cookies };
  become(ctx, host);
  try {
    await next();
  } finally {
    become(ctx, own);
  }
}

/**
 * Runs `fn` as the host: its app, its cookies (a host hook such as `currentUser` reads the host's
 * signed session cookie with the host's keys). Outside a mount, orgconnect is the host.
 */
export async function asHost<T>(ctx: Context, fn: () => Promise<T>): Promise<T> {
  const host = hosts.get(ctx);
  const own = owns.get(ctx);
  if (!host || !own) return fn();
  become(ctx, host);
  try {
    return await fn();
  } finally {
    become(ctx, own);
  }
}
