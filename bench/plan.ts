import type { TtlOptions } from '../lib/options/options.js';
import type { Alg } from './fixtures.js';
import type { ScenarioName } from './scenarios/types.js';

/** A server the bench starts: one child process each. */
export interface TargetPlan {
  name: string;
  kind: 'orgconnect' | 'baseline';
  store: 'memory' | 'redis';
  alg: Alg;
  /** scenarios this target runs (all when absent) */
  scenarios?: ScenarioName[];
}

export interface SoakPlan {
  /** how long the soak keeps the server busy, ms */
  durationMs: number;
  concurrency: number;
  /** short lifetimes, so records expire (and are swept, every 30 s) during the run */
  ttl: TtlOptions;
  /** RSS / store size sampling interval, ms */
  sampleMs: number;
}

/** The start-up measurement: createProvider with a generated seed this large (bench/startup/). */
export interface StartupPlan {
  users: number;
  applications: number;
  organizations: number;
  /** the measurement fails after this long, ms */
  timeoutMs: number;
}

const STARTUP: StartupPlan = { users: 10_000, applications: 1_000, organizations: 100, timeoutMs: 10 * 60_000 };

export interface Plan {
  mode: 'full' | 'quick';
  /** concurrency levels every scenario runs at */
  levels: number[];
  /** measured operations per run (per target, scenario and level) */
  counts: Record<ScenarioName, number>;
  /** unmeasured operations per target and scenario before its first measured run (JIT, caches, pools) */
  warmup: Record<ScenarioName, number>;
  /** levels for the scrypt-login flow (slow: few levels) */
  scryptLevels: number[];
  targets: TargetPlan[];
  soak?: SoakPlan;
  /** measured first, outside the time cap */
  startup?: StartupPlan;
  /** nothing new starts after this long; the bench then reports what it has */
  timeCapMs: number;
  /** time kept for each run still to come when a run is given its deadline (see runner.ts) */
  reservePerRunMs: number;
}

const ALL: TargetPlan[] = [
  { name: 'orgconnect·memory·RS256', kind: 'orgconnect', store: 'memory', alg: 'RS256' },
  { name: 'baseline·memory·RS256', kind: 'baseline', store: 'memory', alg: 'RS256' },
  { name: 'orgconnect·redis·RS256', kind: 'orgconnect', store: 'redis', alg: 'RS256' },
  { name: 'baseline·redis·RS256', kind: 'baseline', store: 'redis', alg: 'RS256' },
  { name: 'orgconnect·memory·ES256', kind: 'orgconnect', store: 'memory', alg: 'ES256' },
];

/** Not run on Redis and ES256: the scrypt flow shows password hashing, the same on any store or key. */
const SCRYPT_TARGETS = new Set(['orgconnect·memory·RS256', 'baseline·memory·RS256']);
const withScrypt = (targets: TargetPlan[]): TargetPlan[] =>
  targets.map((t) =>
    SCRYPT_TARGETS.has(t.name)
      ? t
      : { ...t, scenarios: ['client_credentials', 'authorization_code', 'refresh_token', 'introspection', 'jwt_verify'] as ScenarioName[] },
  );

export const FULL: Plan = {
  mode: 'full',
  levels: [1, 8, 32],
  counts: {
    client_credentials: 2000,
    authorization_code: 240,
    authorization_code_scrypt: 40,
    refresh_token: 1500,
    introspection: 2000,
    jwt_verify: 5000,
  },
  // As many operations as a measured run: with less, the first round of each server was still 20 to
  // 40 % slower than the third (JIT tiers, heap sizing), and "fastest of N" measured the warm-up.
  warmup: {
    client_credentials: 2000,
    authorization_code: 240,
    authorization_code_scrypt: 16,
    refresh_token: 1500,
    introspection: 2000,
    jwt_verify: 5000,
  },
  scryptLevels: [1, 8],
  targets: withScrypt(ALL),
  soak: {
    durationMs: 120_000,
    concurrency: 4,
    ttl: { accessToken: 20, idToken: 20, refreshToken: 30, authorizationCode: 10, session: 30, grant: 30, interaction: 30 },
    sampleMs: 5_000,
  },
  startup: STARTUP,
  timeCapMs: 40 * 60_000,
  reservePerRunMs: 5_000,
};

/**
 * Under a minute on a 2-core machine: orgconnect and the baseline on both stores (ES256 is for the
 * full run), one concurrency level, small counts, no soak, no scrypt flow. The start-up measurement
 * comes on top (`--no-startup` skips it).
 */
