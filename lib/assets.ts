import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Context, Next } from 'koa';

import { packageRoot } from './package-root.js';

const FILES: Record<string, string> = { '/assets/orgconnect.css': 'text/css; charset=utf-8' };

/** Serves the views' own stylesheet: pages load nothing from any other host. */
export function assets(viewsDir?: string) {
  const cache = new Map<string, Buffer>();
  return async function serveAssets(ctx: Context, next: Next): Promise<void> {
    const type = FILES[ctx.path];
    if (!type || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    let body = cache.get(ctx.path);
    if (!body) {
      const name = ctx.path.slice(1);
      body = viewsDir ? await readFile(join(viewsDir, name)).catch(() => undefined) : undefined;
      body ??= await readFile(join(packageRoot, 'views', name));
      cache.set(ctx.path, body);
    }
    ctx.type = type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = body;
  };
}
