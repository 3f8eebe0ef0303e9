/**
 * After each birth the edge node publishes again, as historical, what its journal holds
 * unacknowledged up to the position it had reached at the birth: oldest first, at most
 * `perSecond` messages a second, pausing while the MQTT connection has a backlog of its own.
 * Live data keeps flowing meanwhile (it carries later positions); the hub's store overwrites
 * a sample it already had, so a message sent twice is stored once.
 *
 * Flow control: the replay runs at most `window` messages ahead of what the hub has
 * acknowledged, so a hub whose store is slow (or refusing) is not flooded with a backlog it
 * would have to refuse; it goes on as the acknowledgements come.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../protocol/clock.js';
import type { JournalRecord } from './format.js';
import type { Journal } from './journal.js';

export type ReplayOutcome = 'sent' | 'wait' | 'skip';

export interface ReplayTarget {
  /** Publishes one message again: `wait` when its device is not ready yet, `skip` when gone. */
  replay(record: JournalRecord): ReplayOutcome;
  /** False while the connection is backed up; the replay waits. */
  ready(): boolean;
  /** The replay reached its end (or was overtaken by acknowledgements). */
  finished(): void;
}

export interface ReplayOptions {
  readonly journal: Journal;
  readonly target: ReplayTarget;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly perSecond: number;
  /** Messages the replay may send beyond the acknowledged position. */
  readonly window: number;
}

const TICK_MS = 100;

export class Replayer {
  readonly counters = { replays: 0, replayed: 0, skipped: 0 };
  readonly #o: ReplayOptions;
  #next = 0;
  #end = -1;
  #timer: TimerHandle | undefined;
  #startedAt = 0;
  #sent = 0;

  constructor(opts: ReplayOptions) {
    this.#o = opts;
  }

  get active(): boolean {
    return this.#timer !== undefined;
  }

  /** Replays what is unacknowledged up to `end` (the journal's head at the birth). */
  start(end: number): void {
    this.stop();
    const from = this.#o.journal.start;
    if (from > end) return;
    this.#next = from;
    this.#end = end;
    this.#startedAt = this.#o.clock.now();
    this.#sent = 0;
    this.counters.replays++;
    this.#o.logger.info({ from, to: end, messages: end - from + 1 }, 'replaying the journal as historical');
    this.#arm(0);
  }

  stop(): void {
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = this.#o.clock.setTimeout(() => this.#tick(), ms);
  }

  #tick(): void {
    this.#timer = undefined;
    const j = this.#o.journal;
    if (!this.#o.target.ready()) {
      this.#arm(TICK_MS);
      return;
    }
    const budget = Math.max(1, Math.round((this.#o.perSecond * TICK_MS) / 1000));
    const from = Math.max(this.#next, j.start);
    if (from > this.#end) {
      this.#finish();
      return;
    }
    const room = j.acked + this.#o.window - from + 1;
    if (room <= 0) {
      this.#arm(TICK_MS); // waiting for acknowledgements
      return;
    }
    const records = j.read(from, Math.min(budget, room, this.#end - from + 1));
    if (records.length === 0) {
      this.#finish();
      return;
    }
    for (const r of records) {
      const outcome = this.#o.target.replay(r);
      if (outcome === 'wait') {
        this.#next = r.position;
        this.#arm(TICK_MS);
        return;
      }
      if (outcome === 'sent') {
        this.counters.replayed++;
        this.#sent++;
      } else this.counters.skipped++;
      this.#next = r.position + 1;
    }
    if (this.#next > this.#end) this.#finish();
    else this.#arm(TICK_MS);
  }

  #finish(): void {
    this.stop();
    this.#o.logger.info(
      { messages: this.#sent, ms: this.#o.clock.now() - this.#startedAt },
      'journal replay finished',
    );
    this.#o.target.finished();
  }
}
