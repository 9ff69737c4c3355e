import type { RunResult } from '../load/stats.js';
import type { StepTimes } from '../load/flow.js';
import type { Plan } from '../plan.js';
import type { CommandStats } from '../redis.js';
import type { ScenarioName } from '../scenarios/types.js';
import type { MachineInfo } from './machine.js';

/** What the server child did during one measured run. */
export interface ServerDuringRun {
  /** highest RSS sampled during the run, bytes */
  peakRss: number;
  rssAfter: number;
  /** server CPU (user + system) per operation, ms: steadier than throughput on a busy machine */
  cpuMsPerOp: number;
  storeSize?: number;
  /** redis-server CPU per operation, ms (10 ms resolution from /proc, so only meaningful over many operations) */
  redisCpuMsPerOp?: number;
  /** RedisStore.commandCount per operation (what orgconnect's adapter sends, MULTI/EXEC included) */
  storeCommandsPerOp?: number;
  /** calls counted by INFO commandstats per operation (Lua-internal calls included) */
  redisCallsPerOp?: number;
  redisCalls?: CommandStats;
}

export interface RunRecord {
  scenario: ScenarioName;
  target: string;
  concurrency: number;
  result: RunResult;
  /** CPU of the bench process (the load generator) per operation, ms: it shares the cores with the server */
  clientCpuMsPerOp: number;
  /** with --rounds=N: every round's throughput and server CPU/op; the record itself is the fastest round */
  rounds?: Array<{ throughput: number; p50: number; p99: number; cpuMsPerOp?: number }>;
  server?: ServerDuringRun;
}

export interface TargetRecord {
  name: string;
  kind: 'orgconnect' | 'baseline';
  store: 'memory' | 'redis';
  alg: string;
  pid: number;
  /** RSS once started, before any load, bytes */
  rssStart: number;
  /** RSS after every scenario, bytes */
  rssEnd?: number;
  /** RSS after every scenario and a full GC, bytes */
  rssEndAfterGc?: number;
  /** peak RSS of the process life (getrusage), bytes */
  maxRss?: number;
  storeSizeEnd?: number;
}

export interface SoakSample {
  seconds: number;
  phase: 'load' | 'idle';
  rss: number;
  heapUsed: number;
  storeSize?: number;
  operations: number;
}

export interface SoakRecord {
  target: string;
  ttl: Record<string, number>;
  concurrency: number;
  flows: number;
  refreshes: number;
  clientCredentials: number;
  errors: number;
  sampleErrors: string[];
  samples: SoakSample[];
}

/** One timed step of the start-up measurement (bench/startup/child.ts). */
export interface StartupPhase {
  name: string;
  /** wall time, ms */
  ms: number;
  /** scrypt calls during the step (password and client-secret hashing) and the wall time they were in flight, ms */
  scryptCalls: number;
  scryptMs: number;
}

/** createProvider with a large generated seed, memory store, in a fresh process. */
export interface StartupRecord {
  users: number;
  applications: number;
  organizations: number;
  phases: StartupPhase[];
  /** RSS once the whole seed is loaded, bytes */
  rssAfterStart: number;
}

export interface Ratio {
  scenario: ScenarioName;
  concurrency: number;
  /** e.g. "orgconnect / baseline (memory)" */
  name: string;
  numerator: string;
  denominator: string;
  /** throughput ratio */
  value: number;
  /** denominator CPU per op / numerator CPU per op (1 = same server work per operation) */
  cpuValue?: number;
  target?: number;
}

export interface BenchReport {
  version: 1;
  mode: Plan['mode'];
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  plan: Plan;
  /** measurements per run; the fastest is reported */
  rounds: number;
  targets: TargetRecord[];
  runs: RunRecord[];
  /** ms per flow spent in each kind of request, per target, login kind and concurrency */
  stepTimes: Record<string, StepTimes>;
  redis?: { rss?: number; peakRss?: number; usedMemory?: number };
  soak?: SoakRecord;
  /** the start-up measurement (absent in reports that predate it, or with --no-startup) */
  startup?: StartupRecord;
  ratios: Ratio[];
  /** true when the time cap cut runs short */
  truncated: boolean;
  notes: string[];
}
