import { Script } from 'node:vm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../hub/api/app.js';
import type { HealthReply } from '../../hub/api/schemas.js';
import { Hub } from '../../hub/hub.js';
import { Registry } from '../../hub/registry/registry.js';
import { DEFAULT_WINDOWS } from '../../hub/stats/stats.js';
import { createStore } from '../../hub/store/index.js';
import { apiToken, silentLogger, tempDir } from './helpers.js';

const NOW = 1_700_000_000_000;
const MIN = 60_000;

describe('hub API (inject)', () => {
  const dir = tempDir();
  const logger = silentLogger();
  const registry = new Registry({ path: `${dir.path}/registry.db`, logger, clock: () => NOW });
  const store = createStore({ type: 'sqlite' }, { dataDir: dir.path, logger });
  let health: Omit<HealthReply, 'status'> = {
    components: {
      broker: { status: 'up' },
      host: { status: 'up' },
      store: { status: 'up' },
      registry: { status: 'up' },
    },
    counters: { host: { messages: 3 } },
  };
  let app: FastifyInstance;
  let admin: { authorization: string };

  beforeAll(async () => {
    await registry.start();
    await store.start();
    admin = apiToken(registry);
    registry.upsertEnterprise(
      {
        code: 'acme',
        name: '金华精密',
        regionCode: 'yiwu',
        industryCode: 'hardware',
        backbone: true,
        ledger: { productionEquipment: 4, ncEquipment: 3, robots: 0 },
      },
      'zhang.san',
    );
    registry.applyIngest({
      events: [
        {
          type: 'nodeBirth',
          group: 'acme',
          edgeNode: 'gw1',
          bdSeq: 1,
          at: NOW - 10 * MIN,
          metrics: [
            { name: 'Properties/Software', value: 'wanji 0.1.0', at: NOW - 10 * MIN },
            { name: 'Gateway/Samples', value: 100, at: NOW - 10 * MIN },
            { name: 'Gateway/Published', value: 10, at: NOW - 10 * MIN },
            { name: 'Devices/cnc-1/Health', value: 'online', at: NOW - 10 * MIN },
            { name: 'Devices/cnc-1/Connection', value: 'opc-1', at: NOW - 10 * MIN },
            { name: 'Devices/cnc-2/Health', value: 'online', at: NOW - 10 * MIN },
            { name: 'Devices/cnc-2/Samples', value: 7, at: NOW - 10 * MIN },
            { name: 'Connections/opc-1/notifications', value: 5, at: NOW - 10 * MIN },
          ],
        },
        {
          type: 'nodeMetrics',
          group: 'acme',
          edgeNode: 'gw1',
          at: NOW - 2 * MIN,
          metrics: [
            { name: 'Gateway/Samples', value: 250, at: NOW - 2 * MIN },
            { name: 'Devices/cnc-2/Health', value: 'degraded', at: NOW - 2 * MIN },
            { name: 'Devices/cnc-2/Health Reason', value: 'timeout after 1000 ms', at: NOW - 2 * MIN },
          ],
        },
        {
          type: 'deviceBirth',
          group: 'acme',
          edgeNode: 'gw1',
          device: 'cnc-1',
          at: NOW - 10 * MIN,
          properties: { kind: 'cnc', nc: true },
        },
        {
          type: 'deviceBirth',
          group: 'acme',
          edgeNode: 'gw1',
          device: 'cnc-2',
          at: NOW - 10 * MIN,
          properties: { kind: 'cnc', nc: true },
        },
      ],
      devices: [
        {
          enterprise: 'acme',
          machine: 'cnc-1',
          gateway: 'gw1',
          seenAt: NOW - MIN,
          sampleAt: NOW - MIN,
          state: 'running',
          stateAt: NOW - MIN,
        },
        {
          enterprise: 'acme',
          machine: 'cnc-2',
          gateway: 'gw1',
          seenAt: NOW - 10 * MIN,
          sampleAt: NOW - 10 * MIN,
          state: 'idle',
          stateAt: NOW - 10 * MIN,
        },
      ],
      gateways: [],
    });
    await store.write([
      { enterprise: 'acme', machine: 'cnc-1', metric: 'Signals/spindleSpeed', ts: NOW - 3000, value: 100 },
      { enterprise: 'acme', machine: 'cnc-1', metric: 'Signals/spindleSpeed', ts: NOW - 2000, value: 200 },
      {
        enterprise: 'acme',
        machine: 'cnc-1',
        metric: 'Signals/spindleSpeed',
        ts: NOW - 1000,
        value: 300,
        quality: 'uncertain',
      },
      { enterprise: 'acme', machine: 'cnc-1', metric: 'State', ts: NOW - 1000, value: 'running' },
    ]);
    app = buildApi({
      registry,
      store,
      logger,
      clock: () => NOW,
      windows: DEFAULT_WINDOWS,
      health: () => health,
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    await registry.close();
    dir.remove();
  });

  it('serves the bilingual dashboard page at /', async () => {
    const r = await app.inject({ headers: admin, url: '/plain' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    expect(r.body).toContain('联网设备 Networked machines');
    expect(r.body).toContain("fetch('/api/v1/stats', { headers: { Authorization: 'Bearer ' + token } })");
    // The page's script is valid JavaScript (it runs in browsers untranspiled).
    const script = /<script>([\s\S]*)<\/script>/.exec(r.body)?.[1];
    expect(script).toContain('sessionStorage.setItem(KEY');
    expect(() => new Script(script!)).not.toThrow();
  });

  it('GET /api/v1/stats', async () => {
    const r = await app.inject({ headers: admin, url: '/api/v1/stats' });
    expect(r.statusCode).toBe(200);
    const s = r.json();
    expect(s).toMatchObject({
      target: 10_000,
      networked: 2,
      online: 1,
      enterprises: 1,
      windows: { networkingMs: DEFAULT_WINDOWS.networkingMs, onlineMs: DEFAULT_WINDOWS.onlineMs },
      generatedAt: new Date(NOW).toISOString(),
    });
    expect(s.byRegion.find((x: { code: string }) => x.code === 'yiwu')).toMatchObject({
      networked: 2,
      online: 1,
      productionEquipment: 4,
      networkingRate: 0.5,
      ncRate: 0.75,
      backboneMeetingTarget: 1,
    });
    expect(s.byIndustry.map((x: { code: string }) => x.code)).toContain('hardware');
  });

  it('GET /api/v1/machines with filters', async () => {
    const all = (await app.inject({ headers: admin, url: '/api/v1/machines' })).json();
    expect(all.total).toBe(2);
    expect(all.machines[0]).toEqual({
      enterprise: 'acme',
      id: 'cnc-1',
      kind: 'cnc',
      nc: true,
      robot: null,
      dataDepth: null,
      state: 'running',
      online: true,
      networked: true,
      dead: false,
      health: 'online',
      gateway: 'gw1',
      region: 'yiwu',
      industry: 'hardware',
      firstSeen: new Date(NOW - 10 * MIN).toISOString(),
      lastSeenAt: new Date(NOW - MIN).toISOString(),
      lastSampleAt: new Date(NOW - MIN).toISOString(),
      status: 'unconfirmed',
      confirmedAt: null,
      confirmedBy: null,
      retiredAt: null,
      retiredBy: null,
      mergedInto: null,
    });
    expect(all.machines[1]).toMatchObject({ id: 'cnc-2', online: false, state: 'offline', networked: true });
    const ids = async (q: string) =>
      (await app.inject({ headers: admin, url: `/api/v1/machines?${q}` }))
        .json()
        .machines.map((m: { id: string }) => m.id);
    expect(await ids('online=true')).toEqual(['cnc-1']);
    expect(await ids('online=false')).toEqual(['cnc-2']);
    expect(await ids('region=yiwu&industry=hardware')).toEqual(['cnc-1', 'cnc-2']);
    expect(await ids('region=panan')).toEqual([]);
    expect(await ids('enterprise=acme&limit=1&offset=1')).toEqual(['cnc-2']);
    const bad = await app.inject({ headers: admin, url: '/api/v1/machines?online=maybe' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'WANJI_E_API_VALIDATION' });
  });

  it('GET a machine with its latest values, and its raw series', async () => {
    const d = (await app.inject({ headers: admin, url: '/api/v1/machines/acme/cnc-1' })).json();
    expect(d.latest).toEqual([
      { metric: 'Signals/spindleSpeed', ts: NOW - 1000, value: 300, quality: 'uncertain' },
      { metric: 'State', ts: NOW - 1000, value: 'running' },
    ]);
    const metric = encodeURIComponent('Signals/spindleSpeed');
    const all = await app.inject({
      headers: admin,
      url: `/api/v1/machines/acme/cnc-1/series?metric=${metric}`,
    });
    expect(all.json()).toEqual({
      enterprise: 'acme',
      machine: 'cnc-1',
      metric: 'Signals/spindleSpeed',
      points: [
        { ts: NOW - 3000, value: 100 },
        { ts: NOW - 2000, value: 200 },
        { ts: NOW - 1000, value: 300, quality: 'uncertain' },
      ],
    });
    const from = new Date(NOW - 2000).toISOString();
    const ranged = await app.inject({
      headers: admin,
      url: `/api/v1/machines/acme/cnc-1/series?metric=${metric}&from=${from}&to=${NOW - 1500}`,
    });
    expect(ranged.json().points).toEqual([{ ts: NOW - 2000, value: 200 }]);
  });

  it('answers errors as JSON with stable codes', async () => {
    const cases: [string, number, string][] = [
      ['/api/v1/machines/acme/nope/series?metric=State', 404, 'WANJI_E_API_NOT_FOUND'],
      ['/api/v1/machines/acme/cnc-1/series', 400, 'WANJI_E_API_VALIDATION'],
      ['/api/v1/machines/acme/cnc-1/series?metric=State&from=yesterday', 400, 'WANJI_E_API_BAD_TIME'],
      ['/api/v1/nothing-here', 404, 'WANJI_E_API_NOT_FOUND'],
    ];
    for (const [url, status, code] of cases) {
      const r = await app.inject({ url, headers: admin });
      expect(r.statusCode, url).toBe(status);
      expect(r.json(), url).toMatchObject({ statusCode: status, code });
    }
  });

  it('GET /api/v1/gateways and /api/v1/enterprises', async () => {
    const g = (await app.inject({ headers: admin, url: '/api/v1/gateways' })).json();
    expect(g.gateways).toEqual([
      {
        group: 'acme',
        edgeNode: 'gw1',
        online: true,
        bdSeq: 1,
        firstSeen: new Date(NOW - 10 * MIN).toISOString(),
        lastBirthAt: new Date(NOW - 10 * MIN).toISOString(),
        lastDeathAt: null,
        lastSeenAt: new Date(NOW - 10 * MIN).toISOString(),
        software: 'wanji 0.1.0',
        counters: { samples: 250, published: 10 },
        devices: { online: 1, degraded: 1, offline: 0 },
        metricsAt: new Date(NOW - 2 * MIN).toISOString(),
      },
    ]);
    const e = (await app.inject({ headers: admin, url: '/api/v1/enterprises' })).json();
    expect(e.enterprises).toEqual([
      {
        code: 'acme',
        name: '金华精密',
        region: 'yiwu',
        industry: 'hardware',
        backbone: true,
        ledger: { productionEquipment: 4, ncEquipment: 3, robots: 0 },
        declaredBy: 'zhang.san',
        declaredAt: new Date(NOW).toISOString(),
        machines: 2,
        networked: 2,
        networkedMeasured: 2,
        beyondLedger: 0,
        exceedsLedger: false,
        online: 1,
        networkingRate: 0.5,
        ncRate: 0.75,
      },
    ]);
  });

  it('GET /api/v1/gateways/:group/:node: machine health, connection counters and every metric', async () => {
    const r = await app.inject({ headers: admin, url: '/api/v1/gateways/acme/gw1' });
    expect(r.statusCode).toBe(200);
    const d = r.json();
    expect(d.gateway).toMatchObject({ edgeNode: 'gw1', devices: { online: 1, degraded: 1, offline: 0 } });
    expect(d.devices).toEqual([
      {
        id: 'cnc-1',
        health: 'online',
        reason: null,
        healthAt: new Date(NOW - 10 * MIN).toISOString(),
        connection: 'opc-1',
        samples: null,
        badSamples: null,
        outages: null,
      },
      {
        id: 'cnc-2',
        health: 'degraded',
        reason: 'timeout after 1000 ms',
        healthAt: new Date(NOW - 2 * MIN).toISOString(),
        connection: null,
        samples: 7,
        badSamples: null,
        outages: null,
      },
    ]);
    expect(d.connections).toEqual([{ id: 'opc-1', counters: { notifications: 5 } }]);
    expect(d.metrics).toContainEqual({
      name: 'Gateway/Samples',
      value: 250,
      updatedAt: new Date(NOW - 2 * MIN).toISOString(),
    });
    const missing = await app.inject({ headers: admin, url: '/api/v1/gateways/acme/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('WANJI_E_API_NOT_FOUND');
  });

  it('GET /api/v1/machines carries the health the gateway reports', async () => {
    const r = (await app.inject({ headers: admin, url: '/api/v1/machines?enterprise=acme' })).json();
    const health = Object.fromEntries(
      r.machines.map((m: { id: string; health: string }) => [m.id, m.health]),
    );
    expect(health).toEqual({ 'cnc-1': 'online', 'cnc-2': 'degraded' });
  });

  it('GET /healthz: 200 when every component is up, 503 otherwise', async () => {
    const ok = await app.inject({ headers: admin, url: '/healthz' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'ok', counters: { host: { messages: 3 } } });
    health = {
      ...health,
      components: { ...health.components, host: { status: 'down', detail: 'not connected' } },
    };
    const down = await app.inject({ headers: admin, url: '/healthz' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({
      status: 'degraded',
      components: { host: { status: 'down', detail: 'not connected' } },
    });
  });
});

describe('hub API over real HTTP', () => {
  it('serves /healthz and /api/v1/stats from a started hub', async () => {
    const dir = tempDir();
    const hub = new Hub({ dataDir: dir.path, mqtt: { port: 0 }, http: { port: 0 }, logger: silentLogger() });
    try {
      await hub.start();
      const base = `http://127.0.0.1:${hub.httpPort}`;
      const h = await fetch(`${base}/healthz`);
      expect(h.status).toBe(200);
      expect(await h.json()).toMatchObject({
        status: 'ok',
        components: {
          broker: { status: 'up' },
          host: { status: 'up' },
          store: { status: 'up' },
          registry: { status: 'up' },
        },
      });
      const none = await fetch(`${base}/api/v1/stats`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="wanji"');
      const s = await fetch(`${base}/api/v1/stats`, { headers: apiToken(hub.registry, 'bureau') });
      expect(await s.json()).toMatchObject({
        target: 10_000,
        networked: 0,
        online: 0,
        byRegion: expect.any(Array),
      });
    } finally {
      await hub.close();
      await hub.close();
      dir.remove();
    }
  });
});
