/**
 * DCMD writes end to end: a real Gateway polls the Modbus simulator and publishes to a real
 * broker; a Sparkplug client sends DCMDs. Writes reach the simulated machine only for tags the
 * config marks writable; everything else is counted and changes nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../gateway/config/index.js';
import { Gateway } from '../../gateway/gateway.js';
import { coerceValue, parseDeviceCommand } from '../../gateway/northbound/commands.js';
import { deviceDefinitions } from '../../gateway/northbound/device-model.js';
import {
  DataType,
  deviceTopic,
  encodePayload,
  MACHINE_METRIC,
  type Metric,
  type Payload,
} from '../../protocol/index.js';
import { SimMachine } from '../../simulators/machine.js';
import { ModbusSimServer } from '../../simulators/modbus/server.js';
import { testLogger, waitFor } from './helpers.js';
import { SparkplugSubscriber, startBroker, type TestBroker } from './mqtt-helpers.js';
import { testLog } from './opcua-helpers.js';

const GROUP = 'E009';
const NODE = 'GW-E009';
const PRESS = 'E009-PRS-001';

describe('Gateway: DCMD writes to Modbus tags', () => {
  let broker: TestBroker;
  let sub: SparkplugSubscriber;
  let server: ModbusSimServer;
  let dataDir: string;
  let gw: Gateway;
  let press: SimMachine;
  let logs: Array<Record<string, unknown>>;

  function config() {
    return validateGatewayConfig(
      {
        gateway: { group: GROUP, node: NODE },
        mqtt: { url: broker.url },
        heartbeatMs: 60_000,
        connections: [
          { id: 'plc', type: 'modbus-tcp', host: '127.0.0.1', port: server.port, timeoutMs: 300 },
        ],
        machines: [
          {
            id: PRESS,
            connection: 'plc',
            kind: 'press',
            dataDepth: 'full',
            unitId: 1,
            pollIntervalMs: 100,
            state: {
              tag: 'state',
              map: { 0: 'powered_off', 1: 'stopped', 2: 'idle', 3: 'running', 4: 'alarm' },
            },
            tags: [
              { name: 'state', table: 'holding', address: 0, type: 'int16' },
              { name: 'strokes', table: 'holding', address: 1, type: 'uint32' },
              { name: 'alarmNumber', table: 'holding', address: 3, type: 'int16', writable: true },
              { name: 'lampRed', table: 'coil', address: 0, type: 'bool', writable: true },
              // Half of the uint32 strokes: the simulator refuses a write of it (exception 2).
              { name: 'strokesHigh', table: 'holding', address: 1, type: 'uint16', writable: true },
            ],
          },
        ],
      },
      'dcmd-write.test',
    );
  }

  beforeEach(async () => {
    // Stopped: strokes do not move, so "unchanged" means nothing was written.
    press = new SimMachine({ id: PRESS, kind: 'press', seed: 21, dataDepth: 'full' });
    press.tick(0);
    press.setState('stopped');
    broker = await startBroker();
    sub = new SparkplugSubscriber();
    await sub.start(broker.url);
    server = new ModbusSimServer({ logger: testLogger(), units: [{ unitId: 1, machine: press }] });
    await server.start();
    dataDir = await mkdtemp(join(tmpdir(), 'wanji-dcmd-'));
    logs = [];
    gw = new Gateway(config(), { logger: testLog(logs), dataDir });
    await gw.start();
    await waitFor(() => sub.of('DBIRTH').find((m) => m.device === PRESS), 'DBIRTH', 5000);
  });

  afterEach(async () => {
    await gw.close();
    await sub.close();
    await server.close();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const refusals = () => logs.filter((l) => l.msg === 'DCMD write refused').map((l) => String(l.reason));
  const counters = () => gw.status().edgeNode.counters;
  const driverWrites = () => gw.status().drivers.plc?.writes ?? 0;

  function dcmd(metrics: Metric[], device = PRESS): Promise<void> {
    const payload: Payload = { timestamp: Date.now(), metrics };
    return sub.publish(deviceTopic(GROUP, 'DCMD', NODE, device), encodePayload(payload));
  }

  function aliasOf(name: string): number {
    const birth = sub.of('DBIRTH').find((m) => m.device === PRESS)!;
    const alias = birth.payload.metrics.find((m) => m.name === name)?.alias;
    if (alias === undefined) throw new Error(`no alias for ${name}`);
    return alias;
  }

  /** Settles once the edge node has counted `n` DCMD outcomes in all. */
  async function outcomes(n: number): Promise<void> {
    await waitFor(
      () => {
        const c = counters();
        const total =
          (c.dcmdWrites ?? 0) + (c.dcmdRefused ?? 0) + (c.dcmdFailed ?? 0) + (c.dcmdMalformed ?? 0);
        return total >= n || undefined;
      },
      `${n} DCMD outcomes`,
      5000,
    );
  }

  it('writes a writable holding register by name; the new value arrives in a DDATA', async () => {
    expect(press.value('alarmNumber')).toBe(0);
    const alias = aliasOf('Signals/alarmNumber');
    const after = sub.messages.length;
    await dcmd([{ name: 'Signals/alarmNumber', datatype: DataType.Int32, value: 1234 }]);
    await waitFor(() => press.value('alarmNumber') === 1234 || undefined, 'the write', 5000);
    const ddata = await waitFor(
      () =>
        sub.messages
          .slice(after)
          .find(
            (m) =>
              m.type === 'DDATA' &&
              m.device === PRESS &&
              m.payload.metrics.some((x) => x.alias === alias && x.value === 1234),
          ),
      'DDATA with the written value',
      5000,
    );
    expect(ddata.payload.metrics.find((x) => x.alias === alias)?.isHistorical).not.toBe(true);
    expect(counters()).toMatchObject({ dcmdWrites: 1, dcmdRefused: 0, dcmdFailed: 0, dcmdMalformed: 0 });
    expect(driverWrites()).toBe(1);
  });

  it('writes a writable coil by alias, a 0/1 number coerced to a bool', async () => {
    expect(press.value('lampRed')).toBe(false);
    await dcmd([{ alias: aliasOf('Signals/lampRed'), datatype: DataType.Int8, value: 1 }]);
    await waitFor(() => press.value('lampRed') === true || undefined, 'the coil write', 5000);
    await outcomes(1);
    expect(counters()).toMatchObject({ dcmdWrites: 1, dcmdRefused: 0 });
  });

  it('refuses a tag that is not writable: nothing reaches the machine', async () => {
    const strokes = press.value('strokes');
    await dcmd([{ name: 'Signals/strokes', datatype: DataType.UInt32, value: 7 }]);
    await outcomes(1);
    expect(counters()).toMatchObject({ dcmdWrites: 0, dcmdRefused: 1, dcmdFailed: 0 });
    expect(driverWrites()).toBe(0);
    expect(press.value('strokes')).toBe(strokes);
    expect(refusals()).toEqual([
      expect.stringMatching(/^not writable: tag strokes of E009-PRS-001 is read-only/),
    ]);
  });

  it('counts unknown metrics, bad values, unknown devices and malformed payloads; writes nothing', async () => {
    await dcmd([
      { name: 'Signals/nope', datatype: DataType.Int32, value: 1 },
      { alias: 999_999, datatype: DataType.Int32, value: 1 },
      { name: 'Signals/alarmNumber', datatype: DataType.String, value: '12' },
      { name: 'Signals/alarmNumber', datatype: DataType.Int32, value: 70_000 },
      { name: 'Signals/alarmNumber', datatype: DataType.Double, value: 1.5 },
      { name: 'Properties/Kind', datatype: DataType.String, value: 'cnc' },
    ]);
    await dcmd([{ name: 'Signals/alarmNumber', datatype: DataType.Int32, value: 5 }], 'E009-NOBODY');
    await sub.publish(deviceTopic(GROUP, 'DCMD', NODE, PRESS), Buffer.from([0xff, 0xff, 0xff, 0x07]));
    await dcmd([]);
    await outcomes(9);
    expect(counters()).toMatchObject({ dcmdWrites: 0, dcmdRefused: 7, dcmdFailed: 0, dcmdMalformed: 2 });
    expect(driverWrites()).toBe(0);
    expect(press.value('alarmNumber')).toBe(0);
    expect(refusals()).toEqual([
      'unknown metric of E009-PRS-001',
      'unknown metric of E009-PRS-001',
      'bad value: Signals/alarmNumber takes an integer, not text "12"',
      'bad value: Signals/alarmNumber 70000 is outside -32768..32767',
      'bad value: Signals/alarmNumber takes an integer, not number 1.5',
      'Properties/Kind is not a tag (only Signals/<tag> metrics can be written)',
      'unknown device "E009-NOBODY"',
    ]);
    expect(logs.filter((l) => l.msg === 'malformed DCMD dropped')).toHaveLength(2);
    // The gateway runs on: a good write afterwards still goes through.
    await dcmd([{ name: 'Signals/alarmNumber', datatype: DataType.Int16, value: -3 }]);
    await waitFor(() => press.value('alarmNumber') === -3 || undefined, 'the write', 5000);
    await outcomes(10);
    expect(counters()).toMatchObject({ dcmdWrites: 1, dcmdRefused: 7, dcmdFailed: 0, dcmdMalformed: 2 });
  });

  it('counts a write the device answers with an exception as failed', async () => {
    const strokes = press.value('strokes');
    await dcmd([{ name: 'Signals/strokesHigh', datatype: DataType.UInt16, value: 1 }]);
    await outcomes(1);
    expect(counters()).toMatchObject({ dcmdWrites: 0, dcmdRefused: 0, dcmdFailed: 1 });
    expect(gw.status().drivers.plc?.writeErrors).toBe(1);
    expect(press.value('strokes')).toBe(strokes);
    expect(gw.status().machines[PRESS]?.online).toBe(true);
    const failed = logs.find((l) => l.msg === 'DCMD write failed');
    expect(String(failed?.reason)).toMatch(/exception 2 \(illegal data address\)/);
  });

  it('refuses writes to a machine whose driver cannot write (OPC UA)', async () => {
    const opcLogs: Array<Record<string, unknown>> = [];
    const opcDir = await mkdtemp(join(tmpdir(), 'wanji-dcmd-opc-'));
    const node = 'GW-E009-OPC';
    const opc = new Gateway(
      validateGatewayConfig(
        {
          gateway: { group: GROUP, node },
          mqtt: { url: broker.url },
          // Nobody listens there: the driver retries in the background; the device is still defined.
          connections: [{ id: 'opc', type: 'opcua', endpoint: 'opc.tcp://127.0.0.1:1', timeoutMs: 500 }],
          machines: [
            {
              id: 'E009-CNC-001',
              connection: 'opc',
              kind: 'cnc',
              dataDepth: 'full',
              state: { tag: 'state', map: { 3: 'running' } },
              tags: [{ name: 'state', nodeId: 'ns=1;s=state', datatype: 'Int32' }],
            },
          ],
        },
        'dcmd-write.test opc',
      ),
      { logger: testLog(opcLogs), dataDir: opcDir },
    );
    try {
      await opc.start();
      await waitFor(() => sub.of('NBIRTH').find((m) => m.topic.includes(node)), 'NBIRTH', 5000);
      await sub.publish(
        deviceTopic(GROUP, 'DCMD', node, 'E009-CNC-001'),
        encodePayload({ metrics: [{ name: 'Signals/state', datatype: DataType.Int32, value: 3 }] }),
      );
      await waitFor(() => opc.status().edgeNode.counters.dcmdRefused === 1 || undefined, 'refusal', 5000);
      expect(opc.status().edgeNode.counters).toMatchObject({ dcmdWrites: 0, dcmdFailed: 0 });
      const refused = opcLogs.find((l) => l.msg === 'DCMD write refused');
      expect(String(refused?.reason)).toMatch(/^driver cannot write: connection opc of E009-CNC-001/);
    } finally {
      await opc.close();
      await rm(opcDir, { recursive: true, force: true });
    }
  });
});

