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

  it('holds rows that only move the times (take(false)); a state or a birth sends the machine at once', () => {
    const batch = new RegistryBatch();
    const seen = (machine: string, seenAt: number, more: Partial<DeviceActivity> = {}): DeviceActivity => ({
      enterprise: 'e1',
      machine,
      gateway: 'gw1',
      seenAt,
      sampleAt: seenAt,
      ...more,
    });
    batch.device(seen('quiet', 100));
    batch.device(seen('stateful', 100, { state: 'running', stateAt: 100 }));
    batch.gateway({ group: 'e1', edgeNode: 'gw1', seenAt: 100 });
    expect(batch.due).toBe(true);
    let taken = batch.take(false);
    expect(taken.devices.map((d) => d.machine)).toEqual(['stateful']);
    expect(taken.gateways).toHaveLength(1);
    // The quiet row waits, and is not due on its own.
    expect(batch.empty).toBe(false);
    expect(batch.due).toBe(false);
    expect(batch.take(false).devices).toEqual([]);

    // A row held over a take goes on merging; the stateful machine held again when quiet.
    batch.device(seen('quiet', 200));
    batch.device(seen('stateful', 200));
    expect(batch.due).toBe(false);
    // A machine born meanwhile goes at once, its row held before the birth included.
    batch.device(seen('reborn', 150));
    batch.event({
      type: 'deviceBirth',
      group: 'e1',
      edgeNode: 'gw1',
      device: 'reborn',
      at: 250,
      properties: {},
    });
    batch.device(seen('reborn', 250));
    batch.device(seen('newborn', 260));
    batch.event({
      type: 'deviceBirth',
      group: 'e1',
      edgeNode: 'gw1',
      device: 'newborn',
      at: 255,
      properties: {},
    });
    expect(batch.due).toBe(true);
    taken = batch.take(false);
    expect(taken.events).toHaveLength(2);
    expect(taken.devices).toEqual([seen('reborn', 250), seen('newborn', 260)]);
    // Everything else at the next full take, merged: one row per machine, the latest times.
    taken = batch.take();
    expect(taken.devices).toEqual([seen('quiet', 200), seen('stateful', 200)]);
    expect(batch.empty).toBe(true);
  });

  it("sends a born machine's first sample at once, whenever it comes; later ones are held again", () => {
    const batch = new RegistryBatch();
    const row = (seenAt: number, sampleAt?: number): DeviceActivity => ({
      enterprise: 'e1',
      machine: 'm1',
      gateway: 'gw1',
      seenAt,
      ...(sampleAt === undefined ? {} : { sampleAt }),
    });
    batch.event({ type: 'deviceBirth', group: 'e1', edgeNode: 'gw1', device: 'm1', at: 100, properties: {} });
    // The birth's own message had no value to count (say, a read not done yet).
    batch.device(row(100));
    expect(batch.take(false).devices).toEqual([row(100)]);
    batch.device(row(200));
    expect(batch.due).toBe(false);
    batch.device(row(300, 300));
    expect(batch.due).toBe(true);
    expect(batch.take(false).devices).toEqual([row(300, 300)]);
    batch.device(row(400, 400));
    expect(batch.due).toBe(false);
    expect(batch.take(false).devices).toEqual([]);
    expect(batch.take().devices).toEqual([row(400, 400)]);
  });
});
