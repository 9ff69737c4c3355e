import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Context, Next } from 'koa';

import { brandStylesheet, isHexColor, normalizeHex } from '../pages/brand.js';
import { packageRoot } from '../package-root.js';

const BUILTIN_ASSETS = join(packageRoot, 'views', 'assets');

/** What may be served from `<views.dir>/assets/`: stylesheets, images and fonts, by extension. */
const TYPES: Record<string, string> = {
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  ico: 'image/x-icon',
  woff2: 'font/woff2',
  woff: 'font/woff',
};

/** A plain file name (no folders, no dot files) with a known extension. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.([a-z0-9]+)$/;

/** The stylesheet a brand's primary color generates (see pages/brand.ts). */
export const BRAND_STYLESHEET = 'brand.css';

/** The file serving `/assets/<name>`: `<views.dir>/assets/<name>` first, then orgconnect's own. */
function assetFile(viewsDir: string | undefined, name: string): string | undefined {
  if (!FILE_NAME.test(name)) return undefined;
  const custom = viewsDir ? join(viewsDir, 'assets', name) : undefined;
  if (custom && existsSync(custom)) return custom;
  const builtin = join(BUILTIN_ASSETS, name);
  return existsSync(builtin) ? builtin : undefined;
}

const contents = new Map<string, { body: Buffer; version: string }>();

/** A file's bytes and a short hash of them, read once per process. */
function load(file: string): { body: Buffer; version: string } {
  let entry = contents.get(file);
  if (!entry) {
    const body = readFileSync(file);
    entry = { body, version: createHash('sha256').update(body).digest('hex').slice(0, 12) };
    contents.set(file, entry);
  }
  return entry;
}

/**
 * The URL of an asset with its content hash (`/oauth/assets/orgconnect.css?v=...`), so browsers
 * may cache it for good; undefined when no such file exists.
 */
export function assetUrl(viewsDir: string | undefined, base: string, name: string): string | undefined {
  const key = `${viewsDir ?? ''}\0${base}\0${name}`;
  if (!urls.has(key)) {
    const file = assetFile(viewsDir, name);
    urls.set(key, file ? `${base}/assets/${name}?v=${load(file).version}` : undefined);
  }
  return urls.get(key);
}

/** Every page links the same few assets: their URLs are found once per process, like their contents. */
const urls = new Map<string, string | undefined>();

/** The URL of the stylesheet for a brand color (validated hex). */
export function brandStylesheetUrl(base: string, primaryColor: string): string {
  return `${base}/assets/${BRAND_STYLESHEET}?primary=${normalizeHex(primaryColor).slice(1)}`;
}

/**
 * Serves the views' assets: orgconnect's stylesheet, the brand stylesheet generated from a
 * validated color, and the files of `<views.dir>/assets/` (a logo, `custom.css`). Pages load
 * nothing from any other host unless a brand or an application logo says so.
 */
export function assets(viewsDir?: string) {
  return async function serveAssets(ctx: Context, next: Next): Promise<void> {
    if (!ctx.path.startsWith('/assets/') || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    const name = ctx.path.slice('/assets/'.length);
    const extension = FILE_NAME.exec(name)?.[1];
    const type = extension ? TYPES[extension] : undefined;

    if (name === BRAND_STYLESHEET) {
      const color = `#${String(ctx.query.primary ?? '')}`;
      if (!isHexColor(color)) return next();
      ctx.type = TYPES.css!;
      ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
      ctx.body = brandStylesheet(color);
      return;
    }

    const file = type ? assetFile(viewsDir, name) : undefined;
    if (!file) return next();
    const { body, version } = load(file);
    ctx.type = type!;
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Cache-Control', ctx.query.v === version ? 'public, max-age=31536000, immutable' : 'public, max-age=3600');
    ctx.body = body;
  };
}
