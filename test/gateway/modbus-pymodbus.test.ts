/**
 * The Modbus driver against an independent server: Debian's pymodbus, serving a register map
 * encoded in Python (test/fixtures/pymodbus_server.py) with every type in every byte order.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { waitFor } from './helpers.js';
import { gaps, type ModbusRun, median, modbusConfig, runModbus } from './modbus-harness.js';
import { describeWithPeers, type PymodbusEntry, type PymodbusServer, startPymodbus } from './modbus-peers.js';

function tagOf(e: PymodbusEntry): Record<string, unknown> {
  return {
    name: e.name,
    table: e.table,
    address: e.address,
    type: e.type,
    ...(e.order !== undefined ? { order: e.order } : {}),
    ...(e.bit !== undefined ? { bit: e.bit } : {}),
    ...(e.length !== undefined ? { length: e.length } : {}),
  };
}

function expectValue(e: PymodbusEntry, got: unknown): void {
  if (e.type === 'int64' || e.type === 'uint64') {
    expect(typeof got === 'bigint' || typeof got === 'number', e.name).toBe(true);
    expect(BigInt(got as bigint | number), e.name).toBe(BigInt(e.value as string));
  } else {
    // float32 values come from Python already rounded to single precision: exact.
    expect(got, e.name).toEqual(e.value);
  }
}

describeWithPeers(['pymodbus'], 'Modbus driver against pymodbus', () => {
  let server: PymodbusServer;
  let rtuServer: PymodbusServer;
  const runs: ModbusRun[] = [];
  beforeAll(async () => {
    [server, rtuServer] = await Promise.all([startPymodbus('socket'), startPymodbus('rtu')]);
  });
  afterAll(async () => {
    await Promise.all([server?.close(), rtuServer?.close()]);
  });
  afterEach(async () => {
    for (const r of runs.splice(0)) await r.close();
  });
  const run = async (...args: Parameters<typeof runModbus>) => {
    const r = await runModbus(...args);
    runs.push(r);
    return r;
  };
  const readable = () => server.entries.filter((e) => !e.name.startsWith('island'));

  for (const transport of ['modbus-tcp', 'modbus-rtu-over-tcp'] as const) {
    it(`${transport}: decodes every type in every byte order, strings, bits, coils, inputs`, async () => {
      const port = transport === 'modbus-tcp' ? server.port : rtuServer.port;
      const entries = readable();
      const config = modbusConfig({ type: transport, host: '127.0.0.1', port, timeoutMs: 500 }, [
        { id: 'M1', tags: entries.map(tagOf) },
      ]);
      const r = await run(config, 'plc');
      await waitFor(() => entries.every((e) => r.latest('M1', e.name)) || undefined, 'every tag', 5000);
      for (const e of entries) {
        const s = r.latest('M1', e.name)!;
        expect(s.quality, `${e.name}: ${s.reason}`).toBe('good');
        expectValue(e, s.value);
      }
      const types = new Set(entries.map((e) => `${e.type}/${e.order ?? ''}`));
      expect(types.size).toBeGreaterThanOrEqual(8 * 4 + 2);
      // 93 holding registers merged into one read, then input, coil and discrete reads.
      expect(r.driver.plan('M1').map((q) => [q.table, q.address, q.count])).toEqual([
        ['coil', 0, 10],
        ['discrete', 0, 5],
        ['input', 0, 3],
        ['holding', 0, 93],
      ]);
    });
  }

  it('splits a read across holes (exception 2), keeps the split, and publishes a refused tag as bad with the reason', async () => {
    const island = server.entries.find((e) => e.name === 'island0')!.address;
    const bits = server.entries.find((e) => e.name === 'bit0')!.address;
    const config = modbusConfig(
      {
        type: 'modbus-tcp',
        host: '127.0.0.1',
        port: server.port,
        timeoutMs: 500,
        maxGap: 16,
        illegalRetryMs: 60_000,
      },
      [
        {
          id: 'M1',
          tags: [
            { name: 'bit2', table: 'holding', address: bits, type: 'bool', bit: 2 },
            { name: 'island0', register: String(400001 + island), type: 'uint16' },
            { name: 'island1', table: 'holding', address: island + 1, type: 'int16' },
            { name: 'ghost', table: 'holding', address: island + 2, type: 'uint16' },
            { name: 'island3', table: 'holding', address: island + 3, type: 'uint16' },
          ],
        },
      ],
    );
    const r = await run(config, 'plc');
    await waitFor(
      () => r.latest('M1', 'ghost') && r.latest('M1', 'island3') && r.samples.length >= 20,
      'ghost, island3 and 20 samples',
      5000,
    );
    expect(r.latest('M1', 'bit2')).toMatchObject({ quality: 'good', value: true });
    expect(r.latest('M1', 'island0')).toMatchObject({ quality: 'good', value: 4242 });
    expect(r.latest('M1', 'island1')).toMatchObject({ quality: 'good', value: -7 });
    expect(r.latest('M1', 'island3')).toMatchObject({ quality: 'good', value: 7 });
    const ghost = r.latest('M1', 'ghost')!;
    expect(ghost).toMatchObject({ quality: 'bad', value: null });
    expect(ghost.reason).toMatch(/exception 2 \(illegal data address\)/);
    expect(r.healthOf('M1')).toBe('online');
    // Remembered: after the first poll the device is asked only for what it answers.
    expect(r.driver.plan('M1').map((q) => [q.address, q.count])).toEqual([
      [bits, 1],
      [island, 2],
      [island + 2, 1],
      [island + 3, 1],
    ]);
    const before = r.driver.counters().exceptions!;
    await waitFor(() => (r.driver.counters()['M1.polls'] ?? 0) >= 8 || undefined, 'more polls', 3000);
    expect(r.driver.counters().exceptions).toBe(before);
    expect(r.driver.counters().splits).toBeGreaterThanOrEqual(2);
  });

  it('a unit that does not answer goes degraded then offline with backoff; unit 2 keeps its pace', async () => {
    const config = modbusConfig(
      {
        type: 'modbus-tcp',
        host: '127.0.0.1',
        port: server.port,
        timeoutMs: 300,
        backoffMaxMs: 800,
        offlineAfter: 2,
      },
      [
        { id: 'live', unitId: 2, tags: [{ name: 'v', table: 'holding', address: 0, type: 'uint16' }] },
        { id: 'dead', unitId: 3, tags: [{ name: 'v', table: 'holding', address: 0, type: 'uint16' }] },
      ],
    );
    const r = await run(config, 'plc');
    await waitFor(() => r.healthOf('dead') === 'offline' || undefined, 'dead offline', 5000);
    expect(r.health.filter((h) => h.machineId === 'dead').map((h) => h.health)).toEqual([
      'degraded',
      'offline',
    ]);
    expect(r.health.find((h) => h.machineId === 'dead')!.detail).toMatch(
      /unit 3 FC3 holding 0\+1: no answer within 300 ms \(1 failed poll; next poll in 100 ms\)/,
    );
    expect(r.latest('live', 'v')).toMatchObject({ quality: 'good', value: 2222 });
    const start = r.samples.length;
    await new Promise((res) => setTimeout(res, 1500));
    const live = r.samples
      .slice(start)
      .filter((s) => s.machineId === 'live')
      .map((s) => s.sourceTime);
    expect(median(gaps(live))).toBeLessThan(170);
    const c = r.driver.counters();
    // Backoff: 2.5 s at 100 ms would be ~25 polls of the dead unit; it is asked far less.
    expect(c['dead.skipped']).toBeGreaterThan(c['dead.polls']!);
    expect(r.statuses.filter((s) => s.machineId === 'dead')).toEqual([]); // never online, never reported
  });

  it('writes coils and registers (FC5, FC6, FC15, FC16) and reads them back', async () => {
    const config = modbusConfig(
      { type: 'modbus-tcp', host: '127.0.0.1', port: server.port, timeoutMs: 500 },
      [
        {
          id: 'M1',
          pollIntervalMs: 50,
          tags: [
            { name: 'c1', table: 'coil', address: 1, type: 'bool', writable: true },
            { name: 'c2', table: 'coil', address: 2, type: 'bool', writable: true, writeMultiple: true },
            { name: 'u16', table: 'holding', address: 1, type: 'uint16', writable: true },
            { name: 'i16', table: 'holding', address: 0, type: 'int16', writable: true, writeMultiple: true },
            {
              name: 'f32',
              table: 'holding',
              address: 60,
              type: 'float32',
              order: 'CDAB',
              writable: true,
              scale: 0.5,
            },
            { name: 'u64', table: 'holding', address: 24, type: 'uint64', order: 'BADC', writable: true },
            { name: 'text', table: 'holding', address: 80, type: 'string', length: 6, writable: true },
            { name: 'ro', table: 'holding', address: 2, type: 'uint16' },
          ],
        },
      ],
    );
    const r = await run(config, 'plc');
    await waitFor(() => r.latest('M1', 'text') || undefined);
    await r.driver.write('M1', 'c1', true);
    await r.driver.write('M1', 'c2', 1);
    await r.driver.write('M1', 'u16', 65000);
    await r.driver.write('M1', 'i16', -2);
    await r.driver.write('M1', 'f32', 21.5);
    await r.driver.write('M1', 'u64', 18446744073709551615n);
    await r.driver.write('M1', 'text', 'Hi');
    const want: Record<string, unknown> = {
      c1: true,
      c2: true,
      u16: 65000,
      i16: -2,
      f32: 21.5,
      u64: 18446744073709551615n,
      text: 'Hi',
    };
    const at = Date.now();
    await waitFor(
      () =>
        Object.entries(want).every(([k, v]) => {
          const s = r.latest('M1', k);
          return s !== undefined && s.sourceTime > at && s.value === v;
        }) || undefined,
      'written values read back',
      3000,
    );
    await expect(r.driver.write('M1', 'ro', 1)).rejects.toMatchObject({
      code: 'WANJI_E_MODBUS_NOT_WRITABLE',
    });
    await expect(r.driver.write('M1', 'u16', 70000)).rejects.toMatchObject({
      code: 'WANJI_E_MODBUS_BAD_VALUE',
    });
    await expect(r.driver.write('M1', 'text', 'much too long text')).rejects.toMatchObject({
      code: 'WANJI_E_MODBUS_BAD_VALUE',
    });
    await expect(r.driver.write('M1', 'nope', 1)).rejects.toMatchObject({
      code: 'WANJI_E_MODBUS_UNKNOWN_TAG',
    });
    expect(r.driver.counters().writes).toBe(7);
  });
});
