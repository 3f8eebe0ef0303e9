/**
 * Import refusals carry stable codes and parameters beside their English sentences (issue 12,
 * "every string translated"; docs/api.md "Imports"), against a started hub over real HTTP: a
 * refused ledger row, a refused declaration row, a header lacking a column and a file over the
 * size limit each say why as `{ code, params }`, and every code has words in both languages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import { IMPORT_LIMITS } from '../../hub/registry/import-file.js';
import { type ImportReason, REASON_TEMPLATES, reasonText } from '../../hub/registry/import-reasons.js';
import { apiToken, silentLogger, tempDir } from './helpers.js';

const HEADER = 'code,name,region,industry,backbone,production equipment,nc equipment,robots';

interface Refused {
  row: number;
  reasons: string[];
  details: ImportReason[];
  columns: string[];
}

describe('import refusals as codes', () => {
  let dir: ReturnType<typeof tempDir>;
  let hub: Hub;
  let base: string;
  let operator: { authorization: string };

  beforeAll(async () => {
    dir = tempDir();
    hub = new Hub({ dataDir: dir.path, mqtt: { port: 0 }, http: { port: 0 }, logger: silentLogger() });
    await hub.start();
    base = `http://127.0.0.1:${hub.httpPort!}`;
    operator = apiToken(hub.registry, 'operator');
  });
  afterAll(async () => {
    await hub.close();
    dir.remove();
  });

  const post = (path: string, body: string | Buffer, type = 'text/csv') =>
    fetch(`${base}${path}`, { method: 'POST', headers: { ...operator, 'content-type': type }, body });

  it('gives each refused ledger row its reasons as codes and parameters, in the order of the English ones', async () => {
    const r = await post(
      '/api/v1/registry/import?file=bad.csv',
      [
        HEADER,
        'E01,Good,yiwu,nev,yes,10,5,1',
        'E02,Atlantis,Atlantis,nev,maybe,10,x,1',
        'E03,More NC,yiwu,nev,no,10,11,0',
        'E04,Twice,yiwu,nev,no,1,1,0',
        'E04,Twice again,yiwu,nev,no,1,1,0',
        'a/b,Slash,yiwu,whaling,no,1,1,0',
      ].join('\n'),
    );
    expect(r.status).toBe(422);
    const body = (await r.json()) as { refused: Refused[] };
    const byRow = new Map(body.refused.map((x) => [x.row, x]));
    expect(byRow.get(3)!.details).toEqual([
      { code: 'regionUnknown', params: { value: 'Atlantis', valid: expect.stringContaining('义乌市') } },
      { code: 'notYesNo', params: { field: 'backbone', value: 'maybe' } },
      { code: 'notWholeNumber', params: { field: 'nc', value: 'x' } },
    ]);
    // The English sentences stay as they were, one per code.
    expect(byRow.get(3)!.reasons).toHaveLength(3);
    expect(byRow.get(3)!.reasons[0]).toMatch(/^unknown region "Atlantis"/);
    expect(byRow.get(4)!.details).toEqual([
      { code: 'ncExceedsProduction', params: { nc: 11, production: 10 } },
    ]);
    expect(byRow.get(5)!.details).toEqual([{ code: 'codeRepeated', params: { value: 'E04', rows: '5, 6' } }]);
    expect(byRow.get(7)!.details.map((d) => d.code)).toEqual(['industryUnknown', 'mqttCharacters']);
    expect(byRow.get(7)!.details[1]!.params).toEqual({ field: 'code', value: 'a/b' });
    // Worded in Chinese by the one catalogue the web app and the annotated sheet use.
    expect(reasonText(byRow.get(3)!.details[2]!, 'zh-CN')).toBe('数控设备数“x”不是大于或等于 0 的整数');
    expect(reasonText(byRow.get(4)!.details[0]!, 'zh-CN')).toBe('数控设备数（11）大于生产设备总数（10）');
  });

  it('gives a refused declaration row its codes', async () => {
    const r = await post(
      '/api/v1/targets/platforms/import?file=p.csv',
      ['name,level,operator,year', 'P1,国家级,nobody,20x1'].join('\n'),
    );
    expect(r.status).toBe(422);
    const body = (await r.json()) as { refused: Refused[] };
    expect(body.refused[0]!.details).toEqual([
      { code: 'yearInvalid', params: { value: '20x1' } },
      { code: 'levelUnknown', params: { value: '国家级' } },
      { code: 'operatorUnknown', params: { value: 'nobody' } },
    ]);
  });

  it('says why a whole file is refused: a header lacking columns, a file over the limit', async () => {
    const header = await post('/api/v1/registry/import?file=h.csv', 'code,name\nE1,x\n');
    expect(header.status).toBe(400);
    const h = (await header.json()) as { code: string; message: string; reasons: ImportReason[] };
    expect(h.code).toBe('WANJI_E_REGISTRY_IMPORT_FORMAT');
    expect(h.message).toMatch(/no region column/);
    expect(h.reasons.map((x) => [x.code, x.params.field])).toEqual([
      ['columnMissing', 'region'],
      ['columnMissing', 'industry'],
      ['columnMissing', 'production'],
      ['columnMissing', 'nc'],
      ['columnMissing', 'robots'],
    ]);
    expect(reasonText(h.reasons[0]!, 'zh-CN')).toMatch(/^缺少“区县”列（可用列名：.*所属区县/);

    const declarations = await post('/api/v1/targets/recognitions/import?file=r.csv', 'name\nx\n');
    expect(declarations.status).toBe(400);
    const d = (await declarations.json()) as { reasons: ImportReason[] };
    expect(d.reasons.map((x) => x.params.field)).toEqual(['enterprise', 'kind', 'year']);

    const big = await post(
      '/api/v1/registry/import?file=big.csv',
      Buffer.alloc(IMPORT_LIMITS.maxBytes + 1, 0x41),
    );
    expect(big.status).toBe(413);
    const b = (await big.json()) as { code: string; reasons: ImportReason[] };
    expect(b.code).toBe('WANJI_E_REGISTRY_IMPORT_TOO_LARGE');
    expect(b.reasons).toEqual([
      { code: 'tooLarge', params: { maxBytes: IMPORT_LIMITS.maxBytes, maxRows: IMPORT_LIMITS.maxRows } },
    ]);
  });

  it('has words for every code in both languages, with the same placeholders', () => {
    const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    const zh = REASON_TEMPLATES['zh-CN'];
    const en = REASON_TEMPLATES.en;
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    for (const [code, text] of Object.entries(zh)) {
      expect(placeholders(text), code).toEqual(placeholders(en[code as keyof typeof en]));
      // vue-i18n reads | as plural and @ as a link: the catalogue must hold neither.
      expect(text, code).not.toMatch(/[|@]/);
      expect(en[code as keyof typeof en], code).not.toMatch(/[|@]/);
    }
  });
});
