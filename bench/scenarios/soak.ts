import { basicAuth, CRM, SYNC, type SharedSecrets } from '../fixtures.js';
import { authorizationCodeFlow } from '../load/flow.js';
import { form, FORM, send } from '../load/http.js';
import type { SoakPlan } from '../plan.js';
import { log, mb } from '../progress.js';
import type { SoakRecord, SoakSample } from '../report/types.js';
import { launchServer } from '../servers/launch.js';
import { freshUser } from './types.js';

/** Upper bound on operations, whatever the machine's speed: the soak is time-boxed and count-boxed. */
const MAX_ITERATIONS = 200_000;
/** Idle time after the load: every record expires (30 s at most) and two sweeps (every 30 s) run. */
const IDLE_MS = 65_000;

/**
 * Memory over a long run on the memory store: orgconnect with short lifetimes (every record
 * expires within 30 s) under a steady mix of full flows (new user each), refreshes and
 * client_credentials, then idle. RSS and MemoryStore.size are sampled throughout: with expired
 * records evicted (on read and by the 30 s sweep) both level off instead of growing with the
 * number of operations, and the store empties once idle.
 */
export async function runSoak(plan: SoakPlan, secrets: SharedSecrets, deadline: number): Promise<SoakRecord> {
  const name = 'orgconnect·memory·RS256 (short TTLs)';
  log(`\nsoak: ${name}, ${plan.durationMs / 1000} s of load at concurrency ${plan.concurrency}, then ${IDLE_MS / 1000} s idle`);
  const handle = await launchServer({ kind: 'orgconnect', store: 'memory', alg: 'RS256', ttl: plan.ttl, secrets });
  const samples: SoakSample[] = [];
  const counts = { flows: 0, refreshes: 0, clientCredentials: 0, errors: 0 };
  const sampleErrors: string[] = [];
  const started = Date.now();
  let phase: SoakSample['phase'] = 'load';
  const sample = async () => {
    const stats = await handle.stats();
    samples.push({
      seconds: Math.round((Date.now() - started) / 100) / 10,
      phase,
      rss: stats.rss,
      heapUsed: stats.heapUsed,
      storeSize: stats.storeSize,
      operations: counts.flows + counts.refreshes + counts.clientCredentials,
    });
    log(`  ${samples.at(-1)!.seconds} s (${phase}): RSS ${mb(stats.rss)}, heap ${mb(stats.heapUsed)}, store ${stats.storeSize} records, ${samples.at(-1)!.operations} operations`);
  };
  try {
    await sample();
    const sampler = setInterval(() => void sample().catch(() => {}), plan.sampleMs);
    const loadEnds = Math.min(started + plan.durationMs, deadline);
    let iterations = 0;
    const worker = async () => {
      while (Date.now() < loadEnds && iterations < MAX_ITERATIONS) {
        iterations += 1;
        try {
          const tokens = await authorizationCodeFlow(handle.issuer, { user: freshUser() });
          counts.flows += 1;
          let refresh = tokens.refresh_token!;
          for (let i = 0; i < 2; i += 1) {
            const response = await send(`${handle.issuer}/oauth2/token`, {
              method: 'POST',
              headers: { 'content-type': FORM, authorization: basicAuth(CRM.clientId, CRM.secret) },
              body: form({ grant_type: 'refresh_token', refresh_token: refresh }),
            });
            if (response.status !== 200) throw new Error(`refresh: ${response.status} ${response.body.slice(0, 120)}`);
            refresh = (JSON.parse(response.body) as { refresh_token: string }).refresh_token;
            counts.refreshes += 1;
          }
          const cc = await send(`${handle.issuer}/oauth2/token`, {
            method: 'POST',
            headers: { 'content-type': FORM, authorization: basicAuth(SYNC.clientId, SYNC.secret) },
            body: 'grant_type=client_credentials',
          });
          if (cc.status !== 200) throw new Error(`client_credentials: ${cc.status}`);
          counts.clientCredentials += 1;
        } catch (error) {
          counts.errors += 1;
          if (sampleErrors.length < 3) sampleErrors.push(error instanceof Error ? error.message : String(error));
        }
      }
    };
    await Promise.all(Array.from({ length: plan.concurrency }, worker));
    phase = 'idle';
    await sample();
    const idleEnds = Math.min(Date.now() + IDLE_MS, deadline);
    while (Date.now() < idleEnds) await new Promise((resolve) => setTimeout(resolve, Math.min(plan.sampleMs, idleEnds - Date.now())));
    clearInterval(sampler);
    await sample();
  } finally {
    await handle.stop();
  }
  return { target: name, ttl: plan.ttl as Record<string, number>, concurrency: plan.concurrency, ...counts, sampleErrors, samples };
}
