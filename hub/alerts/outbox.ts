/**
 * The notification outbox: the evaluator writes a row per channel when an alert fires or
 * clears (in the same transaction as the alert) and only kicks this; the delivery runs on its
 * own, one row at a time, so a slow or dead channel never holds up an evaluation. A failed
 * attempt is logged, counted and retried after protocol/backoff.ts's delay (exponential,
 * capped, jittered) until `maxAttempts`; then the row is kept as failed, and its rule shows it.
 * Rows survive a restart: what was pending is sent when the hub is back.
 */
import type { Logger } from 'pino';
import { backoffDelay } from '../../protocol/backoff.js';
import type { Clock, TimerHandle } from '../../protocol/clock.js';
import type { AlertRepository, OutboxRow } from '../database/alerts.js';
import type { Channel } from './channels/index.js';
import type { AlertsConfig } from './config.js';
import type { Notice } from './message.js';

const BATCH = 50;
const KEEP_MS = 30 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

export interface OutboxCounters {
  sent: number;
  failedAttempts: number;
  givenUp: number;
}

export interface OutboxOptions {
  readonly repository: () => AlertRepository;
  readonly channels: () => ReadonlyMap<string, Channel>;
  /** The notice a row sends on a channel; undefined when its alert is gone. */
  readonly render: (row: OutboxRow, channel: Channel) => Notice | undefined;
  readonly retry: AlertsConfig['retry'];
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random?: () => number;
}

export class Outbox {
  readonly counters: OutboxCounters = { sent: 0, failedAttempts: 0, givenUp: 0 };
  readonly #o: OutboxOptions;
  readonly #log: Logger;
  #timer: TimerHandle | undefined;
  #timerAt: number | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #open = false;
  #prunedAt = 0;
  readonly #abort = new AbortController();

  constructor(o: OutboxOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'alert-outbox' });
  }

  /** What was pending when the hub stopped is tried at once, not after its backoff. */
  start(): void {
    this.#open = true;
    try {
      this.#o.repository().dueNow(this.#o.clock.now());
    } catch (err) {
      this.#log.error({ err }, 'cannot read the alert outbox');
    }
    this.kick();
  }

  async close(): Promise<void> {
    this.#open = false;
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await this.#running?.catch(() => undefined);
  }

  /** Deliver what is due now (never waits for it). */
  kick(): void {
    this.#arm(this.#o.clock.now());
  }

  /** Runs a delivery pass now and waits for it (tests, and the test route's caller). */
  async drain(): Promise<void> {
    await this.#run();
  }

  #arm(at: number): void {
    if (!this.#open) return;
    if (this.#timer !== undefined && this.#timerAt !== undefined && this.#timerAt <= at) return;
    this.#o.clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#o.clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = undefined;
        void this.#run();
      },
      Math.max(0, at - this.#o.clock.now()),
    );
  }

  /** One pass at a time; a kick during a pass makes another. */
  #run(): Promise<void> {
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#pass()
      .catch((err: unknown) => this.#log.error({ err }, 'alert notification pass failed'))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        } else this.#scheduleNext();
      });
    return this.#running;
  }

  #scheduleNext(): void {
    if (!this.#open) return;
    try {
      const next = this.#o.repository().nextDue();
      if (next !== undefined) this.#arm(next);
    } catch (err) {
      this.#log.error({ err }, 'cannot read the alert outbox');
    }
  }

  async #pass(): Promise<void> {
    const repo = this.#o.repository();
    const now = this.#o.clock.now();
    if (now - this.#prunedAt >= PRUNE_EVERY_MS) {
      this.#prunedAt = now;
      repo.prune(now - KEEP_MS);
    }
    for (;;) {
      if (!this.#open && this.#abort.signal.aborted) return;
      const rows = repo.due(this.#o.clock.now(), BATCH);
      if (rows.length === 0) return;
      for (const row of rows) {
        if (this.#abort.signal.aborted) return;
        await this.#deliver(repo, row);
      }
    }
  }

  async #deliver(repo: AlertRepository, row: OutboxRow): Promise<void> {
    const channel = this.#o.channels().get(row.channel);
    if (channel === undefined) {
      this.#fail(
        repo,
        row,
        `channel "${row.channel}" is no longer in the hub config's alerts.channels`,
        true,
      );
      return;
    }
    const notice = this.#o.render(row, channel);
    if (notice === undefined) {
      this.#fail(repo, row, `alert ${row.alertId} no longer exists`, true);
      return;
    }
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#o.retry.timeoutMs)]);
    try {
      await channel.send(notice, signal);
    } catch (err) {
      if (this.#abort.signal.aborted) return; // closing: it stays pending for the next start
      this.#fail(repo, row, err instanceof Error ? err.message : String(err), false);
      return;
    }
    repo.markSent(row.id, this.#o.clock.now());
    this.counters.sent++;
    this.#log.info(
      { alert: row.alertId, channel: row.channel, event: row.event, attempts: row.attempts + 1 },
      'alert notification sent',
    );
  }

  #fail(repo: AlertRepository, row: OutboxRow, reason: string, final: boolean): void {
    const now = this.#o.clock.now();
    const attempts = row.attempts + 1;
    const giveUp = final || attempts >= this.#o.retry.maxAttempts;
    const { minDelayMs, maxDelayMs } = this.#o.retry;
    const delay = backoffDelay(
      attempts - 1,
      minDelayMs,
      Math.max(minDelayMs, maxDelayMs),
      this.#o.random ?? Math.random,
    );
    repo.markFailed(row.id, now, reason.slice(0, 500), giveUp ? 'give-up' : { at: now + delay });
    this.counters.failedAttempts++;
    if (giveUp) this.counters.givenUp++;
    this.#log.warn(
      {
        alert: row.alertId,
        channel: row.channel,
        event: row.event,
        attempts,
        reason,
        ...(giveUp ? { givenUp: true } : { retryInMs: delay }),
      },
      giveUp ? 'alert notification given up' : 'alert notification failed; will retry',
    );
  }
}
