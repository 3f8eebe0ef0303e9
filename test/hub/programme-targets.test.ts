/**
 * The programme's targets and thresholds are the registry's target rows, one source for the
 * statistics and GET /api/v1/targets: the city's networked target, each county's own, the
 * backbone thresholds, set through the API (PUT /api/v1/targets) and applied by the next
 * statistics at once. Pins issue 12's bug that a county's bureau token was shown the city's
 * 10,000 target as its own, and that the targets lived in config and registry unsynchronised.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveHubConfig } from '../../hub/config.js';
import { Hub } from '../../hub/hub.js';
import { localDay } from '../../hub/registry/days.js';
import type { Target } from '../../hub/registry/programme-records.js';
import { programmeOf, targetFor } from '../../hub/stats/programme.js';
import { DataType } from '../../protocol/index.js';
import { apiToken, cncBirth, silentLogger, TestEdgeNode, tempDir, waitFor } from './helpers.js';

const row = (kind: Target['kind'], region: string | null, year: number | null, value: number): Target => ({
  kind,
  region,
  year,
  value,
  updatedBy: 'test',
  updatedAt: 0,
});

describe('the targets in force, derived from the target rows', () => {
  const plan = [
    row('networked', null, 2022, 10_000),
    row('backboneNetworkingRate', null, 2022, 0.5),
    row('backboneNcRate', null, 2022, 0.7),
  ];

  it("takes this year's row, else the next one due, else the last (the plan's end target)", () => {
    const rows = [...plan, row('networked', null, 2026, 12_000), row('networked', null, 2028, 15_000)];
    expect(programmeOf(plan, 2026).target).toBe(10_000);
    expect(programmeOf(rows, 2026).target).toBe(12_000);
    expect(programmeOf(rows, 2027).target).toBe(15_000);
    expect(programmeOf(rows, 2030).target).toBe(15_000);
    expect(programmeOf(rows, 2020).target).toBe(10_000);
    expect(programmeOf(plan, 2026)).toMatchObject({ backboneNetworkingRate: 0.5, backboneNcRate: 0.7 });
  });

  it("gives a scoped caller its regions' own target, never the city's", () => {
    const p = programmeOf(
      [...plan, row('networked', 'yiwu', 2022, 1_500), row('networked', 'lanxi', 2022, 500)],
      2026,
    );
    expect(p.regionTargets).toEqual({ lanxi: 500, yiwu: 1_500 });
    expect(targetFor(p, {})).toBe(10_000);
    expect(targetFor(p, { regions: ['yiwu'] })).toBe(1_500);
    expect(targetFor(p, { regions: ['yiwu', 'lanxi'] })).toBe(2_000);
    expect(targetFor(p, { regions: ['yiwu', 'wucheng'] })).toBe(0);
    expect(targetFor(p, { enterprises: ['e1'] })).toBe(0);
  });

  it('names the fix when the registry holds no backbone threshold', () => {
    expect(() => programmeOf([row('networked', null, 2022, 10_000)], 2026)).toThrow(
      /no city backboneNetworkingRate target.*PUT \/api\/v1\/targets/,
    );
  });

  it('has no hub config section for them any more: one source', () => {
    expect(() => resolveHubConfig({ dataDir: '/tmp/x', programme: { target: 12_000 } })).toThrow(/programme/);
  });
});

describe('a hub whose targets and thresholds are set through the API', () => {
  const dir = tempDir();
  let hub: Hub;
  let base: string;
  let gateway: TestEdgeNode;

  beforeAll(async () => {
    hub = new Hub({
      dataDir: dir.path,
      mqtt: { port: 0, allowAnonymous: true },
      http: { port: 0 },
      logger: silentLogger(),
    });
    await hub.start();
    base = `http://127.0.0.1:${hub.httpPort}`;
    // A backbone enterprise in Yiwu: NC rate 6/10 = 0.6; 4 of 10 networked = 0.4. It meets 0.3 / 0.5,
    // and neither of the action plan's 0.5 / 0.7.
    hub.registry.upsertEnterprise(
      {
        code: 'yw-01',
        name: '义乌一号',
        regionCode: 'yiwu',
        industryCode: 'hardware',
        backbone: true,
        ledger: { productionEquipment: 10, ncEquipment: 6, robots: 0 },
      },
      'test',
    );
    hub.registry.upsertEnterprise(
      {
        code: 'wc-01',
        name: '婺城一号',
        regionCode: 'wucheng',
        industryCode: 'hardware',
        backbone: false,
        ledger: { productionEquipment: 5, ncEquipment: 1, robots: 0 },
      },
      'test',
    );
    gateway = new TestEdgeNode('yw-01', 'gw-1');
    await gateway.connect(hub.mqttUrl);
    await gateway.nbirth();
    for (let m = 1; m <= 4; m++) {
      await gateway.dbirth(`cnc-${m}`, cncBirth(Date.now()));
      await gateway.ddata(`cnc-${m}`, [
        { name: 'State', alias: 5, datatype: DataType.String, value: 'running' },
      ]);
    }
    await waitFor(
      async () => {
        await hub.flush();
        return hub.stats().networked === 4;
      },
      '4 machines networked',
      20_000,
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await hub?.close();
    dir.remove();
  });

  const get = async (path: string, headers: Record<string, string>) => {
    const r = await fetch(`${base}${path}`, { headers });
    expect(r.status, path).toBe(200);
    return (await r.json()) as Record<string, unknown> & {
      target: number;
      progress: number | null;
      city: Record<string, unknown>;
    };
  };
  const send = async (method: 'PUT' | 'DELETE', path: string, body?: unknown) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...apiToken(hub.registry, 'admin'),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    return { status: r.status, json: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
  };
  type Progress = { kind: string; target: { year: number | null; value: number } | null; detail: object };
  const targetsOf = async (headers: Record<string, string>) =>
    (await get('/api/v1/targets', headers)) as unknown as { targets: Progress[] };
  const kindOf = (t: { targets: Progress[] }, k: string) => t.targets.find((x) => x.kind === k);

  it("applies the action plan's seeded rows, then a change made through the API at once", async () => {
    const admin = apiToken(hub.registry, 'admin');
    const seeded = await get('/api/v1/statistics', admin);
    expect(seeded).toMatchObject({
      target: 10_000,
      regionTargets: {},
      backboneTargets: { networkingRate: 0.5, ncRate: 0.7 },
    });
    // NC 0.6 and networking 0.4 miss the plan's 0.7 and 0.5.
    expect(seeded.city).toMatchObject({ backboneMeetingTarget: 0, backboneMeetingNetworking: 0 });
    // Derived once and kept while no target changes (the statistics ask on every computation).
    const kept = hub.registry.programme;
    expect(hub.registry.programme).toBe(kept);

    for (const t of [
      { kind: 'networked', year: 2022, value: 12_000 },
      { kind: 'networked', region: 'yiwu', year: 2022, value: 1_500 },
      { kind: 'backboneNetworkingRate', year: 2022, value: 0.3 },
      { kind: 'backboneNcRate', year: 2022, value: 0.5 },
    ]) {
      expect((await send('PUT', '/api/v1/targets', t)).status).toBe(200);
    }
    expect(hub.registry.programme).not.toBe(kept);
    expect(hub.registry.programme).toMatchObject({ target: 12_000, backboneNcRate: 0.5 });
    const s = await get('/api/v1/statistics', admin);
    expect(s).toMatchObject({
      target: 12_000,
      progress: 4 / 12_000,
      regionTargets: { yiwu: 1_500 },
      backboneTargets: { networkingRate: 0.3, ncRate: 0.5 },
    });
    expect(s.city).toMatchObject({
      backboneEnterprises: 1,
      backboneMeetingTarget: 1,
      backboneMeetingNetworking: 1,
      backboneMeetingNc: 1,
    });
    expect((await get('/api/v1/stats', admin)).target).toBe(12_000);
    // GET /api/v1/targets says the same.
    const t = await targetsOf(admin);
    expect(kindOf(t, 'networked')?.target).toEqual({ year: 2022, value: 12_000 });
    expect(kindOf(t, 'backboneNcRate')).toMatchObject({
      target: { year: 2022, value: 0.5 },
      detail: { backboneEnterprises: 1, meeting: 1 },
    });
  });

  it("takes this year's row over the plan's end target, in the statistics and the targets alike", async () => {
    const admin = apiToken(hub.registry, 'admin');
    const year = Number(localDay(Date.now(), hub.registry.utcOffsetMin).slice(0, 4));
    expect((await send('PUT', '/api/v1/targets', { kind: 'networked', year, value: 13_000 })).status).toBe(
      200,
    );
    expect((await get('/api/v1/statistics', admin)).target).toBe(13_000);
    expect(kindOf(await targetsOf(admin), 'networked')?.target).toEqual({ year, value: 13_000 });
    expect((await send('DELETE', `/api/v1/targets?kind=networked&year=${year}`)).status).toBe(204);
    expect((await get('/api/v1/statistics', admin)).target).toBe(12_000);
    expect(kindOf(await targetsOf(admin), 'networked')?.target).toEqual({ year: 2022, value: 12_000 });
  });

  it("a county's bureau user sees its county's target, not the city's", async () => {
    const yiwu = apiToken(hub.registry, 'bureau', { regions: ['yiwu'] });
    for (const path of ['/api/v1/statistics', '/api/v1/stats']) {
      const s = await get(path, yiwu);
      expect(s.target, path).toBe(1_500);
    }
    const s = await get('/api/v1/statistics', yiwu);
    expect(s).toMatchObject({
      progress: 4 / 1_500,
      regionTargets: { yiwu: 1_500 },
      networked: 4,
      backboneTargets: { networkingRate: 0.3, ncRate: 0.5 },
    });
    expect(kindOf(await targetsOf(yiwu), 'networked')?.target).toEqual({ year: 2022, value: 1_500 });
  });

  it('a county without a target of its own, or an enterprise, gets none (0, progress null)', async () => {
    const wuchengToken = apiToken(hub.registry, 'bureau', { regions: ['wucheng'] });
    const wucheng = await get('/api/v1/statistics', wuchengToken);
    expect(wucheng).toMatchObject({ target: 0, progress: null, regionTargets: {} });
    expect(kindOf(await targetsOf(wuchengToken), 'networked')?.target).toBeNull();
    const own = await get(
      '/api/v1/statistics',
      apiToken(hub.registry, 'enterprise', { enterprise: 'yw-01' }),
    );
    expect(own).toMatchObject({ target: 0, progress: null });
  });

  it("refuses a county's own threshold and deleting the city's last one, naming the fix", async () => {
    const county = await send('PUT', '/api/v1/targets', {
      kind: 'backboneNcRate',
      region: 'yiwu',
      year: 2022,
      value: 0.6,
    });
    expect(county.status).toBe(400);
    expect(String(county.json.message)).toMatch(/city-wide: leave the region out/);
    const last = await send('DELETE', '/api/v1/targets?kind=backboneNcRate&year=2022');
    expect(last.status).toBe(400);
    expect(String(last.json.message)).toMatch(/set another value/);
    const s = await get('/api/v1/statistics', apiToken(hub.registry, 'admin'));
    expect(s).toMatchObject({ backboneTargets: { ncRate: 0.5 } });
  });
});
