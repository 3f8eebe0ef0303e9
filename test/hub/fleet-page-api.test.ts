/**
 * What the web app's fleet and enterprises pages ask of the API (issue 12), against a real hub
 * fed by real Sparkplug edge nodes: `GET /api/v1/machines?order=attention` lists the machines
 * that need someone first (never answered, then not online, then in alarm), pages through that
 * order, and `search` finds a part of a machine id, an enterprise code or its name;
 * `GET /api/v1/statistics/trend?figures=…` keeps only the figures a sparkline needs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataType, DEVICE_HEALTH_FIELD, DEVICE_METRIC_PREFIX } from '../../protocol/index.js';
import { apiToken, cncBirth, TestEdgeNode, tempDir, testHub, waitFor } from './helpers.js';

interface ApiMachine {
  enterprise: string;
  id: string;
  online: boolean;
  state: string | null;
}

describe('the machine list for the fleet page and the trend for sparklines', () => {
  const dir = tempDir();
  const hub = testHub(dir.path);
  const a = new TestEdgeNode('FA-1', 'GW-A');
  const b = new TestEdgeNode('FB-2', 'GW-B');
  let admin: { authorization: string };

  const get = async (path: string, auth = admin): Promise<Response> =>
    fetch(`http://127.0.0.1:${hub.httpPort}${path}`, { headers: auth });
  const list = async (query: string, auth = admin): Promise<{ total: number; ids: string[] }> => {
    const r = await get(`/api/v1/machines?${query}`, auth);
    expect(r.status, query).toBe(200);
    const body = (await r.json()) as { total: number; machines: ApiMachine[] };
    return { total: body.total, ids: body.machines.map((m) => `${m.enterprise}/${m.id}`) };
  };
  const state = (value: string) => [{ name: 'State', alias: 5, datatype: DataType.String, value }];

  beforeAll(async () => {
    await hub.start();
    admin = apiToken(hub.registry, 'admin');
    for (const [code, name] of [
      ['FA-1', '甲精密机械'],
      ['FB-2', '乙五金'],
    ] as const) {
      hub.registry.upsertEnterprise(
        {
          code,
          name,
          regionCode: 'yiwu',
          industryCode: 'hardware',
          backbone: true,
          ledger: { productionEquipment: 10, ncEquipment: 8, robots: 0 },
        },
        'test',
      );
    }
    await a.connect(hub.mqttUrl);
    // GHOST is configured on the gateway but never answered: reported, never announced.
    await a.nbirth([
      {
        name: `${DEVICE_METRIC_PREFIX}GHOST/${DEVICE_HEALTH_FIELD.health}`,
        datatype: DataType.String,
        value: 'offline',
      },
      {
        name: `${DEVICE_METRIC_PREFIX}GHOST/${DEVICE_HEALTH_FIELD.reason}`,
        datatype: DataType.String,
        value: 'no answer within 1000 ms',
      },
    ]);
    for (const id of ['M1', 'M2', 'M3']) {
      await a.dbirth(id, cncBirth(Date.now()));
      await a.ddata(id, state(id === 'M3' ? 'alarm' : 'running'));
    }
    await a.ddeath('M2');
    await b.connect(hub.mqttUrl);
    await b.nbirth();
    await b.dbirth('N1', cncBirth(Date.now()));
    await b.ddata('N1', state('running'));
    await waitFor(
      async () => {
        await hub.flush();
        const r = (await (await get('/api/v1/machines')).json()) as { machines: ApiMachine[] };
        const m = new Map(r.machines.map((x) => [x.id, x]));
        return m.size === 5 && m.get('M2')?.online === false && m.get('M3')?.state === 'alarm';
      },
      'four machines announced (M2 dead, M3 in alarm) and GHOST reported',
      20_000,
    );
  });

  afterAll(async () => {
    await a.close();
    await b.close();
    await hub.close();
    dir.remove();
  });

  it('lists by enterprise and id by default, and for attention on asking', async () => {
    expect(await list('')).toEqual({
      total: 5,
      ids: ['FA-1/M1', 'FA-1/M2', 'FA-1/M3', 'FB-2/N1', 'FA-1/GHOST'],
    });
    expect(await list('order=attention')).toEqual({
      total: 5,
      ids: ['FA-1/GHOST', 'FA-1/M2', 'FA-1/M3', 'FA-1/M1', 'FB-2/N1'],
    });
  });

  it('pages through the attention order across the never-answered and the announced machines', async () => {
    expect((await list('order=attention&limit=2&offset=0')).ids).toEqual(['FA-1/GHOST', 'FA-1/M2']);
    expect((await list('order=attention&limit=2&offset=2')).ids).toEqual(['FA-1/M3', 'FA-1/M1']);
    expect(await list('order=attention&limit=2&offset=4')).toEqual({ total: 5, ids: ['FB-2/N1'] });
    expect((await list('order=attention&online=true')).ids).toEqual(['FA-1/M3', 'FA-1/M1', 'FB-2/N1']);
  });

  it('finds a part of a machine id, an enterprise code or name, case-insensitively; % is literal', async () => {
    expect(await list(`search=${encodeURIComponent('m3')}`)).toEqual({ total: 1, ids: ['FA-1/M3'] });
    expect((await list(`search=${encodeURIComponent('甲精密')}&order=attention`)).ids).toEqual([
      'FA-1/GHOST',
      'FA-1/M2',
      'FA-1/M3',
      'FA-1/M1',
    ]);
    expect((await list('search=fb-')).ids).toEqual(['FB-2/N1']);
    expect((await list('search=host')).ids).toEqual(['FA-1/GHOST']);
    expect(await list(`search=${encodeURIComponent('%')}`)).toEqual({ total: 0, ids: [] });
    expect(await list('search=M_')).toEqual({ total: 0, ids: [] });
    // Within the caller's scope only.
    const own = apiToken(hub.registry, 'enterprise', { enterprise: 'FB-2' });
    expect(await list('search=M', own)).toEqual({ total: 0, ids: [] });
    expect((await get('/api/v1/machines?order=sideways')).status).toBe(400);
  });

  it('keeps only the asked figures in each snapshot of a trend', async () => {
    expect(
      (
        await fetch(`http://127.0.0.1:${hub.httpPort}/api/v1/statistics/snapshots`, {
          method: 'POST',
          headers: admin,
        })
      ).status,
    ).toBe(200);
    type Trend = { snapshots: { code: string; figures: Record<string, unknown> }[] };
    const all = (await (await get('/api/v1/statistics/trend?level=enterprise')).json()) as Trend;
    expect(all.snapshots.map((s) => s.code).sort()).toEqual(['FA-1', 'FB-2']);
    expect(Object.keys(all.snapshots[0]!.figures).length).toBeGreaterThan(10);
    const r = await get('/api/v1/statistics/trend?level=enterprise&figures=networked,online');
    expect(r.status).toBe(200);
    const few = (await r.json()) as Trend;
    for (const s of few.snapshots) {
      const full = all.snapshots.find((x) => x.code === s.code)!;
      expect(s.figures).toEqual({ networked: full.figures.networked, online: full.figures.online });
    }
    expect(few.snapshots.find((s) => s.code === 'FA-1')?.figures).toEqual({ networked: 3, online: 2 });
    expect((await get('/api/v1/statistics/trend?level=enterprise&figures=networked;drop')).status).toBe(400);
  });
});
