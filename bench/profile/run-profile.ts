import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { createSharedSecrets } from '../fixtures.js';
import type { Args, TargetPlan } from '../plan.js';
import { log, ticker } from '../progress.js';
import { startBenchRedis } from '../redis.js';
import { authorizationCode, authorizationCodeScrypt } from '../scenarios/authorization-code.js';
import { clientCredentials } from '../scenarios/client-credentials.js';
import { introspection } from '../scenarios/introspection.js';
import { jwtVerifyScenario } from '../scenarios/jwt-verify.js';
import { refreshToken } from '../scenarios/refresh-token.js';
import type { Scenario, ScenarioName, Target } from '../scenarios/types.js';
import { launchServer, type ServerHandle } from '../servers/launch.js';
import { summarizeProfile, type ProfileSummary } from './summarize.js';

const SCENARIOS: Record<ScenarioName, Scenario> = {
  client_credentials: clientCredentials,
  authorization_code: authorizationCode,
  authorization_code_scrypt: authorizationCodeScrypt,
  refresh_token: refreshToken,
  introspection,
  jwt_verify: jwtVerifyScenario,
};
const profiled = (store: 'memory' | 'redis'): TargetPlan[] => [
  { name: `orgconnect·${store}·RS256`, kind: 'orgconnect', store, alg: 'RS256' },
  { name: `baseline·${store}·RS256`, kind: 'baseline', store, alg: 'RS256' },
];
const CONCURRENCY = 8;
/** Sampling interval, µs: finer than node's default 1000 for short runs. */
const INTERVAL_US = 250;

interface Profiled {
  plan: TargetPlan;
  handle: ServerHandle;
  target: Target;
  dir: string;
  windows: Map<ScenarioName, { window: [number, number]; operations: number; cpuMs: number }>;
}

/**
 * `--profile=a,b`: orgconnect and the baseline, memory store (`--profile-store=redis`: Redis), each in a child started with
 * `--cpu-prof`; every scenario runs (warm-up, then a measured run at concurrency 8, three times the
 * plan's count), and the profile is read back for the measured windows only. Prints, per scenario
 * and server, self time by package and the top functions, and the time under each orgconnect
 * function. The .cpuprofile files stay under bench/results/profiles/ (open them in Chrome DevTools).
 */
