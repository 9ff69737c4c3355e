import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The parts of a V8 .cpuprofile (node --cpu-prof) the summary reads. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  package: string;
  location: string;
  ms: number;
  /** share of the busy (non-idle) time */
  share: number;
}

export interface ProfileSummary {
  /** profiled wall time inside the windows, ms */
  windowMs: number;
  /** time the main thread was not idle, ms */
  busyMs: number;
  /** self time by package, native frames (JSON, RegExp, crypto bindings...) charged to their JS caller */
  packages: Array<{ package: string; ms: number; share: number }>;
  topSelf: FunctionTime[];
  /**
   * Each busy sample charged to the innermost orgconnect function on its stack (with everything it
   * called: oidc-provider, node...), largest first. Samples under no orgconnect function are not
   * counted; samples under only the edge middleware chain are oidc-provider's own request handling.
   */
  orgconnectInnermost: FunctionTime[];
}

const ROOT = pathToFileURL(fileURLToPath(new URL('../../', import.meta.url))).href;
const SPECIAL = new Set(['(garbage collector)', '(idle)', '(program)', '(root)']);

/** Which package a frame belongs to: a node_modules package, orgconnect (lib/ or adapters/), node core... */
export function packageOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8 (program)';
    if (functionName === '(root)') return 'root';
    return 'native';
  }
  if (url.startsWith('node:')) return 'node core';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const [first, second] = url.slice(nm + '/node_modules/'.length).split('/');
    return first!.startsWith('@') ? `${first}/${second}` : first!;
  }
  if (url.startsWith(`${ROOT}lib/`)) return 'orgconnect lib';
  if (url.startsWith(`${ROOT}adapters/`)) return 'orgconnect adapters';
  if (url.endsWith('.ejs')) return 'orgconnect views (EJS)';
  if (url.startsWith(`${ROOT}bench/`)) return 'bench (baseline glue)';
  return 'other';
}

/** tsx compiles a .ts file to one line, so only the file tells where a TypeScript function is. */
const shortLocation = (url: string, line: number) => {
  const file = url.replace(ROOT, '').replace(/^.*\/node_modules\//, '');
  return /\.ts$/.test(file) && line <= 0 ? file : `${file}:${line + 1}`;
};

/**
 * Self time (and time under orgconnect functions) from a CPU profile, restricted to time windows (process.hrtime
 * microseconds, the same monotonic clock as the profile's timestamps) so that start-up and idle
 * gaps between runs do not count. Without windows, the whole profile.
 */
export function summarizeProfile(path: string, windows: Array<[number, number]> = [], top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  // Sample i lasts until sample i+1.
  const times: number[] = [];
  let t = profile.startTime;
  for (const delta of profile.timeDeltas) times.push((t += delta));
  let inWindow = (at: number) => windows.length === 0 || windows.some(([from, to]) => at >= from && at <= to);
  if (windows.length && !times.some((at) => inWindow(at))) inWindow = () => true; // clocks disagree: use everything

  const self = new Map<number, number>();
  const innermostOrg = new Map<string, { ms: number; location: string; pkg: string }>();
  let windowMs = 0;
  let idleMs = 0;
  for (let i = 0; i < profile.samples.length - 1; i += 1) {
    if (!inWindow(times[i]!)) continue;
    const ms = (times[i + 1]! - times[i]!) / 1000;
    const id = profile.samples[i]!;
    windowMs += ms;
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    self.set(id, (self.get(id) ?? 0) + ms);
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const { callFrame } = byId.get(node)!;
      const pkg = packageOf(callFrame.url, callFrame.functionName);
      if (!pkg.startsWith('orgconnect')) continue;
      const key = `${callFrame.functionName || '(anonymous)'} ${shortLocation(callFrame.url, callFrame.lineNumber)}`;
      const entry = innermostOrg.get(key) ?? { ms: 0, location: shortLocation(callFrame.url, callFrame.lineNumber), pkg };
      entry.ms += ms;
      innermostOrg.set(key, entry);
      break;
    }
  }
  const busyMs = windowMs - idleMs;

  const packages = new Map<string, number>();
  const functions = new Map<string, FunctionTime>();
  for (const [id, ms] of self) {
    const { callFrame } = byId.get(id)!;
    let pkg = packageOf(callFrame.url, callFrame.functionName);
    // A native frame (JSON.parse, a crypto binding...) is charged to the nearest JS caller's package.
    if (pkg === 'native') {
      for (let node = parent.get(id); node !== undefined; node = parent.get(node)) {
        const { url, functionName } = byId.get(node)!.callFrame;
        if (url && !SPECIAL.has(functionName)) {
          pkg = packageOf(url, functionName);
          break;
        }
      }
    }
    packages.set(pkg, (packages.get(pkg) ?? 0) + ms);
    const location = callFrame.url ? shortLocation(callFrame.url, callFrame.lineNumber) : `(native, ${pkg})`;
    const key = `${callFrame.functionName || '(anonymous)'} ${location}`;
    const entry = functions.get(key) ?? { name: callFrame.functionName || '(anonymous)', package: pkg, location, ms: 0, share: 0 };
    entry.ms += ms;
    functions.set(key, entry);
  }
  const share = (ms: number) => (busyMs > 0 ? ms / busyMs : 0);
  return {
    windowMs,
    busyMs,
    packages: [...packages].map(([pkg, ms]) => ({ package: pkg, ms, share: share(ms) })).sort((a, b) => b.ms - a.ms),
    topSelf: [...functions.values()]
      .map((f) => ({ ...f, share: share(f.ms) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
    orgconnectInnermost: [...innermostOrg]
      .map(([key, e]) => ({ name: key.slice(0, key.indexOf(' ')), package: e.pkg, location: e.location, ms: e.ms, share: share(e.ms) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
  };
}

// `node --import tsx bench/profile/summarize.ts file.cpuprofile`: a summary of a whole profile.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node --import tsx bench/profile/summarize.ts FILE.cpuprofile\n');
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(summarizeProfile(file), null, 2)}\n`);
}
