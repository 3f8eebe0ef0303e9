import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../gateway/config/index.js';
import { SimMachine } from '../../simulators/machine.js';
import { OpcuaSimServer, opcuaNodeId } from '../../simulators/opcua/server.js';
import { runDriver } from './driver-harness.js';
import { testLogger, waitFor } from './helpers.js';

/** Shared across runs so the client's RSA key is made once. */
const PKI_DIR = join(tmpdir(), 'wanji-gateway-test-pki');

function opcuaConfig(endpoint: string, machines: SimMachine[]) {
  return validateGatewayConfig({
    gateway: { group: 'E001', node: 'GW-1' },
    mqtt: { url: 'mqtt://127.0.0.1:1' },
    connections: [{ id: 'opc', type: 'opcua', endpoint, pkiDir: PKI_DIR, backoffMaxMs: 500 }],
    machines: machines.map((m) => ({
      id: m.id,
      connection: 'opc',
      kind: m.kind,
      dataDepth: m.dataDepth,
      pollIntervalMs: 100,
      state: { tag: 'state', map: { 1: 'stopped', 2: 'idle', 3: 'running', 4: 'alarm' } },
      tags: m.signals.map((s) => ({ name: s.name, nodeId: opcuaNodeId(m.id, s.name), datatype: s.type })),
    })),
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('OPC UA driver against the simulator', () => {
  const cnc = new SimMachine({ id: 'E001-CNC-001', kind: 'cnc', seed: 3 });
  const loom = new SimMachine({ id: 'E001-LOOM-002', kind: 'loom', seed: 4, dataDepth: 'state+count' });
  const server = new OpcuaSimServer({ logger: testLogger(), machines: [cnc, loom] });

  beforeAll(async () => {
    for (const t of [0, 60_000]) {
      cnc.tick(t);
      loom.tick(t);
    }
    await server.start();
  });

  afterAll(async () => {
    await server.close();
  });

  it('subscribes to every tag, reports values with quality, and a disconnected machine offline', async () => {
    const run = await runDriver(opcuaConfig(server.endpointUrl, [cnc, loom]), 'opc');
    try {
      await waitFor(
        () => run.status(cnc.id) === 'online' && run.status(loom.id) === 'online',
        15_000,
        'online',
      );
      await waitFor(() => cnc.signals.every((s) => run.latest(cnc.id, s.name)), 5000, 'all cnc tags');
      const values = cnc.values();
      for (const s of cnc.signals) {
        const got = run.latest(cnc.id, s.name)!;
        expect(got.quality).toBe('good');
        if (s.type === 'Float') expect(got.value).toBeCloseTo(values[s.name] as number, 3);
        else expect(got.value).toEqual(values[s.name]);
      }
      expect(run.latest(loom.id, 'state')!.sourceTime).toBeGreaterThan(0);

      loom.disconnect();
      await waitFor(() => run.status(loom.id) === 'offline' || undefined, 5000, 'loom offline');
      expect(run.statuses.findLast((s) => s.machineId === loom.id)!.reason).toContain('BadNotConnected');
      expect(run.status(cnc.id)).toBe('online');
      loom.reconnect();
      await waitFor(() => run.status(loom.id) === 'online' || undefined, 5000, 'loom back');
    } finally {
      await run.close();
    }
  });

  it('starts against a dead endpoint, connects when the server appears, goes offline when it dies, and returns', async () => {
    const port = await freePort();
    const press = new SimMachine({ id: 'E001-PRS-003', kind: 'press', seed: 5, dataDepth: 'state' });
    press.tick(0);
    const run = await runDriver(opcuaConfig(`opc.tcp://127.0.0.1:${port}`, [press]), 'opc');
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect(run.statuses).toEqual([]);
      const late = new OpcuaSimServer({ logger: testLogger(), machines: [press], port });
      await late.start();
      try {
        await waitFor(
          () => run.status(press.id) === 'online' || undefined,
          10_000,
          'online once the server is up',
        );
      } finally {
        await late.close();
      }
      await waitFor(() => run.status(press.id) === 'offline' || undefined, 10_000, 'offline once it is gone');
      expect(run.driver.counters().connectionLosses).toBe(1);
      // The same server comes back (a restart): node-opcua reconnects, the driver reads the values again.
      const again = new OpcuaSimServer({ logger: testLogger(), machines: [press], port });
      await again.start();
      try {
        await waitFor(
          () => run.statuses.filter((s) => s.status === 'online').length === 2 || undefined,
          15_000,
          'online after the restart',
        );
      } finally {
        await again.close();
      }
    } finally {
      await run.close();
    }
  });
});
