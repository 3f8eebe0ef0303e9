/**
 * Issue 9, "uploads are bounded while they are read": 30 MB of newlines froze the hub 31 s and
 * then killed it (heap out of memory), and a 414 KB XLSX expanding to 400 MB took it to 1 GB,
 * because import-file.ts built every row before checking the row limit. Against a started hub
 * over real HTTP: refusals come with 413/400 and a code, nothing is imported, the refusal is
 * audited, and the hub answers other requests meanwhile.
 */

import { writeFileSync } from 'node:fs';
import { Agent, type ClientRequest, request } from 'node:http';
import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRegistryCommand } from '../../cli/registry.js';
import { Hub } from '../../hub/hub.js';
import { readTable, readTableFrom } from '../../hub/registry/import-file.js';
import { AuditLog } from '../../hub/security/audit.js';
import { runCommand } from '../support/cli-io.js';
import { apiToken, silentLogger, tempDir } from './helpers.js';
import {
  part,
  repeatedPart,
  SHEET_HEAD,
  SHEET_TAIL,
  sheetRow,
  workbookParts,
  zip,
} from './upload-bounds-xlsx.js';

const MiB = 1_048_576;
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const HEADER = 'code,name,region,industry,backbone,production_equipment,nc_equipment,robots';
const GOOD = [
  'E01,金华精密机械有限公司,婺城区,新能源汽车及配件,是,100,80,5',
  'E02,"Yiwu Flask Co., Ltd.",Yiwu City,flask,no,"1,200",300,0',
  'E03,永康五金,永康,五金,否,40,10,2',
];
const HEADER_CELLS = HEADER.split(',');

interface Answer {
  readonly status: number;
  readonly body: { code?: string; message?: string; [k: string]: unknown };
  /** Body bytes the client had written when the answer came. */
  readonly written: number;
}

/**
 * POSTs a body written piece by piece by `pieces` (a generator, so it can stop), over a fresh
 * keep-alive connection, as browsers and curl send (a `Connection: close` request has the hub
 * close at once after its answer, racing the rest of the body). Between pieces `between` runs
 * (another request, say). Writing stops once the answer is in; then the upload is dropped.
 */
function post(
  port: number,
  path: string,
  headers: Record<string, string | number>,
  pieces: Iterable<Buffer>,
  between?: () => Promise<void>,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const req: ClientRequest = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path,
      headers,
      agent,
    });
    req.on('response', (res) => {
      answered = true;
      const at = written;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), written: at });
        req.destroy();
        agent.destroy();
      });
      res.on('error', reject);
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    void (async () => {
      for (const p of pieces) {
        if (answered || req.destroyed) return;
        written += p.length;
        if (!req.write(p)) {
          await new Promise<void>((r) => {
            const done = (): void => {
              req.off('drain', done);
              req.off('close', done);
              r();
            };
            req.on('drain', done);
            req.on('close', done);
          });
        }
        if (between !== undefined && !answered) await between();
      }
      if (!answered && !req.destroyed) req.end();
    })().catch(reject);
  });
}

function* repeat(piece: Buffer, times: number): Generator<Buffer> {
  for (let i = 0; i < times; i++) yield piece;
}

