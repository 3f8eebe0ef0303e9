/**
 * Which gateway messages are durably written: the part of the ingest the acknowledgement to
 * gateway journals hangs off (hub/host/acks.ts; docs/store.md, "Durable-write events").
 *
 * The host tags each data message's samples with its source: the edge node and the message's
 * journal position (Wanji's payload extension; it only grows per gateway journal, unlike
 * Sparkplug's 8-bit seq). After each batch the store has for good, the ingest reports the
 * positions it covered; a message refused because the buffer is full is reported too, so the
 * gateway can be asked to send it again.
 */

/** Where a message's samples came from. */
export interface SampleSource {
  /** Sparkplug group id (= enterprise). */
  readonly group: string;
  readonly edgeNode: string;
  /** The message's gateway journal position. */
  readonly position: number;
}

/** One edge node's part of a flushed batch. */
export interface SourceProgress {
  readonly group: string;
  readonly edgeNode: string;
  /** Journal positions whose samples the store now holds (or gave up as unstorable). */
  readonly positions: readonly number[];
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

/** Groups the sources of a batch's messages (in buffer order) by edge node. */
export function progressOf(sources: Iterable<SampleSource>): SourceProgress[] {
  const by = new Map<string, { group: string; edgeNode: string; positions: number[] }>();
  for (const s of sources) {
    const key = `${s.group}\u0000${s.edgeNode}`;
    let p = by.get(key);
    if (p === undefined) {
      p = { group: s.group, edgeNode: s.edgeNode, positions: [] };
      by.set(key, p);
    }
    p.positions.push(s.position);
  }
  return [...by.values()];
}
