/**
 * Groups a flushed batch's gateway messages by edge node, for the durable-write reports
 * (the types are the host/ingest seam's, hub/sink.ts).
 */
import type { SampleSource, SourceProgress } from '../sink.js';

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
