/**
 * Acknowledgements to gateway journals (README "Nothing lost"). A Wanji gateway announces its
 * journal in its NBIRTH (`Journal/Id`, `Journal/Start`) and puts each data message's journal
 * position in the payload. The ingest reports which positions the store holds; per edge node
 * this keeps the highest position with everything up to it stored, and tells the gateway in
 * an NCMD (`Journal/Id`, `Journal/Ack`) at most every `intervalMs`. The gateway then frees
 * its journal up to there.
 *
 * What never reaches the store leaves a gap the acknowledgement cannot pass: a message the
 * ingest refused (buffer full), one lost on a cut connection, one the host dropped. The gap is
 * closed by asking the gateway for a rebirth, after which it replays everything
 * unacknowledged: at once for refused messages once the ingest takes data again, after
 * `gapTimeoutMs` for the others. Edge nodes without a journal are left alone.
 */
import type { Logger } from 'pino';
import {
  DataType,
  encodePayload,
  JOURNAL_METRIC,
  type Metric,
  PositionTracker,
} from '../../protocol/index.js';
import type { FlushedBatch, SampleSource } from '../ingest/sources.js';
import type { Timers } from './types.js';

/** What the acknowledgements need of the ingest. */
export interface DurableWrites {
  onFlushed(listener: (batch: FlushedBatch) => void): () => void;
  onRefused(listener: (source: SampleSource) => void): () => void;
  /** True while the ingest refuses new messages. */
  readonly refusing: boolean;
}

export interface JournalAcksOptions {
  readonly writes: DurableWrites;
  readonly publish: (group: string, edgeNode: string, payload: Uint8Array) => void;
  readonly requestRebirth: (group: string, edgeNode: string, reason: string) => void;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly timers: Timers;
  /** Default 500 ms. */
  readonly intervalMs?: number;
  /** Default 10 000 ms. */
  readonly gapTimeoutMs?: number;
}

interface NodeJournal {
  readonly group: string;
  readonly edgeNode: string;
  id: string;
  readonly stored: PositionTracker;
  /** The last position acknowledged to the gateway. */
  sent: number;
  /** A message was refused since the last rebirth request. */
  refused: boolean;
  gapSince: number | undefined;
}

export interface AckCounters {
  acksSent: number;
  replayRequests: number;
  gapRebirths: number;
}

/** The journal figures of an NBIRTH, when the edge node has a journal. */
export function journalOf(metrics: readonly Metric[]): { id: string; start: number } | undefined {
  let id: unknown;
  let start: unknown;
  for (const m of metrics) {
    if (m.name === JOURNAL_METRIC.id) id = m.value;
    else if (m.name === JOURNAL_METRIC.start) start = m.value;
  }
  if (typeof id !== 'string' || id === '' || typeof start !== 'number' || !(start >= 1)) return undefined;
  return { id, start };
}

const key = (group: string, edgeNode: string): string => `${group}\u0000${edgeNode}`;

export class JournalAcks {
  readonly counters: AckCounters = { acksSent: 0, replayRequests: 0, gapRebirths: 0 };
  readonly #o: JournalAcksOptions;
  readonly #log: Logger;
  readonly #nodes = new Map<string, NodeJournal>();
  readonly #unsubscribe: (() => void)[] = [];
  #timer: unknown;

  constructor(opts: JournalAcksOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'journal-acks' });
  }

  start(): void {
    if (this.#unsubscribe.length > 0) return;
    this.#unsubscribe.push(
      this.#o.writes.onFlushed((b) => this.#flushed(b)),
      this.#o.writes.onRefused((s) => this.#refused(s)),
    );
    this.#arm();
  }

  close(): void {
    for (const u of this.#unsubscribe.splice(0)) u();
    this.#o.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** An NBIRTH with a journal: everything before `start` is done as far as the gateway knows. */
  birth(group: string, edgeNode: string, id: string, start: number): void {
    const k = key(group, edgeNode);
    const n = this.#nodes.get(k);
    if (n === undefined || n.id !== id) {
      if (n !== undefined) this.#log.info({ group, edgeNode, id }, 'gateway journal changed; starting over');
      this.#nodes.set(k, {
        group,
        edgeNode,
        id,
        stored: new PositionTracker(start - 1),
        sent: start - 1,
        refused: false,
        gapSince: undefined,
      });
      return;
    }
    n.stored.raise(start - 1);
    // The gateway starts from `start`: repeat the acknowledgement it may have missed.
    n.sent = Math.min(n.sent, start - 1);
    n.refused = false;
    n.gapSince = undefined;
  }

  /** The gateway gave up on positions before `start` (journal full or too old). */
  raise(group: string, edgeNode: string, start: number): void {
    this.#nodes.get(key(group, edgeNode))?.stored.raise(start - 1);
  }

  /** The acknowledged position of an edge node (tests, diagnostics). */
  acknowledged(group: string, edgeNode: string): number | undefined {
    return this.#nodes.get(key(group, edgeNode))?.stored.floor;
  }

  #flushed(batch: FlushedBatch): void {
    for (const s of batch.sources) {
      const n = this.#nodes.get(key(s.group, s.edgeNode));
      if (n === undefined) continue;
      for (const p of s.positions) n.stored.add(p);
    }
  }

  #refused(s: SampleSource): void {
    const n = this.#nodes.get(key(s.group, s.edgeNode));
    if (n !== undefined) n.refused = true;
  }

  #arm(): void {
    this.#timer = this.#o.timers.setTimeout(() => {
      this.#tick();
      if (this.#unsubscribe.length > 0) this.#arm();
    }, this.#o.intervalMs ?? 500);
  }

  #tick(): void {
    const now = this.#o.clock();
    for (const n of this.#nodes.values()) {
      if (n.stored.floor > n.sent) this.#ack(n, now);
      if (n.refused && !this.#o.writes.refusing) {
        n.refused = false;
        n.gapSince = undefined;
        this.counters.replayRequests++;
        this.#o.requestRebirth(n.group, n.edgeNode, 'replay the messages the full ingest buffer refused');
        continue;
      }
      if (n.stored.gap === undefined || n.refused) {
        n.gapSince = undefined;
        continue;
      }
      n.gapSince ??= now;
      if (now - n.gapSince >= (this.#o.gapTimeoutMs ?? 10_000)) {
        n.gapSince = now;
        this.counters.gapRebirths++;
        this.#log.warn(
          { group: n.group, edgeNode: n.edgeNode, missing: n.stored.gap, waiting: n.stored.waiting },
          'journal positions missing; asking the gateway to replay',
        );
        this.#o.requestRebirth(n.group, n.edgeNode, `journal position ${n.stored.gap} never arrived`);
      }
    }
  }

  #ack(n: NodeJournal, now: number): void {
    const floor = n.stored.floor;
    const payload = encodePayload({
      timestamp: now,
      metrics: [
        { name: JOURNAL_METRIC.id, datatype: DataType.String, value: n.id, timestamp: now },
        { name: JOURNAL_METRIC.ack, datatype: DataType.UInt64, value: floor, timestamp: now },
      ],
    });
    this.#o.publish(n.group, n.edgeNode, payload);
    n.sent = floor;
    this.counters.acksSent++;
  }
}
