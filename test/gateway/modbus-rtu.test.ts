/**
 * Modbus RTU over a serial line: a virtual pair made by socat, our driver on one end and the
 * simulator's RTU server (modbus-serial ServerSerial) on the other, two units on one bus.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { type LinkOpener, openModbusLink } from '../../gateway/southbound/modbus/transport.js';
import { SimMachine } from '../../simulators/machine.js';
import { wireValue } from '../../simulators/modbus/codec.js';
import { REGISTER_MAPS } from '../../simulators/modbus/register-map.js';
import { ModbusSimSerialServer } from '../../simulators/modbus/serial-server.js';
import { testLogger, waitFor } from './helpers.js';
import { gaps, type ModbusRun, median, modbusConfig, runModbus } from './modbus-harness.js';
import { describeWithPeers, type SerialPair, startSerialPair } from './modbus-peers.js';

/** modbus-serial's link, recording how long each request held the bus, per unit. */
function timedOpener(held: Array<{ unitId: number; ms: number }>): LinkOpener {
  return async (target, options) => {
    const link = await openModbusLink(target, options);
    return {
      get isOpen() {
        return link.isOpen;
      },
      async read(unitId, table, address, count, timeoutMs) {
        const t0 = performance.now();
        try {
          return await link.read(unitId, table, address, count, timeoutMs);
        } finally {
          held.push({ unitId, ms: performance.now() - t0 });
        }
      },
      write: (unitId, op, timeoutMs) => link.write(unitId, op, timeoutMs),
      close: () => link.close(),
    };
  };
}

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
        timeoutMs: 1000, // the dead unit's own 300 ms must be what counts
        backoffMaxMs: 1600,
        retries: 0,
      },
      [
        { id: cnc.id, unitId: 1, pollIntervalMs: 100, tags: tagsOf('cnc') },
        { id: press.id, unitId: 2, pollIntervalMs: 100, modbus: { timeoutMs: 300 }, tags: tagsOf('press') },
      ],
    );
    const held: Array<{ unitId: number; ms: number }> = [];
    run = await runModbus(config, 'plc', { open: timedOpener(held) });
    const r = run;
    await waitFor(
      () => (r.latest(cnc.id, 'feedRate') && r.latest(press.id, 'tonnage')) || undefined,
      'feedRate and tonnage',
      5000,
    );
    for (const m of [cnc, press]) {
      const values = m.values();
      for (const e of REGISTER_MAPS[m.kind]) {
        expect(r.latest(m.id, e.signal)?.value, `${m.id} ${e.signal}`).toEqual(
          wireValue(e, values[e.signal] as number),
        );
      }
    }
    const before = r.pollTimes(cnc.id, 'state');
    expect(median(gaps(before.slice(-8)))).toBeLessThan(160);

    press.disconnect();
    const downAt = Date.now();
    await waitFor(() => r.healthOf(press.id) === 'offline' || undefined, 'press offline', 4000);
    // Changes of health (a failed poll in between reports the same health with a new detail).
    const pressHealth = r.health.filter((h) => h.machineId === press.id).map((h) => h.health);
    expect(pressHealth.filter((h, i, a) => h !== a[i - 1])).toEqual(['online', 'degraded', 'offline']);
    const polls0 = r.driver.counters()[`${press.id}.polls`]!;
    await new Promise((res) => setTimeout(res, 3000));
    const during = r.pollTimes(cnc.id, 'state').filter((t) => t > downAt);
    const g = gaps(during);
    // A request to the dead unit holds the bus for its own 300 ms timeout, not the
    // connection's 1000 ms (with room for a loaded test machine).
    const deadHolds = held.filter((h) => h.unitId === 2 && h.ms > 250).map((h) => Math.round(h.ms));
    expect(deadHolds.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...deadHolds)).toBeLessThan(300 + 150);
    // The live unit stays 100 ms apart while the dead one rests, and waits once for its
    // timeout when it is tried (a unit that held the bus every poll would double the median).
    expect(median(g)).toBeLessThan(160);
    expect(Math.max(...g)).toBeLessThan(1000);
    expect(during.length).toBeGreaterThan(20); // ~35 polls in ~3.5 s
    // Backoff: 100, 200, 400, 800, 1600 ms between tries, so few tries in the last 3 s.
    const tries = r.driver.counters()[`${press.id}.polls`]! - polls0;
    expect(tries).toBeLessThanOrEqual(4);
    expect(r.driver.counters()[`${press.id}.skipped`]).toBeGreaterThan(20);
    expect(r.healthOf(cnc.id)).toBe('online');
    expect(r.driver.counters()[`${cnc.id}.timeouts`]).toBe(0);
    console.info(
      `[modbus-rtu] live unit period while the other is dead: median ${median(g)} ms, max ${Math.max(...g)} ms; dead unit tried ${tries} times in 3 s, holding the bus ${deadHolds.join(', ')} ms`,
    );

    press.reconnect();
    await waitFor(() => r.healthOf(press.id) === 'online' || undefined, 'press back', 4000);
  });
});
