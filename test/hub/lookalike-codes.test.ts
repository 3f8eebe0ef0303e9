/**
 * Issue 9: identifiers that pass for others. An enterprise code is the gateways' Sparkplug
 * group id and the key of the bureau's figures: `Ｅ００１` (full width) or `e001` beside `E001`
 * would be a second enterprise nobody can tell apart on screen or in an export. Declaring one
 * is refused, naming the registered code, through the API (real HTTP) and the import; so are
 * control, bidirectional and zero-width characters in codes and names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import { apiToken, silentLogger, tempDir } from './helpers.js';

const HEADER = 'code,name,region,industry,backbone,production_equipment,nc_equipment,robots';

describe('look-alike enterprise codes are refused', () => {
  const dir = tempDir();
  const hub = new Hub({ dataDir: dir.path, mqtt: { port: 0 }, http: { port: 0 }, logger: silentLogger() });
  let auth: { authorization: string };
  const url = (path: string): string => `http://127.0.0.1:${hub.httpPort}${path}`;

  const declare = async (code: string, name = '金华精密机械有限公司') => {
    const r = await fetch(url(`/api/v1/registry/enterprises/${encodeURIComponent(code)}`), {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        name,
        region: '婺城区',
        industry: '新能源汽车及配件',
        backbone: false,
        ledger: { productionEquipment: 10, ncEquipment: 5, robots: 0 },
      }),
    });
    return { code: r.status, body: (await r.json()) as { code?: string; message?: string } };
  };
  const importCsv = async (...rows: string[]) => {
    const r = await fetch(url('/api/v1/registry/import?file=ledger.csv'), {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/csv' },
      body: [HEADER, ...rows].join('\r\n'),
    });
    return {
      code: r.status,
      body: (await r.json()) as {
        applied: boolean;
        refused: { row: number; code: string; reasons: string[] }[];
      },
    };
  };

  beforeAll(async () => {
    await hub.start();
    auth = apiToken(hub.registry, 'operator');
    expect((await declare('E001')).code).toBe(200);
  });
  afterAll(async () => {
    await hub.close();
    dir.remove();
  });

  it('PUT of a full-width or case-only variant of E001: 400 naming E001; E001 itself still updates', async () => {
    for (const variant of ['Ｅ００１', 'e001', 'Ｅ001']) {
      const r = await declare(variant);
      expect(r.code).toBe(400);
      expect(r.body.code).toBe('WANJI_E_REGISTRY_INVALID_DECLARATION');
      // A case-only variant names the registered code; a full-width one the plain form, E001.
      expect(r.body.message).toMatch(
        variant === 'e001' ? /looks like the registered enterprise "E001"/ : /write it as "E001"/,
      );
    }
    expect(hub.registry.enterprises().map((e) => e.code)).toEqual(['E001']);
    expect((await declare('E001', '金华精密机械股份有限公司')).code).toBe(200);
    expect(hub.registry.enterprise('E001')?.name).toBe('金华精密机械股份有限公司');
  });

  it('a code in a compatibility form is refused even with nothing like it registered, with the plain form to use', async () => {
    const r = await declare('Ｅ００９');
    expect(r.code).toBe(400);
    expect(r.body.message).toMatch(/not in its plain \(NFKC\) form: write it as "E009"/);
  });

  it('control, bidirectional and zero-width characters are refused in codes and names', async () => {
    const zeroWidth = await declare('E00\u200B1');
    expect(zeroWidth.code).toBe(400);
    expect(zeroWidth.body.message).toMatch(/U\+200B/);
    const bidi = await declare('E010', 'ACME\u202Egnp.exe');
    expect(bidi.code).toBe(400);
    expect(bidi.body.message).toMatch(/name .*bidirectional control character \(U\+202E\)/);
    const control = await declare('E011', 'ACME\u0007');
    expect(control.code).toBe(400);
    expect(control.body.message).toMatch(/name .*control character \(U\+0007\)/);
    expect(hub.registry.enterprises().map((e) => e.code)).toEqual(['E001']);
  });

  it('the import refuses a row whose code looks like a registered one, and two rows that look alike', async () => {
    const r = await importCsv(
      'e001,Other Co,婺城区,新能源汽车及配件,否,10,5,0',
      'E777,Seven Co,婺城区,新能源汽车及配件,否,10,5,0',
      'e777,Seven Again,婺城区,新能源汽车及配件,否,10,5,0',
      'E002,Fine Co,婺城区,新能源汽车及配件,否,10,5,0',
      'E003,"Bad\u200DName",婺城区,新能源汽车及配件,否,10,5,0',
    );
    expect(r.code).toBe(422);
    expect(r.body.applied).toBe(false);
    const reasons = Object.fromEntries(r.body.refused.map((x) => [x.row, x.reasons.join(' | ')]));
    expect(Object.keys(reasons)).toEqual(['2', '3', '4', '6']);
    expect(reasons[2]).toMatch(/code "e001" looks like the registered enterprise "E001"/);
    expect(reasons[3]).toMatch(/code "E777" looks like "e777" \(row 4\) in the same file/);
    expect(reasons[4]).toMatch(/code "e777" looks like "E777" \(row 3\) in the same file/);
    expect(reasons[6]).toMatch(/name .*invisible character \(U\+200D\)/);
    expect(hub.registry.enterprises().map((e) => e.code)).toEqual(['E001']);
  });
});
