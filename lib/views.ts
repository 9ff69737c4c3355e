import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import ejs from 'ejs';

import { packageRoot } from './package-root.js';

/** The pages orgconnect renders. A `views.dir` may override any of them, one file at a time. */
export type ViewName = 'login' | 'select-organization' | 'consent' | 'error' | 'logout' | 'logged-out';

export interface ViewsOptions {
  /** A folder of .ejs files; a file named like a built-in view replaces it, `layout.ejs` included. */
  dir?: string;
}

export interface Views {
  /** Renders a page inside the layout. Data is escaped by the templates (`<%= %>`). */
  render(name: ViewName, data: Record<string, unknown>): Promise<string>;
}

const BUILTIN = join(packageRoot, 'views');

/**
 * @param base the issuer's path ('' or '/oauth'): every template gets it for links and assets.
 */
export function createViews(options: ViewsOptions = {}, base = ''): Views {
  const compiled = new Map<string, ejs.AsyncTemplateFunction>();

  async function template(file: string): Promise<ejs.AsyncTemplateFunction> {
    const custom = options.dir ? join(options.dir, file) : undefined;
    const path = custom && existsSync(custom) ? custom : join(BUILTIN, file);
    let fn = compiled.get(path);
    if (!fn) {
      fn = ejs.compile(await readFile(path, 'utf8'), { async: true, filename: path });
      compiled.set(path, fn);
    }
    return fn;
  }

  return {
    async render(name, data) {
      const locals = { error: undefined, ...data, base };
      const body = await (await template(`${name}.ejs`))(locals);
      return (await template('layout.ejs'))({ ...locals, body, view: name });
    },
  };
}
