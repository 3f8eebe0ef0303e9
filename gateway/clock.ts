/**
 * Time is passed in (CONVENTIONS.md §8). Components take a Clock; tests pass a fake one or
 * use vitest's fake timers, which `systemClock` follows because it looks the globals up on
 * every call instead of capturing them at import.
 */

export type TimerHandle = ReturnType<typeof globalThis.setTimeout>;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = globalThis.setTimeout(fn, ms);
    // A pending retry or heartbeat must never keep a closing process alive.
    t.unref?.();
    return t;
  },
  clearTimeout: (handle) => {
    if (handle !== undefined) globalThis.clearTimeout(handle);
  },
};

/** Exponential backoff with a cap: 0 → min, then doubling up to max. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.max(0, Math.min(attempt, 30)));
}
