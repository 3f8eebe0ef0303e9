/**
 * mbpoll (libmodbus) as an independent client of our Modbus simulator, over TCP and over RTU
 * on a socat pair: it must see the register map as docs/modbus-register-map.md describes it,
 * and the same values our driver reads.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SimMachine } from '../../simulators/machine.js';
import { encodeRegisters } from '../../simulators/modbus/codec.js';
import { ModbusSimSerialServer } from '../../simulators/modbus/serial-server.js';
import { ModbusSimServer } from '../../simulators/modbus/server.js';
import { testLogger, waitFor } from './helpers.js';
import { modbusConfig, runModbus } from './modbus-harness.js';
import { describeWithPeers, mbpoll, mbpollValues, type SerialPair, startSerialPair } from './modbus-peers.js';

describeWithPeers(['mbpoll', 'socat'], 'mbpoll as a client of the Modbus simulator', () => {
  const cnc = new SimMachine({ id: 'CNC-1', kind: 'cnc', seed: 7 });
  let tcp: ModbusSimServer;
  let pair: SerialPair;
  let rtu: ModbusSimSerialServer;
  const pinned = {
    partCount: 70_000, // holding 4–5, uint32 ABCD
    powerOnTime: 0x12345678, // holding 6–7, uint32 CDAB
    alarmNumber: -5, // holding 10–11, int32 CDAB
    spindleSpeed: 1234.5, // input 0–1, float32 ABCD
    spindleLoad: 42.25, // input 2–3, float32 CDAB
    lampRed: false,
    lampYellow: true,
    lampGreen: true,
  };

  beforeAll(async () => {
    cnc.tick(0);
    for (const [k, v] of Object.entries(pinned)) cnc.setSignal(k, v);
    tcp = new ModbusSimServer({ logger: testLogger(), units: [{ unitId: 1, machine: cnc }] });
    await tcp.start();
    pair = await startSerialPair();
    rtu = new ModbusSimSerialServer({
      logger: testLogger(),
      path: pair.b,
      units: [{ unitId: 3, machine: cnc }],
    });
    await rtu.start();
  });
  afterAll(async () => {
    await tcp?.close();
    await rtu?.close();
    await pair?.close();
  });

  const overTcp = (...args: string[]) =>
    mbpoll(['-1', '-a', '1', ...args, '127.0.0.1', '-p', String(tcp.port)]);

  it('reads the raw holding registers as the map lays them out (1-based references, -0 for 0-based)', async () => {
    const raw = mbpollValues(await overTcp('-t', '4:hex', '-r', '1', '-c', '12'));
    const want = [
      ...encodeRegisters(cnc.values().state as number, 'int16'),
      ...[cnc.values().runState, cnc.values().feedOverride, cnc.values().programNumber].map(
        (v) => encodeRegisters(v as number, 'uint16')[0]!,
      ),
      ...encodeRegisters(70_000, 'uint32', 'ABCD'),
      ...[0x5678, 0x1234],
      ...encodeRegisters(cnc.values().cuttingTime as number, 'uint32', 'CDAB'),
      ...encodeRegisters(-5, 'int32', 'CDAB'),
    ];
    expect([...raw.values()].map((h) => Number.parseInt(h, 16))).toEqual(want);
    expect(mbpollValues(await overTcp('-0', '-t', '4:hex', '-r', '4', '-c', '2'))).toEqual(
      new Map([
        [4, '0x0001'],
        [5, '0x1170'],
      ]),
    );
  });

  it('decodes 32-bit values in both word orders and the coils as our driver does', async () => {
    const got = {
      partCount: mbpollValues(await overTcp('-t', '4:int', '-B', '-r', '5', '-c', '1')).get(5),
      powerOnTime: mbpollValues(await overTcp('-t', '4:int', '-r', '7', '-c', '1')).get(7),
      alarmNumber: mbpollValues(await overTcp('-t', '4:int', '-r', '11', '-c', '1')).get(11),
      spindleSpeed: mbpollValues(await overTcp('-t', '3:float', '-B', '-r', '1', '-c', '1')).get(1),
      spindleLoad: mbpollValues(await overTcp('-t', '3:float', '-r', '3', '-c', '1')).get(3),
    };
    const coils = [...mbpollValues(await overTcp('-t', '0', '-r', '1', '-c', '3')).values()];
    const run = await runModbus(
      modbusConfig({ type: 'modbus-tcp', host: '127.0.0.1', port: tcp.port }, [
        {
          id: 'M',
          tags: [
            { name: 'partCount', register: 40005, type: 'uint32' },
            { name: 'powerOnTime', register: 40007, type: 'uint32', order: 'CDAB' },
            { name: 'alarmNumber', register: 40011, type: 'int32', order: 'CDAB' },
            { name: 'spindleSpeed', register: 30001, type: 'float32' },
            { name: 'spindleLoad', register: 30003, type: 'float32', order: 'CDAB' },
            { name: 'lampRed', register: 1, type: 'bool' },
            { name: 'lampYellow', register: 2, type: 'bool' },
            { name: 'lampGreen', register: 3, type: 'bool' },
          ],
        },
      ]),
      'plc',
    );
    try {
      await waitFor(() => run.latest('M', 'lampGreen') || undefined);
      for (const [k, v] of Object.entries(got)) {
        expect(Number(v), k).toBe(pinned[k as keyof typeof pinned]);
        expect(run.latest('M', k)?.value, k).toBe(Number(v));
      }
      expect(coils).toEqual(['0', '1', '1']);
      expect(
        ['lampRed', 'lampYellow', 'lampGreen'].map((k) => (run.latest('M', k)?.value ? '1' : '0')),
      ).toEqual(coils);
    } finally {
      await run.close();
    }
  });

  it('reads the RTU simulator on a serial line', async () => {
    const out = await mbpoll([
      '-m',
      'rtu',
      '-b',
      '9600',
      '-P',
      'none',
      '-a',
      '3',
      '-1',
      '-t',
      '4:int',
      '-B',
      '-r',
      '5',
      '-c',
      '1',
      pair.a,
    ]);
    expect(mbpollValues(out).get(5)).toBe('70000');
  });
});
