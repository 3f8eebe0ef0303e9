import { afterEach, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../gateway/config/index.js';
import { SimMachine } from '../../simulators/machine.js';
import { REGISTER_MAPS } from '../../simulators/modbus/register-map.js';
import { ModbusSimServer } from '../../simulators/modbus/server.js';
import { runDriver } from './driver-harness.js';
import { testLogger, waitFor } from './helpers.js';

function modbusConfig(port: number, units: Array<{ id: string; unitId: number; kind: 'cnc' | 'press' }>) {
  return validateGatewayConfig({
    gateway: { group: 'E001', node: 'GW-1' },
    mqtt: { url: 'mqtt://127.0.0.1:1' },
    connections: [
      { id: 'plc', type: 'modbus-tcp', host: '127.0.0.1', port, timeoutMs: 200, backoffMaxMs: 400 },
    ],
    machines: units.map((u) => ({
      id: u.id,
      connection: 'plc',
      kind: u.kind,
      dataDepth: 'full',
      unitId: u.unitId,
      pollIntervalMs: 100,
      state: { stackLight: { red: 'lampRed', yellow: 'lampYellow', green: 'lampGreen' } },
      tags: REGISTER_MAPS[u.kind].map((e) => ({
        name: e.signal,
        table: e.table,
        address: e.address,
        type: e.type,
        ...(e.order ? { order: e.order } : {}),
        ...(e.scale ? { scale: e.scale } : {}),
      })),
    })),
  });
}

describe('Modbus TCP driver against the simulator', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('polls every machine, decodes every type and order, and marks a silent unit offline without stalling the others', async () => {
    const cnc = new SimMachine({ id: 'E001-CNC-001', kind: 'cnc', seed: 1 });
    const press = new SimMachine({ id: 'E001-PRS-002', kind: 'press', seed: 2 });
    for (const t of [0, 60_000]) {
      cnc.tick(t);
      press.tick(t);
    }
    const server = new ModbusSimServer({
      logger: testLogger(),
      units: [
        { unitId: 1, machine: cnc },
        { unitId: 2, machine: press },
      ],
    });
    await server.start();
    cleanup.push(() => server.close());
    const config = modbusConfig(server.port, [
      { id: cnc.id, unitId: 1, kind: 'cnc' },
      { id: press.id, unitId: 2, kind: 'press' },
    ]);
    const run = await runDriver(config, 'plc');
    cleanup.push(() => run.close());

    await waitFor(() => run.status(cnc.id) === 'online' && run.status(press.id) === 'online');
    await waitFor(() => run.latest(cnc.id, 'cuttingTime') && run.latest(press.id, 'tonnage'));
    for (const m of [cnc, press]) {
      const values = m.values();
      for (const entry of REGISTER_MAPS[m.kind]) {
        const s = run.latest(m.id, entry.signal)!;
        expect(s.quality).toBe('good');
        const v = values[entry.signal];
        if (typeof v === 'number' && entry.type === 'float32') expect(s.value).toBeCloseTo(v, 1);
        else if (typeof v === 'number' && entry.scale) expect(s.value).toBeCloseTo(v, 5);
        else expect(s.value).toEqual(v);
      }
    }

    // Unit 2 stops answering: it goes offline after one timeout, unit 1 keeps being polled.
    press.disconnect();
    const downAt = Date.now();
    await waitFor(() => run.status(press.id) === 'offline' || undefined, 3000, 'press offline');
    expect(run.statuses.findLast((s) => s.machineId === press.id)!.reason).toMatch(/no answer within 200 ms/);
    const before = run.samples.filter((s) => s.machineId === cnc.id).length;
    await new Promise((r) => setTimeout(r, 1000));
    const polls =
      (run.samples.filter((s) => s.machineId === cnc.id).length - before) / REGISTER_MAPS.cnc.length;
    // 10 polls a second when alone; a silent unit may cost at most its 200 ms timeout now and then.
    expect(polls).toBeGreaterThanOrEqual(5);
    expect(run.status(cnc.id)).toBe('online');
    expect(Date.now() - downAt).toBeLessThan(3000);

    press.reconnect();
    await waitFor(() => run.status(press.id) === 'online' || undefined, 3000, 'press back online');
    expect(run.driver.counters().timeouts).toBeGreaterThan(0);
  });

  it('survives a dead server, marks its machines offline and reconnects when it returns', async () => {
    const cnc = new SimMachine({ id: 'E001-CNC-001', kind: 'cnc', seed: 1 });
    cnc.tick(0);
    const server = new ModbusSimServer({ logger: testLogger(), units: [{ unitId: 1, machine: cnc }] });
    await server.start();
    const port = server.port;
    const run = await runDriver(modbusConfig(port, [{ id: cnc.id, unitId: 1, kind: 'cnc' }]), 'plc');
    cleanup.push(() => run.close());
    await waitFor(() => run.status(cnc.id) === 'online' || undefined);
    await server.close();
    await waitFor(() => run.status(cnc.id) === 'offline' || undefined, 3000, 'offline after server close');
    // Same port again, as a restarted PLC would.
    const again = new ModbusSimServer({ logger: testLogger(), units: [{ unitId: 1, machine: cnc }], port });
    await again.start();
    cleanup.push(() => again.close());
    await waitFor(
      () => run.statuses.filter((s) => s.status === 'online').length === 2 || undefined,
      5000,
      'back',
    );
    expect(run.driver.counters().connects).toBe(2);
  });
});
