import { createHash, randomUUID } from 'node:crypto';

import type { Context, Next } from 'koa';
import { errors } from 'oidc-provider';

import { StoreUnavailableError } from '../errors.js';
import { ROUTES } from './routes.js';
import type { Store } from '../store/store.js';

/**
 * The polling rules of the device authorization grant (RFC 8628), which oidc-provider 9.13 leaves
 * to the deployment: its device authorization response has no `interval`, and its token endpoint
 * answers `authorization_pending` however often a device polls (it defines `errors.SlowDown` but
 * never throws it). Edge middleware, after oidc-provider has answered:
 * - `POST /oauth2/device_authorization`: the response gets `interval` (section 3.2);
 * - `POST /oauth2/token` answered `authorization_pending` (the code is valid, pending, and the
 *   client's own): a poll sooner than the code's interval after the previous one becomes
 *   `slow_down`, and that code's interval grows by 5 seconds for every later poll (section 3.5).
 */

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 8628 section 3.5: each `slow_down` adds 5 seconds to the interval. */
const SLOW_DOWN_STEP = 5;
/** Seconds a poll may come early: the network can delay one poll more than the one before. */
const ALLOWANCE = 0.5;
/** One record per device code: the last poll, which expires when the next one is allowed. */
const LAST_POLL = 'DevicePoll';
/** One counter per device code: how many `slow_down` answers it got. */
const SLOW_DOWNS = 'DevicePollSlowDowns';

export interface DevicePollingOptions {
  /** Seconds between two polls of one device code, before any `slow_down`. */
  interval: number;
  /** Seconds a device code lives (`ttl.deviceCode`): the counters live as long. */
  deviceCodeTtl: number;
}

/**
 * Whether this poll came too soon; if so, the code's interval grows. Each step is one atomic store
 * operation, so concurrent polls (on any number of instances) agree: exactly one of them writes
 * the last-poll record, every other one gets `slow_down` and counts one more.
 */
export async function pollTooSoon(store: Store, deviceCode: string, options: DevicePollingOptions): Promise<boolean> {
  const { interval, deviceCodeTtl } = options;
  const id = createHash('sha256').update(deviceCode).digest('base64url');
  // Adding 0 reads the count (and starts it at 0, to live as long as a device code).
  const current = interval + SLOW_DOWN_STEP * (await store.increment(SLOW_DOWNS, id, 0, deviceCodeTtl));
  const mine = { poll: randomUUID() };
  const stored = await store.putIfAbsent(LAST_POLL, id, mine, Math.min(current, deviceCodeTtl) - ALLOWANCE);
  if (stored.poll === mine.poll) return false;
  const raised = interval + SLOW_DOWN_STEP * (await store.increment(SLOW_DOWNS, id, 1, deviceCodeTtl));
  // The interval is measured from this poll too: the device waits the raised interval from now.
  await store.expire(LAST_POLL, id, Math.min(raised, deviceCodeTtl) - ALLOWANCE);
  return true;
}

type Body = { error?: string; error_description?: string; device_code?: string; interval?: number } | undefined;

/** The edge middleware of the device authorization and token endpoints (see the top of this file). */
export function devicePolling(store: Store, options: DevicePollingOptions) {
  return async function devicePollingInterval(ctx: Context, next: Next): Promise<void> {
    await next();
    const body = ctx.body as Body;
    if (ctx.path === ROUTES.device_authorization) {
      if (ctx.status === 200 && typeof body?.device_code === 'string') body.interval = options.interval;
      return;
    }
    if (ctx.path !== ROUTES.token || ctx.status !== 400 || body?.error !== 'authorization_pending') return;
    const params = (ctx as { oidc?: { params?: Record<string, unknown> } }).oidc?.params;
    if (params?.grant_type !== DEVICE_CODE_GRANT || typeof params.device_code !== 'string') return;
    try {
      if (!(await pollTooSoon(store, params.device_code, options))) return;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      ctx.status = 503;
      ctx.body = { error: error.error, error_description: error.error_description };
      return;
    }
    const slowDown = new errors.SlowDown();
    body.error = slowDown.error;
    body.error_description = slowDown.error_description;
  };
}
