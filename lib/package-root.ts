import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding orgconnect's package.json, views and fixtures. Code runs from `lib/` under
 * tsx and from `dist/lib/` once built, so the depth differs: walk up to find it.
 */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'views'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('orgconnect: cannot find the package folder (views/ is missing)');
    dir = parent;
  }
  return dir;
})();
