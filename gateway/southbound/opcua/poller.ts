/**
 * Polling mode, for servers whose subscriptions are weak or absent: the tags of one interval
 * are read together, in Read requests of at most `batch` nodes, at a fixed rate. A poll still
 * running when the next is due is not overlapped: that turn is skipped and counted.
 */
import { AttributeIds, type ClientSession, type DataValue, type NodeId } from 'node-opcua';
import type { Clock, TimerHandle } from '../../../protocol/clock.js';

export interface PollItem {
  readonly index: number;
  readonly nodeId: NodeId;
  readonly intervalMs: number;
}

export interface PollerHandlers {
  onValue(index: number, dv: DataValue): void;
  /** One Read answered, after `ms`. */
  onRead(ms: number): void;
  onReadError(err: unknown): void;
  /** A poll was due while the previous one of its interval still ran. */
  onOverrun(): void;
}

/** The fastest a poller reads, whatever the config says (0 means "as fast as possible" to OPC UA). */
export const MIN_POLL_MS = 50;

/** Reads `nodeIds` in requests of at most `batch`; values come back in order. */
export async function readInBatches(
  session: Pick<ClientSession, 'read'>,
  nodeIds: readonly NodeId[],
  batch: number,
  onBatch: (offset: number, values: DataValue[], ms: number) => void,
  now: () => number,
): Promise<void> {
  for (let i = 0; i < nodeIds.length; i += batch) {
    const began = now();
    const values = await session.read(
      nodeIds.slice(i, i + batch).map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value })),
      0,
    );
    onBatch(i, values, now() - began);
  }
}

interface Group {
  readonly intervalMs: number;
  readonly items: readonly PollItem[];
  timer: TimerHandle | undefined;
  running: boolean;
  due: number;
}

export class Poller {
  readonly #session: Pick<ClientSession, 'read'>;
  readonly #batch: number;
  readonly #clock: Clock;
  readonly #handlers: PollerHandlers;
  /** True while reads cannot succeed (reconnecting): turns are skipped without counting. */
  readonly #paused: () => boolean;
  readonly #groups: Group[];
  #closed = false;

  constructor(
    session: Pick<ClientSession, 'read'>,
    items: readonly PollItem[],
    options: { batch: number; clock: Clock; paused: () => boolean },
    handlers: PollerHandlers,
  ) {
    this.#session = session;
    this.#batch = options.batch;
    this.#clock = options.clock;
    this.#paused = options.paused;
    this.#handlers = handlers;
    const byInterval = new Map<number, PollItem[]>();
    for (const item of items) {
      const interval = Math.max(MIN_POLL_MS, item.intervalMs);
      byInterval.set(interval, [...(byInterval.get(interval) ?? []), item]);
    }
    this.#groups = [...byInterval].map(([intervalMs, group]) => ({
      intervalMs,
      items: group,
      timer: undefined,
      running: false,
      due: 0,
    }));
  }

  start(): void {
    const now = this.#clock.now();
    for (const g of this.#groups) {
      g.due = now;
      this.#tick(g);
    }
  }

  close(): void {
    this.#closed = true;
    for (const g of this.#groups) this.#clock.clearTimeout(g.timer);
  }

  #tick(g: Group): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    if (g.running) this.#handlers.onOverrun();
    else if (!this.#paused()) void this.#poll(g);
    g.due += g.intervalMs;
    if (g.due <= now) g.due = now + g.intervalMs; // late: keep the rate, drop the missed turns
    g.timer = this.#clock.setTimeout(() => this.#tick(g), g.due - now);
  }

  async #poll(g: Group): Promise<void> {
    g.running = true;
    try {
      await readInBatches(
        this.#session,
        g.items.map((i) => i.nodeId),
        this.#batch,
        (offset, values, ms) => {
          this.#handlers.onRead(ms);
          if (this.#closed) return;
          values.forEach((dv, k) => {
            const item = g.items[offset + k];
            if (item !== undefined) this.#handlers.onValue(item.index, dv);
          });
        },
        () => this.#clock.now(),
      );
    } catch (err) {
      if (!this.#closed) this.#handlers.onReadError(err);
    } finally {
      g.running = false;
    }
  }
}