export async function runProfile(args: Args, resultsDir: string, stamp: string): Promise<string> {
  const names = args.profile!;
  const base = join(resultsDir, 'profiles', stamp);
  const secrets = await createSharedSecrets();
  const servers: Profiled[] = [];
  const PROFILED = profiled(args.profileStore);
  const redis = args.profileStore === 'redis' ? await startBenchRedis() : undefined;
  log(`profiling ${names.join(', ')} on ${PROFILED.map((p) => p.name).join(' and ')} (--cpu-prof, ${INTERVAL_US} µs), files in ${base}`);
  try {
    for (const plan of PROFILED) {
      const dir = join(base, plan.kind);
      mkdirSync(dir, { recursive: true });
      const spec = { kind: plan.kind, store: plan.store, alg: plan.alg, redisUrl: redis?.url, prefix: `profile-${plan.kind}:` };
      const handle = await launchServer({ ...spec, secrets }, { cpuProfDir: dir, cpuProfInterval: INTERVAL_US });
      servers.push({ plan, handle, dir, target: { name: plan.name, spec, issuer: handle.issuer, state: new Map() }, windows: new Map() });
    }
    const deadline = Date.now() + args.plan.timeCapMs;
    for (const name of names) {
      const scenario = SCENARIOS[name];
      const count = Math.max(args.plan.counts[name], 8) * 3;
      for (const s of servers) {
        await scenario.prepare?.(s.target, deadline, CONCURRENCY);
        await scenario.beforeRun?.(s.target);
        await scenario.run({ target: s.target, count: Math.max(args.plan.warmup[name], 8), concurrency: CONCURRENCY, deadline });
      }
      for (const s of servers) {
        await scenario.beforeRun?.(s.target);
        const before = await s.handle.stats();
        const result = await scenario.run({ target: s.target, count, concurrency: CONCURRENCY, deadline, onProgress: ticker(`${name} ${s.plan.name}`, count) });
        const after = await s.handle.stats();
        const operations = result.ok + result.errors;
        s.windows.set(name, { window: [before.monotonicUs, after.monotonicUs], operations, cpuMs: (after.cpuUs - before.cpuUs) / 1000 });
        log(`${name} on ${s.plan.name}: ${operations} ops, ${result.throughput.toFixed(1)}/s under the profiler, ${((after.cpuUs - before.cpuUs) / 1000 / operations).toFixed(2)} ms CPU/op, ${result.errors} errors`);
      }
    }
  } finally {
    // The profile is written when the child exits normally.
    await Promise.all(servers.map((s) => s.handle.stop(30_000)));
    await redis?.stop();
  }

  const summaries: Summary[] = [];
  for (const s of servers) {
    const file = readdirSync(s.dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no CPU profile written in ${s.dir}`);
    for (const [scenario, { window, operations, cpuMs }] of s.windows) {
      summaries.push({ scenario, server: s.plan.name, operations, cpuMs, file: join(s.dir, file), window, summary: summarizeProfile(join(s.dir, file), [window], 400) });
    }
  }
  const jsonFile = join(base, 'summary.json');
  writeFileSync(jsonFile, `${JSON.stringify(summaries, null, 2)}\n`);
  log(`summary: ${jsonFile}`);
  return renderProfiles(summaries);
}

const pct = (share: number) => `${(share * 100).toFixed(1)}%`;

interface Summary {
  scenario: ScenarioName;
  server: string;
  operations: number;
  cpuMs: number;
  file: string;
  /** process.hrtime µs of the measured run */
  window: [number, number];
  summary: ProfileSummary;
}

/** Functions whose self time per operation grows the most from the baseline to orgconnect. */
function differences(orgconnect: Summary, baseline: Summary, top = 15) {
  const perOp = (s: Summary) => new Map(s.summary.topSelf.map((f) => [`${f.name}\n${f.location}`, { ...f, perOp: f.ms / s.operations }]));
  const a = perOp(orgconnect);
  const b = perOp(baseline);
  return [...new Set([...a.keys(), ...b.keys()])]
    .map((key) => ({ key, fn: a.get(key) ?? b.get(key)!, delta: (a.get(key)?.perOp ?? 0) - (b.get(key)?.perOp ?? 0) }))
    .sort((x, y) => y.delta - x.delta)
    .slice(0, top);
}

function renderProfiles(summaries: Summary[]): string {
  const out: string[] = ['## CPU profiles (main thread, measured window only)', ''];
  for (const scenario of [...new Set(summaries.map((s) => s.scenario))]) {
    const pair = summaries.filter((s) => s.scenario === scenario);
    out.push(`### ${scenario}`, '');
    out.push('| server | operations | main-thread busy ms/op | process CPU ms/op |', '| --- | ---: | ---: | ---: |');
    for (const s of pair) out.push(`| ${s.server} | ${s.operations} | ${(s.summary.busyMs / s.operations).toFixed(2)} | ${(s.cpuMs / s.operations).toFixed(2)} |`);
    out.push('');
    const packages = [...new Set(pair.flatMap((s) => s.summary.packages.map((p) => p.package)))];
    out.push(`| self time by package (ms/op, share) | ${pair.map((s) => s.server).join(' | ')} |`, `| --- | ${pair.map(() => '---:').join(' | ')} |`);
    const msPerOp = (s: (typeof pair)[number], pkg: string) => {
      const p = s.summary.packages.find((x) => x.package === pkg);
      return p ? `${(p.ms / s.operations).toFixed(2)} (${pct(p.share)})` : '';
    };
    packages
      .sort((a, b) => Math.max(...pair.map((s) => s.summary.packages.find((x) => x.package === b)?.ms ?? 0)) - Math.max(...pair.map((s) => s.summary.packages.find((x) => x.package === a)?.ms ?? 0)))
      .slice(0, 14)
      .forEach((pkg) => out.push(`| ${pkg} | ${pair.map((s) => msPerOp(s, pkg)).join(' | ')} |`));
    out.push('');
    const orgconnect = pair.find((s) => s.server.startsWith('orgconnect'));
    const baseline = pair.find((s) => s.server.startsWith('baseline'));
    if (orgconnect && baseline) {
      out.push('Largest increases of self time per operation, orgconnect over the baseline:', '', '| function | package | location | + ms/op |', '| --- | --- | --- | ---: |');
      for (const d of differences(orgconnect, baseline)) out.push(`| ${d.fn.name} | ${d.fn.package} | ${d.fn.location} | ${d.delta.toFixed(3)} |`);
      out.push('');
    }
    for (const s of pair) {
      out.push(`Top self time, ${s.server}:`, '', '| function | package | location | ms/op | share |', '| --- | --- | --- | ---: | ---: |');
      for (const f of s.summary.topSelf.slice(0, 12)) out.push(`| ${f.name} | ${f.package} | ${f.location} | ${(f.ms / s.operations).toFixed(3)} | ${pct(f.share)} |`);
      out.push('');
      if (s.summary.orgconnectInnermost.length) {
        out.push(
          `Time under the innermost orgconnect function on the stack (callees included), ${s.server}:`,
          '',
          '| function | location | ms/op | share |',
          '| --- | --- | ---: | ---: |',
        );
        for (const f of s.summary.orgconnectInnermost.slice(0, 15)) out.push(`| ${f.name} | ${f.location} | ${(f.ms / s.operations).toFixed(3)} | ${pct(f.share)} |`);
        out.push('');
      }
    }
  }
  return out.join('\n');
}
