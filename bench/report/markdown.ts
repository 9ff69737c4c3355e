import { serverCpu } from './ratios.js';
import type { BenchReport, RunRecord } from './types.js';

const MB = 2 ** 20;
const mb = (bytes: number | undefined) => (bytes === undefined || Number.isNaN(bytes) ? 'n/a' : `${Math.round(bytes / MB)}`);
const num = (value: number | undefined, digits?: number) => {
  if (value === undefined || Number.isNaN(value)) return 'n/a';
  const d = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
  return value.toFixed(d);
};
const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
/** A header row; the first `textColumns` columns are left-aligned text, the others right-aligned numbers. */
const header = (cells: string[], textColumns = 2) => [row(cells), row(cells.map((_, i) => (i < textColumns ? '---' : '---:')))].join('\n');

const SCENARIO_TITLES: Record<string, string> = {
  client_credentials: 'client_credentials',
  authorization_code: 'authorization_code flow',
  authorization_code_scrypt: 'flow, scrypt login',
  refresh_token: 'refresh_token',
  introspection: 'introspection',
  jwt_verify: 'JWT verify (jose, in-process)',
};

/** The report as Markdown: what `npm run bench` prints on stdout and docs/benchmarks.md quotes. */
export function renderMarkdown(report: BenchReport): string {
  const out: string[] = [];
  const m = report.machine;
  out.push(`## Results: ${report.mode} run, ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC${report.rounds > 1 ? `, fastest of ${report.rounds} rounds` : ''}`);
  out.push('');
  out.push(
    `Machine: ${m.nproc} CPUs (${m.cpuModel}), memory ${m.memory}; Node ${m.node}, oidc-provider ${m.oidcProvider}` +
      (m.redis ? `, ${m.redis.replace(/ sha=.*/, '')}` : '') +
      (m.revision ? `; code: ${m.revision}` : '') +
      `; ${m.pinning ? `pinned: ${m.pinning}` : 'not pinned (processes share all CPUs)'}` +
      `. Load average at start ${m.loadAverageStart.join(' ')}, at end ${m.loadAverageEnd?.join(' ') ?? 'n/a'}.`,
  );
  out.push('');

  const scenarios = [...new Set(report.runs.map((r) => r.scenario))];
  const levels = [...new Set(report.runs.map((r) => r.concurrency))].sort((a, b) => a - b);
  const targets = report.targets.map((t) => t.name);
  const find = (target: string, scenario: string, c: number) => report.runs.find((r) => r.target === target && r.scenario === scenario && r.concurrency === c);

  if (report.runs.length) {
    out.push('### Throughput and latency');
    out.push('');
    out.push(
      'Operations per second (flows/s for the flows), p50 and p99 latency in ms per operation; CPU per operation of the server process (with several rounds: the least) and of the bench (load generator, same cores), at the highest concurrency; peak RSS of the server process over the levels.',
    );
    out.push('');
    out.push(header(['scenario', 'server', ...levels.flatMap((c) => [`c=${c} ops/s`, `c=${c} p50 / p99 ms`]), 'server CPU ms/op', 'bench CPU ms/op', 'peak RSS MB', 'errors']));
    for (const scenario of scenarios) {
      for (const target of targets) {
        const runs = levels.map((c) => find(target, scenario, c));
        if (runs.every((r) => !r)) continue;
        const last = [...runs].reverse().find((r): r is RunRecord => r !== undefined)!;
        const errors = runs.reduce((n, r) => n + (r?.result.errors ?? 0), 0);
        out.push(
          row([
            SCENARIO_TITLES[scenario] ?? scenario,
            target,
            ...runs.flatMap((r) => (r ? [num(r.result.throughput) + (r.result.truncated ? '*' : ''), `${num(r.result.latency.p50, 1)} / ${num(r.result.latency.p99, 1)}`] : ['', ''])),
            last.server ? num(serverCpu(last)) : '',
            num(last.clientCpuMsPerOp),
            last.server ? mb(Math.max(...runs.map((r) => r?.server?.peakRss ?? 0))) : '',
            errors,
          ]),
        );
      }
    }
    if (report.runs.some((r) => r.result.truncated)) out.push('\n`*` cut short by the time cap.');
    out.push('');
  }

  if (report.ratios.length) {
    out.push('### Ratios');
    out.push('');
    out.push(
      'Throughput ratio per concurrency level; in brackets the server-CPU ratio (denominator CPU/op over numerator CPU/op: below 1 means more server work per operation). ' +
        (report.rounds > 1 ? `With ${report.rounds} rounds, each ratio is the median of the ${report.rounds} per-round ratios (the two runs of a round follow each other), not the ratio of the fastest rounds in the table above. ` : '') +
        '✗ marks a throughput ratio below its target.',
    );
    out.push('');
    const names = [...new Set(report.ratios.map((r) => r.name))];
    out.push(header(['ratio', 'scenario', 'target', ...levels.map((c) => `c=${c}`)], 3));
    for (const name of names) {
      for (const scenario of scenarios) {
        const ratios = levels.map((c) => report.ratios.find((r) => r.name === name && r.scenario === scenario && r.concurrency === c));
        if (ratios.every((r) => !r)) continue;
        const target = ratios.find((r) => r?.target !== undefined)?.target;
        out.push(
          row([
            name,
            SCENARIO_TITLES[scenario] ?? scenario,
            target === undefined ? '' : `≥ ${target}`,
            ...ratios.map((r) =>
              r ? `${num(r.value, 2)}${r.target !== undefined && r.value < r.target ? ' ✗' : ''}${r.cpuValue !== undefined ? ` (${num(r.cpuValue, 2)})` : ''}` : '',
            ),
          ]),
        );
      }
    }
    out.push('');
  }

  if (report.targets.length) {
    out.push('### Server processes');
    out.push('');
    out.push(header(['server', 'RSS start MB', 'RSS end MB', 'RSS end after GC MB', 'peak RSS MB', 'store records at end'], 1));
    for (const t of report.targets) {
      out.push(row([t.name, mb(t.rssStart), mb(t.rssEnd), mb(t.rssEndAfterGc), mb(t.maxRss), t.storeSizeEnd ?? (t.store === 'redis' ? 'in Redis' : 'n/a')]));
    }
    if (report.redis) out.push(row(['redis-server (shared by the Redis servers)', '', mb(report.redis.rss), '', mb(report.redis.peakRss), `${mb(report.redis.usedMemory)} MB used`]));
    out.push('');
  }

  if (report.startup) {
    const s = report.startup;
    out.push(`### Start-up with a large seed: ${s.users} users, ${s.applications} applications`);
    out.push('');
    out.push(
      'createProvider on the memory store in a fresh process (bench/startup/), each step alone; scrypt calls are password and client-secret hashing, scrypt ms the wall time they were in flight. ' +
        `RSS with the whole seed loaded: ${mb(s.rssAfterStart)} MB.`,
    );
    out.push('');
    out.push(header(['step', 'ms', 'scrypt calls', 'scrypt ms'], 1));
    for (const p of s.phases) out.push(row([p.name, num(p.ms, 0), p.scryptCalls, num(p.scryptMs, 0)]));
    out.push('');
  }

  const redisRuns = report.runs.filter((r) => r.server?.storeCommandsPerOp !== undefined && r.server.storeCommandsPerOp > 0);
  if (redisRuns.length) {
    out.push('### Redis commands per operation');
    out.push('');
    out.push('Sent by the store adapter (`RedisStore.commandCount`, MULTI/EXEC included) and counted by the server (`INFO commandstats` deltas, commands run inside Lua scripts included), at the highest concurrency.');
    out.push('');
    out.push(row(['scenario', 'server', 'adapter commands/op', 'server calls/op', 'redis-server CPU ms/op', 'top server calls/op']));
    out.push(row(['---', '---', '---:', '---:', '---:', '---']));
    for (const scenario of scenarios) {
      for (const target of targets) {
        const r = [...levels].reverse().map((c) => find(target, scenario, c)).find((x) => x?.server?.storeCommandsPerOp !== undefined);
        if (!r?.server?.redisCalls) continue;
        const ops = Math.max(1, r.result.ok + r.result.errors);
        const top = Object.entries(r.server.redisCalls)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 6)
          .map(([name, calls]) => `${name} ${num(calls / ops, 1)}`)
          .join(', ');
        out.push(
          row([SCENARIO_TITLES[scenario] ?? scenario, target, num(r.server.storeCommandsPerOp, 1), num(r.server.redisCallsPerOp, 1), num(r.server.redisCpuMsPerOp), top]),
        );
      }
    }
    out.push('');
  }

  const stepKeys = Object.keys(report.stepTimes).filter((k) => k.includes(' sha256 '));
  if (stepKeys.length) {
    const c = levels.includes(8) ? 8 : levels[0];
    const keys = stepKeys.filter((k) => k.endsWith(` c=${c}`));
    const steps = [...new Set(keys.flatMap((k) => Object.keys(report.stepTimes[k]!)))];
    out.push(`### Where a flow's time goes (ms per flow, c=${c})`);
    out.push('');
    out.push(header(['step', ...keys.map((k) => k.replace(/ sha256 c=\d+$/, ''))], 1));
    for (const step of steps) out.push(row([step, ...keys.map((k) => num(report.stepTimes[k]![step], 1))]));
    out.push(row(['**total**', ...keys.map((k) => num(Object.values(report.stepTimes[k]!).reduce((a, b) => a + b, 0), 1))]));
    out.push('');
  }

  if (report.soak) {
    const s = report.soak;
    out.push(`### Memory soak: ${s.target}`);
    out.push('');
    out.push(
      `TTLs ${Object.entries(s.ttl).map(([k, v]) => `${k} ${v} s`).join(', ')}; concurrency ${s.concurrency}; ${s.flows} flows, ${s.refreshes} refreshes, ${s.clientCredentials} client_credentials, ${s.errors} errors.`,
    );
    out.push('');
    out.push(header(['phase', 'seconds', 'operations', 'RSS MB', 'heap MB', 'store records'], 1));
    for (const sample of s.samples) out.push(row([sample.phase, num(sample.seconds, 0), sample.operations, mb(sample.rss), mb(sample.heapUsed), sample.storeSize ?? 'n/a']));
    out.push('');
  }
  for (const note of report.notes) out.push(`Note: ${note}`);
  return out.join('\n');
}
