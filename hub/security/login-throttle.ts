/**
 * Failed-login throttling for the broker (docs/security.md, "Guessing passwords"), keyed by
 * user name AND source address, so that someone guessing from one address cannot lock out a
 * gateway that logs in from another, and by source address alone, so that one address trying
 * many user names stays bounded too.
 *
 * An attempt is counted as failed when its check starts and given back when the password is
 * right: a hundred connections opened at once from one address cost at most the limit's worth
 * of password checks (scrypt, ≈50 ms of CPU each), not a hundred.
 *
 * Memory is bounded: each table holds at most `maxEntries` keys and drops the least recently
 * used beyond; an entry's count ends with its window.
 */
import { sourceKey } from './source-address.js';

/** Failed logins for one user name from one address (an IPv6 /64), per window. */
export const LOGIN_FAILURES_PER_WINDOW = 5;
/** Failed logins from one address, whatever the user names, per window. */
export const ADDRESS_FAILURES_PER_WINDOW = 30;
export const LOGIN_FAILURE_WINDOW_MS = 60_000;
/** Keys each table keeps (about 100 bytes each). */
export const LOGIN_THROTTLE_MAX_ENTRIES = 10_000;

/** All user names that do not exist share one key per address: their text is the caller's. */
export const UNKNOWN_USER = '\u0000unknown';

export interface LoginThrottleOptions {
  readonly clock: () => number;
  readonly perUser?: number;
  readonly perAddress?: number;
  readonly windowMs?: number;
  readonly maxEntries?: number;
}

/** Why an attempt is not checked: which limit, and when its window ends. */
export interface LoginHold {
  readonly limit: 'user' | 'address';
  readonly failures: number;
  readonly windowMs: number;
  readonly retryInMs: number;
}

/** An attempt being checked: give it back with `succeeded`, or confirm it with `failed`. */
export interface LoginAttempt {
  readonly pairKey: string;
  readonly addressKey: string;
  readonly pair: Entry;
  readonly address: Entry;
}

export interface Entry {
  readonly since: number;
  count: number;
  /** The limit was reported (logged and counted) for this window. */
  reported: boolean;
}

class WindowTable {
  readonly limit: number;
  readonly windowMs: number;
  readonly maxEntries: number;
  readonly #entries = new Map<string, Entry>();
  evicted = 0;

  constructor(limit: number, windowMs: number, maxEntries: number) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The key's entry in the current window, if it has one. */
  current(key: string, now: number): Entry | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (now - e.since < this.windowMs) return e;
    this.#entries.delete(key);
    return undefined;
  }

  /** Counts one more, the key becoming the most recently used. */
  add(key: string, now: number): Entry {
    const e = this.current(key, now) ?? { since: now, count: 0, reported: false };
    e.count++;
    this.#entries.delete(key);
    this.#entries.set(key, e);
    for (const [k, old] of this.#entries) {
      if (this.#entries.size <= this.maxEntries && now - old.since < this.windowMs) break;
      this.#entries.delete(k);
      if (old.count > 0 && now - old.since < this.windowMs) this.evicted++;
    }
    return e;
  }

  /** Takes back one count; an entry back at zero is forgotten (a gateway's good login). */
  release(key: string, e: Entry): void {
    e.count = Math.max(0, e.count - 1);
    if (e.count === 0 && this.#entries.get(key) === e) this.#entries.delete(key);
  }

  retryInMs(e: Entry, now: number): number {
    return Math.max(0, e.since + this.windowMs - now);
  }
}

export class LoginThrottle {
  readonly #clock: () => number;
  readonly #windowMs: number;
  readonly #pairs: WindowTable;
  readonly #addresses: WindowTable;

  constructor(o: LoginThrottleOptions) {
    this.#clock = o.clock;
    this.#windowMs = o.windowMs ?? LOGIN_FAILURE_WINDOW_MS;
    const max = o.maxEntries ?? LOGIN_THROTTLE_MAX_ENTRIES;
    this.#pairs = new WindowTable(o.perUser ?? LOGIN_FAILURES_PER_WINDOW, this.#windowMs, max);
    this.#addresses = new WindowTable(o.perAddress ?? ADDRESS_FAILURES_PER_WINDOW, this.#windowMs, max);
  }

  /** Keys held (user name and address pairs, addresses) and keys dropped to stay bounded. */
  get stats(): { pairs: number; addresses: number; evicted: number } {
    return {
      pairs: this.#pairs.size,
      addresses: this.#addresses.size,
      evicted: this.#pairs.evicted + this.#addresses.evicted,
    };
  }

  /**
   * Starts checking a login of `user` (UNKNOWN_USER for a name that does not exist) from
   * `address`; a hold instead when that pair or that address is over its limit.
   */
  begin(user: string, address: string | undefined): LoginAttempt | LoginHold {
    const now = this.#clock();
    const source = sourceKey(address);
    const pairKey = `${source}\n${user}`;
    for (const [table, key, limit] of [
      [this.#addresses, source, 'address'],
      [this.#pairs, pairKey, 'user'],
    ] as const) {
      const e = table.current(key, now);
      if (e !== undefined && e.count >= table.limit) {
        return { limit, failures: table.limit, windowMs: this.#windowMs, retryInMs: table.retryInMs(e, now) };
      }
    }
    return {
      pairKey,
      addressKey: source,
      pair: this.#pairs.add(pairKey, now),
      address: this.#addresses.add(source, now),
    };
  }

  /** The password was right: the attempt is not a failure. */
  succeeded(a: LoginAttempt): void {
    this.#pairs.release(a.pairKey, a.pair);
    this.#addresses.release(a.addressKey, a.address);
  }

  /** The attempt failed; the limits it brought its pair or address to, the first time only. */
  failed(a: LoginAttempt): ('user' | 'address')[] {
    const reached: ('user' | 'address')[] = [];
    for (const [e, table, limit] of [
      [a.pair, this.#pairs, 'user'],
      [a.address, this.#addresses, 'address'],
    ] as const) {
      if (!e.reported && e.count >= table.limit) {
        e.reported = true;
        reached.push(limit);
      }
    }
    return reached;
  }
}
