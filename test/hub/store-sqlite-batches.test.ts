/**
 * The SQLite store's insert path: multi-row upserts of plain numbers and of everything else,
 * the rest row by row, in the samples' order: a sample repeated within one batch (a replay)
 * ends as the last one written, whatever its kind.
 */
import { describe, expect, it } from 'vitest';
import { createStore } from '../../hub/store/index.js';
import type { Sample } from '../../hub/store/types.js';
import { silentLogger, tempDir } from './helpers.js';

const T0 = 1_700_000_000_000;

describe('sqlite store: batches', () => {
  it('stores a large mixed batch exactly, the last of repeated samples winning', async () => {
    const dir = tempDir();
    const store = createStore({ type: 'sqlite' }, { dataDir: dir.path, logger: silentLogger() });
    await store.start();
    try {
      const batch: Sample[] = [];
      // 3 machines × 50 metrics × 2 times: 300 plain numbers (several full statements and a tail).
      for (let t = 0; t < 2; t++) {
        for (let m = 0; m < 3; m++) {
          for (let k = 0; k < 50; k++) {
            batch.push({
              enterprise: 'e',
              machine: `m${m}`,
              metric: `s${k}`,
              ts: T0 + t,
              value: m * 100 + k + t / 2,
            });
          }
        }
      }
      // The same sample again, changing kind back and forth within the batch.
      const same = { enterprise: 'e', machine: 'm0', metric: 's0', ts: T0 } as const;
      batch.push({ ...same, value: 'text' });
      batch.push({ ...same, value: 7.5, quality: 'bad' });
      batch.push({ ...same, value: 8.5 });
      batch.push({ ...same, metric: 's1', value: 9.5 });
      batch.push({ ...same, metric: 's1', value: null });
      batch.push({ ...same, metric: 's2', value: true });
      batch.push({ ...same, metric: 's3', value: Number.NaN });
      batch.push({ ...same, metric: 's4', value: 2n ** 60n, quality: 'uncertain' });
      await store.write(batch);
      const q = (metric: string) => store.query({ enterprise: 'e', machine: 'm0', metric });
      expect(await q('s0')).toEqual([
        { ts: T0, value: 8.5 },
        { ts: T0 + 1, value: 0.5 },
      ]);
      expect((await q('s1'))[0]).toEqual({ ts: T0, value: null });
      expect((await q('s2'))[0]).toEqual({ ts: T0, value: true });
      expect((await q('s3'))[0]).toEqual({ ts: T0, value: null });
      expect((await q('s4'))[0]).toEqual({ ts: T0, value: 2n ** 60n, quality: 'uncertain' });
      expect(await store.query({ enterprise: 'e', machine: 'm2', metric: 's49' })).toEqual([
        { ts: T0, value: 249 },
        { ts: T0 + 1, value: 249.5 },
      ]);
      const latest = await store.latest('e', 'm1');
      expect(latest).toHaveLength(50);
      expect(latest.find((l) => l.metric === 's7')).toEqual({ metric: 's7', ts: T0 + 1, value: 107.5 });
    } finally {
      await store.close();
      dir.remove();
    }
  });
});
