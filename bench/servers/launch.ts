import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { pinServer } from '../pin.js';
import type { FromChild, ServerSpec, ServerStats, ToChild } from './protocol.js';

type ToChildBody = ToChild extends infer M ? (M extends ToChild ? Omit<M, 'id'> : never) : never;

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const running = new Set<ChildProcess>();

/** Every child dies with the bench, however it ends. */
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface ServerHandle {
  issuer: string;
  pid: number;
  stats(): Promise<ServerStats>;
  /** Starts a new peak-RSS window. */
  mark(): Promise<void>;
  /** A full GC in the child (it runs with --expose-gc), before an RSS reading that should be steady. */
  gc(): Promise<void>;
  /** Asks the child to close and exit (writing its CPU profile, if any); SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface LaunchOptions {
  /** Write a V8 CPU profile of the server into this folder (node --cpu-prof). */
  cpuProfDir?: string;
  /** Sampling interval of the CPU profile, microseconds (node's default: 1000). */
  cpuProfInterval?: number;
}

/** Forks a server child (node --import tsx bench/servers/child.ts) and waits until it listens. */
export async function launchServer(spec: ServerSpec, options: LaunchOptions = {}): Promise<ServerHandle> {
  const execArgv = ['--import', 'tsx', '--expose-gc'];
  if (options.cpuProfDir) {
    execArgv.push('--cpu-prof', '--cpu-prof-dir', options.cpuProfDir);
    if (options.cpuProfInterval) execArgv.push('--cpu-prof-interval', String(options.cpuProfInterval));
  }
  const child = fork(CHILD, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  running.add(child);
  if (child.pid) pinServer(child.pid);
  let nextId = 1;
  const pending = new Map<number, { resolve: (m: FromChild) => void; reject: (e: Error) => void }>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => {
    running.delete(child);
    for (const { reject } of pending.values()) reject(new Error(`server child exited (${signal ?? code})`));
    pending.clear();
  });
  child.on('message', (message: FromChild) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.type === 'error') waiter.reject(new Error(`server child: ${message.message}`));
    else waiter.resolve(message);
  });
  const call = (message: ToChildBody, timeoutMs = 10_000) =>
    new Promise<FromChild>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`server child: no answer to ${message.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (m) => (clearTimeout(timer), resolve(m)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      child.send({ ...message, id } as ToChild);
    });

  let ready: FromChild;
  try {
    ready = await call({ type: 'init', spec }, 60_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  if (ready.type !== 'ready') throw new Error('server child: unexpected answer to init');

  return {
    issuer: ready.issuer,
    pid: ready.pid,
    async stats() {
      const reply = await call({ type: 'stats' });
      if (reply.type !== 'stats') throw new Error('server child: unexpected answer to stats');
      return reply.stats;
    },
    async mark() {
      await call({ type: 'mark' });
    },
    async gc() {
      await call({ type: 'gc' });
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await call({ type: 'stop' }).catch(() => {});
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
