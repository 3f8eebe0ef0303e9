/**
 * What the admin page's ledger upload needs from the API (issue 12), against a started hub
 * over real HTTP: a template in each language that imports back, a dry run that tolerates a
 * title row and a 合计 row and says what would change, the annotated error spreadsheet, and
 * industry aliases added at run time (汽车零部件 → auto-moto-parts).
 */
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import { AuditLog } from '../../hub/security/audit.js';
import { apiToken, silentLogger, tempDir } from './helpers.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

async function xlsx(rows: (string | number)[][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const sheet = wb.addWorksheet('台账');
  for (const r of rows) sheet.addRow(r);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

async function workbook(bytes: ArrayBuffer): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(bytes);
  return wb;
}

const text = (c: ExcelJS.Cell): string => (c.value === null ? '' : String(c.value));

/** A ledger as a bureau sends it: a title above the header, a bad row, a 合计 row. */
const LEDGER = [
  ['2026 年金华市企业设备台账'],
  [
    '企业代码',
    '企业名称',
    '所属区县',
    '所属行业',
    '是否骨干企业',
    '生产设备总数',
    '数控设备数',
    '工业机器人数',
  ],
  ['U01', '金华精工', '婺城区', '新能源汽车及配件', '是', 100, 60, 4],
  ['U02', '义乌配件', '义乌', '汽车零部件', '否', 50, 20, 1],
  ['U03', '永康五金', '永康市', '五金', '否', 40, 50, 0],
  ['合计', '', '', '', '', 190, 130, 5],
];

describe('ledger upload: template, dry run, annotated sheet, aliases', () => {
  let dir: ReturnType<typeof tempDir>;
  let hub: Hub;
  let base: string;
  let operator: { authorization: string };
  let bureau: { authorization: string };

  beforeAll(async () => {
    dir = tempDir();
    hub = new Hub({ dataDir: dir.path, mqtt: { port: 0 }, http: { port: 0 }, logger: silentLogger() });
    await hub.start();
    base = `http://127.0.0.1:${hub.httpPort!}`;
    operator = apiToken(hub.registry, 'operator');
    bureau = apiToken(hub.registry, 'bureau');
  });
  afterAll(async () => {
    await hub.close();
    dir.remove();
  });

  const upload = (path: string, body: Buffer, type = XLSX) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { ...operator, 'content-type': type }, body });

  it('gives a template in Chinese and in English that imports back as it is', async () => {
    const zh = await fetch(`${base}/api/v1/registry/import/template?format=xlsx&lang=zh-CN`, {
      headers: operator,
    });
    expect(zh.status).toBe(200);
    expect(zh.headers.get('content-type')).toContain(XLSX);
    expect(zh.headers.get('content-disposition')).toContain(encodeURIComponent('台账导入模板.xlsx'));
    const bytes = await zh.arrayBuffer();
    const wb = await workbook(bytes);
    const [ledger, reference] = wb.worksheets;
    expect((ledger!.getRow(1).values as unknown[]).slice(1)).toEqual([
      '企业代码',
      '企业名称',
      '所属区县',
      '所属行业',
      '是否骨干企业',
      '生产设备总数',
      '数控设备数',
      '工业机器人数',
      '申报人',
    ]);
    expect(text(ledger!.getCell('A2'))).toBe('EXAMPLE-001');
    // The second sheet lists every region and industry the registry has, by code.
    const codes = new Set<string>();
    reference!.eachRow((r, n) => {
      if (n > 1) codes.add(text(r.getCell(2)));
    });
    const regions = (await (await fetch(`${base}/api/v1/registry/regions`, { headers: bureau })).json()) as {
      items: { code: string }[];
    };
    for (const r of regions.items) expect(codes).toContain(r.code);
    expect(codes).toContain('auto-moto-parts');

    const back = await upload('/api/v1/registry/import?file=template.xlsx&dryRun=true', Buffer.from(bytes));
    expect(await back.json()).toMatchObject({ rows: 1, accepted: 1, refusedRows: 0, created: 1 });

    const en = await fetch(`${base}/api/v1/registry/import/template?format=csv&lang=en`, {
      headers: operator,
    });
    expect(en.status).toBe(200);
    const raw = Buffer.from(await en.arrayBuffer());
    // A byte-order mark first, so spreadsheet programs read UTF-8.
    expect([...raw.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const csv = raw.toString('utf8');
    expect(csv.slice(1).split('\r\n')[0]).toBe(
      'enterprise code,enterprise name,region,industry,backbone,production equipment,nc equipment,robots,declared by',
    );
    const csvBack = await upload(
      '/api/v1/registry/import?file=t.csv&dryRun=true',
      Buffer.from(csv),
      'text/csv',
    );
    expect(await csvBack.json()).toMatchObject({ rows: 1, accepted: 1, refusedRows: 0 });
    expect(hub.registry.enterprise('EXAMPLE-001')).toBeUndefined();
  });

  it('previews a ledger with a title row and a 合计 row: what would change, why rows are refused, nothing written', async () => {
    const r = await upload('/api/v1/registry/import?file=ledger.xlsx&dryRun=true', await xlsx(LEDGER));
    expect(r.status).toBe(200);
    const report = (await r.json()) as {
      rows: number;
      applied: boolean;
      header: { row: number };
      skipped: { row: number; reason: string }[];
      refused: { row: number; code: string; reasons: string[]; columns: string[] }[];
      changes: { row: number; code: string; outcome: string; before: unknown; after: unknown }[];
    };
    expect(report.header.row).toBe(2);
    expect(report.rows).toBe(3);
    expect(report.applied).toBe(false);
    expect(report.skipped).toEqual([
      { row: 1, kind: 'title', reason: expect.stringMatching(/title/) },
      { row: 6, kind: 'total', reason: expect.stringMatching(/合计/) },
    ]);
    expect(report.refused.map((x) => [x.row, x.code, x.columns])).toEqual([
      [4, 'U02', ['所属行业']],
      [5, 'U03', ['数控设备数']],
    ]);
    // An unknown industry lists the valid ones, names and codes.
    expect(report.refused[0]!.reasons[0]).toMatch(
      /unknown industry "汽车零部件"; valid industries: .*汽摩配.*auto-moto-parts/,
    );
    expect(report.changes).toEqual([
      {
        row: 3,
        code: 'U01',
        name: '金华精工',
        outcome: 'created',
        before: null,
        after: { productionEquipment: 100, ncEquipment: 60, robots: 4 },
      },
    ]);
    expect(hub.registry.enterprise('U01')).toBeUndefined();
  });

  it('returns the upload annotated: an error column with the reasons, the bad cells marked, title and 合计 kept', async () => {
    const r = await upload(
      '/api/v1/registry/import/annotated?file=ledger.xlsx&lang=zh-CN',
      await xlsx(LEDGER),
    );
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain(XLSX);
    expect(r.headers.get('content-disposition')).toContain(encodeURIComponent('ledger-错误标注.xlsx'));
    const sheet = (await workbook(await r.arrayBuffer())).worksheets[0]!;
    expect(text(sheet.getCell('A1'))).toBe('2026 年金华市企业设备台账');
    expect(text(sheet.getCell('I2'))).toBe('错误');
    expect(text(sheet.getCell('I3'))).toBe('');
    // The reasons in Chinese, from their codes (hub/registry/import-reasons.ts).
    expect(text(sheet.getCell('I4'))).toMatch(/^未知的行业“汽车零部件”；可填写的行业：.*汽摩配/);
    expect(text(sheet.getCell('I5'))).toBe('数控设备数（50）大于生产设备总数（40）');
    expect(text(sheet.getCell('I6'))).toBe('合计行：不是记录，已跳过');
    // The cells at fault are filled; the good ones are not.
    const fill = (ref: string) => (sheet.getCell(ref).fill as ExcelJS.FillPattern | undefined)?.fgColor?.argb;
    expect(fill('D4')).toBe('FFFFC7CE');
    expect(fill('G5')).toBe('FFFFC7CE');
    expect(fill('D3')).toBeUndefined();
    expect(sheet.getCell('F3').value).toBe(100);
    expect(hub.registry.enterprise('U01')).toBeUndefined();

    const en = await upload('/api/v1/registry/import/annotated?file=ledger.xlsx&lang=en', await xlsx(LEDGER));
    const enSheet = (await workbook(await en.arrayBuffer())).worksheets[0]!;
    expect(text(enSheet.getCell('I2'))).toBe('Error');
    expect(text(enSheet.getCell('I5'))).toMatch(/NC equipment \(50\) exceeds production equipment \(40\)/);
    // Without lang, Chinese: the programme's language.
    const plain = await upload('/api/v1/registry/import/annotated?file=ledger.xlsx', await xlsx(LEDGER));
    expect(text((await workbook(await plain.arrayBuffer())).worksheets[0]!.getCell('I5'))).toBe(
      '数控设备数（50）大于生产设备总数（40）',
    );
  });

  it('takes an industry alias added through the API, refuses one another industry has, and audits both', async () => {
    const add = (code: string, alias: string) =>
      fetch(`${base}/api/v1/registry/industries/${code}/aliases`, {
        method: 'POST',
        headers: { ...operator, 'content-type': 'application/json' },
        body: JSON.stringify({ alias }),
      });
    const ok = await add('auto-moto-parts', '汽车零部件');
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { aliases: string[] }).aliases).toContain('汽车零部件');
    const taken = await add('hardware', '汽车零部件');
    expect(taken.status).toBe(409);
    expect(await taken.json()).toMatchObject({ code: 'WANJI_E_REGISTRY_ALIAS' });
    expect((await add('no-such', 'x')).status).toBe(404);
    expect(
      new AuditLog(hub.registry.database)
        .list({ action: 'industry.alias' })
        .map((a) => [a.target, a.outcome])
        .sort(),
    ).toEqual([
      ['auto-moto-parts', 'ok'],
      ['hardware', 'refused'],
      ['no-such', 'refused'],
    ]);

    // The same file now has one refused row; partial applies the others.
    const r = await upload('/api/v1/registry/import?file=ledger.xlsx&partial=true', await xlsx(LEDGER));
    const report = (await r.json()) as { applied: boolean; created: number; refused: { code: string }[] };
    expect(report).toMatchObject({ applied: true, created: 2 });
    expect(report.refused.map((x) => x.code)).toEqual(['U03']);
    expect(hub.registry.enterprise('U02')?.industryCode).toBe('auto-moto-parts');
  });

  it('keeps the template, the annotated sheet and aliases from a bureau', async () => {
    const t = await fetch(`${base}/api/v1/registry/import/template`, { headers: bureau });
    expect(t.status).toBe(403);
    const a = await fetch(`${base}/api/v1/registry/import/annotated`, {
      method: 'POST',
      headers: { ...bureau, 'content-type': XLSX },
      body: await xlsx(LEDGER),
    });
    expect(a.status).toBe(403);
    const alias = await fetch(`${base}/api/v1/registry/industries/hardware/aliases`, {
      method: 'POST',
      headers: { ...bureau, 'content-type': 'application/json' },
      body: JSON.stringify({ alias: '小五金' }),
    });
    expect(alias.status).toBe(403);
  });
});
