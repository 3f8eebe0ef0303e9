/**
 * The V8 settings a hub sets for its process (hub/util/runtime.ts): once, when the first hub
 * starts. What they save is measured in bench/ (docs/bench.md, session 10), not here.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Hub } from '../../hub/hub.js';
import { HUB_V8_FLAGS, tuneRuntime } from '../../hub/util/runtime.js';
import { tempDir, testHub } from './helpers.js';

describe('the hub process runtime', () => {
  let hub: Hub | undefined;
  let dir: { path: string; remove: () => void } | undefined;
  afterEach(async () => {
    await hub?.close();
    dir?.remove();
    hub = undefined;
    dir = undefined;
  });

  it('is tuned by the first hub to start, so there is nothing left to set after it', async () => {
    dir = tempDir('wanji-runtime-');
    hub = testHub(dir.path);
    await hub.start();
    expect(tuneRuntime()).toEqual([]);
  });

  it('sets allocation-site pretenuring off, once per process', async () => {
    vi.resetModules();
    const fresh = (await import('../../hub/util/runtime.js')) as typeof import('../../hub/util/runtime.js');
    expect(HUB_V8_FLAGS).toContain('--no-allocation-site-pretenuring');
    expect(fresh.tuneRuntime()).toEqual(HUB_V8_FLAGS);
    expect(fresh.tuneRuntime()).toEqual([]);
  });
});
