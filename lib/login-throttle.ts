import { hash } from 'node:crypto';

import type { Store } from '../adapters/store.js';

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

interface Counter {
  failures: number;
}

/** What `check` found before a login attempt. */
export interface LoginCheck {
  locked: boolean;
  /** The account's failures counted so far. */
  accountFailures: number;
}

/**
 * Brute-force protection for the login form. The same checks run whether the account exists or
 * not, so the answers (and their timing, with the directory's constant-time check) do not reveal it.
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

  get #records() {
    return this.#store.adapter(MODEL);
  }

  async #read(id: string): Promise<Counter> {
    return ((await this.#records.find(id)) as Counter | undefined) ?? { failures: 0 };
  }

  /** Whether the account or the IP is locked out, and what a later success has to clear. */
  async check(email: string, ip: string): Promise<LoginCheck> {
    const [account, address] = await Promise.all([this.#read(key('account', email.toLowerCase())), this.#read(key('ip', ip))]);
    return { locked: account.failures >= this.#perAccount || address.failures >= this.#perIp, accountFailures: account.failures };
  }

  /** Counts a failed login for both keys. */
  async failed(email: string, ip: string): Promise<void> {
    await Promise.all([this.#count(key('account', email.toLowerCase()), this.#perAccount), this.#count(key('ip', ip), this.#perIp)]);
  }

  /**
   * A successful login clears the account's failures (not the IP's). Nothing to clear when the
   * check before it found none: a login then costs one store round trip, not two.
   */
  async succeeded(email: string, check: LoginCheck): Promise<void> {
    if (check.accountFailures > 0) await this.#records.destroy(key('account', email.toLowerCase()));
  }

  /**
   * Read-modify-write: two concurrent failures may count as one, which lets an attacker at most
   * one extra attempt per race; the limit still holds. Reaching the limit starts a lockout (the
   * counter lives on for the lockout's length) that doubles with each lockout within a day.
   */
  async #count(id: string, limit: number): Promise<void> {
    const failures = (await this.#read(id)).failures + 1;
    if (failures < limit) {
      await this.#records.upsert(id, { failures } as never, this.#window);
      return;
    }
    const historyId = `history:${id}`;
    const lockouts = (((await this.#records.find(historyId)) as { lockouts?: number } | undefined)?.lockouts ?? 0) + 1;
    await this.#records.upsert(historyId, { lockouts } as never, DAY);
    await this.#records.upsert(id, { failures } as never, Math.min(DAY, this.#window * 2 ** (lockouts - 1)));
  }
}
