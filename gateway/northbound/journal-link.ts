/**
 * The edge node's side of the journal that is not about publishing: opening it from the
 * gateway config, and its figures as counters and as the Journal/* node metrics.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { JOURNAL_METRIC, type MetricValue } from '../../protocol/index.js';
import type { Clock } from '../clock.js';
import type { JournalConfig } from '../config/schema.js';
import { Journal } from './journal.js';
import type { Replayer } from './replay.js';

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
}

/** Opens the journal the config describes (defaults: gateway/config/schema.ts). */
export function openJournal(
  cfg: Partial<JournalConfig>,
  dataDir: string,
  logger: Logger,
  clock: Clock,
): Journal {
  return new Journal({
    dir: cfg.dir ?? join(dataDir, 'journal'),
    logger,
    now: () => clock.now(),
    ...(cfg.maxBytes === undefined ? {} : { maxBytes: cfg.maxBytes }),
    ...(cfg.maxAgeS === undefined ? {} : { maxAgeMs: cfg.maxAgeS * 1000 }),
    ...(cfg.whenFull === undefined ? {} : { whenFull: cfg.whenFull }),
    ...(cfg.fsyncIntervalMs === undefined ? {} : { fsyncIntervalMs: cfg.fsyncIntervalMs }),
  });
}

export function figuresOf(j: Journal, replayer: Replayer | undefined): JournalFigures {
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
  ];
}

/** Counters under a prefix: `{ dropped: 1 }` → `{ journalDropped: 1 }`. */
export function prefixed(prefix: string, counters: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counters)) {
    if (typeof v === 'number') out[`${prefix}${k[0]!.toUpperCase()}${k.slice(1)}`] = v;
  }
  return out;
}
