/**
 * Machine health and gateway counters end to end: a real gateway reading real Modbus servers,
 * publishing to a real hub (embedded broker, host, registry), read back through the HTTP API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyntheticModbusServer } from '../../bench/modbus-server.js';
import { validateGatewayConfig } from '../../gateway/config/index.js';
import { Gateway } from '../../gateway/gateway.js';
import { modbusPress } from '../support/modbus-press.js';
import { apiToken, silentLogger, tempDir, testHub, waitFor } from './helpers.js';

interface ApiGateway {
  edgeNode: string;
  online: boolean;
  software: string | null;
  counters: Record<string, number>;
  devices: { online: number; degraded: number; offline: number };
}

describe('gateway health at the hub', () => {
  const dir = tempDir();
  const logger = silentLogger();
  const hub = testHub(dir.path, { logger });
  const plc = new SyntheticModbusServer({ units: [1, 2] });
  let gw: Gateway;

  let auth: { authorization: string } | undefined;
  const api = async <T>(path: string): Promise<T> => {
    auth ??= apiToken(hub.registry, 'operator');
    const r = await fetch(`http://127.0.0.1:${hub.httpPort}${path}`, { headers: auth });
    expect(r.status).toBe(200);
    return (await r.json()) as T;
  };
  const gateway = async (): Promise<ApiGateway | undefined> =>
    (await api<{ gateways: ApiGateway[] }>('/api/v1/gateways')).gateways.find((g) => g.edgeNode === 'GW-H');
  const machineHealth = async (): Promise<Record<string, string | null>> =>
    Object.fromEntries(
      (
        await api<{ machines: { id: string; health: string | null }[] }>('/api/v1/machines?enterprise=E077')
      ).machines.map((m) => [m.id, m.health]),
    );

  beforeAll(async () => {
    await hub.start();
    await plc.start();
    const config = validateGatewayConfig({
      gateway: { group: 'E077', node: 'GW-H' },
      mqtt: { url: hub.mqttUrl, primaryHost: hub.config.hostId },
      statusIntervalMs: 200,
      connections: [{ id: 'plc', type: 'modbus-tcp', host: '127.0.0.1', port: plc.port, timeoutMs: 200 }],
      machines: [modbusPress('P1', 1), modbusPress('P2', 2)],
    });
    gw = new Gateway(config, { logger, software: 'wanji test', dataDir: `${dir.path}/gateway` });
    await gw.start();
  });

  afterAll(async () => {
    await gw.close();
    await plc.close();
    await hub.close();
    dir.remove();
  });

  it('lists each gateway with its counters and machine health, and details it per machine and connection', async () => {
    await waitFor(
      async () => (await gateway())?.devices.online === 2,
      'two machines online at the hub',
      10_000,
    );
    const g = (await gateway())!;
    expect(g).toMatchObject({ online: true, software: 'wanji test' });
    await waitFor(async () => ((await gateway())?.counters.samples ?? 0) > 10, 'samples counted', 10_000);
    expect(Object.keys(g.counters).sort()).toEqual(
      ['dropped', 'publishErrors', 'published', 'queued', 'reloads', 'samples', 'suppressed'].sort(),
    );
    expect(await machineHealth()).toEqual({ P1: 'online', P2: 'online' });

    const detail = await api<{
      devices: { id: string; health: string; connection: string; samples: number }[];
      connections: { id: string; counters: Record<string, number> }[];
    }>('/api/v1/gateways/E077/GW-H');
    expect(detail.devices.map((d) => [d.id, d.health, d.connection])).toEqual([
      ['P1', 'online', 'plc'],
      ['P2', 'online', 'plc'],
    ]);
    expect(detail.connections.map((c) => c.id)).toEqual(['plc']);
    expect(detail.connections[0]!.counters.reads).toBeGreaterThan(0);
  });

  it('shows a machine that stops answering as offline, and the gateway offline once it is gone', async () => {
    plc.setSilent(2, true);
    await waitFor(async () => (await machineHealth()).P2 === 'offline', 'P2 offline at the hub', 10_000);
    expect((await gateway())?.devices).toEqual({ online: 1, degraded: 0, offline: 1 });
    const detail = await api<{ devices: { id: string; reason: string; outages: number }[] }>(
      '/api/v1/gateways/E077/GW-H',
    );
    expect(detail.devices.find((d) => d.id === 'P2')).toMatchObject({ outages: 1 });
    // The driver's own words, e.g. "unit 2 FC3 holding 0+2: no answer within 200 ms".
    expect(detail.devices.find((d) => d.id === 'P2')?.reason).toMatch(/\S/);

    await gw.close();
    await waitFor(async () => (await gateway())?.online === false, 'gateway offline', 10_000);
    expect(await machineHealth()).toEqual({ P1: 'offline', P2: 'offline' });
  });
});
