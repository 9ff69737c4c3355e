import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';

import ejs from 'ejs';
import type { Context } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

import { assetUrl, brandStylesheetUrl } from '../http/assets.js';
import { imageSrc, initials, resolveBrand, tone, type Brand } from './brand.js';
import { packageRoot } from '../package-root.js';
import type { Runtime } from '../runtime.js';

/** The pages orgconnect renders. A `views.dir` may override any of them, one file at a time. */
export type ViewName = 'login' | 'select-organization' | 'consent' | 'error' | 'logout' | 'logged-out' | 'device-code' | 'device-confirm' | 'device-success' | 'connected-apps';

export interface ViewsOptions {
  /**
   * A folder of .ejs files: a file named like a built-in view (`login.ejs`, `layout.ejs`,
   * `partials/app-logo.ejs`...) replaces it; the others stay orgconnect's. Its `assets/` folder is
   * served under `<issuer>/assets/`, and an `assets/custom.css` there is linked by every page.
   * The contract (variables, form fields) is in docs/views.md.
   */
  dir?: string;
}

/** The brand as templates see it (`brand.*`): the option's fields plus what the header needs. */
export interface TemplateBrand extends Brand {
  initials: string;
  tone: string;
}

export interface Views {
  /**
   * Renders a page inside the layout. `data.brand` is the validated brand of this request (none:
   * the default look). Templates escape what they print (`<%= %>`).
   */
  render(name: ViewName, data: Record<string, unknown> & { brand?: Brand }): Promise<string>;
}

const BUILTIN = join(packageRoot, 'views');

/**
 * @param base the issuer's path ('' or '/oauth'): every template gets it for links and assets.
 */
export function createViews(options: ViewsOptions = {}, base = ''): Views {
  const compiled = new Map<string, ejs.AsyncTemplateFunction>();

  const resolved = new Map<string, string>();

  /**
   * A template file: the custom folder's when it has one, orgconnect's otherwise. Looked up once
   * per process, like the compiled templates (names come from orgconnect and its templates only).
   */
  function resolve(file: string): string {
    let path = resolved.get(file);
    if (path === undefined) {
      const relative = normalize(file.endsWith('.ejs') ? file : `${file}.ejs`);
      if (relative.startsWith('..')) throw new Error(`orgconnect: template path ${file} leaves the views folder`);
      const custom = options.dir ? join(options.dir, relative) : undefined;
      path = custom && existsSync(custom) ? custom : join(BUILTIN, relative);
      resolved.set(file, path);
    }
    return path;
  }

  async function template(file: string): Promise<ejs.AsyncTemplateFunction> {
    const path = resolve(file);
    let fn = compiled.get(path);
    if (!fn) {
      fn = ejs.compile(await readFile(path, 'utf8'), {
        async: true,
        filename: path,
        cache: true, // partials: compiled once per file, like the views themselves
        // `include('partials/x')` picks an override of the partial too, from any template.
        includer: (original) => ({ filename: resolve(original) }),
      });
      compiled.set(path, fn);
    }
    return fn;
  }

  function stylesheets(brand: Brand): string[] {
    return [
      assetUrl(options.dir, base, 'orgconnect.css'),
      brand.primaryColor ? brandStylesheetUrl(base, brand.primaryColor) : undefined,
      options.dir ? assetUrl(options.dir, base, 'custom.css') : undefined,
    ].filter((href): href is string => href !== undefined);
  }

  return {
    async render(name, data) {
      const brand: Brand = data.brand ?? {};
      // Object.assign, not `{ ...data, base, ... }`: on Node 20 (V8 11) an object spread followed by
      // more properties is about 50 times slower (several µs per object).
      const templateBrand: TemplateBrand = Object.assign({}, brand, {
        logoUrl: imageSrc(brand.logoUrl),
        logoUrlDark: imageSrc(brand.logoUrlDark),
        initials: initials(brand.name),
        tone: tone(brand.name),
      });
      const locals = Object.assign({ error: undefined }, data, { base, view: name, brand: templateBrand, stylesheets: stylesheets(brand) });
      const body = await (await template(`${name}.ejs`))(locals);
      return (await template('layout.ejs'))(Object.assign(locals, { body }));
    },
  };
}

/**
 * Renders a page as the response: the brand of this request (the `brand` option or its hook),
 * no caching (pages show who is signed in), HTML.
 */
export async function renderPage(
  runtime: Runtime,
  ctx: Context,
  name: ViewName,
  data: Record<string, unknown>,
  request: { clientId?: string } = {},
): Promise<void> {
  const brand = await resolveBrand(runtime.options.brand, ctx, { clientId: request.clientId, view: name });
  const html = await runtime.views.render(name, Object.assign({}, data, { brand }));
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = html;
}

/**
 * oidc-provider's logout pages (`features.rpInitiatedLogout`): the sign-out question, whose
 * buttons submit oidc-provider's own form (`form`, with its xsrf field), and the signed-out page.
 */
export function logoutPages(runtime: Runtime) {
  return {
    async logoutSource(ctx: KoaContextWithOIDC, form: string): Promise<void> {
      const client = ctx.oidc.client;
      await renderPage(runtime, ctx, 'logout', { title: 'Sign out', form, formId: 'op.logoutForm', clientName: client?.clientName }, { clientId: client?.clientId });
    },
    async postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
      const client = ctx.oidc.client;
      await renderPage(runtime, ctx, 'logged-out', { title: 'Signed out', clientName: client?.clientName }, { clientId: client?.clientId });
    },
  };
}
