/** The Modbus driver over TCP against our simulator (simulators/modbus/server.ts). */
import { afterEach, describe, expect, it } from 'vitest';
import { SimMachine } from '../../simulators/machine.js';
import { wireValue } from '../../simulators/modbus/codec.js';
import { REGISTER_MAPS } from '../../simulators/modbus/register-map.js';
import { ModbusSimServer } from '../../simulators/modbus/server.js';
import type { SimKind } from '../../simulators/profiles/index.js';
import { testLogger, waitFor } from './helpers.js';
import { gaps, type ModbusRun, median, modbusConfig, runModbus } from './modbus-harness.js';

function simTags(kind: SimKind) {
  return REGISTER_MAPS[kind].map((e) => ({
    name: e.signal,
    table: e.table,
    address: e.address,
    type: e.type,
    ...(e.order ? { order: e.order } : {}),
    ...(e.scale ? { scale: e.scale } : {}),
    ...(e.table === 'coil' || e.table === 'holding' ? { writable: true } : {}),
  }));
}

describe('Modbus TCP driver against the simulator', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const track = <T extends { close(): Promise<void> }>(x: T): T => {
    cleanup.push(() => x.close());
    return x;
  };

  it('polls every machine, decodes the map, and a silent unit goes degraded, then offline, without stalling the others', async () => {
    const cnc = new SimMachine({ id: 'E001-CNC-001', kind: 'cnc', seed: 1 });
    const press = new SimMachine({ id: 'E001-PRS-002', kind: 'press', seed: 2 });
    for (const t of [0, 60_000]) {
      cnc.tick(t);
      press.tick(t);
    }
    const server = track(
      new ModbusSimServer({
        logger: testLogger(),
        units: [
          { unitId: 1, machine: cnc },
          { unitId: 2, machine: press },
        ],
      }),
    );
    await server.start();
    const config = modbusConfig(
      {
        type: 'modbus-tcp',
        host: '127.0.0.1',
        port: server.port,
        timeoutMs: 200,
        backoffMaxMs: 800,
        retries: 0,
      },
      [
        { id: cnc.id, unitId: 1, tags: simTags('cnc') },
        { id: press.id, unitId: 2, tags: simTags('press') },
      ],
    );
    const run: ModbusRun = track(await runModbus(config, 'plc'));
    await waitFor(() => run.latest(cnc.id, 'cuttingTime') && run.latest(press.id, 'tonnage'));
    expect(run.statuses.map((s) => s.status)).toEqual(['online', 'online']);
    for (const m of [cnc, press]) {
      const values = m.values();
      for (const entry of REGISTER_MAPS[m.kind]) {
        const s = run.latest(m.id, entry.signal)!;
        expect(s.quality).toBe('good');
        expect(s.value, `${m.kind} ${entry.signal}`).toEqual(
          wireValue(entry, values[entry.signal] as number),
        );
      }
    }

    // Unit 2 stops answering: degraded after one failed poll, offline after three; unit 1 keeps
    // its pace because the dead unit is polled less and less often (backoff).
    press.disconnect();
    const downAt = Date.now();
    await waitFor(() => run.healthOf(press.id) === 'offline' || undefined, 'press offline', 4000);
    // Changes of health (a failed poll in between reports the same health with a new detail).
    const pressHealth = run.health.filter((h) => h.machineId === press.id).map((h) => h.health);
    expect(pressHealth.filter((h, i, a) => h !== a[i - 1])).toEqual(['online', 'degraded', 'offline']);
    expect(run.statuses.findLast((s) => s.machineId === press.id)).toMatchObject({
      status: 'offline',
      reason: expect.stringMatching(/unit 2 FC\d .*: no answer within 200 ms/),
    });
    expect(Date.now() - downAt).toBeLessThan(3000);
    const from = Date.now();
    await new Promise((r) => setTimeout(r, 1200));
    const cncPolls = run.pollTimes(cnc.id, 'state').filter((t) => t >= from);
    // 12 at 100 ms; bounds leave room for a loaded test machine. Polled behind a unit that
    // timed out every time, it would be ~4, 300 ms apart.
    expect(cncPolls.length).toBeGreaterThanOrEqual(7);
    expect(median(gaps(cncPolls))).toBeLessThan(170);
    expect(run.healthOf(cnc.id)).toBe('online');

    press.reconnect();
    await waitFor(() => run.healthOf(press.id) === 'online' || undefined, 'press back online', 3000);
    expect(run.status(press.id)).toBe('online');
    const c = run.driver.counters();
    expect(c[`${press.id}.timeouts`]).toBeGreaterThan(0);
    expect(c[`${press.id}.skipped`]).toBeGreaterThan(0);
    expect(c[`${cnc.id}.timeouts`]).toBe(0);
    expect(c[`${cnc.id}.latencyAvgMs`]).toBeGreaterThan(0);
    expect(c.latencyMaxMs).toBeGreaterThanOrEqual(c.latencyAvgMs!);
    expect(c.reads).toBe(c[`${cnc.id}.reads`]! + c[`${press.id}.reads`]!);
  });

  it('writes through the same queue as the polls, and the simulator pins the values', async () => {
    const loom = new SimMachine({ id: 'E001-LOM-001', kind: 'loom', seed: 3 });
    loom.tick(0);
    const server = track(
      new ModbusSimServer({ logger: testLogger(), units: [{ unitId: 4, machine: loom }] }),
    );
    await server.start();
    const config = modbusConfig(
      { type: 'modbus-tcp', host: '127.0.0.1', port: server.port, timeoutMs: 300 },
      [{ id: loom.id, unitId: 4, pollIntervalMs: 50, tags: simTags('loom') }],
    );
    const run = track(await runModbus(config, 'plc'));
    await waitFor(() => run.latest(loom.id, 'picks') || undefined);
    // Many writes while polling: each waits for the bus, none interleaves with a read.
    await Promise.all([
      run.driver.write(loom.id, 'picks', 0x00010002), // uint32 CDAB: FC16
      run.driver.write(loom.id, 'lampRed', true), // FC5
      run.driver.write(loom.id, 'stopCause', 7), // FC6
    ]);
    expect(loom.values()).toMatchObject({ picks: 0x00010002, lampRed: true, stopCause: 7 });
    await waitFor(
      () => run.latest(loom.id, 'picks')?.value === 0x00010002 || undefined,
      'picks read back',
      2000,
    );
    await expect(run.driver.write(loom.id, 'rpm', 5)).rejects.toMatchObject({
      code: 'WANJI_E_MODBUS_NOT_WRITABLE',
    });
    await expect(run.driver.write('nobody', 'rpm', 5)).rejects.toMatchObject({
      code: 'WANJI_E_MODBUS_UNKNOWN_TAG',
    });
    expect(run.driver.counters()).toMatchObject({ writes: 3, writeErrors: 0 });
  });

  it('survives a dead server, marks its machines offline and reconnects when it returns', async () => {
    const cnc = new SimMachine({ id: 'E001-CNC-001', kind: 'cnc', seed: 1 });
    cnc.tick(0);
    const server = new ModbusSimServer({ logger: testLogger(), units: [{ unitId: 1, machine: cnc }] });
    await server.start();
    const port = server.port;
    const config = modbusConfig(
      { type: 'modbus-tcp', host: '127.0.0.1', port, timeoutMs: 200, backoffMaxMs: 400 },
      [{ id: cnc.id, unitId: 1, tags: simTags('cnc') }],
    );
    const run = track(await runModbus(config, 'plc'));
    await waitFor(() => run.status(cnc.id) === 'online' || undefined);
    await server.close();
    await waitFor(() => run.status(cnc.id) === 'offline' || undefined, 'offline after server close', 3000);
    expect(run.statuses.at(-1)!.reason).toMatch(/cannot connect to 127\.0\.0\.1:\d+|Port Not Open/);
    // Same port again, as a restarted PLC would.
    const again = track(
      new ModbusSimServer({ logger: testLogger(), units: [{ unitId: 1, machine: cnc }], port }),
    );
    await again.start();
    await waitFor(
      () => run.statuses.filter((s) => s.status === 'online').length === 2 || undefined,
      'back',
      5000,
    );
    expect(run.driver.counters()).toMatchObject({ connects: 2, connectionLosses: 1 });
  });
});
