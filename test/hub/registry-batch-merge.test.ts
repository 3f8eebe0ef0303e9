/** The ingest's registry news between two flushes: one row per machine, the latest of each field. */
import { describe, expect, it } from 'vitest';
import { RegistryBatch } from '../../hub/ingest/registry-batch.js';
import type { DeviceActivity } from '../../hub/registry/types.js';

describe('RegistryBatch', () => {
  it('keeps one row per machine: latest seen and sample times, the newer state, the last gateway', () => {
    const batch = new RegistryBatch();
    const first: DeviceActivity = {
      enterprise: 'e1',
      machine: 'm1',
      gateway: 'gw1',
      seenAt: 100,
      sampleAt: 100,
      state: 'running',
      stateAt: 90,
    };
    batch.device(first);
    batch.device({
      enterprise: 'e1',
      machine: 'm1',
      gateway: 'gw2',
      seenAt: 300,
      state: 'idle',
      stateAt: 80,
    });
    batch.device({ enterprise: 'e1', machine: 'm1', gateway: 'gw2', seenAt: 200, sampleAt: 250 });
    batch.device({ enterprise: 'e2', machine: 'm1', gateway: 'gw9', seenAt: 50 });
    batch.device({ enterprise: 'e1', machine: 'm2', gateway: 'gw1', seenAt: 60, state: 'alarm' });
    const taken = batch.take();
    expect(taken.devices).toEqual([
      {
        enterprise: 'e1',
        machine: 'm1',
        gateway: 'gw2',
        seenAt: 300,
        sampleAt: 250,
        state: 'running',
        stateAt: 90,
      },
      { enterprise: 'e1', machine: 'm2', gateway: 'gw1', seenAt: 60, state: 'alarm' },
      { enterprise: 'e2', machine: 'm1', gateway: 'gw9', seenAt: 50 },
    ]);
    // The caller's object is never changed: the host may have handed it elsewhere too.
    expect(first).toEqual({
      enterprise: 'e1',
      machine: 'm1',
      gateway: 'gw1',
      seenAt: 100,
      sampleAt: 100,
      state: 'running',
      stateAt: 90,
    });
    expect(batch.empty).toBe(true);
    batch.device({
      enterprise: 'e1',
      machine: 'm1',
      gateway: 'gw1',
      seenAt: 400,
      state: 'idle',
      stateAt: 95,
    });
    batch.device({ enterprise: 'e1', machine: 'm1', gateway: 'gw1', seenAt: 401, state: 'off', stateAt: 95 });
    expect(batch.take().devices).toEqual([
      { enterprise: 'e1', machine: 'm1', gateway: 'gw1', seenAt: 401, state: 'off', stateAt: 95 },
    ]);
  });
});
