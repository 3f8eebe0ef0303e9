/**
 * Time is passed in: the one clock of gateway and hub. Components take a
 * Clock (or, where they read the time through a `clock: () => number` of their own, its timer
 * half, `Timers`); tests pass test/support/manual-clock.ts or use vitest's fake timers, which the
 * real clocks follow because they look the globals up on every call instead of capturing them
 * at import. No I/O here: the real clocks only wrap the globals.
 */

/** What `setTimeout` returned; only ever handed back to the same clock's `clearTimeout`. */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

/** The timer half of a Clock. */
export type Timers = Pick<Clock, 'setTimeout' | 'clearTimeout'>;

function realClock(unref: boolean): Clock {
  return {
    now: () => Date.now(),
    setTimeout: (fn, ms) => {
      const t = globalThis.setTimeout(fn, ms);
      if (unref) t.unref?.();
      return t;
    },
    clearTimeout: (handle) => {
      if (handle !== undefined) globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>);
    },
  };
}

/**
 * The hub's real clock: a pending timer keeps the process alive (an ingest flush or a store
 * retry must run even when no socket is open).
 */
export const REAL_CLOCK: Clock = realClock(false);

/** The gateway's real clock: a pending retry or heartbeat never keeps a closing process alive. */
export const systemClock: Clock = realClock(true);
