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
 *
 * A gateway releases, rather than sends, the journalled data of a machine it no longer has: an
 * NDATA carrying the position, acknowledged like a stored message (processor.ts). Should an
 * acknowledgement still stop advancing while the gateway reports a backlog (`Journal/Backlog`),
 * or that backlog keep growing, for `stallMs`, `health()` is degraded naming the gateway.
 */
import type { Logger } from 'pino';
import type { Timers } from '../../protocol/clock.js';
import {
  DataType,
  encodePayload,
  JOURNAL_METRIC,
  type Metric,
  PositionTracker,
} from '../../protocol/index.js';
import type { ComponentHealth } from '../errors.js';
import type { FlushedBatch, SampleSource } from '../sink.js';

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
  /** How long an acknowledgement may stand still, or a backlog grow, before health() is degraded; default 120 000 ms. */
  readonly stallMs?: number;
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
  /** False after the edge node's NDEATH: nothing is expected of it until its next birth. */
  alive: boolean;
  /** The floor as last seen by the tick, and since when. */
  floorSeen: number;
  floorAt: number;
  /** The gateway's last reported Journal/Backlog. */
  backlog: number | undefined;
  /**
   * The lowest backlog reported since `at`, and the acknowledged position then: a backlog above
   * it all along, by more than what is in flight, has been growing.
   */
  mark: { backlog: number; at: number; floor: number } | undefined;
  /** Why this journal does not drain, while it does not. */
  stalled: string | undefined;
}

/** The journal figures an NBIRTH or NDATA carries. */
export interface JournalReport {
  readonly backlog?: number;
}

/** One gateway journal as the host sees it (/metrics). */
export interface JournalStatus {
  readonly group: string;
  readonly edgeNode: string;
  /** The position acknowledged: everything up to it is stored. */
  readonly acknowledged: number;
  /** The gateway's last reported Journal/Backlog; undefined before it reported one. */
  readonly backlog: number | undefined;
  /** Its acknowledgement stands still, or its backlog keeps growing (health() names it). */
  readonly stalled: boolean;
}

export interface AckCounters {
  acksSent: number;
  replayRequests: number;
  gapRebirths: number;
}

/** The journal figures of an NBIRTH, when the edge node has a journal. */
export function journalOf(
  metrics: readonly Metric[],
): { id: string; start: number; backlog?: number } | undefined {
  let id: unknown;
  let start: unknown;
  let backlog: unknown;
  for (const m of metrics) {
    if (m.name === JOURNAL_METRIC.id) id = m.value;
    else if (m.name === JOURNAL_METRIC.start) start = m.value;
    else if (m.name === JOURNAL_METRIC.backlog) backlog = m.value;
  }
  if (typeof id !== 'string' || id === '' || typeof start !== 'number' || !(start >= 1)) return undefined;
  return typeof backlog === 'number' && backlog >= 0 ? { id, start, backlog } : { id, start };
}

