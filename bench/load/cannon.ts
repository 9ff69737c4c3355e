import autocannon from 'autocannon';

import { summarize, type RunResult } from './stats.js';

export interface CannonOptions {
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Builds each request's body (e.g. a refresh token that may be used only once). */
  nextBody?: () => string;
  /** Sees every response body (e.g. to keep the rotated refresh token). */
  onResponse?: (status: number, body: string) => void;
  /** Whether a response counts as a success; default: status 200. */
  ok?: (status: number, body: string) => boolean;
  /** requests to make (fixed count) */
  count: number;
  concurrency: number;
  /** epoch ms: the run is stopped then even if requests remain (global time cap) */
  deadline: number;
  onProgress?: (done: number) => void;
}

/**
 * One autocannon run of `count` requests over `concurrency` keep-alive connections (no pipelining,
 * as HTTP clients send token requests). Latency is taken per response; throughput is successful
 * responses over the time from start to the last response (autocannon's own duration is rounded
 * up to its sampling tick).
 */
export function cannon(options: CannonOptions): Promise<RunResult> {
  const latencies: number[] = [];
  const sampleErrors: string[] = [];
  let errors = 0;
  let truncated = false;
  const { nextBody, onResponse } = options;
  const isOk = options.ok ?? ((status: number) => status === 200);

  return new Promise((resolve, reject) => {
    const started = performance.now();
    let last = started;
    const instance = autocannon(
      {
        url: options.url,
        connections: Math.min(options.concurrency, options.count),
        pipelining: 1,
        amount: options.count,
        timeout: 30,
        sampleInt: 100,
        requests: [
          {
            method: options.method,
            headers: options.headers,
            body: options.body,
            ...(nextBody ? { setupRequest: (request: autocannon.Request) => ({ ...request, body: nextBody() }) } : {}),
            onResponse(status: number, body: string) {
              if (!isOk(status, body)) {
                errors += 1;
                if (sampleErrors.length < 3) sampleErrors.push(`${status} ${String(body).slice(0, 160)}`);
              }
              onResponse?.(status, body);
            },
          },
        ],
      },
      (error, result) => {
        clearTimeout(capTimer);
        clearInterval(progress);
        if (error) return reject(error);
        const failures = errors + result.errors + result.timeouts;
        if (result.errors && sampleErrors.length < 3) sampleErrors.push(`${result.errors} connection errors`);
        const durationMs = last - started;
        const okCount = Math.max(0, latencies.length - errors);
        resolve({
          ok: okCount,
          errors: failures,
          planned: options.count,
          durationMs,
          throughput: okCount / (durationMs / 1000),
          latency: summarize(latencies),
          truncated,
          sampleErrors,
        });
      },
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      latencies.push(responseTime);
      last = performance.now();
    });
    const capTimer = setTimeout(() => {
      truncated = true;
      instance.stop();
    }, Math.max(0, options.deadline - Date.now()));
    const progress = setInterval(() => options.onProgress?.(latencies.length), 1000);
  });
}
