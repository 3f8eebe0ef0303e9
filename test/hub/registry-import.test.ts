import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runRegistryCommand } from '../../cli/registry.js';
import { buildApi } from '../../hub/api/app.js';
import { importLedgers } from '../../hub/registry/import.js';
import { readTable } from '../../hub/registry/import-file.js';
import { Registry } from '../../hub/registry/registry.js';
import { AuditLog } from '../../hub/security/audit.js';
import { DEFAULT_WINDOWS } from '../../hub/stats/stats.js';
import { createStore } from '../../hub/store/index.js';
import type { SampleStore } from '../../hub/store/types.js';
import { runCommand } from '../support/cli-io.js';
import { apiToken, silentLogger, tempDir } from './helpers.js';

const NOW = 1_700_000_000_000;
const HEADER = 'code,name,region,industry,backbone,production_equipment,nc_equipment,robots';
const GOOD = [
  'E01,金华精密机械有限公司,婺城区,新能源汽车及配件,是,100,80,5',
  'E02,"Yiwu Flask Co., Ltd.",Yiwu City,flask,no,"1,200",300,0',
  'E03,永康五金,永康,五金,否,40,10,2',
];

const csv = (...rows: string[]): Buffer => Buffer.from(`\uFEFF${[HEADER, ...rows].join('\r\n')}\r\n`);

