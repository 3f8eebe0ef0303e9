/**
 * The stall detection of hub/host/acks.ts with fake time (issue 10): the hub waited for a
 * position that never came and asked for a rebirth every 10 s while /healthz said ok. A
 * rebirth must not restart the stall clock (only progress does), a gateway's NDEATH ends it,
 * and a backlog that drops back to where it was is not "growing".
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type DurableWrites, JournalAcks } from '../../hub/host/acks.js';
import type { FlushedBatch, SampleSource } from '../../hub/sink.js';
import { REAL_CLOCK } from '../../protocol/clock.js';
import { silentLogger } from './helpers.js';

class Writes implements DurableWrites {
  readonly refusing = false;
  #flushed = new Set<(b: FlushedBatch) => void>();
  onFlushed(l: (b: FlushedBatch) => void) {
    this.#flushed.add(l);
    return () => this.#flushed.delete(l);
  }
  onRefused(_l: (s: SampleSource) => void) {
    return () => undefined;
  }
  stored(positions: number[]): void {
    const b: FlushedBatch = {
      outcome: 'written',
      samples: positions.length,
      sources: [{ group: 'acme', edgeNode: 'gw1', positions }],
      at: Date.now(),
    };
    for (const l of this.#flushed) l(b);
  }
}

describe('JournalAcks: journals that do not drain', () => {
  let writes: Writes;
  let acks: JournalAcks;
  let rebirths = 0;

  beforeEach(() => {
    vi.useFakeTimers();
    writes = new Writes();
    rebirths = 0;
    acks = new JournalAcks({
      writes,
      publish: () => undefined,
      requestRebirth: () => {
        rebirths++;
      },
      logger: silentLogger(),
      clock: () => Date.now(),
      timers: REAL_CLOCK,
      gapTimeoutMs: 10_000,
      stallMs: 60_000,
    });
    acks.start();
  });
  afterEach(() => {
    acks.close();
    vi.useRealTimers();
  });

  it('a gap answered by rebirths every 10 s is degraded after stallMs, naming gateway and position', async () => {
    acks.birth('acme', 'gw1', 'j-1', 1, { backlog: 3 });
    writes.stored([1, 3]); // 2 never comes
    for (let t = 0; t < 55_000; t += 11_000) {
      await vi.advanceTimersByTimeAsync(11_000); // the gap's rebirth request, then the rebirth
      acks.birth('acme', 'gw1', 'j-1', 2, { backlog: 3 }); // the rebirth the gap asked for
    }
    expect(rebirths).toBeGreaterThanOrEqual(4);
    expect(acks.health()).toEqual({ status: 'up' }); // 60 s not reached
    await vi.advanceTimersByTimeAsync(10_000);
    expect(acks.health()).toMatchObject({
      status: 'degraded',
      detail: expect.stringMatching(
        /^gateway acme\/gw1: acknowledgement stuck at 1 for 6\d s, waiting for position 2 with 3 messages/,
      ),
    });
    writes.stored([2]);
    await vi.advanceTimersByTimeAsync(500);
    expect(acks.health()).toEqual({ status: 'up' });
  });

  it('no backlog reported, or a dead gateway: not a stall', async () => {
    acks.birth('acme', 'gw1', 'j-1', 1);
    writes.stored([1, 3]);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(acks.health()).toEqual({ status: 'up' }); // backlog never reported: nothing to say
    acks.report('acme', 'gw1', { backlog: 5 });
    await vi.advanceTimersByTimeAsync(500);
    expect(acks.health().status).toBe('degraded');
    acks.death('acme', 'gw1');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(acks.health()).toEqual({ status: 'up' });
  });

  it('a backlog that keeps growing is degraded; one that falls back to where it was is not', async () => {
    acks.birth('acme', 'gw1', 'j-1', 1, { backlog: 10 });
    let position = 0;
    const minute = async (backlogs: number[]) => {
      for (const b of backlogs) {
        position++;
        writes.stored([position]); // acknowledgements advance all along
        acks.report('acme', 'gw1', { backlog: b });
        await vi.advanceTimersByTimeAsync(10_000);
      }
    };
    await minute([20, 15, 30, 25, 40, 35]);
    expect(acks.health()).toMatchObject({
      status: 'degraded',
      detail: expect.stringMatching(/^gateway acme\/gw1: journal backlog grew from 10 to 35 in 60 s/),
    });
    await minute([10]); // back down to the mark: not growing
    expect(acks.health()).toEqual({ status: 'up' });
    await minute([20, 5, 30, 40, 50]); // 5 is the new mark, 50 s later: not yet stallMs
    expect(acks.health()).toEqual({ status: 'up' });
  });

  it('a busy journal holding what is in flight is not growing: a few messages above its low mark while thousands are acknowledged', async () => {
    acks.birth('acme', 'gw1', 'j-1', 1, { backlog: 0 });
    let position = 0;
    // 50 messages a second acknowledged for three minutes; the backlog holds the 2–18 sent
    // since the last acknowledgement and never comes back to 0.
    for (let s = 0; s < 180; s += 10) {
      const stored = Array.from({ length: 500 }, () => ++position);
      writes.stored(stored);
      acks.report('acme', 'gw1', { backlog: 2 + ((s / 10) % 17) });
      await vi.advanceTimersByTimeAsync(10_000);
    }
    expect(acks.health()).toEqual({ status: 'up' });
  });
});
