/** The behaviour every SampleStore must have; run against each implementation. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sample, SampleStore } from '../../hub/store/types.js';

export interface StoreHarness {
  readonly store: SampleStore;
  /** A second store on the same data (same file, same database), for durability checks. */
  reopen(): SampleStore;
  cleanup(): void;
}

const T0 = 1_700_000_000_000;
const s = (metric: string, ts: number, value: Sample['value'], extra: Partial<Sample> = {}): Sample => ({
  enterprise: 'acme',
  machine: 'cnc-1',
  metric,
  ts,
  value,
  ...extra,
});

export function sampleStoreSuite(name: string, make: () => StoreHarness): void {
  describe(`SampleStore contract: ${name}`, () => {
    let h: StoreHarness;
    beforeEach(async () => {
      h = make();
      await h.store.start();
    });
    afterEach(async () => {
      await h.store.close();
      h.cleanup();
    });

    it('writes and reads back numbers, strings, booleans and nulls with their timestamps', async () => {
      await h.store.write([
        s('Signals/speed', T0, 1200.5),
        s('Signals/speed', T0 + 1000, 1300),
        s('State', T0, 'running'),
        s('Signals/door', T0, true),
        s('Signals/door', T0 + 1, false),
        s('Signals/alarm', T0, null, { quality: 'bad' }),
      ]);
      expect(await h.store.query({ enterprise: 'acme', machine: 'cnc-1', metric: 'Signals/speed' })).toEqual([
        { ts: T0, value: 1200.5 },
        { ts: T0 + 1000, value: 1300 },
      ]);
      expect(await h.store.query({ enterprise: 'acme', machine: 'cnc-1', metric: 'Signals/door' })).toEqual([
        { ts: T0, value: true },
        { ts: T0 + 1, value: false },
      ]);
      expect(await h.store.query({ enterprise: 'acme', machine: 'cnc-1', metric: 'Signals/alarm' })).toEqual([
        { ts: T0, value: null, quality: 'bad' },
      ]);
      expect(await h.store.query({ enterprise: 'acme', machine: 'cnc-1', metric: 'nope' })).toEqual([]);
    });

    it('is idempotent per series and timestamp: a replay never double counts', async () => {
      const batch = [s('Signals/count', T0, 1), s('Signals/count', T0 + 1000, 2)];
      await h.store.write(batch);
      await h.store.write(batch);
      await h.store.write([s('Signals/count', T0 + 1000, 3)]);
      expect(await h.store.query({ enterprise: 'acme', machine: 'cnc-1', metric: 'Signals/count' })).toEqual([
        { ts: T0, value: 1 },
        { ts: T0 + 1000, value: 3 },
      ]);
    });

    it('honours from, to (inclusive) and limit (newest points, oldest first)', async () => {
      await h.store.write(Array.from({ length: 10 }, (_, i) => s('Signals/x', T0 + i * 1000, i)));
      const q = { enterprise: 'acme', machine: 'cnc-1', metric: 'Signals/x' };
      const range = await h.store.query({ ...q, from: T0 + 2000, to: T0 + 4000 });
      expect(range.map((p) => p.value)).toEqual([2, 3, 4]);
      const last = await h.store.query({ ...q, limit: 3 });
      expect(last.map((p) => p.value)).toEqual([7, 8, 9]);
    });

    it('keeps machines and enterprises apart, and reports the latest value per metric', async () => {
      await h.store.write([
        s('State', T0, 'idle'),
        s('State', T0 + 5000, 'running'),
        s('Signals/speed', T0 + 100, 5),
        s('State', T0 + 9000, 'alarm', { machine: 'cnc-2' }),
        s('State', T0 + 9000, 'stopped', { enterprise: 'other' }),
      ]);
      expect(await h.store.latest('acme', 'cnc-1')).toEqual([
        { metric: 'Signals/speed', ts: T0 + 100, value: 5 },
        { metric: 'State', ts: T0 + 5000, value: 'running' },
      ]);
      expect(await h.store.latest('acme', 'cnc-2')).toEqual([
        { metric: 'State', ts: T0 + 9000, value: 'alarm' },
      ]);
      expect(await h.store.latest('acme', 'ghost')).toEqual([]);
    });

    it('holds what write() resolved after a close and reopen', async () => {
      await h.store.write([s('Signals/y', T0, 42)]);
      await h.store.close();
      const again = h.reopen();
      await again.start();
      try {
        expect(await again.query({ enterprise: 'acme', machine: 'cnc-1', metric: 'Signals/y' })).toEqual([
          { ts: T0, value: 42 },
        ]);
      } finally {
        await again.close();
      }
    });

    it('start and close are idempotent', async () => {
      await h.store.start();
      expect(h.store.health().status).toBe('up');
      await h.store.close();
      await h.store.close();
      expect(h.store.health().status).toBe('closed');
      await h.store.start();
    });
  });
}
