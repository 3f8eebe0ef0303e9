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
  };
});

describe('store lookup table', () => {
  it('names the known types when the config asks for another', () => {
    expect(Object.keys(STORE_FACTORIES)).toContain('sqlite');
    expect(() => createStore({ type: 'mongodb' }, { dataDir: '/tmp', logger: silentLogger() })).toThrow(
      expect.objectContaining({ code: 'WANJI_E_STORE_UNKNOWN_TYPE' }),
    );
  });
});
