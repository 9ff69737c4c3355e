/**
 * Counts node:crypto scrypt calls and the wall time they are in flight (overlapping calls counted
 * once). Imported before orgconnect's modules, so those that keep a reference at load time
 * (`promisify(scrypt)`) get this one; the builtin's ESM exports are synced to it as well.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';

const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');

export const scryptStats = { calls: 0, busyMs: 0 };

let inFlight = 0;
let since = 0;
const original = crypto.scrypt;
crypto.scrypt = ((...args: unknown[]) => {
  scryptStats.calls += 1;
  if (inFlight++ === 0) since = performance.now();
  const callback = args.pop() as (...a: unknown[]) => void;
  return (original as (...a: unknown[]) => void)(...args, (...result: unknown[]) => {
    if (--inFlight === 0) scryptStats.busyMs += performance.now() - since;
    callback(...result);
  });
}) as typeof crypto.scrypt;
syncBuiltinESMExports();
