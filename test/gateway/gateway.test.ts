import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../gateway/config/index.js';
import { Gateway } from '../../gateway/gateway.js';
import { MACHINE_METRIC } from '../../protocol/index.js';
import { SimMachine } from '../../simulators/machine.js';
import { ModbusSimServer } from '../../simulators/modbus/server.js';
import { testLogger, waitFor } from './helpers.js';
import { metricValue, SparkplugSubscriber, startBroker, type TestBroker } from './mqtt-helpers.js';

const PRESS = 'E007-PRS-001';
const LOOM = 'E007-LOOM-002';

describe('Gateway: Modbus machines to Sparkplug', () => {
  let broker: TestBroker;
  let sub: SparkplugSubscriber;
  let server: ModbusSimServer;
  let dataDir: string;
  const press = new SimMachine({ id: PRESS, kind: 'press', seed: 11, dataDepth: 'state+count' });
  const loom = new SimMachine({ id: LOOM, kind: 'loom', seed: 12, dataDepth: 'state' });

  beforeEach(async () => {
    press.tick(0);
    loom.tick(0);
    broker = await startBroker();
    sub = new SparkplugSubscriber();
    await sub.start(broker.url);
    server = new ModbusSimServer({
      logger: testLogger(),
      units: [
        { unitId: 1, machine: press },
        { unitId: 2, machine: loom },
      ],
    });
    await server.start();
    dataDir = await mkdtemp(join(tmpdir(), 'wanji-gw-'));
  });

  afterEach(async () => {
    await sub.close();
    await server.close();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  function config() {
    const lamps = [
      { name: 'lampRed', table: 'coil', address: 0, type: 'bool' },
      { name: 'lampYellow', table: 'coil', address: 1, type: 'bool' },
      { name: 'lampGreen', table: 'coil', address: 2, type: 'bool' },
    ];
    return validateGatewayConfig(
      {
        gateway: { group: 'E007', node: 'GW-E007' },
        mqtt: { url: broker.url, primaryHost: 'wanji-hub' },
        heartbeatMs: 60_000,
        connections: [
          { id: 'plc', type: 'modbus-tcp', host: '127.0.0.1', port: server.port, timeoutMs: 200 },
        ],
        machines: [
          {
            id: PRESS,
            connection: 'plc',
            kind: 'press',
            dataDepth: 'state+count',
            unitId: 1,
            pollIntervalMs: 100,
            state: {
              tag: 'state',
              map: { 0: 'powered_off', 1: 'stopped', 2: 'idle', 3: 'running', 4: 'alarm' },
            },
            tags: [
              { name: 'state', table: 'holding', address: 0, type: 'int16' },
              { name: 'strokes', table: 'holding', address: 1, type: 'uint32' },
            ],
          },
          {
            id: LOOM,
            connection: 'plc',
            kind: 'loom',
            dataDepth: 'state',
            unitId: 2,
            pollIntervalMs: 100,
            state: { stackLight: { red: 'lampRed', yellow: 'lampYellow', green: 'lampGreen' } },
            tags: lamps,
          },
        ],
      },
      'gateway.test',
    );
  }

  it('births the machines after the host is online, publishes changes, DDEATH on silence, NDEATH on close', async () => {
    const gw = new Gateway(config(), { logger: testLogger(), dataDir, software: 'wanji test' });
    try {
      press.setState('running');
      loom.setState('idle');
      await gw.start();
      await waitFor(
        () => gw.status().machines[PRESS]?.born && gw.status().machines[LOOM]?.born,
        'born',
        5000,
      );
      expect(sub.of('NBIRTH')).toHaveLength(0); // the primary host has not said it is online
      await sub.publishState('wanji-hub', true, Date.now());
      await sub.next('NBIRTH');
      await waitFor(() => sub.of('DBIRTH').length === 2 || undefined, 'two DBIRTHs', 5000);
      const births = new Map(sub.of('DBIRTH').map((m) => [m.device, m.payload]));
      expect(metricValue(births.get(PRESS)!, MACHINE_METRIC.state)).toBe('running');
      expect(metricValue(births.get(PRESS)!, MACHINE_METRIC.dataDepth)).toBe('state+count');
      expect(metricValue(births.get(PRESS)!, 'Signals/strokes')).toBe(press.value('strokes'));
      expect(metricValue(births.get(LOOM)!, MACHINE_METRIC.state)).toBe('idle');
      expect(metricValue(births.get(LOOM)!, 'Signals/lampYellow')).toBe(true);

      // A change on the machine becomes a DDATA with the new value and state.
      press.setState('alarm');
      const ddata = await waitFor(
        () =>
          sub
            .of('DDATA')
            .find((m) => m.device === PRESS && m.payload.metrics.some((x) => x.value === 'alarm')),
        'alarm DDATA',
        5000,
      );
      expect(ddata.payload.metrics.every((m) => m.name === undefined && m.alias !== undefined)).toBe(true);

      // The loom stops answering: DDEATH; it answers again: DBIRTH.
      loom.disconnect();
      await waitFor(() => sub.of('DDEATH').find((m) => m.device === LOOM), 'DDEATH', 5000);
      expect(gw.status().machines[LOOM]).toMatchObject({ online: false, state: 'offline' });
      loom.reconnect();
      await waitFor(
        () => sub.of('DBIRTH').filter((m) => m.device === LOOM).length === 2 || undefined,
        'the second DBIRTH',
        5000,
      );

      const seqs = sub.messages.map((m) => m.payload.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i % 256));
      const status = gw.status();
      expect(status.edgeNode).toMatchObject({ connected: true, born: true, bdSeq: 0 });
      expect(status.drivers.plc?.timeouts).toBeGreaterThan(0);
      expect(status.sampler.births).toBe(3);
    } finally {
      await gw.close();
      await gw.close();
    }
    const ndeath = await sub.next('NDEATH');
    expect(metricValue(ndeath.payload, 'bdSeq')).toBe(0);
  });
});
