/** The behaviour every SampleStore must have; run against each implementation. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LatestValue, Sample, SampleStore, SeriesPoint, SeriesQuery } from '../../hub/store/types.js';

/**
 * What a store's server cannot do, each with the reason. The suite names the capability in
 * the title of every test it does not run, so a gap shows in the report, never silently.
 */
export interface Unsupported {
  /** `query()`/`latest()` (no InfluxQL on VictoriaMetrics): the suite reads back through `reader`. */
  readonly history?: string;
  /** String values are not kept. */
  readonly strings?: string;
  /** Integers beyond ±(2^53−1) are not kept exactly. */
  readonly exactIntegers?: string;
}

export interface StoreHarness {
  readonly store: SampleStore;
  /** A second store on the same data (same file, same database), for durability checks. */
  reopen(): SampleStore;
  cleanup(): void | Promise<void>;
  readonly unsupported?: Unsupported;
  /** Reads back what the store wrote when it cannot (`unsupported.history`); tests only. */
  readonly reader?: Pick<SampleStore, 'query' | 'latest'>;
  /** Points held, counted by the database itself (not through the store). */
  count(): Promise<number>;
}

const T0 = 1_700_000_000_000;

/**
 * Integers a double cannot hold exactly, of both Sparkplug 64-bit types (issue 10: the hub
 * stored Int64 −9007199254740993 as −9007199254740992), each beside its neighbour that still fits.
 */
export const INTEGER_EXTREMES: readonly (readonly [string, bigint | number])[] = [
  ['Int64 min', -(2n ** 63n)],
  ['-2^53-1', -(2n ** 53n) - 1n],
  ['-(2^53-1)', Number.MIN_SAFE_INTEGER],
  ['2^53-1', Number.MAX_SAFE_INTEGER],
  ['2^53+1', 2n ** 53n + 1n],
  ['Int64 max', 2n ** 63n - 1n],
  ['2^63', 2n ** 63n],
  ['UInt64 max', 2n ** 64n - 1n],
];
const s = (metric: string, ts: number, value: Sample['value'], extra: Partial<Sample> = {}): Sample => ({
  enterprise: 'acme',
  machine: 'cnc-1',
  metric,
  ts,
  value,
  ...extra,
});
const series = (metric: string, extra: Partial<SeriesQuery> = {}): SeriesQuery => ({
  enterprise: 'acme',
  machine: 'cnc-1',
  metric,
  ...extra,
});

