/**
 * Entry point of a server child process (forked by launch.ts): runs one server on 127.0.0.1 so the
 * RSS the bench reports is the server's alone, answers stats over IPC, and exits when told to (or
 * when the bench goes away), so that `--cpu-prof` can write its profile.
 */
import type { FromChild, RunningServer, ServerStats, ToChild } from './protocol.js';

const SAMPLE_MS = 20;

let server: RunningServer | undefined;
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, SAMPLE_MS);
sampler.unref();

const send = (message: FromChild) => process.send?.(message);

function stats(): ServerStats {
  const rss = process.memoryUsage.rss();
  peakRss = Math.max(peakRss, rss);
  return {
    pid: process.pid,
    rss,
    peakRss,
    maxRss: process.resourceUsage().maxRSS * 1024,
    heapUsed: process.memoryUsage().heapUsed,
    cpuUs: (({ user, system }) => user + system)(process.cpuUsage()),
    monotonicUs: Number(process.hrtime.bigint() / 1000n),
    storeSize: server?.storeSize(),
    storeCommands: server?.storeCommands(),
  };
}

async function stop(code: number): Promise<never> {
  clearInterval(sampler);
  const closing = server?.close().catch(() => {});
  await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  process.exit(code);
}

process.on('message', async (message: ToChild) => {
  try {
    switch (message.type) {
      case 'init': {
        const { spec } = message;
        const start = spec.kind === 'orgconnect' ? (await import('./orgconnect.js')).startOrgconnect : (await import('./baseline.js')).startBaseline;
        server = await start(spec);
        send({ id: message.id, type: 'ready', issuer: server.issuer, pid: process.pid });
        break;
      }
      case 'mark':
        peakRss = process.memoryUsage.rss();
        send({ id: message.id, type: 'ok' });
        break;
      case 'stats':
        send({ id: message.id, type: 'stats', stats: stats() });
        break;
      case 'gc':
        (globalThis as { gc?: () => void }).gc?.();
        send({ id: message.id, type: 'ok' });
        break;
      case 'stop':
        send({ id: message.id, type: 'ok' });
        await stop(0);
    }
  } catch (error) {
    send({ id: message.id, type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});

// The bench died or closed the channel: never outlive it.
process.on('disconnect', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
