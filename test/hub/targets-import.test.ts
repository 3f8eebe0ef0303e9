/**
 * Programme target rows from a file (POST /api/v1/targets/import, docs/api.md "Programme
 * targets") against a real hub over HTTP: a CSV in Chinese words (kind names, 义乌, 55%, a
 * title row, an empty region for the city, an empty year for every year) checked as a dry run,
 * each refused row with why as codes; all rows or none, then the good ones with partial=true,
 * each set as PUT /api/v1/targets does and audited; a bureau user refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import type { ImportReason } from '../../hub/registry/import-reasons.js';
import { AuditLog } from '../../hub/security/audit.js';
import { apiToken, silentLogger, tempDir } from './helpers.js';

interface Report {
  what: string;
  rows: number;
  accepted: number;
  refusedRows: number;
  applied: boolean;
  created: number;
  updated: number;
  refused: { row: number; reasons: string[]; details: ImportReason[]; columns: string[] }[];
  skipped: { row: number; kind: string }[];
}
interface Stored {
  kind: string;
  region: string | null;
  year: number | null;
  value: number;
}

const FILE = [
  '2027 年规划目标',
  '目标类型,区县,年份,目标值',
  '联网设备,,2027,"12,000"', // the city's, for 2027 (updates nothing seeded for 2027: new)
  '联网设备,义乌市,2027年,1600', // a county's own
  '骨干企业机器联网率,,,55%', // a rate as a percentage, every year
  'workshopsFactories,全市,2022,210', // the key works too; updates the seeded 2022 row
  '未知指标,,2027,5', // row 7: unknown kind
  '骨干企业装备数控化率,义乌,,60%', // row 8: a threshold is city-wide
  '在役工业机器人,,2027,abc', // row 9: not a number
  '每年新增工业机器人,,20x7,100', // row 10: not a year
  '区域级工业互联网平台,,2027,1', // rows 11, 12: the same target twice
  '区域级工业互联网平台,,2027,2',
].join('\n');

describe('programme target rows imported from a file', () => {
  const dir = tempDir();
  let hub: Hub;
  let base: string;
  let operator: { authorization: string };

  beforeAll(async () => {
    hub = new Hub({ dataDir: dir.path, mqtt: { port: 0 }, http: { port: 0 }, logger: silentLogger() });
    await hub.start();
    base = `http://127.0.0.1:${hub.httpPort!}`;
    operator = apiToken(hub.registry, 'operator');
  });
  afterAll(async () => {
    await hub.close();
    dir.remove();
  });

  const post = (query: string, headers = operator) =>
    fetch(`${base}/api/v1/targets/import?file=targets.csv${query}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'text/csv' },
      body: FILE,
    });
  const stored = async (): Promise<Stored[]> =>
    (
      (await (await fetch(`${base}/api/v1/targets/list`, { headers: operator })).json()) as {
        targets: Stored[];
      }
    ).targets;
  const find = (list: Stored[], kind: string, region: string | null, year: number | null) =>
    list.find((t) => t.kind === kind && t.region === region && t.year === year);

  it('checks every row first and says why each refused one is, as codes too; a dry run writes nothing', async () => {
    const before = await stored();
    const r = await post('&dryRun=true');
    expect(r.status).toBe(200);
    const report = (await r.json()) as Report;
    expect(report).toMatchObject({ what: 'targets', rows: 10, accepted: 4, refusedRows: 6, applied: false });
    expect(report.created).toBe(3);
    expect(report.updated).toBe(1);
    expect(report.skipped).toEqual([{ row: 1, kind: 'title', reason: expect.any(String) }]);
    const byRow = new Map(report.refused.map((x) => [x.row, x]));
    expect([...byRow.keys()]).toEqual([7, 8, 9, 10, 11, 12]);
    expect(byRow.get(7)!.details).toEqual([
      {
        code: 'targetKindUnknown',
        params: { value: '未知指标', kinds: expect.stringContaining('联网设备 (networked)') },
      },
    ]);
    expect(byRow.get(7)!.columns).toEqual(['目标类型']);
    expect(byRow.get(8)!.details).toEqual([{ code: 'rateCityWide', params: {} }]);
    expect(byRow.get(8)!.columns).toEqual(['区县']);
    expect(byRow.get(9)!.details).toEqual([{ code: 'targetValueInvalid', params: { value: 'abc' } }]);
    expect(byRow.get(10)!.details).toEqual([{ code: 'yearInvalid', params: { value: '20x7' } }]);
    expect(byRow.get(11)!.details).toEqual([{ code: 'targetRepeated', params: { rows: '11, 12' } }]);
    expect(byRow.get(8)!.reasons[0]).toMatch(/city-wide/);
    expect(await stored()).toEqual(before);
  });

  it('imports nothing while rows are refused; with partial=true the good rows, each as PUT /api/v1/targets', async () => {
    const refused = await post('');
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as Report).applied).toBe(false);
    expect(find(await stored(), 'networked', null, 2027)).toBeUndefined();

    const r = await post('&partial=true');
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ applied: true, created: 3, updated: 1 });
    const list = await stored();
    expect(find(list, 'networked', null, 2027)?.value).toBe(12_000);
    expect(find(list, 'networked', 'yiwu', 2027)?.value).toBe(1_600);
    expect(find(list, 'backboneNetworkingRate', null, null)?.value).toBe(0.55);
    expect(find(list, 'workshopsFactories', null, 2022)?.value).toBe(210);
    expect(find(list, 'platformsRegional', null, 2027)).toBeUndefined();
    const audit = new AuditLog(hub.registry.database);
    expect(
      audit
        .list({ action: 'target.import' })
        .map((a) => a.outcome)
        .sort(),
    ).toEqual(['ok', 'refused']);
    const set = audit.list({ action: 'target.set' });
    expect(set.filter((a) => (a.detail as { import?: string }).import === 'targets.csv')).toHaveLength(4);
  });

  it('refuses a bureau user', async () => {
    const r = await post('&dryRun=true', apiToken(hub.registry, 'bureau'));
    expect(r.status).toBe(403);
  });
});
