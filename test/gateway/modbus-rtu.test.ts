/**
 * Modbus RTU over a serial line: a virtual pair made by socat, our driver on one end and the
 * simulator's RTU server (modbus-serial ServerSerial) on the other, two units on one bus.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SimMachine } from '../../simulators/machine.js';
import { wireValue } from '../../simulators/modbus/codec.js';
import { REGISTER_MAPS } from '../../simulators/modbus/register-map.js';
import { ModbusSimSerialServer } from '../../simulators/modbus/serial-server.js';
import { testLogger, waitFor } from './helpers.js';
import { gaps, type ModbusRun, median, modbusConfig, runModbus } from './modbus-harness.js';
import { describeWithPeers, type SerialPair, startSerialPair } from './modbus-peers.js';

const tagsOf = (kind: 'cnc' | 'press') =>
  REGISTER_MAPS[kind].map((e) => ({
    name: e.signal,
    table: e.table,
    address: e.address,
    type: e.type,
    ...(e.order ? { order: e.order } : {}),
    ...(e.scale ? { scale: e.scale } : {}),
  }));

describeWithPeers(['socat'], 'Modbus RTU over a virtual serial pair', () => {
  let pair: SerialPair;
  let server: ModbusSimSerialServer;
  let run: ModbusRun | undefined;
  const cnc = new SimMachine({ id: 'CNC-1', kind: 'cnc', seed: 1 });
  const press = new SimMachine({ id: 'PRS-2', kind: 'press', seed: 2 });

  beforeEach(async () => {
    cnc.tick(0);
    press.tick(0);
    pair = await startSerialPair();
    server = new ModbusSimSerialServer({
      logger: testLogger(),
      path: pair.b,
      baudRate: 19200,
      parity: 'even',
      units: [
        { unitId: 1, machine: cnc },
        { unitId: 2, machine: press },
      ],
    });
    await server.start();
  });
  afterEach(async () => {
    await run?.close();
    run = undefined;
    await server.close();
    await pair.close();
    press.reconnect();
  });

  it('reads two units on one bus, and a dead unit neither holds the bus longer than its timeout nor slows the live one', async () => {
    const config = modbusConfig(
      {
        type: 'modbus-rtu',
        path: pair.a,
        baudRate: 19200,
        parity: 'even',
        timeoutMs: 300,
        backoffMaxMs: 1600,
        retries: 0,
      },
      [
        { id: cnc.id, unitId: 1, pollIntervalMs: 100, tags: tagsOf('cnc') },
        { id: press.id, unitId: 2, pollIntervalMs: 100, modbus: { timeoutMs: 150 }, tags: tagsOf('press') },
      ],
    );
    run = await runModbus(config, 'plc');
    const r = run;
    await waitFor(() => (r.latest(cnc.id, 'feedRate') && r.latest(press.id, 'tonnage')) || undefined, 5000);
    for (const m of [cnc, press]) {
      const values = m.values();
      for (const e of REGISTER_MAPS[m.kind]) {
        expect(r.latest(m.id, e.signal)?.value, `${m.id} ${e.signal}`).toEqual(
          wireValue(e, values[e.signal] as number),
        );
      }
    }
    const before = r.pollTimes(cnc.id, 'state');
    expect(median(gaps(before.slice(-8)))).toBeLessThan(130);

    press.disconnect();
    const downAt = Date.now();
    await waitFor(() => r.healthOf(press.id) === 'offline' || undefined, 4000, 'press offline');
    expect(r.health.filter((h) => h.machineId === press.id).map((h) => h.health)).toEqual([
      'online',
      'degraded',
      'offline',
    ]);
    const polls0 = r.driver.counters()[`${press.id}.polls`]!;
    await new Promise((res) => setTimeout(res, 3000));
    const during = r.pollTimes(cnc.id, 'state').filter((t) => t > downAt);
    const g = gaps(during);
    // 100 ms apart while the dead unit rests; when it is tried, at most its 150 ms timeout more.
    expect(median(g)).toBeLessThan(130);
    expect(Math.max(...g)).toBeLessThan(100 + 150 + 120);
    expect(during.length).toBeGreaterThan(25); // ~35 polls in ~3.5 s
    // Backoff: 100, 200, 400, 800, 1600 ms between tries, so few tries in the last 3 s.
    const tries = r.driver.counters()[`${press.id}.polls`]! - polls0;
    expect(tries).toBeLessThanOrEqual(4);
    expect(r.driver.counters()[`${press.id}.skipped`]).toBeGreaterThan(20);
    expect(r.healthOf(cnc.id)).toBe('online');
    expect(r.driver.counters()[`${cnc.id}.timeouts`]).toBe(0);
    console.info(
      `[modbus-rtu] live unit period while the other is dead: median ${median(g)} ms, max ${Math.max(...g)} ms; dead unit tried ${tries} times in 3 s`,
    );

    press.reconnect();
    await waitFor(() => r.healthOf(press.id) === 'online' || undefined, 4000, 'press back');
  });
});
