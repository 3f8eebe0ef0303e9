/**
 * The edge node's journal and what goes with it: opening it from the gateway config, its
 * housekeeping timer, its replay, how it is acknowledged (by the hub's NCMD, or by sending
 * with `acknowledgedBy: broker`), and its figures as counters and Journal/* node metrics.
 * The edge node keeps the Sparkplug side: births, devices, what a replayed message becomes.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../protocol/clock.js';
import { JOURNAL_METRIC, type MetricValue, PositionTracker } from '../../protocol/index.js';
import type { JournalConfig } from '../config/schema.js';
import { Journal } from './journal.js';
import { Replayer, type ReplayTarget } from './replay.js';

/**
 * How the link sends a journalled message: the edge node's MQTT session. `onSent` says whether
 * the message was handed to the broker. Named here so that the journal does not depend on the
 * northbound side that uses it.
 */
export interface JournalPublisher {
  publish(topic: string, payload: Uint8Array, onSent?: (ok: boolean) => void): unknown;
}

export interface JournalFigures {
  readonly id: string;
  readonly start: number;
  readonly head: number;
  readonly backlog: number;
  readonly bytes: number;
  readonly dropped: number;
  readonly expired: number;
  readonly refused: number;
  readonly replayed: number;
  /** Messages of machines no longer configured, released instead of replayed (README "Nothing lost"). */
  readonly released: number;
}

/**
 * Opens the journal the config describes (defaults: gateway/config/schema.ts), its housekeeping
 * off the event loop: a process may run a hundred gateways (journal.ts).
 */
function openJournal(cfg: Partial<JournalConfig>, dataDir: string, logger: Logger, clock: Clock): Journal {
  return new Journal({
    dir: cfg.dir ?? join(dataDir, 'journal'),
    logger,
    now: () => clock.now(),
    io: 'background',
    ...(cfg.maxBytes === undefined ? {} : { maxBytes: cfg.maxBytes }),
    ...(cfg.maxAgeS === undefined ? {} : { maxAgeMs: cfg.maxAgeS * 1000 }),
    ...(cfg.whenFull === undefined ? {} : { whenFull: cfg.whenFull }),
    ...(cfg.fsyncIntervalMs === undefined ? {} : { fsyncIntervalMs: cfg.fsyncIntervalMs }),
  });
}

function figuresOf(j: Journal, replayer: Replayer | undefined, released: number): JournalFigures {
  return {
    id: j.id,
    start: j.start,
    head: j.head,
    backlog: j.backlog,
    bytes: j.bytes,
    dropped: j.counters.dropped,
    expired: j.counters.expired,
    refused: j.counters.refused,
    replayed: replayer?.counters.replayed ?? 0,
    released,
  };
}

/** The figures as the Journal/* node metrics. */
export function journalMetricValues(j: JournalFigures): [string, MetricValue][] {
  return [
    [JOURNAL_METRIC.id, j.id],
    [JOURNAL_METRIC.start, j.start],
    [JOURNAL_METRIC.head, j.head],
    [JOURNAL_METRIC.backlog, j.backlog],
    [JOURNAL_METRIC.bytes, j.bytes],
    [JOURNAL_METRIC.dropped, j.dropped],
    [JOURNAL_METRIC.expired, j.expired],
    [JOURNAL_METRIC.refused, j.refused],
    [JOURNAL_METRIC.replayed, j.replayed],
    [JOURNAL_METRIC.released, j.released],
  ];
}

/** Counters under a prefix: `{ dropped: 1 }` → `{ journalDropped: 1 }`. */
function prefixed(prefix: string, counters: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counters)) {
    if (typeof v === 'number') out[`${prefix}${k[0]!.toUpperCase()}${k.slice(1)}`] = v;
  }
  return out;
}

export interface JournalLinkOptions {
  readonly config: Partial<JournalConfig>;
  readonly dataDir: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly session: JournalPublisher;
  /** What the replay publishes through (the edge node). */
  readonly target: ReplayTarget;
}

export class JournalLink {
  readonly journal: Journal;
  readonly replayer: Replayer;
  readonly #session: JournalPublisher;
  readonly #clock: Clock;
  /** acknowledgedBy: broker — positions the broker has (QoS 0: written to the socket). */
  readonly #sent: PositionTracker | undefined;
  #timer: TimerHandle | undefined;
  #released = 0;

  constructor(o: JournalLinkOptions) {
    const cfg = o.config;
    this.#session = o.session;
    this.#clock = o.clock;
    this.journal = openJournal(cfg, o.dataDir, o.logger, o.clock);
    const byBroker = cfg.acknowledgedBy === 'broker';
    if (byBroker) this.#sent = new PositionTracker(this.journal.acked);
    this.replayer = new Replayer({
      journal: this.journal,
      clock: o.clock,
      logger: o.logger,
      perSecond: cfg.replayPerSecond ?? 500,
      // With the broker as the acknowledgement, sending is acknowledging: no window needed.
      window: byBroker ? Number.MAX_SAFE_INTEGER : (cfg.replayWindow ?? 1000),
      target: o.target,
    });
    this.#arm();
  }

  /** Publishes a journalled message; with acknowledgedBy: broker, sending it is the acknowledgement. */
  publish(topic: string, payload: Uint8Array, position: number | undefined): void {
    const sent = this.#sent;
    if (sent === undefined || position === undefined) {
      this.#session.publish(topic, payload);
      return;
    }
    this.#session.publish(topic, payload, (ok) => {
      if (ok && sent.add(position)) this.journal.ack(sent.floor);
    });
  }

  /**
   * Publishes the release of a journalled message the gateway will never send (its machine is
   * no longer configured): `payload` is an NDATA carrying the message's position, which the
   * hub acknowledges as it does a stored message, so its acknowledgement passes it. With
   * acknowledgedBy: broker, sending it frees the position as any message does. `message` is
   * built after the count moved, so the NDATA carries the new Journal/Released.
   */
  release(position: number, message: () => { topic: string; payload: Uint8Array }): void {
    this.#released++;
    const { topic, payload } = message();
    this.publish(topic, payload, position);
  }

  /** Messages released so far (this run): the Journal/Released node metric. */
  get released(): number {
    return this.#released;
  }

  /** The hub's NCMD: its store holds every message up to `ack` of journal `id`. */
  hubAck(ack: unknown, id: unknown): 'acked' | 'stale' | 'malformed' {
    if (typeof ack !== 'number' || typeof id !== 'string') return 'malformed';
    if (id !== this.journal.id || this.#sent !== undefined) return 'stale';
    this.journal.ack(ack);
    return 'acked';
  }

  figures(): JournalFigures {
    return figuresOf(this.journal, this.replayer, this.#released);
  }

  counters(): Record<string, number> {
    return {
      ...prefixed('journal', this.journal.counters),
      ...prefixed('replay', this.replayer.counters),
      journalReleased: this.#released,
    };
  }

  /** Stops the housekeeping and the replay, closes the journal and waits for its last fsync and seal. */
  async close(): Promise<void> {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.replayer.stop();
    this.journal.close();
    await this.journal.settled();
  }

  #arm(): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.journal.maintain();
      this.#arm();
    }, 1000);
  }
}
