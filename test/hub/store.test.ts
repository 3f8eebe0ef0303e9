import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStore, STORE_FACTORIES } from '../../hub/store/index.js';
import { SqliteSampleStore } from '../../hub/store/sqlite/index.js';
import { readSampleFile } from '../support/sample-file.js';
import { silentLogger, tempDir } from './helpers.js';
import { sampleStoreSuite } from './store-suite.js';

sampleStoreSuite('sqlite', () => {
  const dir = tempDir();
  const ctx = { dataDir: dir.path, logger: silentLogger() };
  return {
    store: createStore({ type: 'sqlite' }, ctx),
    reopen: () => createStore({ type: 'sqlite' }, ctx),
    cleanup: dir.remove,
    count: () => readSampleFile(join(dir.path, 'samples.db'), (file) => file.countPoints()),
  };
});

describe('sqlite store: exact integers', () => {
  it('keeps Int64 and UInt64 extremes as their digits in the file, never a double, before and after compaction', async () => {
    const dir = tempDir();
    const store = new SqliteSampleStore({
      path: join(dir.path, 'samples.db'),
      synchronous: 'full',
      logger: silentLogger(),
    });
    await store.start();
    const values = [-(2n ** 63n), 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];
    const read = () =>
      readSampleFile(join(dir.path, 'samples.db'), async (file) =>
        (await file.query({ enterprise: 'a', machine: 'm', metric: 'n' })).map((p) => p.value),
      );
    try {
      await store.write(
        values.map((value, i) => ({
          enterprise: 'a',
          machine: 'm',
          metric: 'n',
          ts: 1_700_000_000_000 + i,
          value,
        })),
      );
      // From the landing row (another process reading the file), then from the part.
      expect(await read()).toEqual(values);
      await store.compact();
      expect(await read()).toEqual(values);
    } finally {
      await store.close();
      dir.remove();
    }
  });
});

describe('store lookup table', () => {
  it('names the known types when the config asks for another', () => {
    expect(Object.keys(STORE_FACTORIES)).toEqual(expect.arrayContaining(['sqlite', 'influxdb']));
    expect(() => createStore({ type: 'mongodb' }, { dataDir: '/tmp', logger: silentLogger() })).toThrow(
      expect.objectContaining({ code: 'WANJI_E_STORE_UNKNOWN_TYPE' }),
    );
  });
});
