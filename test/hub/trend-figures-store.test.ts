/**
 * `GET /api/v1/statistics/trend` reads only what it returns: the store picks out the caller's
 * scope (enterprise codes, the enterprise rows' region) and the asked figures (each as its JSON
 * text as stored), instead of parsing every snapshot (docs/bench.md, API). What it returns must
 * not change: the asked figures of each snapshot, in their stored order, a null figure kept,
 * one the snapshot lacks left out, numbers to the last digit, and each caller its scope only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import { takeSnapshot } from '../../hub/stats/snapshot.js';
import { DEFAULT_WINDOWS } from '../../hub/stats/stats.js';
import { apiToken, cncBirth, silentLogger, TestEdgeNode, tempDir, waitFor } from './helpers.js';

type Snapshot = {
  day: string;
  level: string;
  code: string;
  takenAt: string;
  figures: Record<string, unknown>;
};
type Trend = { snapshots: Snapshot[] };

describe('the trend read in parts from the store', () => {
  const dir = tempDir();
  const hub = new Hub({
    dataDir: dir.path,
    mqtt: { port: 0, allowAnonymous: true },
    http: { port: 0 },
    flushIntervalMs: 20,
    logger: silentLogger(),
  });
  const a = new TestEdgeNode('TA-1', 'GW-A');
  const b = new TestEdgeNode('TB-2', 'GW-B');
  const tokens: Record<string, { authorization: string }> = {};

  const trendOf = async (query: string, auth: { authorization: string }): Promise<Trend> => {
    const r = await fetch(`http://127.0.0.1:${hub.httpPort}/api/v1/statistics/trend?${query}`, {
      headers: auth,
    });
    expect(r.status, query).toBe(200);
    return (await r.json()) as Trend;
  };

  beforeAll(async () => {
    await hub.start();
    for (const [code, region, production] of [
      ['TA-1', 'yiwu', 3],
      ['TB-2', 'panan', 4],
      ['TC-3', 'yiwu', 5],
    ] as const) {
      hub.registry.upsertEnterprise(
        {
          code,
          name: code,
          regionCode: region,
          industryCode: 'hardware',
          backbone: code !== 'TC-3',
          ledger: { productionEquipment: production, ncEquipment: 1, robots: 0 },
        },
        'test',
      );
    }
    tokens.admin = apiToken(hub.registry, 'admin');
    tokens.yiwu = apiToken(hub.registry, 'bureau', { regions: ['yiwu'] });
    tokens.own = apiToken(hub.registry, 'enterprise', { enterprise: 'TB-2' });
    await a.connect(hub.mqttUrl);
    await a.nbirth();
    for (const id of ['M1', 'M2']) await a.dbirth(id, cncBirth(Date.now()));
    await b.connect(hub.mqttUrl);
    await b.nbirth();
    await b.dbirth('N1', cncBirth(Date.now()));
    await waitFor(
      async () => {
        await hub.flush();
        return hub.registry.countMachines() === 3;
      },
      'three machines announced',
      20_000,
    );
    takeSnapshot(hub.registry, Date.now(), DEFAULT_WINDOWS, '2026-01-01');
    takeSnapshot(hub.registry, Date.now(), DEFAULT_WINDOWS, '2026-01-02');
  });

  afterAll(async () => {
    await a.close();
    await b.close();
    await hub.close();
    dir.remove();
  });

  it('gives each caller the snapshots of its scope only', async () => {
    const codes = (t: Trend) => t.snapshots.map((s) => `${s.day} ${s.code}`);
    const all = await trendOf('level=enterprise', tokens.admin!);
    expect(codes(all)).toEqual([
      '2026-01-01 TA-1',
      '2026-01-01 TB-2',
      '2026-01-01 TC-3',
      '2026-01-02 TA-1',
      '2026-01-02 TB-2',
      '2026-01-02 TC-3',
    ]);
    // A county bureau: the enterprises of its region (as their snapshot says), whole.
    const yiwu = await trendOf('level=enterprise', tokens.yiwu!);
    expect(yiwu.snapshots).toEqual(all.snapshots.filter((s) => s.figures.region === 'yiwu'));
    expect(codes(await trendOf('level=enterprise&figures=networked', tokens.own!))).toEqual([
      '2026-01-01 TB-2',
      '2026-01-02 TB-2',
    ]);
    expect(codes(await trendOf('level=region', tokens.yiwu!))).toEqual([
      '2026-01-01 yiwu',
      '2026-01-02 yiwu',
    ]);
    expect((await trendOf('level=city', tokens.yiwu!)).snapshots).toEqual([]);
    expect((await trendOf('level=region', tokens.own!)).snapshots).toEqual([]);
    expect(codes(await trendOf('level=enterprise&from=2026-01-02&code=TA-1', tokens.yiwu!))).toEqual([
      '2026-01-02 TA-1',
    ]);
    expect((await trendOf('level=enterprise&code=TB-2', tokens.yiwu!)).snapshots).toEqual([]);
  });

  it('keeps the asked figures as the whole snapshot has them: order, nulls, digits; absent ones left out', async () => {
    for (const [who, auth] of Object.entries(tokens)) {
      for (const level of ['enterprise', 'region', 'industry', 'city']) {
        const full = await trendOf(`level=${level}`, auth);
        for (const asked of [
          'networked',
          'online,networked',
          'utilisation,networkingRate,noSuchFigure,region',
        ]) {
          const keep = new Set(asked.split(','));
          const part = await trendOf(`level=${level}&figures=${asked}`, auth);
          const expected = full.snapshots.map((s) => ({
            ...s,
            figures: Object.fromEntries(Object.entries(s.figures).filter(([k]) => keep.has(k))),
          }));
          // Byte for byte, key order included: what the route answered before it read in parts.
          expect(JSON.stringify(part.snapshots), `${who} ${level} ${asked}`).toBe(JSON.stringify(expected));
        }
      }
    }
    const rates = await trendOf(
      'level=enterprise&figures=utilisation,networkingRate&to=2026-01-01',
      tokens.admin!,
    );
    const of = (code: string) => rates.snapshots.find((s) => s.code === code)?.figures;
    // TC-3 has no machines: its utilisation is null (kept), its rate 0; TA-1 networks 2 of 3.
    expect(of('TC-3')).toEqual({ networkingRate: 0, utilisation: null });
    expect(Object.keys(of('TC-3')!)).toContain('utilisation');
    expect(of('TA-1')?.networkingRate).toBe(2 / 3);
  });

  it('refuses a figure name that is not letters', async () => {
    const r = await fetch(
      `http://127.0.0.1:${hub.httpPort}/api/v1/statistics/trend?level=city&figures=${encodeURIComponent("a')--")}`,
      { headers: tokens.admin! },
    );
    expect(r.status).toBe(400);
    expect(() => hub.registry.database.snapshots.listFigures({ level: 'city', figures: ["x'"] })).toThrow(
      /figure name "x'": use letters, digits and "_" only/,
    );
  });
});
