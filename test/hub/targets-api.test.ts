/**
 * Programme targets against a real hub (issue 12): every quantified target of the action plan
 * seeded as registry data; current figures equal to the statistics' (networked and robots
 * measured from the gateways, declared from the ledgers); workshop, factory and platform
 * declarations moving their figures (one by one and imported, with a refused row); a child hub
 * reporting with its platform level counted once; a county's bureau shown its own targets.
 */
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import { localDay } from '../../hub/registry/days.js';
import { AuditLog } from '../../hub/security/audit.js';
import { TokenStore } from '../../hub/security/tokens.js';
import type { TargetProgress } from '../../hub/stats/targets.js';
import { DataType } from '../../protocol/index.js';
import { apiToken, cncBirth, silentLogger, TestEdgeNode, tempDir, waitFor } from './helpers.js';

interface Targets {
  year: number;
  scope: { level: string; codes: string[] };
  targets: TargetProgress[];
}

describe('programme targets on a real hub', () => {
  const dir = tempDir();
  let hub: Hub;
  let child: Hub | undefined;
  let base: string;
  let gateway: TestEdgeNode;
  let admin: { authorization: string };
  let year: number;

  beforeAll(async () => {
    hub = new Hub({
      dataDir: `${dir.path}/parent`,
      hostId: 'city-hub',
      mqtt: { port: 0, allowAnonymous: true },
      http: { port: 0 },
      logger: silentLogger(),
    });
    await hub.start();
    base = `http://127.0.0.1:${hub.httpPort}`;
    admin = apiToken(hub.registry, 'admin');
    year = Number(localDay(Date.now(), hub.registry.utcOffsetMin).slice(0, 4));
    // Backbone, Yiwu: NC 8/10 (meets 70 %), 4 of 10 networked (misses 50 %), 3 robots declared.
    hub.registry.upsertEnterprise(
      {
        code: 'yw-01',
        name: '义乌一号',
        regionCode: 'yiwu',
        industryCode: 'hardware',
        backbone: true,
        ledger: { productionEquipment: 10, ncEquipment: 8, robots: 3 },
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
        ledger: { productionEquipment: 5, ncEquipment: 1, robots: 2 },
      },
      'test',
    );
    gateway = new TestEdgeNode('yw-01', 'gw-1');
    await gateway.connect(hub.mqttUrl);
    await gateway.nbirth();
    for (let m = 1; m <= 4; m++) {
      // The fourth machine announces itself as an industrial robot (Properties/Robot).
      const birth = cncBirth(Date.now()).map((x) =>
        x.name === 'Properties/Robot' ? { ...x, value: m === 4 } : x,
      );
      await gateway.dbirth(`m-${m}`, birth);
      await gateway.ddata(`m-${m}`, [
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
    await child?.close();
    await gateway?.close();
    await hub?.close();
    dir.remove();
  });

  const call = async (method: string, path: string, headers = admin, body?: unknown) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    return { status: r.status, json: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
  };
  const targets = async (headers = admin): Promise<Targets> => {
    const r = await call('GET', '/api/v1/targets', headers);
    expect(r.status).toBe(200);
    return r.json as unknown as Targets;
  };
  const kind = (t: Targets, k: string): TargetProgress => {
    const found = t.targets.find((x) => x.kind === k);
    expect(found, k).toBeDefined();
    return found!;
  };

  it("seeds every quantified target of the action plan as registry data, the city's by 2022", async () => {
    const t = await targets();
    expect(t.scope).toEqual({ level: 'city', codes: ['city'] });
    const seeded = Object.fromEntries(t.targets.map((x) => [x.kind, x.target]));
    expect(seeded).toEqual({
      networked: { year: 2022, value: 10_000 },
      robots: { year: 2022, value: 20_000 },
      robotsNewPerYear: { year: null, value: 2_000 },
      workshopsFactories: { year: 2022, value: 200 },
      benchmarksPerYear: { year: null, value: 30 },
      platformsRegional: { year: 2022, value: 1 },
      platformsIndustry: { year: 2022, value: 10 },
      platformsEnterprise: { year: 2022, value: 20 },
      backboneNcRate: { year: 2022, value: 0.7 },
      backboneNetworkingRate: { year: 2022, value: 0.5 },
    });
    const list = await call('GET', '/api/v1/targets/list');
    expect((list.json.targets as unknown[]).length).toBe(10);
  });

  it("reports the statistics' figures: networked and robots measured, robots and NC declared", async () => {
    const t = await targets();
    const s = (await call('GET', '/api/v1/statistics')).json as {
      networked: number;
      robots: number;
      networkedRobots: number;
      city: { backbone: { ncRate: number; networkingRate: number; measuredNcRate: number | null } };
    };
    expect(s).toMatchObject({ networked: 4, robots: 5, networkedRobots: 1 });
    expect(kind(t, 'networked')).toMatchObject({
      basis: 'measured',
      current: s.networked,
      measured: s.networked,
      declared: null,
      done: 4 / 10_000,
    });
    expect(kind(t, 'robots')).toMatchObject({
      basis: 'declared',
      figures: ['declared', 'measured'],
      current: s.robots,
      declared: s.robots,
      measured: s.networkedRobots,
    });
    expect(kind(t, 'backboneNcRate')).toMatchObject({
      current: s.city.backbone.ncRate,
      declared: 0.8,
      measured: s.city.backbone.measuredNcRate,
      detail: { backboneEnterprises: 1, meeting: 1 },
    });
    expect(kind(t, 'backboneNetworkingRate')).toMatchObject({
      current: s.city.backbone.networkingRate,
      measured: 0.4,
      detail: { backboneEnterprises: 1, meeting: 0 },
    });
    // This year is the series' last entry, equal to the current figure.
    expect(kind(t, 'networked').series.at(-1)).toMatchObject({ year, value: 4, target: 10_000 });
  });

  it('takes past years from the last daily snapshot of each year (robots new this year as well)', async () => {
    hub.registry.database.snapshots.put([
      {
        day: `${year - 1}-06-30`,
        level: 'city',
        code: 'city',
        takenAt: Date.now(),
        figures: JSON.stringify({ networked: 1, robots: 1, networkedRobots: 0 }),
      },
      {
        day: `${year - 1}-12-31`,
        level: 'city',
        code: 'city',
        takenAt: Date.now(),
        figures: JSON.stringify({
          networked: 2,
          robots: 3,
          networkedRobots: 0,
          backbone: { productionEquipment: 10, ncEquipment: 6, networked: 2 },
        }),
      },
    ]);
    const t = await targets();
    expect(kind(t, 'networked').series).toEqual([
      { year: year - 1, value: 2, declared: null, measured: 2, target: 10_000 },
      { year, value: 4, declared: null, measured: 4, target: 10_000 },
    ]);
    expect(kind(t, 'robotsNewPerYear')).toMatchObject({ current: 5 - 3, declared: 2, measured: 1 });
    expect(kind(t, 'backboneNcRate').series[0]).toMatchObject({ year: year - 1, value: 0.6 });
  });

  it('counts declared workshops, factories and platforms; refuses a bad one with the fix, audited', async () => {
    const bureau = apiToken(hub.registry, 'bureau');
    const w = await call('POST', '/api/v1/targets/recognitions', admin, {
      enterprise: 'yw-01',
      name: '数控加工数字化车间',
      kind: 'workshop',
      benchmark: true,
      year,
    });
    expect(w.status).toBe(201);
    expect(
      (
        await call('POST', '/api/v1/targets/recognitions', admin, {
          enterprise: 'wc-01',
          name: '智能工厂',
          kind: 'factory',
          year: year - 1,
        })
      ).status,
    ).toBe(201);
    const p = await call('POST', '/api/v1/targets/platforms', admin, {
      name: '义乌五金企业级平台',
      level: 'enterprise',
      operator: 'yw-01',
      year,
    });
    expect(p.status).toBe(201);
    let t = await targets();
    expect(kind(t, 'workshopsFactories')).toMatchObject({ current: 2, declared: 2, measured: null });
    expect(kind(t, 'workshopsFactories').series.find((x) => x.year === year - 1)).toMatchObject({ value: 1 });
    expect(kind(t, 'benchmarksPerYear')).toMatchObject({ current: 1, target: { year: null, value: 30 } });
    expect(kind(t, 'platformsEnterprise')).toMatchObject({ current: 1, declared: 1, measured: 0 });

    const bad = await call('POST', '/api/v1/targets/recognitions', admin, {
      enterprise: 'nobody',
      name: '车间',
      kind: 'workshop',
      year,
    });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: 'WANJI_E_REGISTRY_PROGRAMME' });
    expect(String(bad.json.message)).toMatch(/no enterprise "nobody".*declare its ledger first/);
    const refusals = new AuditLog(hub.registry.database).list({ action: 'recognition.declare' });
    expect(refusals.some((a) => a.outcome === 'refused' && a.target === 'nobody/车间')).toBe(true);
    // A bureau reads the declarations but may not make them.
    expect((await call('GET', '/api/v1/targets/recognitions', bureau)).status).toBe(200);
    expect(
      (
        await call('POST', '/api/v1/targets/platforms', bureau, {
          name: 'x',
          level: 'industry',
          operator: 'yw-01',
          year,
        })
      ).status,
    ).toBe(403);

    expect((await call('DELETE', `/api/v1/targets/recognitions/${String(w.json.id)}`)).status).toBe(200);
    t = await targets();
    expect(kind(t, 'benchmarksPerYear').current).toBe(0);
    expect(kind(t, 'workshopsFactories').current).toBe(1);
  });

  it('imports declarations from CSV: a title and a 合计 row skipped, a bad row refuses the file unless partial', async () => {
    const csv = [
      '2026年 数字化车间/智能工厂 申报表,,,,',
      '企业代码,车间/工厂名称,类型,是否标杆,认定年份',
      `yw-01,注塑数字化车间,数字化车间,是,${year}`,
      `yw-99,不存在的车间,数字化车间,否,${year}`,
      `wc-01,装配车间,机器人,否,19`,
      '合计,,,,',
    ].join('\r\n');
    const post = (query: string) =>
      fetch(`${base}/api/v1/targets/recognitions/import?file=decl.csv${query}`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'text/csv' },
        body: csv,
      });
    const refused = await post('');
    expect(refused.status).toBe(422);
    const r = (await refused.json()) as {
      applied: boolean;
      rows: number;
      refusedRows: number;
      refused: { row: number; reasons: string[]; columns: string[] }[];
      skipped: { row: number }[];
      header: { row: number };
    };
    expect(r).toMatchObject({ applied: false, rows: 3, refusedRows: 2, header: { row: 2 } });
    expect(r.skipped.map((s) => s.row)).toEqual([1, 6]);
    expect(r.refused[0]).toMatchObject({ row: 4, columns: ['企业代码'] });
    expect(r.refused[0]!.reasons.join()).toMatch(/no enterprise "yw-99"/);
    expect(r.refused[1]).toMatchObject({ row: 5, columns: ['认定年份', '类型'] });
    expect(kind(await targets(), 'workshopsFactories').current).toBe(1);

    const partial = await post('&partial=true');
    expect(partial.status).toBe(200);
    expect(await partial.json()).toMatchObject({ applied: true, created: 1, refusedRows: 2 });
    const t = await targets();
    expect(kind(t, 'workshopsFactories').current).toBe(2);
    expect(kind(t, 'benchmarksPerYear').current).toBe(1);
  });

  it('imports platform declarations from XLSX, naming the bad level and the valid ones', async () => {
    const wb = new ExcelJS.Workbook();
    const sheet = wb.addWorksheet('平台');
    sheet.addRow(['平台名称', '级别', '运营企业代码', '建成年份']);
    sheet.addRow(['五金行业工业互联网平台', '行业级', 'yw-01', year]);
    sheet.addRow(['国家级平台', '国家级', 'yw-01', year]);
    const body = Buffer.from(await wb.xlsx.writeBuffer());
    const post = (query: string) =>
      fetch(`${base}/api/v1/targets/platforms/import?file=p.xlsx${query}`, {
        method: 'POST',
        headers: {
          ...admin,
          'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        },
        body,
      });
    const refused = await post('');
    expect(refused.status).toBe(422);
    const r = (await refused.json()) as { refused: { row: number; reasons: string[]; columns: string[] }[] };
    expect(r.refused).toEqual([
      {
        row: 3,
        reasons: ['level "国家级" is not one of 区域级 (regional), 行业级 (industry), 企业级 (enterprise)'],
        details: [{ code: 'levelUnknown', params: { value: '国家级' } }],
        columns: ['级别'],
      },
    ]);
    expect(kind(await targets(), 'platformsIndustry').current).toBe(0);
    expect(await (await post('&partial=true')).json()).toMatchObject({ applied: true, created: 1 });
    expect(kind(await targets(), 'platformsIndustry')).toMatchObject({ current: 1, declared: 1 });
    const audit = new AuditLog(hub.registry.database).list({ action: 'platform.import' });
    expect(audit.map((a) => a.outcome).sort()).toEqual(['ok', 'refused']);
  });

  // The declaration imports once kept their own header and 合计 handling: a repeated column was
  // silently read from its first cell and a 共计 row counted as a record. Now the ledger's (import-table.ts).
  it('reads a declaration file as the ledger import does: a repeated column refused, a 共计 row skipped', async () => {
    const post = (csv: string) =>
      fetch(`${base}/api/v1/targets/platforms/import?file=p.csv&dryRun=true`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'text/csv' },
        body: csv,
      });
    const repeated = await post(
      `平台名称,级别,运营企业代码,建成年份,名称\r\nA平台,行业级,yw-01,${year},B平台`,
    );
    expect(repeated.status).toBe(400);
    expect(((await repeated.json()) as { message: string }).message).toMatch(
      /column "名称" repeats the name column/,
    );
    const total = await post(`平台名称,级别,运营企业代码,建成年份\r\nA平台,行业级,yw-01,${year}\r\n共计,,,`);
    expect(total.status).toBe(200);
    expect(await total.json()).toMatchObject({ rows: 1, refusedRows: 0, skipped: [{ row: 3 }] });
    const json = await fetch(`${base}/api/v1/targets/platforms/import?file=p.csv`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(json.status).toBe(415);
  });

  it("a county's bureau sees its region's own targets (never the city's) and its region's figures", async () => {
    const set = await call('PUT', '/api/v1/targets', admin, {
      kind: 'networked',
      region: 'yiwu',
      year: 2022,
      value: 3_000,
    });
    expect(set.status).toBe(200);
    expect(
      (
        await call('PUT', '/api/v1/targets', admin, {
          kind: 'backboneNcRate',
          region: 'yiwu',
          year: 2022,
          value: 70,
        })
      ).json,
    ).toMatchObject({ code: 'WANJI_E_REGISTRY_PROGRAMME' });
    const yiwu = await targets(apiToken(hub.registry, 'bureau', { regions: ['yiwu'] }));
    expect(yiwu.scope).toEqual({ level: 'region', codes: ['yiwu'] });
    expect(kind(yiwu, 'networked')).toMatchObject({ target: { year: 2022, value: 3_000 }, current: 4 });
    expect(kind(yiwu, 'robots')).toMatchObject({ target: null, declared: 3, done: null });
    const wucheng = await targets(apiToken(hub.registry, 'bureau', { regions: ['wucheng'] }));
    expect(kind(wucheng, 'networked')).toMatchObject({ target: null, current: 0 });
    expect(kind(wucheng, 'workshopsFactories').current).toBe(1);
    expect(kind(await targets(), 'networked').target).toEqual({ year: 2022, value: 10_000 });
    const own = await targets(apiToken(hub.registry, 'enterprise', { enterprise: 'wc-01' }));
    expect(own.scope.level).toBe('enterprise');
    // No count target of its own; the backbone thresholds are the city's for every caller.
    expect(own.targets.filter((x) => x.unit === 'count').every((x) => x.target === null)).toBe(true);
    expect(kind(own, 'backboneNcRate').target).toEqual({ year: 2022, value: 0.7 });
    // Two counties: their own targets summed, their figures together.
    await call('PUT', '/api/v1/targets', admin, {
      kind: 'networked',
      region: 'wucheng',
      year: 2022,
      value: 500,
    });
    const both = await targets(apiToken(hub.registry, 'bureau', { regions: ['yiwu', 'wucheng'] }));
    expect(kind(both, 'networked')).toMatchObject({ target: { year: 2022, value: 3_500 }, current: 4 });
    expect(kind(both, 'robots')).toMatchObject({ target: null, declared: 5 });
    expect((await call('DELETE', '/api/v1/targets?kind=networked&region=yiwu&year=2022')).status).toBe(204);
    expect(
      kind(await targets(apiToken(hub.registry, 'bureau', { regions: ['yiwu'] })), 'networked').target,
    ).toBeNull();
  });

  it('counts a child hub that reports with its platform level, once even when also declared', async () => {
    const tokens = new TokenStore(hub.registry.database, new AuditLog(hub.registry.database));
    const { token } = tokens.create(
      { role: 'child-hub', hubId: 'panan-hub', regions: ['panan'] },
      { actor: 'cli:test', source: 'cli' },
    );
    // A level the schema does not know, or an unseen character in the name, is refused whole.
    const post = (platform: unknown) =>
      call(
        'POST',
        '/api/v1/statistics/children',
        { authorization: `Bearer ${token}` },
        {
          hubId: 'panan-hub',
          generatedAt: Date.now(),
          windows: { networkingMs: 7 * 86_400_000, onlineMs: 300_000 },
          enterprises: [],
          unattributed: {
            machines: 0,
            networked: 0,
            online: 0,
            poweredOn: 0,
            networkedNc: 0,
            networkedRobots: 0,
          },
          platform,
        },
      );
    expect((await post({ name: '磐安平台', level: 'national' })).status).toBe(400);
    expect((await post({ name: '磐安\u202e平台', level: 'regional' })).json).toMatchObject({
      code: 'WANJI_E_STATS_CHILD_REPORT',
    });

    child = new Hub({
      dataDir: `${dir.path}/child`,
      hostId: 'panan-hub',
      mqtt: { port: 0, allowAnonymous: true },
      http: { port: 0 },
      parent: {
        url: base,
        token,
        intervalS: 3600,
        platform: { name: '磐安县工业互联网平台', level: 'regional' },
      },
      logger: silentLogger(),
    });
    await child.start();
    child.registry.upsertEnterprise(
      {
        code: 'pa-01',
        name: '磐安一号',
        regionCode: 'panan',
        industryCode: 'biomedicine',
        backbone: false,
        ledger: { productionEquipment: 3, ncEquipment: 1, robots: 0 },
      },
      'test',
    );
    // It forwards as it starts: again, now with its enterprise.
    await child.close();
    await child.start();
    await waitFor(
      async () => kind(await targets(), 'platformsRegional').current === 1,
      'the child hub counted as a regional platform',
      20_000,
    );
    expect(kind(await targets(), 'platformsRegional')).toMatchObject({
      declared: 0,
      measured: 1,
      detail: { childHubs: 1 },
      done: 1,
    });
    const listed = (await call('GET', '/api/v1/targets/platforms')).json;
    expect(listed.childHubs).toEqual([
      { hubId: 'panan-hub', name: '磐安县工业互联网平台', level: 'regional', declared: false },
    ]);
    // Its county sees it; another county does not.
    const panan = apiToken(hub.registry, 'bureau', { regions: ['panan'] });
    expect(kind(await targets(panan), 'platformsRegional').current).toBe(1);
    const yiwu = apiToken(hub.registry, 'bureau', { regions: ['yiwu'] });
    expect(kind(await targets(yiwu), 'platformsRegional').current).toBe(0);

    // Declared with its hub id: one platform, declared and measured.
    hub.registry.upsertEnterprise(
      {
        code: 'pa-op',
        name: '磐安平台运营公司',
        regionCode: 'panan',
        industryCode: 'hardware',
        backbone: false,
        ledger: { productionEquipment: 1, ncEquipment: 0, robots: 0 },
      },
      'test',
    );
    const d = await call('POST', '/api/v1/targets/platforms', admin, {
      name: '磐安县工业互联网平台',
      level: 'regional',
      operator: 'pa-op',
      year,
      hubId: 'panan-hub',
    });
    expect(d.status).toBe(201);
    expect(d.json).toMatchObject({ reporting: true });
    expect(kind(await targets(), 'platformsRegional')).toMatchObject({
      current: 1,
      declared: 1,
      measured: 1,
      detail: { childHubs: 0 },
    });
  });
});
