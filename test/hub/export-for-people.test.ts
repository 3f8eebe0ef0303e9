/**
 * Issue 12, "exports and imports meant for people": `GET /api/v1/statistics/export` writes
 * Chinese headers by default and English with `lang=en`, names before codes, 是/否, rates as
 * one-decimal percentages (CSV text, XLSX numbers under a percent format), a 合计 / Total row
 * that is the hub's own scope figures (never an average of the rows), and in XLSX a 说明 /
 * About sheet (hub time with its zone, the configured windows, the scope, the hub id). A
 * county-scoped bureau token's export says its scope and holds only its rows, and an exported
 * enterprise table imports back through the registry import unchanged. Against real hubs fed
 * by a real Sparkplug edge node over MQTT, read over real HTTP.
 */
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import { parseCsv } from '../../hub/registry/import-file.js';
import { DataType } from '../../protocol/index.js';
import { apiToken, cncBirth, silentLogger, TestEdgeNode, tempDir, waitFor } from './helpers.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const HUB_ID = 'jinhua-city-hub';
const OFFSET_MIN = 330; // UTC+05:30: not the default, so the About sheet must read the config
const DAY = 86_400_000;

interface Ledger {
  productionEquipment: number;
  ncEquipment: number;
  robots: number;
}
interface EnterpriseFigures extends Ledger {
  code: string;
  name: string;
  region: string;
  industry: string;
  backbone: boolean;
  networked: number;
  networkingRate: number | null;
}
interface Statistics {
  networked: number;
  networkingRate: number | null;
  city: { networked: number; networkingRate: number | null; backbone: { networked: number } };
  byEnterprise: EnterpriseFigures[];
}

/** code, name, region, industry, backbone, ledger, machines it networks. */
const FLEET = [
  ['E1', '金华精密机械有限公司', 'yiwu', 'nev', true, [3, 2, 1], 2],
  ['E2', 'Yiwu Flask Co., Ltd.', 'yiwu', 'flask', false, [7, 1, 0], 1],
  ['E3', '磐安五金', 'panan', 'hardware', true, [6, 5, 2], 3],
] as const;

function newHub(dataDir: string): Hub {
  return new Hub({
    dataDir,
    hostId: HUB_ID,
    mqtt: { port: 0, allowAnonymous: true },
    http: { port: 0 },
    flushIntervalMs: 20,
    // Not the defaults (7 days, 5 minutes): the About sheet must say what is configured.
    networkingWindowMs: 3 * DAY,
    onlineWindowMs: 2 * 60_000,
    statistics: { utcOffsetMin: OFFSET_MIN },
    logger: silentLogger(),
  });
}

const csvTable = (text: string): string[][] => parseCsv(text.replace(/^\uFEFF/, '').trimEnd());

async function workbook(res: Response): Promise<ExcelJS.Workbook> {
  expect(res.headers.get('content-type')).toBe(XLSX);
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(await res.arrayBuffer());
  return wb;
}

const rowValues = (sheet: ExcelJS.Worksheet, n: number): unknown[] =>
  (sheet.getRow(n).values as unknown[]).slice(1);

/** The About sheet as label → value. */
const aboutOf = (wb: ExcelJS.Workbook, name: string): Record<string, string> => {
  const sheet = wb.getWorksheet(name);
  expect(sheet, `a sheet named ${name}`).toBeDefined();
  const out: Record<string, string> = {};
  sheet!.eachRow((row) => {
    const [label, value] = (row.values as unknown[]).slice(1);
    out[String(label)] = String(value);
  });
  return out;
};

