import type { Ratio, RunRecord } from './types.js';

/** The comparisons the bench exists for, with the targets (measured, not asserted). */
const PAIRS: Array<{ name: string; numerator: string; denominator: string; target?: number; scenarios?: string[] }> = [
  { name: 'orgconnect / baseline (memory)', numerator: 'orgconnect·memory·RS256', denominator: 'baseline·memory·RS256', target: 0.95 },
  { name: 'orgconnect / baseline (Redis)', numerator: 'orgconnect·redis·RS256', denominator: 'baseline·redis·RS256', target: 0.95 },
  { name: 'Redis / memory (orgconnect)', numerator: 'orgconnect·redis·RS256', denominator: 'orgconnect·memory·RS256' },
  { name: 'Redis / memory (baseline)', numerator: 'baseline·redis·RS256', denominator: 'baseline·memory·RS256' },
  { name: 'ES256 / RS256 (orgconnect, memory)', numerator: 'orgconnect·memory·ES256', denominator: 'orgconnect·memory·RS256' },
];

/** Redis >= 0.80 x memory is a target for the full flow only. */
const targetFor = (pair: (typeof PAIRS)[number], scenario: string) =>
  pair.name.startsWith('Redis / memory (orgconnect)') ? (scenario === 'authorization_code' ? 0.8 : undefined) : pair.target;

/** Server CPU per operation: with several rounds, the least (the round the machine disturbed least). */
export function serverCpu(run: RunRecord): number | undefined {
  const rounds = run.rounds?.map((r) => r.cpuMsPerOp).filter((c): c is number => c !== undefined) ?? [];
  return rounds.length ? Math.min(...rounds) : run.server?.cpuMsPerOp;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * numerator / denominator of a measure. With several rounds, the median of the per-round ratios:
 * the two servers' runs of one round follow each other, so a slow minute of a shared machine
 * weighs on both sides of a ratio instead of on one server's "fastest round".
 */
function ratioOf(numerator: RunRecord, denominator: RunRecord, measure: (round: NonNullable<RunRecord['rounds']>[number]) => number | undefined): number | undefined {
  const a = numerator.rounds ?? [];
  const b = denominator.rounds ?? [];
  if (a.length < 2 || a.length !== b.length) return undefined;
  const pairs = a.map((round, i) => [measure(round), measure(b[i]!)] as const).filter((p): p is readonly [number, number] => p[0] !== undefined && p[1] !== undefined && p[1] > 0);
  return pairs.length === a.length ? median(pairs.map(([x, y]) => x / y)) : undefined;
}

export function computeRatios(runs: RunRecord[]): Ratio[] {
  const find = (target: string, scenario: string, concurrency: number) =>
    runs.find((r) => r.target === target && r.scenario === scenario && r.concurrency === concurrency);
  const ratios: Ratio[] = [];
  const keys = [...new Set(runs.map((r) => `${r.scenario}\n${r.concurrency}`))];
  for (const pair of PAIRS) {
    for (const key of keys) {
      const [scenario, c] = key.split('\n') as [RunRecord['scenario'], string];
      // jwt_verify runs in the bench process and depends on the algorithm only: same work for every server.
      if (scenario === 'jwt_verify' && !pair.name.startsWith('ES256')) continue;
      const numerator = find(pair.numerator, scenario, Number(c));
      const denominator = find(pair.denominator, scenario, Number(c));
      if (!numerator || !denominator || !denominator.result.throughput) continue;
      const cpuN = serverCpu(numerator);
      const cpuD = serverCpu(denominator);
      ratios.push({
        scenario,
        concurrency: Number(c),
        name: pair.name,
        numerator: pair.numerator,
        denominator: pair.denominator,
        value: ratioOf(numerator, denominator, (r) => r.throughput) ?? numerator.result.throughput / denominator.result.throughput,
        // CPU per operation: the denominator's over the numerator's (below 1: more work per operation).
        cpuValue: ratioOf(denominator, numerator, (r) => r.cpuMsPerOp) ?? (cpuN && cpuD ? cpuD / cpuN : undefined),
        target: targetFor(pair, scenario),
      });
    }
  }
  return ratios;
}
