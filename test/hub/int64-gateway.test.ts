/**
 * Issue 10, from the register to the API: an independent Modbus server (pymodbus, the fixture
 * of test/fixtures/pymodbus_server.py) holds an Int64 and a UInt64 beyond 2^53 in every byte
 * order; a real gateway reads them and publishes Sparkplug to a real hub, whose HTTP API must
 * answer the very digits pymodbus holds (before the fix the hub answered them rounded to a double).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../gateway/config/index.js';
import { Gateway } from '../../gateway/gateway.js';
import { signalMetricName } from '../../protocol/index.js';
import {
  describeWithPeers,
  type PymodbusEntry,
  type PymodbusServer,
  startPymodbus,
} from '../gateway/modbus-peers.js';
import { apiToken, silentLogger, tempDir, testHub, waitFor } from './helpers.js';

describeWithPeers(['pymodbus'], 'exact 64-bit integers from a pymodbus register to the hub API', () => {
  const dir = tempDir();
  const logger = silentLogger();
  const hub = testHub(dir.path, { logger });
  let plc: PymodbusServer;
  let gw: Gateway | undefined;
  let wide: PymodbusEntry[] = [];

  beforeAll(async () => {
    await hub.start();
    plc = await startPymodbus('socket');
    wide = plc.entries.filter((e) => e.type === 'int64' || e.type === 'uint64');
    const config = validateGatewayConfig({
      gateway: { group: 'E064', node: 'GW-64' },
      mqtt: { url: hub.mqttUrl, primaryHost: hub.config.hostId },
      connections: [{ id: 'plc', type: 'modbus-tcp', host: '127.0.0.1', port: plc.port, timeoutMs: 500 }],
      machines: [
        {
          id: 'M64',
          connection: 'plc',
          kind: 'other',
          dataDepth: 'full',
          unitId: 1,
          pollIntervalMs: 200,
          state: { tag: wide[0]!.name, map: {}, default: 'running' },
          tags: wide.map((e) => ({
            name: e.name,
            table: e.table,
            address: e.address,
            type: e.type,
            order: e.order,
          })),
        },
      ],
    });
    gw = new Gateway(config, { logger, software: 'wanji test', dataDir: `${dir.path}/gateway` });
    await gw.start();
  });

  afterAll(async () => {
    await gw?.close();
    await plc?.close();
    await hub.close();
    dir.remove();
  });

  it('serves every Int64 and UInt64 register value exactly, in every byte order', async () => {
    expect(wide.length).toBe(8);
    const auth = apiToken(hub.registry);
    const latest = async (): Promise<Map<string, unknown>> => {
      const r = await fetch(`http://127.0.0.1:${hub.httpPort}/api/v1/machines/E064/M64`, { headers: auth });
      if (r.status !== 200) return new Map();
      const body = (await r.json()) as { latest: { metric: string; value: unknown }[] };
      return new Map(body.latest.map((l) => [l.metric, l.value]));
    };
    await waitFor(
      async () => {
        const l = await latest();
        return wide.every((e) => l.has(signalMetricName(e.name)));
      },
      'every 64-bit tag at the hub',
      15_000,
    );
    const got = await latest();
    for (const e of wide) {
      // Both fixture values are beyond 2^53, so they must come as strings of their digits.
      expect(got.get(signalMetricName(e.name)), e.name).toBe(String(e.value));
    }
  });
});