async function xlsx(rows: (string | number)[][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const sheet = wb.addWorksheet('台账');
  for (const r of rows) sheet.addRow(r);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

describe('registry import', () => {
  let dir: ReturnType<typeof tempDir>;
  let reg: Registry;
  let now: number;

  beforeEach(async () => {
    dir = tempDir();
    now = NOW;
    reg = new Registry({ path: `${dir.path}/registry.db`, logger: silentLogger(), clock: () => now });
    await reg.start();
  });
  afterEach(async () => {
    await reg.close();
    dir.remove();
  });

  const run = async (
    bytes: Buffer,
    o: { dryRun?: boolean; partial?: boolean } = {},
    format: 'csv' | 'xlsx' = 'csv',
  ) =>
    importLedgers(reg, await readTable(bytes, format, `f.${format}`), {
      actor: 'cli:wang',
      file: `f.${format}`,
      ...o,
    });

  it('imports enterprises matched by code, Chinese name, English name or alias, with history and audit', async () => {
    const r = await run(csv(...GOOD));
    expect(r).toMatchObject({ rows: 3, accepted: 3, refused: [], applied: true, created: 3, updated: 0 });
    expect(
      reg.enterprises().map((e) => [e.code, e.regionCode, e.industryCode, e.backbone, e.ledger]),
    ).toEqual([
      ['E01', 'wucheng', 'nev', true, { productionEquipment: 100, ncEquipment: 80, robots: 5 }],
      ['E02', 'yiwu', 'flask', false, { productionEquipment: 1200, ncEquipment: 300, robots: 0 }],
      ['E03', 'yongkang', 'hardware', false, { productionEquipment: 40, ncEquipment: 10, robots: 2 }],
    ]);
    expect(reg.enterprise('E02')?.name).toBe('Yiwu Flask Co., Ltd.');
    expect(reg.declarations('E01')).toMatchObject([{ declaredBy: 'cli:wang', declaredAt: NOW }]);
    const audit = new AuditLog(reg.database).list();
    expect(
      audit
        .filter((a) => a.action === 'enterprise.declare')
        .map((a) => a.target)
        .sort(),
    ).toEqual(['E01', 'E02', 'E03']);
    expect(audit.find((a) => a.action === 'enterprise.import')).toMatchObject({
      outcome: 'ok',
      actor: 'cli:wang',
      detail: { created: 3, refused: 0 },
    });

    // The same file again changes nothing and adds no history; a changed ledger is one more entry.
    now += 86_400_000;
    const again = await run(
      csv(...GOOD.slice(1), 'E01,金华精密机械有限公司,婺城区,新能源汽车及配件,是,120,90,5'),
    );
    expect(again).toMatchObject({ created: 0, updated: 1, unchanged: 2, applied: true });
    expect(reg.declarations('E01').map((d) => d.ledger.productionEquipment)).toEqual([100, 120]);
    expect(reg.declarations('E02')).toHaveLength(1);
  });

  it('keeps backbone flags when the file has no backbone column', async () => {
    await run(csv(...GOOD));
    const noFlag = 'code,name,region,industry,production_equipment,nc_equipment,robots';
    const r = await run(
      Buffer.from(`${noFlag}\nE01,金华精密机械有限公司,婺城区,nev,100,80,6\nE09,New,yiwu,nev,5,1,0\n`),
    );
    expect(r).toMatchObject({ applied: true, updated: 1, created: 1 });
    expect(reg.enterprise('E01')).toMatchObject({ backbone: true, ledger: { robots: 6 } });
    expect(reg.enterprise('E09')?.backbone).toBe(false);
  });

  it('refuses the whole file when any row is bad, naming every refused row and why', async () => {
    const bad = [
      ...GOOD,
      'E04,Atlantis Ltd,Atlantis,nev,是,10,5,0', // unknown region
      'E05,Whaling Ltd,yiwu,whaling,是,10,5,0', // unknown industry
      'E06,Too Many NC,yiwu,nev,是,10,11,0', // NC > production
      'E07,Fractions,yiwu,nev,是,10.5,-1,x', // bad numbers
      'E08,Maybe,yiwu,nev,perhaps,10,5,0', // backbone neither yes nor no
      'E03,永康五金 again,永康,五金,否,40,10,2', // duplicate code
      'a/b,Bad Code,yiwu,nev,否,1,1,1', // not a Sparkplug id
      ',,,,,,,', // blank: skipped
    ];
    const r = await run(csv(...bad));
    expect(r.applied).toBe(false);
    expect(r.rows).toBe(10);
    expect(r.accepted).toBe(2);
    const byRow = Object.fromEntries(r.refused.map((x) => [x.row, x.reasons.join(' | ')]));
    expect(Object.keys(byRow).map(Number)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect(byRow[4]).toMatch(/code "E03" appears in rows 4, 10/);
    expect(byRow[5]).toMatch(/unknown region "Atlantis"/);
    expect(byRow[6]).toMatch(/unknown industry "whaling"/);
    expect(byRow[7]).toMatch(/NC equipment \(11\) exceeds production equipment \(10\)/);
    expect(byRow[8]).toMatch(/production equipment "10.5" is not a whole number/);
    expect(byRow[8]).toMatch(/NC equipment "-1" is not a whole number/);
    expect(byRow[8]).toMatch(/robots "x" is not a whole number/);
    expect(byRow[9]).toMatch(/backbone "perhaps"/);
    expect(byRow[10]).toMatch(/appears in rows 4, 10/);
    expect(byRow[11]).toMatch(/Sparkplug group id/);
    // Nothing half-imported: no enterprise, no history, and the refusal is audited.
    expect(reg.enterprises()).toEqual([]);
    expect(reg.declarations('E01')).toEqual([]);
    const audit = new AuditLog(reg.database).list();
    expect(audit.map((a) => [a.action, a.outcome])).toEqual([['enterprise.import', 'refused']]);
  });

  it('imports the accepted rows with --partial and reports the others', async () => {
    const r = await run(csv(...GOOD, 'E04,Atlantis Ltd,Atlantis,nev,是,10,5,0'), { partial: true });
    expect(r).toMatchObject({ applied: true, accepted: 3, created: 3, partial: true });
    expect(r.refused).toEqual([
      {
        row: 5,
        code: 'E04',
        reasons: [expect.stringMatching(/unknown region/)],
        details: [
          { code: 'regionUnknown', params: { value: 'Atlantis', valid: expect.stringContaining('yiwu') } },
        ],
        columns: ['region'],
      },
    ]);
    expect(reg.enterprises().map((e) => e.code)).toEqual(['E01', 'E02', 'E03']);
  });

  it('writes nothing on a dry run but says what would change', async () => {
    await run(csv(GOOD[0]!));
    const r = await run(csv(...GOOD), { dryRun: true });
    expect(r).toMatchObject({ dryRun: true, applied: false, created: 2, unchanged: 1 });
    expect(reg.enterprises().map((e) => e.code)).toEqual(['E01']);
  });

  it('reads XLSX with Chinese headers, numeric cells and spreadsheet row numbers', async () => {
    const file = await xlsx([
      [
        '企业代码',
        '企业名称',
        '所属区县',
        '行业',
        '是否骨干企业',
        '生产设备',
        '数控设备',
        '工业机器人',
        '备注',
      ],
      ['X1', '东阳纺织', '东阳', '纺织', '是', 50, 20, 1, ''],
      [],
      ['X2', '浦江针织', 'pujiang', 'Knitting', '否', 30, 40, 0, 'NC > production'],
    ]);
    const r = await run(file, {}, 'xlsx');
    expect(r.ignoredColumns).toEqual(['备注']);
    expect(r.refused).toEqual([
      {
        row: 4,
        code: 'X2',
        reasons: [expect.stringMatching(/exceeds/)],
        details: [{ code: 'ncExceedsProduction', params: { nc: 40, production: 30 } }],
        columns: ['数控设备'],
      },
    ]);
    const ok = await run(
      await xlsx([
        ['code', 'name', 'region', 'industry', 'backbone', 'production equipment', 'nc equipment', 'robots'],
        ['X1', '东阳纺织', '东阳', '纺织', '是', 50, 20, 1],
      ]),
      {},
      'xlsx',
    );
    expect(ok.applied).toBe(true);
    expect(reg.enterprise('X1')).toMatchObject({
      regionCode: 'dongyang',
      industryCode: 'textiles',
      backbone: true,
    });
  });

  it('refuses a file it cannot read or whose header lacks a column', async () => {
    await expect(run(Buffer.from('code,name\nE1,x\n'))).rejects.toMatchObject({
      code: 'WANJI_E_REGISTRY_IMPORT_FORMAT',
      message: expect.stringMatching(/no region column/),
    });
    await expect(run(Buffer.from([0xff, 0xfe, 0x00]))).rejects.toMatchObject({
      code: 'WANJI_E_REGISTRY_IMPORT_FORMAT',
    });
    await expect(run(Buffer.from('not a zip'), {}, 'xlsx')).rejects.toMatchObject({
      code: 'WANJI_E_REGISTRY_IMPORT_FORMAT',
    });
    expect(reg.enterprises()).toEqual([]);
  });

  it('wanji registry import: exit 1 and nothing written on refused rows, 0 on success', async () => {
    await reg.close();
    const bad = `${dir.path}/bad.csv`;
    const good = `${dir.path}/good.csv`;
    writeFileSync(bad, csv(...GOOD, 'E09,Bad,yiwu,nev,是,1,2,0'));
    writeFileSync(good, csv(...GOOD));
    const refused = await runCommand(runRegistryCommand, ['import', bad, '-d', dir.path, '--by', 'li.si']);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/row 5 \(E09\): NC equipment \(2\) exceeds production equipment \(1\)/);
    expect(refused.out).toMatch(/nothing imported/);
    const dry = await runCommand(runRegistryCommand, ['import', good, '-d', dir.path, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/3 created, 0 updated, 0 unchanged would be/);
    const ok = await runCommand(runRegistryCommand, ['import', good, '-d', dir.path, '--by', 'li.si']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/3 rows, 3 accepted, 0 refused/);
    const usage = await runCommand(runRegistryCommand, ['import', `${dir.path}/x.txt`, '-d', dir.path]);
    expect(usage.code).toBe(2);
    await reg.start();
    expect(reg.enterprises().map((e) => e.declaredBy)).toEqual(['li.si', 'li.si', 'li.si']);
    // The ledgers are li.si's declarations; who ran the import is audited as the OS user.
    const imports = new AuditLog(reg.database).list({ action: 'enterprise.import' });
    expect(imports.map((a) => [a.outcome, a.actor])).toEqual([
      ['ok', `cli:${userInfo().username}`],
      ['refused', `cli:${userInfo().username}`],
    ]);
  });
});

describe('registry API', () => {
  let dir: ReturnType<typeof tempDir>;
  let reg: Registry;
  let store: SampleStore;
  let app: FastifyInstance;

  beforeEach(async () => {
    dir = tempDir();
    const logger = silentLogger();
    reg = new Registry({ path: `${dir.path}/registry.db`, logger, clock: () => NOW });
    store = createStore({ type: 'sqlite' }, { dataDir: dir.path, logger });
    await reg.start();
    await store.start();
    app = buildApi({
      registry: reg,
      store,
      logger,
      clock: () => NOW,
      windows: DEFAULT_WINDOWS,
      health: () => ({ components: {} as never, counters: {} }),
    });
    await app.ready();
  });
  afterEach(async () => {
    await app.close();
    await store.close();
    await reg.close();
    dir.remove();
  });

  it('imports over HTTP (manage), answers 422 with the report when rows are refused, and keeps history', async () => {
    const operator = apiToken(reg, 'operator');
    const bureau = apiToken(reg, 'bureau');
    const post = (body: Buffer, headers: Record<string, string>, query = '') =>
      app.inject({
        method: 'POST',
        url: `/api/v1/registry/import?file=ledger.csv${query}`,
        payload: body,
        headers,
      });
    const refusedByRole = await post(csv(...GOOD), { ...bureau, 'content-type': 'text/csv' });
    expect(refusedByRole.statusCode).toBe(403);
    const bad = await post(csv(...GOOD, 'E04,X,Atlantis,nev,是,1,1,0'), {
      ...operator,
      'content-type': 'text/csv',
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toMatchObject({ applied: false, refused: [{ row: 5, code: 'E04' }] });
    expect(reg.enterprises()).toEqual([]);
    const ok = await post(csv(...GOOD), { ...operator, 'content-type': 'text/csv; charset=utf-8' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ applied: true, created: 3 });
    const xl = await post(
      await xlsx([
        ['code', 'name', 'region', 'industry', 'backbone', 'production equipment', 'nc equipment', 'robots'],
        ['E01', '金华精密机械有限公司', 'wucheng', 'nev', 'yes', 110, 80, 5],
      ]),
      { ...operator, 'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' },
    );
    expect(xl.json()).toMatchObject({ applied: true, updated: 1 });
    const wrongType = await post(csv(...GOOD), { ...operator, 'content-type': 'application/json' });
    expect(wrongType.statusCode).toBeGreaterThanOrEqual(400);

    const history = await app.inject({
      url: '/api/v1/registry/enterprises/E01/declarations',
      headers: bureau,
    });
    expect(history.statusCode).toBe(200);
    expect(
      history
        .json()
        .declarations.map((d: { ledger: { productionEquipment: number } }) => d.ledger.productionEquipment),
    ).toEqual([100, 110]);
    // An enterprise token sees only itself: another enterprise is 404, as if it did not exist.
    const own = apiToken(reg, 'enterprise', { enterprise: 'E02' });
    expect(
      (await app.inject({ url: '/api/v1/registry/enterprises/E02/declarations', headers: own })).statusCode,
    ).toBe(200);
    expect(
      (await app.inject({ url: '/api/v1/registry/enterprises/E01/declarations', headers: own })).statusCode,
    ).toBe(404);
    const yiwu = apiToken(reg, 'bureau', { regions: ['yiwu'] });
    expect(
      (await app.inject({ url: '/api/v1/registry/enterprises/E01/declarations', headers: yiwu })).statusCode,
    ).toBe(404);
  });

  it('declares one enterprise with PUT (names resolved), refuses bad ones with a reason, audits both', async () => {
    const operator = apiToken(reg, 'operator');
    const put = (code: string, body: object) =>
      app.inject({
        method: 'PUT',
        url: `/api/v1/registry/enterprises/${code}`,
        payload: body,
        headers: operator,
      });
    const body = {
      name: '义乌光电',
      region: '义乌',
      industry: 'Optoelectronics',
      backbone: true,
      ledger: { productionEquipment: 10, ncEquipment: 8, robots: 1 },
    };
    const ok = await put('Y1', body);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().enterprise).toMatchObject({ code: 'Y1', region: 'yiwu', industry: 'optoelectronics' });
    const bad = await put('Y2', { ...body, ledger: { productionEquipment: 1, ncEquipment: 8, robots: 0 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'WANJI_E_REGISTRY_INVALID_DECLARATION' });
    const unknown = await put('Y3', { ...body, region: 'Atlantis' });
    expect(unknown.json()).toMatchObject({ code: 'WANJI_E_REGISTRY_UNKNOWN_REGION' });
    expect(reg.enterprises().map((e) => e.code)).toEqual(['Y1']);
    const audit = new AuditLog(reg.database).list({ action: 'enterprise.declare' });
    expect(audit.map((a) => [a.target, a.outcome])).toEqual([
      ['Y3', 'refused'],
      ['Y2', 'refused'],
      ['Y1', 'ok'],
    ]);
  });

  it("shows an enterprise's ledger beside the machines its gateways announced", async () => {
    reg.upsertEnterprise(
      {
        code: 'M',
        name: 'M',
        regionCode: 'yiwu',
        industryCode: 'nev',
        backbone: true,
        ledger: { productionEquipment: 3, ncEquipment: 2, robots: 1 },
      },
      't',
    );
    const birth = (device: string, properties: object) => ({
      type: 'deviceBirth' as const,
      group: 'M',
      edgeNode: 'gw',
      device,
      at: NOW,
      properties,
    });
    reg.applyIngest({
      events: [
        birth('c1', { kind: 'cnc', nc: true, robot: false, dataDepth: 'full' }),
        birth('c2', { kind: 'cnc', nc: true, robot: false, dataDepth: 'full' }),
        birth('r1', { kind: 'robot', nc: true, robot: true, dataDepth: 'state' }),
        birth('x1', {}),
      ],
      devices: [{ enterprise: 'M', machine: 'c1', gateway: 'gw', seenAt: NOW, sampleAt: NOW }],
      gateways: [],
    });
    const r = await app.inject({
      url: '/api/v1/registry/enterprises/M/machines',
      headers: apiToken(reg, 'bureau'),
    });
    expect(r.json()).toMatchObject({
      declared: { productionEquipment: 3, ncEquipment: 2, robots: 1 },
      discovered: { machines: 4, networked: 1, nc: 3, robots: 1, unknownNc: 1, unknownRobot: 1 },
      exceedsLedger: true,
      coverage: { production: 4 / 3, nc: 1.5, robots: 1 },
    });
    expect(r.json().byKind).toContainEqual({
      kind: 'cnc',
      nc: true,
      robot: false,
      dataDepth: 'full',
      machines: 2,
      networked: 1,
    });
  });
});
