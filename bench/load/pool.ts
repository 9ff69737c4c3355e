import { summarize, type RunResult } from './stats.js';

export interface PoolOptions {
  /** operations to run (fixed count) */
  count: number;
  concurrency: number;
  /** epoch ms after which no new operation starts (the bench's global time cap) */
  deadline: number;
  /** called every second or so with the number of finished operations */
  onProgress?: (done: number) => void;
}

/**
 * Runs `count` async operations with at most `concurrency` in flight, measuring each one. Bounded:
 * every worker stops after the count is reached or the deadline passed, whichever comes first.
 */
export async function runPool(options: PoolOptions, operation: (index: number) => Promise<void>): Promise<RunResult> {
  const latencies: number[] = [];
  const sampleErrors: string[] = [];
  let next = 0;
  let errors = 0;
  let truncated = false;
  const started = performance.now();
  let lastProgress = started;

  const worker = async () => {
    while (next < options.count) {
      if (Date.now() >= options.deadline) {
        truncated = true;
        return;
      }
      const index = next++;
      const t0 = performance.now();
      try {
        await operation(index);
        latencies.push(performance.now() - t0);
      } catch (error) {
        errors += 1;
        if (sampleErrors.length < 3) sampleErrors.push(error instanceof Error ? error.message : String(error));
      }
      const now = performance.now();
      if (options.onProgress && now - lastProgress > 1000) {
        lastProgress = now;
        options.onProgress(latencies.length + errors);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, options.count)) }, worker));
  const durationMs = performance.now() - started;
  return {
    ok: latencies.length,
    errors,
    planned: options.count,
    durationMs,
    throughput: latencies.length / (durationMs / 1000),
    latency: summarize(latencies),
    truncated,
    sampleErrors,
  };
}