/** At most this many stalled gateways are named in health()'s detail. */
const NAMED_IN_HEALTH = 5;

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

  /**
   * Forgets the journals of `group`'s edge nodes (another cluster worker takes the group in now
   * and acknowledges them; what this one stored and never acknowledged is replayed to it).
   */
  forgetGroup(group: string): void {
    for (const [k, n] of this.#nodes) if (n.group === group) this.#nodes.delete(k);
  }

  /** An NBIRTH with a journal: everything before `start` is done as far as the gateway knows. */
  birth(group: string, edgeNode: string, id: string, start: number, report: JournalReport = {}): void {
    const k = key(group, edgeNode);
    const n = this.#nodes.get(k);
    if (n === undefined || n.id !== id) {
      if (n !== undefined) this.#log.info({ group, edgeNode, id }, 'gateway journal changed; starting over');
      const fresh: NodeJournal = {
        group,
        edgeNode,
        id,
        stored: new PositionTracker(start - 1),
        sent: start - 1,
        refused: false,
        gapSince: undefined,
        alive: true,
        floorSeen: start - 1,
        floorAt: this.#o.clock(),
        backlog: undefined,
        mark: undefined,
        stalled: undefined,
      };
      this.#nodes.set(k, fresh);
      this.#report(fresh, report);
      return;
    }
    // A rebirth (asked for by a gap, say) does not restart the stall clocks: only progress does.
    n.alive = true;
    this.#report(n, report);
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

  /** The journal figures of an NDATA (Journal/Backlog). */
  report(group: string, edgeNode: string, report: JournalReport): void {
    const n = this.#nodes.get(key(group, edgeNode));
    if (n !== undefined) this.#report(n, report);
  }

  /** The edge node died: its journal waits for its next birth, which is not a stall of the hub's. */
  death(group: string, edgeNode: string): void {
    const n = this.#nodes.get(key(group, edgeNode));
    if (n === undefined) return;
    n.alive = false;
    n.mark = undefined;
    this.#setStalled(n, undefined);
  }

  /**
   * Degraded while a gateway's journal does not drain: its acknowledgement has not moved for
   * `stallMs` while it reports a backlog, or its backlog has stayed above where it was
   * `stallMs` ago all along (README "Nothing lost", docs/hub.md).
   */
  health(): ComponentHealth {
    const stalled = [...this.#nodes.values()].filter((n) => n.stalled !== undefined);
    if (stalled.length === 0) return { status: 'up' };
    const named = stalled
      .slice(0, NAMED_IN_HEALTH)
      .map((n) => `gateway ${n.group}/${n.edgeNode}: ${n.stalled}`);
    const more = stalled.length - named.length;
    return { status: 'degraded', detail: `${named.join('; ')}${more > 0 ? `; and ${more} more` : ''}` };
  }

  /** Every journal known since start, a dead gateway's too (its last backlog, never stalled). */
  journals(): JournalStatus[] {
    return [...this.#nodes.values()].map((n) => ({
      group: n.group,
      edgeNode: n.edgeNode,
      acknowledged: n.stored.floor,
      backlog: n.backlog,
      stalled: n.stalled !== undefined,
    }));
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

  #report(n: NodeJournal, report: JournalReport): void {
    const backlog = report.backlog;
    if (backlog === undefined || !Number.isFinite(backlog) || backlog < 0) return;
    n.backlog = backlog;
    if (n.mark === undefined || backlog <= n.mark.backlog)
      n.mark = { backlog, at: this.#o.clock(), floor: n.stored.floor };
  }

  /** Why `n`'s journal does not drain, or undefined while it does (or is not expected to). */
  #stall(n: NodeJournal, now: number): string | undefined {
    if (!n.alive || n.backlog === undefined || n.backlog === 0) return undefined;
    const stallMs = this.#o.stallMs ?? 120_000;
    const still = now - n.floorAt;
    if (still >= stallMs) {
      const missing = n.stored.gap === undefined ? '' : `, waiting for position ${n.stored.gap}`;
      return `acknowledgement stuck at ${n.stored.floor} for ${Math.round(still / 1000)} s${missing} with ${n.backlog} messages in its journal`;
    }
    // Growth beyond what is in flight: a journal that drains while the gateway keeps sending
    // always holds the messages sent since the last acknowledgement, more or fewer from one
    // report to the next. It counts as growing when it grew by more than a tenth of what was
    // acknowledged meanwhile (the hub falls behind), not by a few messages in flight.
    const mark = n.mark;
    const inFlight = mark === undefined ? 0 : Math.max(0, n.stored.floor - mark.floor) / 10;
    if (mark !== undefined && n.backlog - mark.backlog > inFlight && now - mark.at >= stallMs) {
      return `journal backlog grew from ${mark.backlog} to ${n.backlog} in ${Math.round((now - mark.at) / 1000)} s`;
    }
    return undefined;
  }

  #setStalled(n: NodeJournal, why: string | undefined): void {
    if (why === n.stalled) return;
    const was = n.stalled;
    n.stalled = why;
    const who = { group: n.group, edgeNode: n.edgeNode, acknowledged: n.stored.floor, backlog: n.backlog };
    if (why !== undefined && was === undefined)
      this.#log.warn({ ...who, why }, 'gateway journal not draining');
    else if (why === undefined) this.#log.info(who, 'gateway journal draining again');
  }

  #tick(): void {
    const now = this.#o.clock();
    for (const n of this.#nodes.values()) {
      if (n.stored.floor !== n.floorSeen) {
        n.floorSeen = n.stored.floor;
        n.floorAt = now;
      }
      this.#setStalled(n, this.#stall(n, now));
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