describe('DCMD values and metrics (commands.ts)', () => {
  const def = deviceDefinitions(
    validateGatewayConfig(
      {
        gateway: { group: GROUP, node: NODE },
        mqtt: { url: 'mqtt://127.0.0.1:1' },
        connections: [{ id: 'plc', type: 'modbus-tcp', host: '127.0.0.1', port: 1 }],
        machines: [
          {
            id: PRESS,
            connection: 'plc',
            kind: 'press',
            dataDepth: 'full',
            unitId: 1,
            state: { tag: 'state', map: { 1: 'stopped' } },
            tags: [
              { name: 'state', table: 'holding', address: 0, type: 'int16' },
              { name: 'total', table: 'holding', address: 1, type: 'int64', writable: true },
            ],
          },
        ],
      },
      'dcmd-write.test units',
    ).machines,
  )[0]!;

  it('converts values to the datatype or says why not', () => {
    expect(coerceValue(DataType.Int64, 5)).toEqual({ value: 5n });
    expect(coerceValue(DataType.Int64, 2n ** 62n)).toEqual({ value: 2n ** 62n });
    expect(coerceValue(DataType.UInt64, -1n)).toEqual({ reason: '-1 is outside 0..18446744073709551615' });
    expect(coerceValue(DataType.UInt16, 65_536)).toEqual({ reason: '65536 is outside 0..65535' });
    expect(coerceValue(DataType.Double, 7n)).toEqual({ value: 7 });
    expect(coerceValue(DataType.Float, Number.NaN)).toEqual({
      reason: 'takes a finite number, not number NaN',
    });
    expect(coerceValue(DataType.Boolean, 0)).toEqual({ value: false });
    expect(coerceValue(DataType.Boolean, 2)).toEqual({
      reason: 'takes true or false (or 0/1), not number 2',
    });
    expect(coerceValue(DataType.String, 'ok')).toEqual({ value: 'ok' });
    expect(coerceValue(DataType.String, 1)).toEqual({ reason: 'takes text, not number 1' });
    expect(coerceValue(DataType.Int32, null)).toEqual({ reason: 'takes an integer, not null' });
    expect(coerceValue(DataType.Bytes, new Uint8Array([1]))).toEqual({
      reason: `its datatype ${DataType.Bytes} cannot be written`,
    });
  });

  it('resolves metrics by name and by alias, and refuses the State metric', () => {
    const total = def.metrics.find((m) => m.name === 'Signals/total')!;
    const state = def.metrics.find((m) => m.name === MACHINE_METRIC.state)!;
    const parsed = parseDeviceCommand(
      PRESS,
      def,
      encodePayload({
        metrics: [
          { alias: total.alias, datatype: DataType.Int64, value: 9n },
          { name: 'Signals/total', datatype: DataType.Int32, value: 3 },
          { alias: state.alias, datatype: DataType.String, value: 'running' },
        ],
      }),
    );
    expect(parsed).toEqual({
      ok: true,
      writes: [
        { device: PRESS, tag: 'total', metric: 'Signals/total', value: 9n },
        { device: PRESS, tag: 'total', metric: 'Signals/total', value: 3n },
      ],
      refused: [
        {
          metric: `alias ${state.alias}`,
          reason: 'State is not a tag (only Signals/<tag> metrics can be written)',
        },
      ],
    });
    expect(parseDeviceCommand(PRESS, def, new Uint8Array([0x0a]))).toMatchObject({ ok: false });
  });
});
