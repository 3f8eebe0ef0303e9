/** The keep-alive watchdog of recovery (the jittered backoff is protocol/backoff.ts). Time is injected. */
import type { Clock, TimerHandle } from '../../../protocol/clock.js';

/**
 * Calls `onSilence` when `activity()` has not been called for `timeoutMs` while running; then
 * waits another `timeoutMs` before it can fire again. One timer, re-armed lazily: `activity()`
 * only stores the time.
 */
export class Watchdog {
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #onSilence: (silentMs: number) => void;
  #last = 0;
  #timer: TimerHandle | undefined;
  #running = false;

  constructor(clock: Clock, timeoutMs: number, onSilence: (silentMs: number) => void) {
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
    this.#onSilence = onSilence;
  }

  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  activity(): void {
    this.#last = this.#clock.now();
  }

  /** (Re)starts watching, counting silence from now. */
  start(): void {
    this.stop();
    this.#running = true;
    this.#last = this.#clock.now();
    this.#arm(this.#timeoutMs);
  }

  stop(): void {
    this.#running = false;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = this.#clock.setTimeout(() => this.#check(), Math.max(1, ms));
  }

  #check(): void {
    if (!this.#running) return;
    const silent = this.#clock.now() - this.#last;
    if (silent < this.#timeoutMs) {
      this.#arm(this.#timeoutMs - silent);
      return;
    }
    this.#last = this.#clock.now();
    this.#arm(this.#timeoutMs);
    this.#onSilence(silent);
  }
}
