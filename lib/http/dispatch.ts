import type { Middleware } from 'koa';
import compose from 'koa-compose';

/** A group of middleware that only concerns requests under some paths. */
export interface PathRoute {
  /** Exact paths, or prefixes when they end with `/` (`/assets/` covers `/assets/x.css`). */
  paths: readonly string[];
  /** Any Koa middleware, routers' included (they type their context more narrowly). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  middleware: readonly Middleware<any, any>[];
}

function matcher(paths: readonly string[]): (path: string) => boolean {
  const exact = new Set(paths.filter((p) => !p.endsWith('/')));
  const prefixes = paths.filter((p) => p.endsWith('/'));
  return (path) => exact.has(path) || prefixes.some((prefix) => path.startsWith(prefix));
}

/**
 * One layer instead of one per concern: a request runs through the middleware of the first route
 * whose paths match it, then `tail` (oidc-provider); any other request goes to `tail` directly.
 * Every Koa layer costs an async frame and the promise hooks of oidc-provider's
 * AsyncLocalStorage on every request, so a token request should not pass through the asset
 * server, the admin API and the interaction router to learn they are not for it.
 */
export function dispatchByPath(routes: readonly PathRoute[], tail: readonly Middleware[]): Middleware {
  const chains = routes.map((route) => ({ matches: matcher(route.paths), run: compose([...route.middleware, ...tail]) }));
  const direct = compose([...tail]);
  return function dispatch(ctx, next) {
    for (const chain of chains) if (chain.matches(ctx.path)) return chain.run(ctx, next);
    return direct(ctx, next);
  };
}