export function sampleStoreSuite(name: string, make: () => StoreHarness | Promise<StoreHarness>): void {
  describe(`SampleStore contract: ${name}`, () => {
    let h: StoreHarness;
    const read = (): Pick<SampleStore, 'query' | 'latest'> => (h.unsupported?.history ? h.reader! : h.store);
    const query = (q: SeriesQuery): Promise<SeriesPoint[]> => read().query(q);
    const latest = (e: string, m: string): Promise<LatestValue[]> => read().latest(e, m);
    /** A test that needs a capability: run, or listed as skipped with the reason. */
    const needs = (cap: keyof Unsupported, title: string, fn: () => Promise<void>): void => {
      it(title, async (ctx) => {
        const why = h.unsupported?.[cap];
        if (why !== undefined) ctx.skip(`capability "${cap}" not supported by ${name}: ${why}`);
        await fn();
      });
    };

    beforeEach(async () => {
      h = await make();
      await h.store.start();
    });
    afterEach(async () => {
      await h.store.close();
      await h.cleanup();
    });

    it('writes and reads back numbers, booleans and nulls with their timestamps and quality', async () => {
      await h.store.write([
        s('Signals/speed', T0, 1200.5),
        s('Signals/speed', T0 + 1000, 1300),
        s('Signals/door', T0, true),
        s('Signals/door', T0 + 1, false),
        s('Signals/alarm', T0, null, { quality: 'bad' }),
        s('Signals/temp', T0, 21.5, { quality: 'uncertain' }),
      ]);
      expect(await query(series('Signals/speed'))).toEqual([
        { ts: T0, value: 1200.5 },
        { ts: T0 + 1000, value: 1300 },
      ]);
      expect(await query(series('Signals/door'))).toEqual([
        { ts: T0, value: true },
        { ts: T0 + 1, value: false },
      ]);
      expect(await query(series('Signals/alarm'))).toEqual([{ ts: T0, value: null, quality: 'bad' }]);
      expect(await query(series('Signals/temp'))).toEqual([{ ts: T0, value: 21.5, quality: 'uncertain' }]);
      expect(await query(series('nope'))).toEqual([]);
    });

    needs('strings', 'writes and reads back strings, and reports them as latest', async () => {
      await h.store.write([s('State', T0, 'idle'), s('State', T0 + 5000, 'running "fast", a=b')]);
      expect(await query(series('State'))).toEqual([
        { ts: T0, value: 'idle' },
        { ts: T0 + 5000, value: 'running "fast", a=b' },
      ]);
      expect(await latest('acme', 'cnc-1')).toEqual([
        { metric: 'State', ts: T0 + 5000, value: 'running "fast", a=b' },
      ]);
    });

    needs('exactIntegers', 'keeps Int64 and UInt64 extremes exact, as bigints beyond ±(2^53−1)', async () => {
      const batch = INTEGER_EXTREMES.map(([, v], i) => s('Signals/counter', T0 + i, v));
      await h.store.write(batch);
      await h.store.write(batch);
      expect(await h.count()).toBe(INTEGER_EXTREMES.length);
      const points = await query(series('Signals/counter'));
      expect(points.map((p) => [p.ts, p.value])).toEqual(INTEGER_EXTREMES.map(([, v], i) => [T0 + i, v]));
      // 2^53+1 as a double would be 2^53: the type says the value was not rounded on the way.
      expect(points.map((p) => typeof p.value)).toEqual(INTEGER_EXTREMES.map(([, v]) => typeof v));
      // Each extreme alone is the latest of its own series.
      await h.store.write(
        INTEGER_EXTREMES.map(([name, v]) => s(`Extremes/${name}`, T0, v, { machine: 'cnc-9' })),
      );
      const latestByName = new Map((await latest('acme', 'cnc-9')).map((l) => [l.metric, l.value]));
      for (const [name, v] of INTEGER_EXTREMES) expect(latestByName.get(`Extremes/${name}`), name).toBe(v);
    });

    it('is idempotent per series and timestamp: a replay never double counts', async () => {
      const batch = [s('Signals/count', T0, 1), s('Signals/count', T0 + 1000, 2), s('Signals/ok', T0, true)];
      await h.store.write(batch);
      await h.store.write(batch);
      expect(await h.count()).toBe(3);
      await h.store.write([s('Signals/count', T0 + 1000, 3)]);
      expect(await query(series('Signals/count'))).toEqual([
        { ts: T0, value: 1 },
        { ts: T0 + 1000, value: 3 },
      ]);
      expect(await h.count()).toBe(3);
    });

    it('honours from, to (inclusive) and limit (newest points, oldest first)', async () => {
      await h.store.write(Array.from({ length: 10 }, (_, i) => s('Signals/x', T0 + i * 1000, i)));
      const range = await query(series('Signals/x', { from: T0 + 2000, to: T0 + 4000 }));
      expect(range.map((p) => p.value)).toEqual([2, 3, 4]);
      const last = await query(series('Signals/x', { limit: 3 }));
      expect(last.map((p) => p.value)).toEqual([7, 8, 9]);
    });

    it('keeps machines and enterprises apart, and reports the latest value per metric', async () => {
      await h.store.write([
        s('Signals/mode', T0, 1),
        s('Signals/mode', T0 + 5000, 2),
        s('Signals/speed', T0 + 100, 5),
        s('Signals/mode', T0 + 9000, 7, { machine: 'cnc-2' }),
        s('Signals/mode', T0 + 9000, 8, { enterprise: 'other' }),
      ]);
      expect(await latest('acme', 'cnc-1')).toEqual([
        { metric: 'Signals/mode', ts: T0 + 5000, value: 2 },
        { metric: 'Signals/speed', ts: T0 + 100, value: 5 },
      ]);
      expect(await latest('acme', 'cnc-2')).toEqual([{ metric: 'Signals/mode', ts: T0 + 9000, value: 7 }]);
      expect(await latest('acme', 'ghost')).toEqual([]);
    });

    it('holds what write() resolved after a close and reopen', async () => {
      await h.store.write([s('Signals/y', T0, 42)]);
      await h.store.close();
      const again = h.reopen();
      await again.start();
      try {
        await again.write([s('Signals/y', T0 + 1, 43)]);
        const reader = h.unsupported?.history ? h.reader! : again;
        expect(await reader.query(series('Signals/y'))).toEqual([
          { ts: T0, value: 42 },
          { ts: T0 + 1, value: 43 },
        ]);
      } finally {
        await again.close();
      }
    });

    it('says so when it cannot answer history queries, instead of answering wrong', async () => {
      if (h.unsupported?.history === undefined) {
        await expect(h.store.query(series('nope'))).resolves.toEqual([]);
      } else {
        await expect(h.store.query(series('nope'))).rejects.toMatchObject({
          code: 'WANJI_E_STORE_UNSUPPORTED',
        });
        await expect(h.store.latest('acme', 'cnc-1')).rejects.toMatchObject({
          code: 'WANJI_E_STORE_UNSUPPORTED',
        });
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
