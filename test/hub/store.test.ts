import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createStore, STORE_FACTORIES } from '../../hub/store/index.js';
import { silentLogger, tempDir } from './helpers.js';
import { sampleStoreSuite } from './store-suite.js';

sampleStoreSuite('sqlite', () => {
  const dir = tempDir();
  const ctx = { dataDir: dir.path, logger: silentLogger() };
  return {
    store: createStore({ type: 'sqlite' }, ctx),
    reopen: () => createStore({ type: 'sqlite' }, ctx),
    cleanup: dir.remove,
    count: async () => {
      const db = new Database(join(dir.path, 'samples.db'), { readonly: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM samples').get() as { n: number }).n;
      } finally {
        db.close();
      }
    },
  };
});

describe('sqlite store: exact integers', () => {
  it('keeps Int64 as INTEGER and UInt64 above 2^63−1 as decimal TEXT, never a REAL', async () => {
    const dir = tempDir();
    const store = createStore({ type: 'sqlite' }, { dataDir: dir.path, logger: silentLogger() });
    await store.start();
    try {
      const values = [-(2n ** 63n), 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];
      await store.write(
        values.map((value, i) => ({
          enterprise: 'a',
          machine: 'm',
          metric: 'n',
          ts: 1_700_000_000_000 + i,
          value,
        })),
      );
      const db = new Database(join(dir.path, 'samples.db'), { readonly: true });
      try {
        const rows = db
          .prepare('SELECT typeof(value) AS t, CAST(value AS TEXT) AS v FROM samples ORDER BY ts')
          .all() as { t: string; v: string }[];
        expect(rows).toEqual([
          { t: 'integer', v: '-9223372036854775808' },
          { t: 'integer', v: '9007199254740993' },
          { t: 'integer', v: '9223372036854775807' },
          { t: 'text', v: '9223372036854775808' },
          { t: 'text', v: '18446744073709551615' },
        ]);
      } finally {
        db.close();
      }
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