describe('uploads are bounded while they are read (issue 9)', () => {
  let dir: ReturnType<typeof tempDir>;
  let hub: Hub;
  let port: number;
  let operator: { authorization: string };
  let bureau: { authorization: string };

  beforeAll(async () => {
    dir = tempDir();
    hub = new Hub({ dataDir: dir.path, mqtt: { port: 0 }, http: { port: 0 }, logger: silentLogger() });
    await hub.start();
    port = hub.httpPort!;
    operator = apiToken(hub.registry, 'operator');
    bureau = apiToken(hub.registry, 'bureau');
  });
  afterAll(async () => {
    await hub.close();
    dir.remove();
  });

  const url = (query = 'dryRun=true') => `/api/v1/registry/import?file=ledger&${query}`;
  /** Another request, answered while an upload is refused: the hub is not frozen. */
  const otherRequest = async (): Promise<number> =>
    (await fetch(`http://127.0.0.1:${port}/api/v1/registry/regions`, { headers: bureau })).status;
  const refusals = () =>
    new AuditLog(hub.registry.database)
      .list({ action: 'enterprise.import' })
      .filter((a) => a.outcome === 'refused');

  it('refuses 30 MB of newlines declared up front with 413 before reading it, and answers others', async () => {
    const before = refusals().length;
    const r = await post(
      port,
      url(),
      { ...operator, 'content-type': 'text/csv', 'content-length': 30 * MiB },
      repeat(Buffer.alloc(MiB, '\n'), 30),
    );
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({
      code: 'WANJI_E_REGISTRY_IMPORT_TOO_LARGE',
      message: expect.stringMatching(/ledger: larger than 16,777,216 bytes/),
    });
    expect(await otherRequest()).toBe(200);
    expect(hub.registry.enterprises()).toEqual([]);
    expect(refusals()).toHaveLength(before + 1);
    expect(refusals()[0]).toMatchObject({
      target: 'ledger',
      detail: { code: 'WANJI_E_REGISTRY_IMPORT_TOO_LARGE' },
    });
  });

  it('stops 30 MB of newlines sent without a length at the row limit (blank rows count), answering others meanwhile', async () => {
    const statuses: number[] = [];
    const r = await post(
      port,
      url(),
      { ...operator, 'content-type': 'text/csv' },
      repeat(Buffer.alloc(MiB, '\n'), 30),
      async () => {
        statuses.push(await otherRequest());
      },
    );
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({
      code: 'WANJI_E_REGISTRY_IMPORT_FORMAT',
      message: expect.stringMatching(/more than 100,000 rows after the header \(blank rows count too\)/),
    });
    // The refusal came while the body was still arriving, not after 30 MB were held.
    expect(r.written).toBeLessThan(30 * MiB);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(await otherRequest()).toBe(200);
    expect(hub.registry.enterprises()).toEqual([]);
  });

  it('refuses a streamed body past 16 MiB with 413, whatever it holds', async () => {
    const r = await post(
      port,
      url(),
      { ...operator, 'content-type': 'text/csv' },
      repeat(Buffer.alloc(MiB, ','), 20),
    );
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('WANJI_E_REGISTRY_IMPORT_TOO_LARGE');
    expect(await otherRequest()).toBe(200);
  });

  it('refuses a CSV of more rows than the limit, and imports one whose blank rows stay within it', async () => {
    const rows = Array.from(
      { length: 100_001 },
      (_, i) => `E${String(i).padStart(6, '0')},n,yiwu,nev,no,1,1,0`,
    );
    const body = Buffer.from(`${HEADER}\n${rows.join('\n')}\n`);
    const r = await post(port, url('dryRun=false'), { ...operator, 'content-type': 'text/csv' }, [body]);
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/more than 100,000 rows/);
    expect(hub.registry.enterprises()).toEqual([]);

    const blanks = '\r\n'.repeat(50_000);
    const ok = await post(port, url('dryRun=false'), { ...operator, 'content-type': 'text/csv' }, [
      Buffer.from(`\uFEFF${HEADER}\r\n${GOOD[0]}\r\n${blanks}${GOOD[1]}\r\n${GOOD[2]}\r\n`),
    ]);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ rows: 3, applied: true, created: 3 });
    expect(hub.registry.enterprises().map((e) => e.code)).toEqual(['E01', 'E02', 'E03']);
    // Row numbers are the spreadsheet's, blank rows included.
    const refused = await post(port, url(), { ...operator, 'content-type': 'text/csv' }, [
      Buffer.from(`${HEADER}\n\n\nE09,X,Atlantis,nev,no,1,1,0\n`),
    ]);
    expect(refused.body).toMatchObject({ refused: [{ row: 4, code: 'E09' }] });
  });

  it('refuses an XLSX bomb: declared too large (413 before inflating), lying about its size, or too many rows (400)', async () => {
    const header = sheetRow(1, HEADER_CELLS);
    // 200 MB of the same rows' worth of spaces: deflates to a few hundred KB.
    const honest = await repeatedPart(
      'xl/worksheets/sheet1.xml',
      SHEET_HEAD + header,
      ' '.repeat(1024),
      200_000,
      SHEET_TAIL,
    );
    const bomb = zip([...workbookParts(), honest]);
    expect(bomb.length).toBeLessThan(MiB);
    const declared = await post(port, url(), { ...operator, 'content-type': XLSX }, [bomb]);
    expect(declared.status).toBe(413);
    expect(declared.body).toMatchObject({
      code: 'WANJI_E_REGISTRY_IMPORT_TOO_LARGE',
      message: expect.stringMatching(
        /xl\/worksheets\/sheet1\.xml expands to 204,800,\d+ bytes of XML, over the 67,108,864/,
      ),
    });

    const liar = zip([...workbookParts(), { ...honest, declaredSize: 10_000 }]);
    const lied = await post(port, url(), { ...operator, 'content-type': XLSX }, [liar]);
    expect(lied.status).toBe(400);
    expect(lied.body).toMatchObject({
      code: 'WANJI_E_REGISTRY_IMPORT_FORMAT',
      message: expect.stringMatching(/sheet1\.xml: it inflates beyond the 10000 bytes it declares/),
    });

    // A million empty rows: small XML per row, so the row limit stops it, not the byte limit.
    const rows = await repeatedPart(
      'xl/worksheets/sheet1.xml',
      SHEET_HEAD + header,
      '<row/>',
      1_000_000,
      SHEET_TAIL,
    );
    const many = await post(port, url(), { ...operator, 'content-type': XLSX }, [
      zip([...workbookParts(), rows]),
    ]);
    expect(many.status).toBe(400);
    expect(many.body.message).toMatch(/more than 100,000 rows/);

    // One cell of 100,000 characters: over a spreadsheet cell's 32,767.
    const long = await repeatedPart(
      'xl/worksheets/sheet1.xml',
      `${SHEET_HEAD}${header}<row r="2"><c t="inlineStr"><is><t>`,
      'A',
      100_000,
      `</t></is></c></row>${SHEET_TAIL}`,
    );
    const cell = await post(port, url(), { ...operator, 'content-type': XLSX }, [
      zip([...workbookParts(), long]),
    ]);
    expect(cell.status).toBe(400);
    expect(cell.body.message).toMatch(/row 2, column 1 holds more than 32,767 characters/);
    expect(hub.registry.enterprises().map((e) => e.code)).toEqual(['E01', 'E02', 'E03']);
  });

  it('refuses four XLSX bombs at once while answering other requests', async () => {
    const header = sheetRow(1, HEADER_CELLS);
    const sheet = await repeatedPart(
      'xl/worksheets/sheet1.xml',
      SHEET_HEAD + header,
      ' '.repeat(1024),
      400_000,
      SHEET_TAIL,
    );
    // Each claims 60 KB and holds 400 MB; the hub inflates only to what it claims.
    const bomb = zip([...workbookParts(), { ...sheet, declaredSize: 60_000 }]);
    const before = refusals().length;
    const [answers, others] = await Promise.all([
      Promise.all(
        Array.from({ length: 4 }, () => post(port, url(), { ...operator, 'content-type': XLSX }, [bomb])),
      ),
      Promise.all(Array.from({ length: 4 }, () => otherRequest())),
    ]);
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400, 400]);
    expect(others).toEqual([200, 200, 200, 200]);
    expect(refusals()).toHaveLength(before + 4);
  });

  it('still imports a normal XLSX, from exceljs and hand-built with inline strings', async () => {
    const wb = new ExcelJS.Workbook();
    const sheet = wb.addWorksheet('台账');
    sheet.addRow([
      '企业代码',
      '企业名称',
      '所属区县',
      '行业',
      '是否骨干企业',
      '生产设备',
      '数控设备',
      '工业机器人',
    ]);
    sheet.addRow(['X1', '东阳纺织', '东阳', '纺织', '是', 50, 20, 1]);
    const file = Buffer.from(await wb.xlsx.writeBuffer());
    const r = await post(port, url('dryRun=false'), { ...operator, 'content-type': XLSX }, [file]);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ applied: true, created: 1 });
    expect(hub.registry.enterprise('X1')).toMatchObject({
      regionCode: 'dongyang',
      ledger: { productionEquipment: 50, ncEquipment: 20, robots: 1 },
    });

    const built = zip([
      ...workbookParts(),
      part(
        'xl/worksheets/sheet1.xml',
        `${SHEET_HEAD}${sheetRow(1, HEADER_CELLS)}${sheetRow(3, ['X2', 'A &amp; B 针织', 'pujiang', 'textiles', 'no', '30', '10', '0'])}${SHEET_TAIL}`,
      ),
    ]);
    const h = await post(port, url('dryRun=false'), { ...operator, 'content-type': XLSX }, [built]);
    expect(h.body).toMatchObject({ applied: true, created: 1 });
    expect(hub.registry.enterprise('X2')?.name).toBe('A & B 针织');
  });

  it('reports 100,000 rows of one code without listing every row in every reason (was rows²), counting them all and listing the first 1,000', async () => {
    const rows = Array.from({ length: 100_000 }, () => 'D1,Dup,yiwu,nev,no,1,1,0').join('\n');
    const r = await post(port, url(), { ...operator, 'content-type': 'text/csv' }, [
      Buffer.from(`${HEADER}\n${rows}\n`),
    ]);
    expect(r.status).toBe(200);
    const refused = r.body.refused as { row: number; reasons: string[] }[];
    expect(r.body.refusedRows).toBe(100_000);
    expect(refused).toHaveLength(1_000);
    expect(refused.map((x) => x.row).slice(0, 3)).toEqual([2, 3, 4]);
    expect(refused[0]!.reasons).toEqual([
      'code "D1" appears in rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 99990 more: keep one',
    ]);
    expect(await otherRequest()).toBe(200);
  });

  it('reads a file cut into any chunks as it reads it whole (quotes, CRLF and UTF-8 split across chunks)', async () => {
    const text = `\uFEFF${HEADER}\r\n${GOOD.join('\r\n')}\r\n"E04","名称 ""引号"", 逗号\r\n换行",yiwu,nev,no,1,1,0\r\n`;
    const whole = await readTable(Buffer.from(text), 'csv', 'f.csv');
    expect(whole.map((r) => r.n)).toEqual([1, 2, 3, 4, 5]);
    expect(whole[4]!.cells[1]).toBe('名称 "引号", 逗号\r\n换行');
    const bytes = Buffer.from(text);
    for (const size of [1, 2, 3, 7]) {
      const pieces = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) =>
        bytes.subarray(i * size, (i + 1) * size),
      );
      expect(await readTableFrom(Readable.from(pieces), 'csv', 'f.csv')).toEqual(whole);
    }
  });

  it('imports an XLSX of 3,000 enterprises whose sheet and shared strings span many inflated chunks', async () => {
    const wb = new ExcelJS.Workbook();
    const sheet = wb.addWorksheet('台账');
    sheet.addRow(HEADER_CELLS);
    for (let i = 0; i < 3_000; i++) {
      sheet.addRow([
        `B${String(i).padStart(4, '0')}`,
        `批量企业 ${i} 有限公司 & Co.`,
        'yiwu',
        'nev',
        i % 2 ? '是' : '否',
        20,
        10,
        1,
      ]);
    }
    const r = await post(port, url(), { ...operator, 'content-type': XLSX }, [
      Buffer.from(await wb.xlsx.writeBuffer()),
    ]);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ rows: 3_000, accepted: 3_000, created: 3_000, refused: [] });
  });

  it('wanji registry import refuses a file over 16 MiB the same way', async () => {
    const cliDir = tempDir();
    try {
      const big = `${cliDir.path}/big.csv`;
      writeFileSync(big, Buffer.alloc(17 * MiB, '\n'));
      const r = await runCommand(runRegistryCommand, ['import', big, '-d', cliDir.path]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/big\.csv: larger than 16,777,216 bytes.*WANJI_E_REGISTRY_IMPORT_TOO_LARGE/);
      const rows = `${cliDir.path}/rows.csv`;
      writeFileSync(rows, `${HEADER}\n${'\n'.repeat(200_000)}`);
      const many = await runCommand(runRegistryCommand, ['import', rows, '-d', cliDir.path]);
      expect(many.code).toBe(1);
      expect(many.err).toMatch(/more than 100,000 rows/);
    } finally {
      cliDir.remove();
    }
  });
});
