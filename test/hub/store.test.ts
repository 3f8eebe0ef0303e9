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

describe('store lookup table', () => {
  it('names the known types when the config asks for another', () => {
    expect(Object.keys(STORE_FACTORIES)).toEqual(expect.arrayContaining(['sqlite', 'influxdb']));
    expect(() => createStore({ type: 'mongodb' }, { dataDir: '/tmp', logger: silentLogger() })).toThrow(
      expect.objectContaining({ code: 'WANJI_E_STORE_UNKNOWN_TYPE' }),
    );
  });
});
