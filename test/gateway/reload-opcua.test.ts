/**
 * A reload that does not touch an OPC UA connection keeps its session (the server counts the
 * sessions it ever opened); the connection that changed gets a new one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../gateway/config/index.js';
import { Gateway } from '../../gateway/gateway.js';
import { SimMachine } from '../../simulators/machine.js';
import { OpcuaSimServer } from '../../simulators/opcua/server.js';
import { waitFor } from './helpers.js';
import { SparkplugSubscriber, startBroker, type TestBroker } from './mqtt-helpers.js';
import { quietOpcua, STATE_MAP, simTags, testLog } from './opcua-helpers.js';

describe('Gateway.reload with OPC UA connections', () => {
  const a = new SimMachine({ id: 'E005-CNC-A', kind: 'cnc', seed: 21 });
  const b = new SimMachine({ id: 'E005-CNC-B', kind: 'cnc', seed: 22 });
  const serverA = new OpcuaSimServer({ logger: testLog(), machines: [a] });
  const serverB = new OpcuaSimServer({ logger: testLog(), machines: [b] });
  let broker: TestBroker;
  let sub: SparkplugSubscriber;
  let dataDir: string;
  let tick: ReturnType<typeof setInterval>;

  beforeAll(async () => {
    quietOpcua();
    await Promise.all([serverA.start(), serverB.start()]);
    broker = await startBroker();
    sub = new SparkplugSubscriber();
    await sub.start(broker.url);
    dataDir = await mkdtemp(join(tmpdir(), 'wanji-reload-opc-'));
    tick = setInterval(() => {
      a.tick(Date.now());
      b.tick(Date.now());
    }, 100);
  });

  afterAll(async () => {
    clearInterval(tick);
    await sub.close();
    await broker.close();
    await Promise.all([serverA.close(), serverB.close()]);
    await rm(dataDir, { recursive: true, force: true });
  });

  const config = (timeoutMsB: number) =>
    validateGatewayConfig({
      gateway: { group: 'E005', node: 'GW-E005' },
      mqtt: { url: broker.url },
      connections: [
        { id: 'opc-a', type: 'opcua', endpoint: serverA.endpointUrl, timeoutMs: 2000 },
        { id: 'opc-b', type: 'opcua', endpoint: serverB.endpointUrl, timeoutMs: timeoutMsB },
      ],
      machines: [a, b].map((m, i) => ({
        id: m.id,
        connection: i === 0 ? 'opc-a' : 'opc-b',
        kind: 'cnc',
        dataDepth: 'full',
        pollIntervalMs: 100,
        state: { tag: 'state', map: STATE_MAP },
        tags: simTags(m),
      })),
    });

  it('keeps the session of the connection that did not change', async () => {
    const gw = new Gateway(config(2000), { logger: testLog(), dataDir });
    try {
      await gw.start();
      await waitFor(() => sub.of('DBIRTH').length === 2 || undefined, 'two DBIRTHs', 20_000);
      expect(serverA.stats().cumulatedSessions).toBe(1);
      expect(serverB.stats().cumulatedSessions).toBe(1);

      const mark = sub.messages.length;
      const r = await gw.reload(config(3000));
      expect(r.connections).toEqual({ added: [], removed: [], restarted: ['opc-b'], kept: ['opc-a'] });
      await waitFor(() => serverB.stats().cumulatedSessions === 2 || undefined, 'a new session on B', 20_000);
      // A goes on delivering on its one session, without being born again.
      a.setState('alarm');
      await waitFor(
        () => sub.messages.slice(mark).find((m) => m.type === 'DDATA' && m.device === a.id) ?? undefined,
        'DDATA of A after the reload',
        10_000,
      );
      expect(serverA.stats().cumulatedSessions).toBe(1);
      expect(sub.messages.slice(mark).filter((m) => m.device === a.id && m.type !== 'DDATA')).toEqual([]);
      expect(sub.messages.slice(mark).filter((m) => m.type === 'DDEATH' || m.type === 'NBIRTH')).toEqual([]);
    } finally {
      await gw.close();
    }
  });
});
