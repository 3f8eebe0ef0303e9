/**
 * The ingest's queue (hub/ingest/buffer.ts): a batch is whole messages from the head, at most
 * `maxSamples` samples unless the first message alone has more, its samples in arrival order.
 */
import { describe, expect, it } from 'vitest';
import { SampleBuffer } from '../../hub/ingest/buffer.js';
import type { Sample } from '../../hub/store/types.js';

function message(machine: string, n: number): Sample[] {
  return Array.from({ length: n }, (_, i) => ({
    enterprise: 'E1',
    machine,
    metric: `m${i}`,
    ts: i,
    value: i,
  }));
}

describe('SampleBuffer', () => {
  it('takes whole messages up to the limit, a larger first message alone, in arrival order', () => {
    const buffer = new SampleBuffer();
    const sizes = [3, 4, 0, 2, 9, 1, 1];
    const messages = sizes.map((n, i) => message(`M${i}`, n));
    for (const samples of messages) buffer.push({ samples, source: undefined });
    expect(buffer.samples).toBe(20);

    const taken: number[][] = [];
    while (buffer.entries > 0) {
      const batch = buffer.peek(8);
      // The same batch until it is shifted.
      expect(buffer.peek(8).samples).toEqual(batch.samples);
      expect(batch.samples).toEqual(batch.entries.flatMap((e) => e.samples));
      taken.push(batch.entries.map((e) => messages.indexOf(e.samples as Sample[])));
      buffer.shift(batch);
    }
    // 3+4+0 (2 more would make 9), 2 alone (9 more would make 11), 9 alone (over the limit), 1+1.
    expect(taken).toEqual([[0, 1, 2], [3], [4], [5, 6]]);
    expect(buffer.samples).toBe(0);
    expect(buffer.peek(8)).toEqual({ entries: [], samples: [] });
  });
});