export const QUICK: Plan = {
  mode: 'quick',
  levels: [8],
  counts: {
    client_credentials: 200,
    authorization_code: 24,
    authorization_code_scrypt: 0,
    refresh_token: 150,
    introspection: 200,
    jwt_verify: 1000,
  },
  warmup: {
    client_credentials: 40,
    authorization_code: 8,
    authorization_code_scrypt: 0,
    refresh_token: 24,
    introspection: 40,
    jwt_verify: 200,
  },
  scryptLevels: [],
  targets: ALL.filter((t) => t.alg === 'RS256').map((t) => ({
    ...t,
    scenarios: ['client_credentials', 'authorization_code', 'refresh_token', 'introspection', 'jwt_verify'] as ScenarioName[],
  })),
  startup: STARTUP,
  timeCapMs: 50_000,
  reservePerRunMs: 1_000,
};

export interface Args {
  plan: Plan;
  /** `--profile[=scenario,...]`: CPU-profile orgconnect and the baseline (memory store) instead of the bench */
  profile?: ScenarioName[];
  /** `--profile-store=redis`: profile on the Redis store instead (its own redis-server) */
  profileStore: 'memory' | 'redis';
  /** `--targets=a,b`: only targets whose name contains one of these */
  targets?: string[];
  /** `--scenarios=a,b` */
  scenarios?: ScenarioName[];
  /** `--no-soak` */
  soak: boolean;
  /** `--no-pin`: let the processes share all CPUs (bench/pin.ts) */
  pin: boolean;
  /** `--rounds=N`: measure every run N times (interleaved) and keep the fastest; default 1 */
  rounds: number;
  /** `--no-startup`: skip the start-up measurement */
  startup: boolean;
  /** `--startup-only`: only the start-up measurement */
  startupOnly: boolean;
}

function levelList(value: string): number[] {
  const levels = value.split(',').map(Number);
  if (levels.length === 0 || levels.some((c) => !Number.isInteger(c) || c < 1 || c > 256)) throw new Error(`--levels: expected concurrency levels between 1 and 256, got ${value}`);
  return levels;
}

const SCENARIOS: ScenarioName[] = ['client_credentials', 'authorization_code', 'authorization_code_scrypt', 'refresh_token', 'introspection', 'jwt_verify'];

function scenarioList(value: string, flag: string): ScenarioName[] {
  const names = value.split(',').filter(Boolean);
  for (const name of names) if (!SCENARIOS.includes(name as ScenarioName)) throw new Error(`${flag}: unknown scenario ${name} (one of ${SCENARIOS.join(', ')})`);
  return names as ScenarioName[];
}

export function parseArgs(argv: string[]): Args {
  const args: Args = { plan: argv.includes('--quick') ? QUICK : FULL, soak: true, pin: true, rounds: 1, profileStore: 'memory', startup: true, startupOnly: false };
  for (const arg of argv) {
    const [flag, value] = arg.split('=', 2) as [string, string | undefined];
    if (flag === '--quick') continue;
    if (flag === '--profile') args.profile = scenarioList(value ?? 'authorization_code', '--profile');
    else if (flag === '--profile-store' && (value === 'memory' || value === 'redis')) args.profileStore = value;
    else if (flag === '--targets' && value) args.targets = value.split(',');
    else if (flag === '--scenarios' && value) args.scenarios = scenarioList(value, '--scenarios');
    else if (flag === '--no-soak') args.soak = false;
    else if (flag === '--no-pin') args.pin = false;
    else if (flag === '--no-startup') args.startup = false;
    else if (flag === '--startup-only') args.startupOnly = true;
    else if (flag === '--rounds' && value && /^[1-9]$/.test(value)) args.rounds = Number(value);
    else if (flag === '--levels' && value) args.plan = { ...args.plan, levels: levelList(value), scryptLevels: args.plan.scryptLevels.length ? levelList(value) : [] };
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write(
        [
          'npm run bench [-- options]',
          '  --quick                 one concurrency level, small counts (under a minute)',
          '  --targets=a,b           only targets whose name contains a or b (e.g. memory, orgconnect·redis)',
          `  --scenarios=a,b         only these scenarios (${SCENARIOS.join(', ')})`,
          '  --no-soak               skip the memory soak run (full mode)',
          '  --no-startup            skip the start-up measurement (createProvider with 10,000 users, 1,000 apps)',
          '  --startup-only          only the start-up measurement',
          '  --no-pin                do not pin the server under test to a CPU of its own (taskset)',
          '  --levels=a,b            concurrency levels instead of the plan\'s (e.g. --levels=8)',
          '  --rounds=N              measure each run N times, interleaved, and report the fastest (busy machines)',
          '  --render=FILE           print the Markdown report of a results JSON (bench/results/*.json)',
          '  --profile[=a,b]         CPU-profile (--cpu-prof) orgconnect and the baseline on the memory store while',
          '                          they run these scenarios (default authorization_code); prints where time goes',
          '  --profile-store=redis   profile on the Redis store (its own redis-server) instead of the memory store',
          '',
        ].join('\n'),
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (try --help)`);
  }
  if (args.startupOnly && !args.startup) throw new Error('--startup-only and --no-startup contradict each other');
  return args;
}