describe('exports for people (issue 12)', () => {
  const dir = tempDir();
  const other = tempDir();
  const hub = newHub(dir.path);
  /** A second hub with an empty registry: where the exported enterprise table is imported. */
  const fresh = newHub(other.path);
  const nodes = FLEET.map(([code]) => new TestEdgeNode(code, `GW-${code}`));
  let operator: { authorization: string };
  let bureau: { authorization: string };
  let county: { authorization: string };

  const base = (h: Hub) => `http://127.0.0.1:${h.httpPort}`;
  const get = (path: string, auth: { authorization: string }, h = hub) =>
    fetch(`${base(h)}${path}`, { headers: auth });
  const stats = async (auth: { authorization: string }, h = hub): Promise<Statistics> => {
    const r = await get('/api/v1/statistics', auth, h);
    expect(r.status).toBe(200);
    return (await r.json()) as Statistics;
  };
  const exported = async (query: string, auth = bureau): Promise<Response> => {
    const r = await get(`/api/v1/statistics/export?${query}`, auth);
    expect(r.status, `${query}: ${r.status}`).toBe(200);
    return r;
  };

  beforeAll(async () => {
    await hub.start();
    await fresh.start();
    operator = apiToken(hub.registry, 'operator');
    bureau = apiToken(hub.registry, 'bureau');
    county = apiToken(hub.registry, 'bureau', { regions: ['panan'] });
    for (const [code, name, region, industry, backbone, [p, nc, robots]] of FLEET) {
      const r = await fetch(`${base(hub)}/api/v1/registry/enterprises/${code}`, {
        method: 'PUT',
        headers: { ...operator, 'content-type': 'application/json' },
        body: JSON.stringify({
          name,
          region,
          industry,
          backbone,
          ledger: { productionEquipment: p, ncEquipment: nc, robots },
        }),
      });
      expect(r.status).toBe(200);
    }
    for (const [i, [, , , , , , machines]] of FLEET.entries()) {
      const n = nodes[i]!;
      await n.connect(hub.mqttUrl);
      await n.nbirth();
      for (let m = 1; m <= machines; m++) {
        await n.dbirth(`M${m}`, cncBirth(Date.now()));
        await n.ddata(`M${m}`, [{ name: 'State', alias: 5, datatype: DataType.String, value: 'running' }]);
      }
    }
    await waitFor(
      async () => {
        await hub.flush();
        return (await stats(bureau)).networked === 6;
      },
      'six machines networked (E1 2 of 3, E2 1 of 7, E3 3 of 6)',
      20_000,
    );
  });

  afterAll(async () => {
    for (const n of nodes) await n.close();
    await hub.close();
    await fresh.close();
    dir.remove();
    other.remove();
  });

  it('writes Chinese headers, names, 是/否 and rounded percentages by default, and a 合计 row of the scope figures (CSV)', async () => {
    const s = await stats(bureau);
    const res = await exported('table=enterprises&format=csv');
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const bytes = new Uint8Array(await res.arrayBuffer());
    // UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese right.
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = new TextDecoder().decode(bytes);
    expect(text.startsWith('企业名称,区县,行业,骨干企业,生产设备数,数控设备数,工业机器人数,')).toBe(true);
    const [header, ...rows] = csvTable(text);
    // One clean table: every line has the header's fields, nothing above or below it.
    expect(rows.every((r) => r.length === header!.length)).toBe(true);
    expect(header!.slice(-3)).toEqual(['企业代码', '区县代码', '行业代码']);
    const col = (r: string[], name: string): string => {
      expect(header).toContain(name);
      return r[header!.indexOf(name)]!;
    };
    const byName = new Map(rows.map((r) => [col(r, '企业名称'), r]));
    const e1 = byName.get('金华精密机械有限公司')!;
    expect([col(e1, '区县'), col(e1, '行业'), col(e1, '骨干企业')]).toEqual([
      '义乌市',
      '新能源汽车及配件',
      '是',
    ]);
    expect(col(e1, '设备联网率')).toBe('66.7%'); // 2 of 3
    expect(col(e1, '数控化率（申报）')).toBe('66.7%'); // 2 of 3 declared
    expect(col(e1, '企业代码')).toBe('E1');
    expect(col(e1, '区县代码')).toBe('yiwu');
    const e2 = byName.get('Yiwu Flask Co., Ltd.')!;
    expect([col(e2, '骨干企业'), col(e2, '设备联网率'), col(e2, '达到骨干企业目标')]).toEqual([
      '否',
      '14.3%', // 1 of 7
      '否',
    ]);
    expect(col(byName.get('磐安五金')!, '设备联网率')).toBe('50.0%');

    // The total row, last: the hub's own figures, not the mean of the rows' percentages.
    const total = rows.at(-1)!;
    expect(col(total, '企业名称')).toBe('合计');
    expect(Number(col(total, '联网设备数'))).toBe(s.networked);
    expect(Number(col(total, '联网设备数'))).toBe(
      rows.slice(0, -1).reduce((n, r) => n + Number(col(r, '联网设备数')), 0),
    );
    expect(Number(col(total, '生产设备数'))).toBe(16);
    expect(s.networkingRate).toBeCloseTo(6 / 16, 12);
    expect(col(total, '设备联网率')).toBe('37.5%');
    expect(col(total, '骨干企业')).toBe('');
    expect(col(total, '企业代码')).toBe('');
  });

  it('writes English headers and names with lang=en; regions end with a Total row for all and for backbone enterprises', async () => {
    const s = await stats(bureau);
    const [header, ...rows] = csvTable(await (await exported('table=regions&format=csv&lang=en')).text());
    expect(header!.slice(0, 4)).toEqual([
      'Region',
      'Enterprises counted',
      'Enterprises',
      'Backbone enterprises',
    ]);
    expect(header).toContain('Networking rate (mean of enterprises)');
    expect(header!.at(-1)).toBe('Region code');
    const col = (r: string[], name: string): string => r[header!.indexOf(name)]!;
    const yiwu = rows.filter((r) => r[0] === 'Yiwu City');
    expect(yiwu.map((r) => col(r, 'Enterprises counted'))).toEqual(['All', 'Backbone']);
    expect(col(yiwu[0]!, 'Networked machines')).toBe('3');
    expect(col(yiwu[0]!, 'Networking rate')).toBe('30.0%'); // 3 of 10
    expect(col(yiwu[0]!, 'Region code')).toBe('yiwu');
    const panan = rows.find((r) => r[0] === "Pan'an County")!;
    expect(col(panan, 'Networking rate')).toBe('50.0%');
    // A region without enterprises has no rate: an empty cell, not 0 %.
    expect(col(rows.find((r) => r[0] === 'Wuyi County')!, 'Networking rate')).toBe('');
    const [all, backbone] = rows.slice(-2);
    expect([all![0], backbone![0]]).toEqual(['Total', 'Total']);
    expect(col(all!, 'Networked machines')).toBe(String(s.city.networked));
    expect(col(backbone!, 'Networked machines')).toBe(String(s.city.backbone.networked));
    expect(col(all!, 'Networking rate')).toBe('37.5%');
    // The mean of the regions' rounded percentages would be something else (30.0 and 50.0 → 40.0).
    expect(col(all!, 'Region code')).toBe('');
  });

  it('keeps rates as numbers under a one-decimal percent format in XLSX, with a bold total and an About sheet (说明)', async () => {
    const s = await stats(bureau);
    const before = Date.now();
    const wb = await workbook(await exported('table=enterprises&format=xlsx'));
    const after = Date.now();
    expect(wb.worksheets.map((w) => w.name)).toEqual(['企业', '说明']);
    const sheet = wb.worksheets[0]!;
    const header = rowValues(sheet, 1);
    expect(header.slice(0, 4)).toEqual(['企业名称', '区县', '行业', '骨干企业']);
    const at = (n: number, name: string) => sheet.getRow(n).getCell(header.indexOf(name) + 1);
    expect(sheet.rowCount).toBe(1 + 3 + 1);
    const e1 = [2, 3, 4].find((n) => at(n, '企业代码').value === 'E1')!;
    expect(at(e1, '设备联网率').value).toBeCloseTo(2 / 3, 12);
    expect(at(e1, '设备联网率').numFmt).toBe('0.0%');
    expect(at(e1, '骨干企业').value).toBe('是');
    expect(at(e1, '区县').value).toBe('义乌市');
    const total = sheet.rowCount;
    expect(at(total, '企业名称').value).toBe('合计');
    expect(at(total, '企业名称').font?.bold).toBe(true);
    expect(at(total, '联网设备数').value).toBe(s.networked);
    // The statistics' own pooled rate, to the last bit.
    expect(at(total, '设备联网率').value).toBe(s.networkingRate);
    expect(at(total, '设备联网率').numFmt).toBe('0.0%');

    const about = aboutOf(wb, '说明');
    expect(about.表格).toBe('企业');
    // Hub time at the configured offset (UTC+05:30), with the zone.
    const made = about['生成时间（平台时间）']!;
    expect(made).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \(UTC\+05:30\)$/);
    const asUtc = Date.parse(`${made.slice(0, 10)}T${made.slice(11, 19)}Z`) - OFFSET_MIN * 60_000;
    expect(asUtc).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(asUtc).toBeLessThanOrEqual(after);
    expect(about.联网窗口).toMatch(/^3 天：/);
    expect(about.在线窗口).toMatch(/^2 分钟：/);
    expect(about.范围).toBe('全市');
    expect(about.数据来源).toBe(`万机平台 ${HUB_ID}`);
    expect(about.联网设备目标).toBe('10000');
    expect(about.骨干企业目标).toBe('设备联网率 ≥ 50% 且数控化率 ≥ 70%');
    expect(about.口径).toContain('申报');
    expect(about.导入).toContain('/api/v1/registry/import');
  });

  it("narrows a county bureau's export to its region, and says so (XLSX, en)", async () => {
    const s = await stats(county);
    expect(s.byEnterprise.map((e) => e.code)).toEqual(['E3']);
    const wb = await workbook(await exported('table=enterprises&format=xlsx&lang=en', county));
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Enterprises', 'About']);
    const sheet = wb.worksheets[0]!;
    const header = rowValues(sheet, 1);
    expect(sheet.rowCount).toBe(3); // header, E3, Total
    const row = rowValues(sheet, 2);
    expect(row[header.indexOf('Enterprise code')]).toBe('E3');
    expect(row[header.indexOf('Region')]).toBe("Pan'an County");
    expect(row[header.indexOf('Backbone')]).toBe('Yes');
    const total = rowValues(sheet, 3);
    expect(total[0]).toBe('Total');
    expect(total[header.indexOf('Networked machines')]).toBe(s.networked);
    expect(total[header.indexOf('Networking rate')]).toBe(s.networkingRate);
    const about = aboutOf(wb, 'About');
    expect(about.Scope).toBe("Regions: Pan'an County");
    expect(about['Networked window']).toMatch(/^3 days: /);
    expect(about['Online window']).toMatch(/^2 minutes: /);
    expect(about.Source).toBe(`Wanji hub ${HUB_ID}`);
    expect(about['Networked machines target']).toBe('none set for this scope');
    // The regions table: its own region only, and a total equal to its scope.
    const [, ...rows] = csvTable(await (await exported('table=regions&lang=en', county)).text());
    expect(rows.map((r) => [r[0], r[1]])).toEqual([
      ["Pan'an County", 'All'],
      ["Pan'an County", 'Backbone'],
      ['Total', 'All'],
      ['Total', 'Backbone'],
    ]);
  });

  it('imports an exported enterprise table back, in either language and format: the same ledgers', async () => {
    const source = (await stats(bureau)).byEnterprise;
    const declared = (list: EnterpriseFigures[]) =>
      list.map((e) => ({
        code: e.code,
        name: e.name,
        region: e.region,
        industry: e.industry,
        backbone: e.backbone,
        productionEquipment: e.productionEquipment,
        ncEquipment: e.ncEquipment,
        robots: e.robots,
      }));
    const importInto = async (h: Hub, body: ArrayBuffer, type: string, file: string) => {
      const r = await fetch(`${base(h)}/api/v1/registry/import?file=${file}`, {
        method: 'POST',
        headers: { ...apiToken(h.registry, 'operator'), 'content-type': type },
        body,
      });
      const report = (await r.json()) as {
        created: number;
        updated: number;
        unchanged: number;
        refused: unknown[];
        skipped: { reason: string }[];
      };
      expect(r.status, `${file}: ${JSON.stringify(report).slice(0, 600)}`).toBe(200);
      expect(report.refused).toEqual([]);
      // The 合计 / Total row is skipped, not refused.
      expect(report.skipped).toEqual([expect.objectContaining({ reason: expect.stringMatching(/total/) })]);
      return report;
    };
    const file = async (query: string) => (await exported(query, operator)).arrayBuffer();

    // Into an empty registry: every enterprise created with the same declaration.
    const zhCsv = await file('table=enterprises&format=csv');
    expect(await importInto(fresh, zhCsv, 'text/csv', 'zh.csv')).toMatchObject({ created: 3, updated: 0 });
    const enXlsx = await file('table=enterprises&format=xlsx&lang=en');
    expect(await importInto(fresh, enXlsx, XLSX, 'en.xlsx')).toMatchObject({ created: 0, unchanged: 3 });
    const admin = apiToken(fresh.registry, 'admin');
    expect(declared((await stats(admin, fresh)).byEnterprise)).toEqual(declared(source));

    // Into the hub it came from: nothing changes.
    for (const [query, type] of [
      ['table=enterprises&format=xlsx', XLSX],
      ['table=enterprises&format=csv&lang=en', 'text/csv'],
    ] as const) {
      expect(await importInto(hub, await file(query), type, 'back')).toMatchObject({
        created: 0,
        updated: 0,
        unchanged: 3,
      });
    }
    expect(declared((await stats(bureau)).byEnterprise)).toEqual(declared(source));
  });

  it('names things in the other tables too: the city, state time with its total, the trend', async () => {
    const city = csvTable(await (await exported('table=city')).text());
    expect(city.map((r) => r.slice(0, 2))).toEqual([
      ['范围', '统计口径'],
      ['全市', '全部企业'],
      ['全市', '骨干企业'],
    ]);
    const [stHeader, ...st] = csvTable(await (await exported('table=state-time&lang=en')).text());
    expect(stHeader!.slice(0, 4)).toEqual(['Day', 'Enterprise name', 'Machines', 'Offline (h)']);
    expect(stHeader).toContain('Utilisation');
    expect(st.map((r) => r[1])).toEqual([
      '金华精密机械有限公司',
      'Yiwu Flask Co., Ltd.',
      '磐安五金',
      'Total',
    ]);
    expect(st.at(-1)![2]).toBe('6');
    expect(st.at(-1)![0]).toBe(st[0]![0]); // the day
    const snap = await fetch(`${base(hub)}/api/v1/statistics/snapshots`, {
      method: 'POST',
      headers: operator,
    });
    expect(snap.status).toBe(200);
    const [trHeader, ...tr] = csvTable(await (await exported('table=trend&level=region&lang=zh-CN')).text());
    expect(trHeader!.slice(0, 3)).toEqual(['日期', '层级', '名称']);
    const yiwu = tr.find((r) => r.at(-1) === 'yiwu')!;
    expect([yiwu[1], yiwu[2], yiwu[trHeader!.indexOf('设备联网率')]]).toEqual(['区县', '义乌市', '30.0%']);
    const bad = await get('/api/v1/statistics/export?table=regions&lang=fr', bureau);
    expect(bad.status).toBe(400);
  });
});
