/**
 * The ingest's view of a failing store: when the next write may be tried (protocol/backoff.ts:
 * from `minMs`, doubling, capped at `maxMs`, no jitter), since when and how often writes have failed, and
 * the logs that go with it (the first failure an error, the next ones warnings, the recovery
 * an info with how long the store was down).
 */
import type { Logger } from 'pino';
import { backoffDelay } from '../../protocol/backoff.js';
import type { Clock } from '../../protocol/clock.js';

export class StoreBackoff {
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #min: number;
  readonly #max: number;
  #since: number | undefined;
  #attempts = 0;
  #last = '';
  #nextAttemptAt = 0;

  constructor(log: Logger, clock: Clock, minMs: number, maxMs: number) {
    this.#log = log;
    this.#clock = clock;
    this.#min = minMs;
    this.#max = Math.max(minMs, maxMs);
  }

  /** No write before this time (ms); 0 while writes go through. */
  get nextAttemptAt(): number {
    return this.#nextAttemptAt;
  }

  get failing(): boolean {
    return this.#since !== undefined;
  }

  failed(err: unknown, samples: number): void {
    const now = this.#clock.now();
    // The attempts before this one: 0 on the first failure, so the first wait is `minMs`.
    const delay = backoffDelay(this.#attempts, this.#min, this.#max);
    this.#nextAttemptAt = now + delay;
    this.#last =
      err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err);
    this.#since ??= now;
    this.#attempts++;
    const ctx = { err, samples, attempts: this.#attempts, retryInMs: delay };
    if (this.#attempts === 1) this.#log.error(ctx, 'store write failed; samples kept, retrying');
    else this.#log.warn(ctx, 'store write failed again; samples kept, retrying');
  }

  succeeded(): void {
    if (this.#since === undefined) return;
    this.#log.info(
      { attempts: this.#attempts, downMs: this.#clock.now() - this.#since },
      'store writes go through again',
    );
    this.#since = undefined;
    this.#attempts = 0;
    this.#nextAttemptAt = 0;
  }

  /** For /healthz, while failing. */
  describe(): string | undefined {
    if (this.#since === undefined) return undefined;
    return (
      `store writes failing since ${new Date(this.#since).toISOString()} ` +
      `(${this.#attempts} attempts; last ${this.#last})`
    );
  }
}
