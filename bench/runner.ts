import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { createSharedSecrets, type SharedSecrets } from './fixtures.js';
import type { Args, TargetPlan } from './plan.js';
import { log, mb, ticker } from './progress.js';
import { describePinning, enablePinning } from './pin.js';
import { commandDelta, startBenchRedis, type BenchRedis } from './redis.js';
import { computeRatios } from './report/ratios.js';
import { machineInfo } from './report/machine.js';
import type { BenchReport, RunRecord, StartupRecord, TargetRecord } from './report/types.js';
import { authorizationCode, authorizationCodeScrypt, stepTimes } from './scenarios/authorization-code.js';
import { clientCredentials } from './scenarios/client-credentials.js';
import { introspection } from './scenarios/introspection.js';
import { jwtVerifyScenario } from './scenarios/jwt-verify.js';
import { refreshToken } from './scenarios/refresh-token.js';
import { runSoak } from './scenarios/soak.js';
import { measureStartup } from './startup/run.js';
import type { Scenario, Target } from './scenarios/types.js';
import { launchServer, type ServerHandle } from './servers/launch.js';

/** In the order they run: scenarios that need the most tokens and state come after the simple ones. */
const SCENARIOS: Scenario[] = [clientCredentials, authorizationCode, refreshToken, introspection, jwtVerifyScenario, authorizationCodeScrypt];

/** A full GC of the bench process before each measured run, so that garbage of the previous run is not collected during this one. */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

interface Live {
  plan: TargetPlan;
  handle: ServerHandle;
  target: Target;
  record: TargetRecord;
}

