/** Latency summary of one measured run, in milliseconds. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function summarize(latencies: number[]): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  const list = Array.from(sorted);
  const sum = list.reduce((a, b) => a + b, 0);
  return {
    p50: percentile(list, 50),
    p90: percentile(list, 90),
    p99: percentile(list, 99),
    max: list.length ? list[list.length - 1]! : NaN,
    mean: list.length ? sum / list.length : NaN,
  };
}

/** Result of running a fixed number of operations at one concurrency. */
export interface RunResult {
  /** operations that completed successfully */
  ok: number;
  /** failed operations (non-2xx, wrong answer, network error) */
  errors: number;
  /** planned operations */
  planned: number;
  /** wall-clock of the measured run, ms */
  durationMs: number;
  /** successful operations per second */
  throughput: number;
  latency: LatencySummary;
  /** true when the global time cap stopped the run before `planned` operations */
  truncated: boolean;
  /** first error messages, for the report */
  sampleErrors: string[];
}
