import { hash } from 'node:crypto';

import type { Store } from '../store/store.js';

/** Limits on failed logins, counted in the store so they hold across instances. */
export interface LoginThrottleOptions {
  /** Failed logins per account (email) before it is locked for the rest of the window. Default 5. */
  perAccount?: number;
  /** Failed logins per client IP before it is locked for the rest of the window. Default 50. */
  perIp?: number;
  /** The window, in seconds; each lockout doubles it for that key, up to a day. Default 900. */
  windowSeconds?: number;
}

const MODEL = 'LoginFailures';
const DAY = 24 * 60 * 60;

/** Keys are hashed: the store holds no email address or IP in clear. */
const key = (kind: string, value: string) => `${kind}:${hash('sha256', value, 'base64url')}`;

/** One login attempt, admitted or not by `begin`; handed back to `failed` or `succeeded`. */
export interface LoginAttempt {
  /** false: the account or the IP is locked out, and the password must not be checked. */
  allowed: boolean;
  readonly accountKey: string;
  readonly ipKey: string;
  /** The attempt's place in each counter (1 = the first in the window). */
  readonly accountCount: number;
  readonly ipCount: number;
}

/**
 * Brute-force protection for the login form. An attempt takes its place in the account's and
 * the IP's counters *before* the password is checked, with the store's atomic increment: of N
 * attempts sent at once, at most the limit are checked, on any number of instances. A failure
 * leaves its place taken; a refused attempt gives its places back; a success clears the account's
 * counter and gives the IP its place back. The same steps run whether the account exists or not, so the answers (and their timing,
 * with the directory's constant-time check) do not reveal it.
 */
export class LoginThrottle {
  readonly #store: Store;
  readonly #perAccount: number;
  readonly #perIp: number;
  readonly #window: number;

  constructor(store: Store, options: LoginThrottleOptions = {}) {
    this.#store = store;
    this.#perAccount = options.perAccount ?? 5;
    this.#perIp = options.perIp ?? 50;
    this.#window = options.windowSeconds ?? 900;
  }

  /** Takes a place for this attempt; `allowed` says whether the password may be checked. */
  async begin(email: string, ip: string): Promise<LoginAttempt> {
    const accountKey = key('account', email.toLowerCase());
    const ipKey = key('ip', ip);
    const [accountCount, ipCount] = await Promise.all([
      this.#store.increment(MODEL, accountKey, 1, this.#window),
      this.#store.increment(MODEL, ipKey, 1, this.#window),
    ]);
    const allowed = accountCount <= this.#perAccount && ipCount <= this.#perIp;
    // A refused attempt is not a failure: it gives its places back, so the counters count
    // checked passwords and a lockout ends when its window does.
    if (!allowed) await this.#release(accountKey, ipKey);
    return { allowed, accountKey, ipKey, accountCount, ipCount };
  }

  #release(accountKey: string, ipKey: string) {
    return Promise.all([this.#store.increment(MODEL, accountKey, -1, this.#window), this.#store.increment(MODEL, ipKey, -1, this.#window)]);
  }

  /**
   * The attempt failed: its place stays taken. The attempt that filled a counter starts a lockout
   * (the counter lives on for its length), which doubles with each lockout of that key within a day.
   */
  async failed(attempt: LoginAttempt): Promise<void> {
    await Promise.all([
      attempt.accountCount === this.#perAccount ? this.#lockOut(attempt.accountKey) : undefined,
      attempt.ipCount === this.#perIp ? this.#lockOut(attempt.ipKey) : undefined,
    ]);
  }

  /** The attempt succeeded: the account's failures are forgotten, the IP's place is given back. */
  async succeeded(attempt: LoginAttempt): Promise<void> {
    await Promise.all([this.#store.adapter(MODEL).destroy(attempt.accountKey), this.#store.increment(MODEL, attempt.ipKey, -1, this.#window)]);
  }

  async #lockOut(counterKey: string): Promise<void> {
    const lockouts = await this.#store.increment(MODEL, `history:${counterKey}`, 1, DAY);
    await this.#store.expire(MODEL, counterKey, Math.min(DAY, this.#window * 2 ** (lockouts - 1)));
  }
}