/** Starts every server at once (start-up is mostly waiting on files and keys), then reads their idle RSS. */
export async function startTargets(plans: TargetPlan[], secrets: SharedSecrets, redis: BenchRedis | undefined): Promise<Live[]> {
  const t0 = performance.now();
  const started = await Promise.all(
    plans.map(async (plan) => {
    const spec = {
      kind: plan.kind,
      store: plan.store,
      alg: plan.alg,
      redisUrl: redis?.url,
      prefix: `bench-${plan.kind}-${plan.alg}-${process.pid}:`,
    };
      return { plan, spec, handle: await launchServer({ ...spec, secrets }) };
    }),
  ); // on failure the bench exits, and launch.ts kills every child it started
  const live: Live[] = [];
  for (const { plan, spec, handle } of started) {
    const stats = await handle.stats();
    log(`  ${plan.name} listening at ${handle.issuer} (pid ${handle.pid}, RSS ${mb(stats.rss)})`);
    live.push({
      plan,
      handle,
      target: { name: plan.name, spec, issuer: handle.issuer, state: new Map() },
      record: { name: plan.name, kind: plan.kind, store: plan.store, alg: plan.alg, pid: handle.pid, rssStart: stats.rss },
    });
  }
  log(`  ${live.length} servers up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return live;
}

/**
 * The benchmark: every target runs every scenario at every concurrency level, a fixed number of
 * operations each. Runs are interleaved (scenario -> level -> target) so that orgconnect and the
 * baseline meet the same conditions on a machine whose load varies. Nothing new starts after the
 * time cap; what was measured is still reported.
 */
export async function runBench(args: Args): Promise<BenchReport> {
  const { plan } = args;
  const startedAt = new Date();
  const info = machineInfo();
  // Before pinning (its child would inherit the bench's CPU) and outside the time cap.
  const startup = plan.startup && args.startup ? await measureStartup(plan.startup) : undefined;
  if (args.startupOnly) return startupOnlyReport(args, startedAt, info, startup);
  const deadline = Date.now() + plan.timeCapMs;
  const machine = { ...info, pinning: args.pin ? (enablePinning(), describePinning()) : undefined };
  const notes: string[] = [];
  const targets = plan.targets.filter((t) => !args.targets || args.targets.some((name) => t.name.includes(name)));
  if (targets.length === 0) throw new Error('no target left by --targets');
  const scenarios = SCENARIOS.filter((s) => plan.counts[s.name] > 0 && (!args.scenarios || args.scenarios.includes(s.name)));

  log(`orgconnect bench (${plan.mode}): ${targets.length} servers, ${scenarios.length} scenarios, concurrency ${plan.levels.join('/')}, load average ${machine.loadAverageStart.join(' ')}`);
  const redis = targets.some((t) => t.store === 'redis') ? await startBenchRedis() : undefined;
  if (redis) log(`  redis-server at ${redis.url}`);
  const secrets = await createSharedSecrets();
  const live = await startTargets(targets, secrets, redis);
  const runs: RunRecord[] = [];
  let truncated = false;

  try {
    const totalRuns = scenarios.reduce(
      (n, s) => n + (s.name === 'authorization_code_scrypt' ? plan.scryptLevels : plan.levels).length * live.filter((l) => runsScenario(l, s)).length,
      0,
    );
    let runIndex = 0;
    // Every run may use the time left, except what is kept for the runs after it (a warm-up counts
    // for half a run): when time runs short, each run still gets a fair share and every scenario is
    // measured, on fewer operations (marked as cut short). Normally nothing is cut.
    const soakReserve = plan.soak && args.soak ? plan.soak.durationMs + 120_000 : 0;
    let unitsLeft = totalRuns * args.rounds + 0.5 * scenarios.reduce((n, s) => n + live.filter((l) => runsScenario(l, s)).length, 0);
    const share = (units: number) => {
      unitsLeft = Math.max(0, unitsLeft - units);
      const end = deadline - soakReserve;
      const fair = Date.now() + (units * Math.max(0, end - Date.now())) / Math.max(units, unitsLeft + units);
      return Math.min(deadline, Math.max(fair, end - unitsLeft * plan.reservePerRunMs));
    };
    for (const [scenarioIndex, scenario] of scenarios.entries()) {
      const active = live.filter((l) => runsScenario(l, scenario));
      const levels = scenario.name === 'authorization_code_scrypt' ? plan.scryptLevels : plan.levels;
      if (active.length === 0 || levels.length === 0) continue;
      log(`\n${scenario.name}: ${scenario.description}`);
      for (const l of active) {
        if (Date.now() >= deadline) break;
        const until = share(0.5);
        await scenario.prepare?.(l.target, deadline, Math.max(...levels));
        await scenario.beforeRun?.(l.target);
        const warm = await scenario.run({ target: l.target, count: plan.warmup[scenario.name], concurrency: Math.max(...levels), deadline: until });
        if (warm.errors) throw new Error(`${scenario.name} on ${l.plan.name} fails: ${warm.sampleErrors.join('; ')}`);
      }
      for (const [levelIndex, concurrency] of levels.entries()) {
        // Who goes first changes from level to level, so no server always meets a cold or busy machine.
        const order = active.map((_, i) => active[(i + levelIndex + scenarioIndex) % active.length]!);
        const measured = new Map<Live, RunRecord[]>();
        for (let round = 0; round < args.rounds; round += 1) {
          for (const l of round % 2 ? [...order].reverse() : order) {
            if (Date.now() >= deadline) {
              truncated = true;
              continue;
            }
            const count = plan.counts[scenario.name];
            const label = `[${runIndex + order.indexOf(l) + 1}/${totalRuns}]${args.rounds > 1 ? ` round ${round + 1}/${args.rounds}` : ''} ${scenario.name} c=${concurrency} ${l.plan.name}`;
            const record = await measure(l, scenario, count, concurrency, share(1), redis, ticker(label, count));
            truncated ||= record.result.truncated;
            measured.set(l, [...(measured.get(l) ?? []), record]);
            const r = record.result;
            log(
              `${label}: ${r.throughput.toFixed(1)} ${scenario.unit}s/s, p50 ${r.latency.p50.toFixed(1)} ms, p99 ${r.latency.p99.toFixed(1)} ms` +
                (record.server ? `, server ${record.server.cpuMsPerOp.toFixed(2)} ms CPU/op, peak RSS ${mb(record.server.peakRss)}` : '') +
                (record.server?.storeCommandsPerOp !== undefined ? `, ${record.server.storeCommandsPerOp.toFixed(1)} Redis cmds/op` : '') +
                (r.errors ? `, ${r.errors} ERRORS (${r.sampleErrors.join('; ')})` : '') +
                (r.truncated ? ' (cut by the time cap)' : ''),
            );
          }
        }
        runIndex += order.length;
        for (const l of order) {
          const records = measured.get(l);
          if (records?.length) runs.push(fastest(records));
        }
      }
    }

    for (const l of live) {
      const end = await l.handle.stats();
      await l.handle.gc();
      const afterGc = await l.handle.stats();
      Object.assign(l.record, { rssEnd: end.rss, rssEndAfterGc: afterGc.rss, maxRss: afterGc.maxRss, storeSizeEnd: afterGc.storeSize });
    }
  } finally {
    await Promise.all(live.map((l) => l.handle.stop()));
  }

  let soak: BenchReport['soak'];
  if (plan.soak && args.soak && (!args.targets || args.targets.some((name) => 'orgconnect·memory·RS256'.includes(name)))) {
    if (Date.now() + plan.soak.durationMs > deadline) {
      notes.push('soak skipped: not enough time left under the time cap');
      truncated = true;
    } else {
      soak = await runSoak(plan.soak, secrets, deadline);
    }
  }

  const redisMemory = redis ? await redis.memory() : undefined;
  await redis?.stop();
  machine.loadAverageEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  if (truncated) notes.push('the time cap cut some runs short or skipped them: see `truncated` in runs');

  return {
    version: 1,
    mode: plan.mode,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    plan,
    rounds: args.rounds,
    targets: live.map((l) => l.record),
    runs,
    stepTimes: Object.fromEntries(stepTimes),
    redis: redisMemory,
    soak,
    startup,
    ratios: computeRatios(runs),
    truncated,
    notes,
  };
}

/** `--startup-only`: a report with the start-up measurement and nothing else. */
function startupOnlyReport(args: Args, startedAt: Date, machine: BenchReport['machine'], startup: StartupRecord | undefined): BenchReport {
  machine.loadAverageEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  return {
    version: 1,
    mode: args.plan.mode,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    plan: args.plan,
    rounds: args.rounds,
    targets: [],
    runs: [],
    stepTimes: {},
    startup,
    ratios: [],
    truncated: false,
    notes: ['--startup-only: the start-up measurement alone'],
  };
}

/** The fastest of several rounds, remembering all of them. */
function fastest(records: RunRecord[]): RunRecord {
  if (records.length === 1) return records[0]!;
  const best = records.reduce((a, b) => (b.result.throughput > a.result.throughput ? b : a));
  return {
    ...best,
    rounds: records.map((r) => ({ throughput: r.result.throughput, p50: r.result.latency.p50, p99: r.result.latency.p99, cpuMsPerOp: r.server?.cpuMsPerOp })),
  };
}

function runsScenario(l: Live, scenario: Scenario): boolean {
  return !l.plan.scenarios || l.plan.scenarios.includes(scenario.name);
}

async function measure(
  l: Live,
  scenario: Scenario,
  count: number,
  concurrency: number,
  deadline: number,
  redis: BenchRedis | undefined,
  onProgress: (done: number) => void,
): Promise<RunRecord> {
  await scenario.beforeRun?.(l.target);
  const onRedis = redis && l.plan.store === 'redis';
  await l.handle.mark();
  const before = await l.handle.stats();
  const redisBefore = onRedis ? await redis.commandStats() : undefined;
  const redisCpuBefore = onRedis ? redis.cpuMs() : undefined;
  collectGarbage();
  const clientBefore = process.cpuUsage();
  const result = await scenario.run({ target: l.target, count, concurrency, deadline, onProgress });
  const client = process.cpuUsage(clientBefore);
  const redisCpuAfter = onRedis ? redis.cpuMs() : undefined;
  const after = await l.handle.stats();
  const redisAfter = onRedis ? await redis.commandStats() : undefined;
  const operations = Math.max(1, result.ok + result.errors);
  const record: RunRecord = {
    scenario: scenario.name,
    target: l.plan.name,
    concurrency,
    result,
    clientCpuMsPerOp: (client.user + client.system) / 1000 / operations,
  };
  if (scenario.server) {
    const calls = redisBefore && redisAfter ? commandDelta(redisBefore, redisAfter) : undefined;
    record.server = {
      peakRss: after.peakRss,
      rssAfter: after.rss,
      cpuMsPerOp: (after.cpuUs - before.cpuUs) / 1000 / operations,
      storeSize: after.storeSize,
      redisCpuMsPerOp: redisCpuBefore !== undefined && redisCpuAfter !== undefined ? (redisCpuAfter - redisCpuBefore) / operations : undefined,
      storeCommandsPerOp: after.storeCommands === undefined ? undefined : (after.storeCommands - before.storeCommands!) / operations,
      redisCallsPerOp: calls ? Object.values(calls).reduce((a, b) => a + b, 0) / operations : undefined,
      redisCalls: calls,
    };
  }
  return record;
}
