/**
 * Which gateway messages are durably written: the part of the ingest the acknowledgement
 * to gateway journals hangs off (docs/store.md, "Durable-write events").
 *
 * The host tags each data message's samples with its source: the edge node and a `seq`
 * that only grows per edge node (the gateway journal's position of the message, not
 * Sparkplug's 8-bit seq). The ingest writes messages in the order it accepted them. When the
 * buffer is full a message is refused: its samples are not stored and the gateway must send
 * it again, so nothing of that edge node at or after the refused seq may be acknowledged
 * until the gateway replays from there. This tracker keeps that rule.
 */

/** Where a message's samples came from. */
export interface SampleSource {
  /** Sparkplug group id (= enterprise). */
  readonly group: string;
  readonly edgeNode: string;
  /** Grows by message per edge node (the gateway journal position). */
  readonly seq: number;
}

/** One edge node's part of a flushed batch. */
export interface SourceProgress {
  readonly group: string;
  readonly edgeNode: string;
  /** The highest seq of this edge node in the batch. */
  readonly highestSeq: number;
  /**
   * The highest seq in the batch that may be acknowledged: every message of this edge node
   * up to it that reached the ingest is now in the store (or given up as unstorable).
   * Undefined when none may be (the messages came after a refused one). Acknowledge the
   * maximum seen so far; it can go down when a gateway replays from further back.
   */
  readonly ackable: number | undefined;
  /** Set while a refused message is not replayed yet: ask the gateway to resend from here. */
  readonly refusedFrom: number | undefined;
}

/** What `Ingest.onFlushed` listeners receive after each store write that is over for good. */
export interface FlushedBatch {
  /**
   * `written`: the store holds every sample. `rejected`: the store refused the data itself
   * (HTTP 400-style, see `StoreError.retryable`); it will never be stored, so it is counted,
   * logged and reported as done, lest a gateway replay it forever.
   */
  readonly outcome: 'written' | 'rejected';
  readonly samples: number;
  readonly sources: readonly SourceProgress[];
  /** Hub clock, ms. */
  readonly at: number;
}

/** A source as the buffer keeps it, with what was known when the message was accepted. */
export interface TrackedSource extends SampleSource {
  readonly key: string;
  /** False when the message was accepted after a refused one of the same edge node. */
  readonly ackable: boolean;
}

export function sourceKey(group: string, edgeNode: string): string {
  return `${group}\u0000${edgeNode}`;
}

export class SourceTracker {
  /** Per edge node: the lowest seq refused and not replayed since. */
  readonly #refusedFrom = new Map<string, number>();

  /** A message was accepted into the buffer. */
  accepted(source: SampleSource): TrackedSource {
    const key = sourceKey(source.group, source.edgeNode);
    const gap = this.#refusedFrom.get(key);
    // A seq at or before the gap means the gateway is replaying from its last acknowledged
    // position, which lies before the gap: the refused messages are coming again, in order.
    if (gap !== undefined && source.seq <= gap) this.#refusedFrom.delete(key);
    const ackable = !this.#refusedFrom.has(key);
    return { group: source.group, edgeNode: source.edgeNode, seq: source.seq, key, ackable };
  }

  /** A message was refused (buffer full). */
  refused(source: SampleSource): void {
    const key = sourceKey(source.group, source.edgeNode);
    const gap = this.#refusedFrom.get(key);
    if (gap === undefined || source.seq < gap) this.#refusedFrom.set(key, source.seq);
  }

  /** Edge nodes with refused messages not yet replayed, and where the replay must start. */
  gaps(): { group: string; edgeNode: string; refusedFrom: number }[] {
    return [...this.#refusedFrom].map(([key, refusedFrom]) => {
      const [group = '', edgeNode = ''] = key.split('\u0000');
      return { group, edgeNode, refusedFrom };
    });
  }

  /** Per edge node, the progress a written batch of messages (in buffer order) makes. */
  progress(sources: Iterable<TrackedSource>): SourceProgress[] {
    const by = new Map<string, { group: string; edgeNode: string; highest: number; ackable?: number }>();
    for (const s of sources) {
      let p = by.get(s.key);
      if (p === undefined) {
        p = { group: s.group, edgeNode: s.edgeNode, highest: s.seq };
        by.set(s.key, p);
      }
      p.highest = Math.max(p.highest, s.seq);
      if (s.ackable) p.ackable = Math.max(p.ackable ?? s.seq, s.seq);
    }
    return [...by].map(([key, p]) => ({
      group: p.group,
      edgeNode: p.edgeNode,
      highestSeq: p.highest,
      ackable: p.ackable,
      refusedFrom: this.#refusedFrom.get(key),
    }));
  }
}
