import ModbusRTU from 'modbus-serial';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimMachine } from '../../simulators/machine.js';
import { decodeRegisters, wireValue } from '../../simulators/modbus/codec.js';
import { REGISTER_MAPS, registerLayout } from '../../simulators/modbus/register-map.js';
import { ModbusSimServer } from '../../simulators/modbus/server.js';
import { SIM_KINDS } from '../../simulators/profiles/index.js';

const logger = pino({ level: 'silent' });

describe('Modbus simulator server', () => {
  // One machine of each kind, unit ids 1..5.
  const machines = SIM_KINDS.map(
    (kind, i) => new SimMachine({ id: `E001-${kind}-${i}`, kind, seed: 100 + i }),
  );
  const server = new ModbusSimServer({
    logger,
    units: machines.map((machine, i) => ({ unitId: i + 1, machine })),
  });
  // modbus-serial is CommonJS: under NodeNext its class is the default export's `default`.
  const client = new ModbusRTU.default();

  beforeAll(async () => {
    for (const t of [0, 90_000, 180_000]) for (const m of machines) m.tick(t);
    await server.start();
    await server.start(); // idempotent
    await client.connectTCP('127.0.0.1', { port: server.port });
    client.setTimeout(300);
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => client.close(() => resolve()));
    await server.close();
    await server.close(); // idempotent
  });

  it('listens on a real port and lists its units', () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.unitList().map((u) => u.unitId)).toEqual([1, 2, 3, 4, 5]);
  });

  it("decodes every mapped signal back to the machine's value, in both word orders", async () => {
    const orders = new Set<string>();
    for (const [i, m] of machines.entries()) {
      client.setID(i + 1);
      const layout = registerLayout(m.kind);
      const holding = (await client.readHoldingRegisters(0, layout.size.holding)).data;
      const input = (await client.readInputRegisters(0, layout.size.input)).data;
      const coils = (await client.readCoils(0, layout.size.coil)).data;
      const values = m.values();
      for (const entry of REGISTER_MAPS[m.kind]) {
        const expected = wireValue(entry, values[entry.signal] as number | boolean);
        let got: number | boolean;
        if (entry.type === 'bool') got = coils[entry.address] as boolean;
        else {
          const words = (entry.table === 'holding' ? holding : input).slice(entry.address, entry.address + 2);
          got = decodeRegisters(words, entry.type, entry.order, entry.scale);
          if (entry.order !== undefined) orders.add(entry.order);
        }
        expect(got, `${m.kind} ${entry.signal}`).toEqual(expected);
      }
    }
    expect([...orders].sort()).toEqual(['ABCD', 'CDAB']);
  });

  it('serves exact values for pinned signals and single-register reads', async () => {
    const cnc = machines[0]!;
    cnc.setSignal('partCount', 70_000); // > 65535: both words matter
    cnc.setSignal('powerOnTime', 0x12345678);
    cnc.setSignal('lampGreen', true);
    client.setID(1);
    const h = (await client.readHoldingRegisters(4, 4)).data;
    expect(decodeRegisters(h.slice(0, 2), 'uint32', 'ABCD')).toBe(70_000);
    expect(h.slice(2, 4)).toEqual([0x5678, 0x1234]); // CDAB
    expect((await client.readHoldingRegisters(0, 1)).data[0]).toBe(cnc.values().state);
    expect((await client.readCoils(2, 1)).data[0]).toBe(true);
    cnc.clearSignals();
  });

  it('answers an out-of-range address with exception 02', async () => {
    client.setID(1);
    const size = registerLayout('cnc').size.holding;
    await expect(client.readHoldingRegisters(size - 1, 2)).rejects.toMatchObject({ modbusCode: 2 });
    await expect(client.readCoils(3, 1)).rejects.toMatchObject({ modbusCode: 2 });
    await expect(client.readDiscreteInputs(0, 1)).rejects.toMatchObject({ modbusCode: 2 });
  });

  it('does not answer for a disconnected machine or an unknown unit', async () => {
    const press = machines[2]!;
    press.disconnect();
    client.setID(3);
    await expect(client.readHoldingRegisters(0, 1)).rejects.toMatchObject({ errno: 'ETIMEDOUT' });
    client.setID(99);
    await expect(client.readHoldingRegisters(0, 1)).rejects.toMatchObject({ errno: 'ETIMEDOUT' });
    press.reconnect();
    client.setID(3);
    expect((await client.readHoldingRegisters(0, 1)).data).toHaveLength(1);
  });

  it('pins signals written to holding registers and coils', async () => {
    const loom = machines[3]!;
    client.setID(4);
    await client.writeRegisters(2, [0x0002, 0x0001]); // picks, CDAB → 0x00010002
    expect(loom.values().picks).toBe(0x00010002);
    await client.writeCoil(0, true);
    expect(loom.values().lampRed).toBe(true);
    await expect(client.writeRegister(3, 1)).rejects.toMatchObject({ modbusCode: 2 }); // half of picks
    loom.clearSignals();
  });
});
