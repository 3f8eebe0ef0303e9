/**
 * Issue 10, at the hub: a machine configured on a gateway that never answered was absent from
 * `/api/v1/machines` (its detail 404), its reason went stale ("next poll in 2000 ms" while the
 * backoff was 30 s), and `/api/v1/gateways` still counted the machines of a stopped gateway
 * (NDEATH) online. A real gateway reads a real Modbus server where one unit never answers and
 * publishes to a real hub (embedded broker, host, registry), read back through the HTTP API.
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
  devices: { online: number; degraded: number; offline: number };
}
interface ApiMachine {
  id: string;
  kind: string | null;
  online: boolean;
  networked: boolean;
  health: string | null;
  gateway: string;
  region: string | null;
  state: string | null;
  lastSeenAt: string | null;
  status: string;
}
interface ApiDevice {
  id: string;
  health: string | null;
  reason: string | null;
}

describe('a machine that never answered, and a stopped gateway, at the hub (issue 10)', () => {
  const dir = tempDir();
  const logger = silentLogger();
  const hub = testHub(dir.path, { logger });
  const plc = new SyntheticModbusServer({ units: [1] }); // unit 3 never answers
  let gw: Gateway;

  const get = async (path: string, headers: { authorization: string }): Promise<Response> =>
    fetch(`http://127.0.0.1:${hub.httpPort}${path}`, { headers });
  let auth: { authorization: string } | undefined;
  const api = async <T>(path: string): Promise<T> => {
    auth ??= apiToken(hub.registry, 'operator');
    const r = await get(path, auth);
    expect(r.status, path).toBe(200);
    return (await r.json()) as T;
  };
  const gateway = async (): Promise<ApiGateway | undefined> =>
    (await api<{ gateways: ApiGateway[] }>('/api/v1/gateways')).gateways.find((g) => g.edgeNode === 'GW-D');
  const machines = async (query = 'enterprise=E078') =>
    api<{ total: number; machines: ApiMachine[] }>(`/api/v1/machines?${query}`);
  const devices = async (): Promise<ApiDevice[]> =>
    (await api<{ devices: ApiDevice[] }>('/api/v1/gateways/E078/GW-D')).devices;

  beforeAll(async () => {
    await hub.start();
    await plc.start();
    for (const code of ['E078', 'E079']) {
      hub.registry.upsertEnterprise(
        {
          code,
          name: `企业 ${code}`,
          regionCode: 'yiwu',
          industryCode: 'hardware',
          backbone: false,
          ledger: { productionEquipment: 10, ncEquipment: 5, robots: 0 },
        },
        'zhang.san',
      );
    }
    const config = validateGatewayConfig({
      gateway: { group: 'E078', node: 'GW-D' },
      mqtt: { url: hub.mqttUrl, primaryHost: hub.config.hostId },
      statusIntervalMs: 100,
      connections: [
        {
          id: 'plc',
          type: 'modbus-tcp',
          host: '127.0.0.1',
          port: plc.port,
          timeoutMs: 100,
          backoffMaxMs: 800,
        },
      ],
      machines: [modbusPress('P1', 1), modbusPress('GHOST', 3)],
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

  it('knows a machine that never answered: listed and found, not networked, with a reason that says the real next poll', async () => {
    await waitFor(
      async () => (await machines()).machines.find((m) => m.id === 'P1')?.networked === true,
      'P1 networked',
      10_000,
    );
    // The backoff reaches its 800 ms cap after it went offline (400 ms then), and the reason
    // the hub shows follows it.
    await waitFor(
      async () =>
        /failed polls in a row; next poll in 800 ms\)$/.test(
          (await devices()).find((d) => d.id === 'GHOST')?.reason ?? '',
        ),
      "GHOST's reason at the backoff cap",
      10_000,
    );
    const list = await machines();
    expect(list.total).toBe(2);
    expect(list.machines.map((m) => m.id)).toEqual(['P1', 'GHOST']); // announced ones first
    const ghost = list.machines.find((m) => m.id === 'GHOST')!;
    expect(ghost).toMatchObject({
      kind: null,
      online: false,
      networked: false,
      health: 'offline',
      gateway: 'GW-D',
      region: 'yiwu',
      state: 'offline',
      lastSeenAt: null,
      status: 'unconfirmed',
    });
    const detail = await api<{ machine: ApiMachine; latest: unknown[] }>('/api/v1/machines/E078/GHOST');
    expect(detail).toEqual({ machine: ghost, latest: [] });
    expect(await api('/api/v1/machines/E078/GHOST/series?metric=State')).toEqual({
      enterprise: 'E078',
      machine: 'GHOST',
      metric: 'State',
      points: [],
    });
    // Filters and paging see it as they see any other machine.
    expect((await machines('enterprise=E078&online=true')).machines.map((m) => m.id)).toEqual(['P1']);
    expect((await machines('enterprise=E078&online=false')).machines.map((m) => m.id)).toEqual(['GHOST']);
    expect(await machines('enterprise=E078&limit=1&offset=1')).toMatchObject({
      total: 2,
      machines: [{ id: 'GHOST' }],
    });
    expect((await machines('enterprise=E078&status=confirmed')).total).toBe(0);
    expect((await machines('region=yiwu&industry=hardware')).machines.map((m) => m.id)).toEqual([
      'P1',
      'GHOST',
    ]);
    expect((await machines('enterprise=E079')).total).toBe(0);
    // Another enterprise's token does not see it: 404 like a missing machine.
    const other = apiToken(hub.registry, 'enterprise', { enterprise: 'E079' });
    expect((await get('/api/v1/machines/E078/GHOST', other)).status).toBe(404);
    expect((await get('/api/v1/machines/E078/NOBODY', auth!)).status).toBe(404);
  });

  it("counts a stopped gateway's machines offline in the gateways list and its detail", async () => {
    await waitFor(async () => (await gateway())?.devices.online === 1, 'P1 online in the list', 10_000);
    expect((await gateway())?.devices).toEqual({ online: 1, degraded: 0, offline: 1 });

    await gw.close(); // NDEATH
    await waitFor(async () => (await gateway())?.online === false, 'gateway offline', 10_000);
    expect((await gateway())?.devices).toEqual({ online: 0, degraded: 0, offline: 2 });
    const after = await devices();
    expect(after.map((d) => [d.id, d.health])).toEqual([
      ['GHOST', 'offline'],
      ['P1', 'offline'],
    ]);
    expect(after.find((d) => d.id === 'P1')?.reason).toMatch(/^the gateway is offline; last reported online/);
    const list = await machines();
    expect(list.machines.map((m) => [m.id, m.health, m.online])).toEqual([
      ['P1', 'offline', false],
      ['GHOST', 'offline', false],
    ]);
  });
});
