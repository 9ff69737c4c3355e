import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import type { StartupPlan } from '../plan.js';
import { log } from '../progress.js';
import type { StartupRecord } from '../report/types.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

/**
 * The time to start orgconnect with a large seed (`npm run bench -- --startup-only`): a child process
 * of its own (fresh heap, every CPU, not pinned) generates the seed and times createProvider on the
 * memory store, phase by phase (bench/startup/child.ts).
 */
export async function measureStartup(plan: StartupPlan): Promise<StartupRecord> {
  log(`\nstart-up: createProvider with ${plan.users} users, ${plan.applications} applications, ${plan.organizations} organizations (memory store)`);
  const child = fork(CHILD, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  try {
    const reply = await new Promise<{ type: 'result'; record: StartupRecord } | { type: 'error'; message: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`start-up measurement: no result within ${plan.timeoutMs / 1000} s`)), plan.timeoutMs);
      child.once('message', (message: { type: 'result'; record: StartupRecord } | { type: 'error'; message: string }) => {
        clearTimeout(timer);
        resolve(message);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`start-up measurement: child exited (${code})`));
      });
      child.send({ users: plan.users, applications: plan.applications, organizations: plan.organizations });
    });
    if (reply.type === 'error') throw new Error(`start-up measurement: ${reply.message}`);
    for (const p of reply.record.phases) {
      log(`  ${p.name}: ${p.ms.toFixed(0)} ms${p.scryptCalls ? ` (${p.scryptCalls} scrypt calls, ${p.scryptMs.toFixed(0)} ms of scrypt)` : ''}`);
    }
    return reply.record;
  } finally {
    child.kill('SIGKILL');
    process.off('exit', killOnExit);
  }
}
