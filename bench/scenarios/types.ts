import type { RunResult } from '../load/stats.js';
import type { ServerSpec } from '../servers/protocol.js';

/** A server under test, as scenarios see it. */
export interface Target {
  /** e.g. `orgconnect·memory·RS256` */
  name: string;
  spec: Omit<ServerSpec, 'secrets'>;
  issuer: string;
  /** State scenarios keep between runs on this target (token pools, tokens to introspect). */
  state: Map<string, unknown>;
}

export interface RunContext {
  target: Target;
  count: number;
  concurrency: number;
  /** epoch ms: nothing new starts after it */
  deadline: number;
  onProgress?: (done: number) => void;
}

export type ScenarioName = 'client_credentials' | 'authorization_code' | 'authorization_code_scrypt' | 'refresh_token' | 'introspection' | 'jwt_verify';

export interface Scenario {
  name: ScenarioName;
  /** what one operation is, for the report: "request", "flow", "verification" */
  unit: string;
  description: string;
  /** Whether the server does the work (false: measured in the bench process, e.g. jwt_verify). */
  server: boolean;
  /** Runs once per target before its first run (unmeasured): mint tokens, fetch the JWKS. */
  prepare?(target: Target, deadline: number, maxConcurrency: number): Promise<void>;
  /** Runs before every run, outside its measurement (e.g. mint a fresh token to introspect). */
  beforeRun?(target: Target): Promise<void>;
  run(context: RunContext): Promise<RunResult>;
}

/** A process-wide counter of synthetic users: every flow of the bench signs in a user never seen before. */
let nextUser = 0;
export const freshUser = () => nextUser++;
