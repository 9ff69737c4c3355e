import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/**
 * CPU pinning: the server under test gets a CPU of its own (the last one), the load generator
 * and redis-server share the others. Without it the scheduler moves the server, the load
 * generator and redis-server across the same cores, and identical runs differ by 20 % on a
 * 2-core machine. Needs `taskset` (util-linux) and at least 2 CPUs; `--no-pin` turns it off.
 */
export interface Pinning {
  servers: string;
  others: string;
}

let current: Pinning | undefined;

function tasksetAvailable(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Pins this process (the load generator) and decides where servers go; undefined when it cannot. */
export function enablePinning(): Pinning | undefined {
  const cpus = availableParallelism();
  if (cpus < 2 || !tasksetAvailable()) return undefined;
  current = { servers: String(cpus - 1), others: cpus === 2 ? '0' : `0-${cpus - 2}` };
  pin(process.pid, current.others);
  return current;
}

/** All threads of `pid` onto `cpus` (threads created later inherit it). */
function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

export function pinServer(pid: number): void {
  if (current) pin(pid, current.servers);
}

export function pinHelper(pid: number): void {
  if (current) pin(pid, current.others);
}

export function describePinning(): string | undefined {
  return current && `server under test on CPU ${current.servers}, load generator and redis-server on CPU ${current.others}`;
}
