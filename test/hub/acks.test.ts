import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type DurableWrites, JournalAcks } from '../../hub/host/acks.js';
import type { FlushedBatch, SampleSource } from '../../hub/sink.js';
import { REAL_CLOCK } from '../../protocol/clock.js';
import { decodePayload, JOURNAL_METRIC } from '../../protocol/index.js';
import { silentLogger } from './helpers.js';

/** The ingest's two event streams, driven by the test. */
class Writes implements DurableWrites {
  refusing = false;
  #flushed = new Set<(b: FlushedBatch) => void>();
  #refused = new Set<(s: SampleSource) => void>();
  onFlushed(l: (b: FlushedBatch) => void) {
    this.#flushed.add(l);
    return () => this.#flushed.delete(l);
  }
  onRefused(l: (s: SampleSource) => void) {
    this.#refused.add(l);
    return () => this.#refused.delete(l);
  }
  stored(positions: number[], edgeNode = 'gw1'): void {
    const b: FlushedBatch = {
      outcome: 'written',
      samples: positions.length,
      sources: [{ group: 'acme', edgeNode, positions }],
      at: Date.now(),
    };
    for (const l of this.#flushed) l(b);
  }
  refuse(position: number): void {
    for (const l of this.#refused) l({ group: 'acme', edgeNode: 'gw1', position });
  }
}

describe('JournalAcks', () => {
  let writes: Writes;
  let acks: JournalAcks;
  let sent: { edgeNode: string; id: unknown; ack: unknown }[];
  let rebirths: string[];

  beforeEach(() => {
    vi.useFakeTimers();
    writes = new Writes();
    sent = [];
    rebirths = [];
    acks = new JournalAcks({
      writes,
      publish: (_group, edgeNode, payload) => {
        const p = decodePayload(payload);
        const v = (n: string) => p.metrics.find((m) => m.name === n)?.value;
        sent.push({ edgeNode, id: v(JOURNAL_METRIC.id), ack: v(JOURNAL_METRIC.ack) });
      },
      requestRebirth: (_group, edgeNode, reason) => rebirths.push(`${edgeNode}: ${reason}`),
      logger: silentLogger(),
      clock: () => Date.now(),
      timers: REAL_CLOCK,
      intervalMs: 500,
      gapTimeoutMs: 10_000,
    });
    acks.start();
  });
  afterEach(() => {
    acks.close();
    vi.useRealTimers();
  });

  it('acknowledges the highest position with everything below stored, at most every interval', async () => {
    acks.birth('acme', 'gw1', 'j-1', 11); // positions up to 10 were acknowledged before
    writes.stored([11, 12, 14]);
    writes.stored([15]);
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toEqual([{ edgeNode: 'gw1', id: 'j-1', ack: 12 }]);
    writes.stored([13]);
    await vi.advanceTimersByTimeAsync(500);
    expect(sent.at(-1)).toEqual({ edgeNode: 'gw1', id: 'j-1', ack: 15 });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(sent).toHaveLength(2); // nothing new, nothing sent
    writes.stored([16], 'another-gateway'); // an edge node without a journal is left alone
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toHaveLength(2);
  });

  it('a gap that stays asks for a rebirth; a refused message asks as soon as the buffer has room', async () => {
    acks.birth('acme', 'gw1', 'j-1', 1);
    writes.stored([1, 2, 4, 5]);
    await vi.advanceTimersByTimeAsync(9_000);
    expect(rebirths).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_600);
    expect(rebirths).toEqual(['gw1: journal position 3 never arrived']);

    acks.birth('acme', 'gw1', 'j-1', 3); // the rebirth: the gateway replays from 3
    writes.refusing = true;
    writes.refuse(6);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(rebirths).toHaveLength(1); // not while the buffer still refuses
    writes.refusing = false;
    await vi.advanceTimersByTimeAsync(500);
    expect(rebirths.at(-1)).toMatch(/refused/);
  });

  it('a new journal id starts over; Journal/Start moving on raises the floor', async () => {
    acks.birth('acme', 'gw1', 'j-1', 1);
    writes.stored([1, 2, 3]);
    await vi.advanceTimersByTimeAsync(500);
    expect(acks.acknowledged('acme', 'gw1')).toBe(3);
    acks.birth('acme', 'gw1', 'j-2', 1); // the gateway's journal was lost
    expect(acks.acknowledged('acme', 'gw1')).toBe(0);
    writes.stored([5, 6]);
    acks.raise('acme', 'gw1', 5); // it dropped 1–4 (journal full)
    await vi.advanceTimersByTimeAsync(500);
    expect(sent.at(-1)).toEqual({ edgeNode: 'gw1', id: 'j-2', ack: 6 });
  });

  it('repeats the acknowledgement after a birth whose Start shows the gateway missed it', async () => {
    acks.birth('acme', 'gw1', 'j-1', 1);
    writes.stored([1, 2, 3]);
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toHaveLength(1);
    acks.birth('acme', 'gw1', 'j-1', 2); // it only knows of 1 acknowledged
    await vi.advanceTimersByTimeAsync(500);
    expect(sent.at(-1)).toEqual({ edgeNode: 'gw1', id: 'j-1', ack: 3 });
  });
});
