/**
 * A clock that moves only when a test says so: the `Clock` of protocol/clock.ts, for the
 * gateway's components and the hub's (`new Hub({ clock })`). Timers fire synchronously
 * inside `advance`, in time order (those due at the same time in the order set, and those a firing
 * timer sets, if they fall due too). A test that advances an
 * hour and sees nothing happen has shown that nothing happens in an hour, which no sleep shows.
 */
import type { Clock, TimerHandle } from '../../protocol/clock.js';

export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (typeof handle === 'number') this.#timers.delete(handle);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time on by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (let next = this.#due(target); next !== undefined; next = this.#due(target)) next();
    this.#now = target;
  }

  /**
   * Moves time to `target` like advance(), awaiting `settle` after each timer fires: for code whose
   * timers start real I/O (a Modbus read on loopback) that must finish before time moves on.
   */
  async advanceTo(target: number, settle: () => Promise<void>): Promise<void> {
    for (let next = this.#due(target); next !== undefined; next = this.#due(target)) {
      next();
      await settle();
    }
    this.#now = target;
  }

  /** The earliest timer due by `target`, taken off the list with the clock moved to it. */
  #due(target: number): (() => void) | undefined {
    let next: [number, { at: number; fn: () => void }] | undefined;
    for (const entry of this.#timers) {
      if (entry[1].at <= target && (next === undefined || entry[1].at < next[1].at)) next = entry;
    }
    if (next === undefined) return undefined;
    this.#timers.delete(next[0]);
    this.#now = next[1].at;
    return next[1].fn;
  }
}
