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
    hosts.set(ctx, host);
    become(ctx, { app, cookies: app.createContext(ctx.req, ctx.res).cookies });
    try {
      await next();
    } finally {
      become(ctx, host);
      hosts.delete(ctx);
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
