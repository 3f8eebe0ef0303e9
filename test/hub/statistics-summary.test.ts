/**
 * GET /api/v1/statistics?enterprises=summary (docs/api.md "Statistics for the overview"), against
 * a hub with a simulated fleet over real MQTT and HTTP: the hub ranks the caller's enterprises by
 * networking rate and names the anomalous ones instead of listing them all; a county's bureau
 * user gets its county's; the other figures are those of the full reply; the reply is smaller.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataType, REGION_SEEDS } from '../../protocol/index.js';
import { waitFor } from '../support/wait.js';
import { startWebFleet, type WebFleet } from '../web/fleet-fixture.js';
import { apiToken, cncBirth } from './helpers.js';

interface Enterprise {
  code: string;
  name: string;
  region: string;
  networkingRate: number | null;
  beyondLedger: number;
}
interface Ranked {
  code: string;
  name: string;
  region: string;
  networkingRate: number;
}
interface Named {
  count: number;
  names: string[];
}
interface Statistics {
  networked: number;
  enterprisesExceedingLedger: number;
  target: number;
  byRegion: { code: string }[];
  byEnterprise: Enterprise[];
  enterpriseSummary?: {
    count: number;
    top: Ranked[];
    bottom: Ranked[];
    rateAbove100: Named;
    beyondLedger: Named;
    exceedingLedger: Named;
    unconfirmed: Named;
  };
}

/** The pages' rule (web/src/programme.ts `ranking`): best first; bottom worst first, none of top. */
function expected(rows: readonly Enterprise[], n: number): { top: string[]; bottom: string[] } {
  const rated = rows.filter((r) => r.networkingRate !== null);
  const top = [...rated].sort((a, b) => b.networkingRate! - a.networkingRate!).slice(0, n);
  const bottom = [...rated]
    .sort((a, b) => a.networkingRate! - b.networkingRate!)
    .filter((r) => !top.includes(r))
    .slice(0, n);
  return { top: top.map((r) => r.code), bottom: bottom.map((r) => r.code) };
}

describe('statistics for the overview: enterprises ranked by the hub', () => {
  let fleet: WebFleet;
  const ENTERPRISES = 8;

  beforeAll(async () => {
    // One machine each, then enterprise i announces i more: rates 10 %, 20 %, … 80 %, and the
    // last one 12 machines against its ledger of 10 (beyond it).
    fleet = await startWebFleet({ enterprises: ENTERPRISES, machines: 1 });
    const extra = (i: number) => (i === ENTERPRISES - 1 ? 11 : i);
    for (const [i, e] of fleet.enterprises.entries()) {
      for (let m = 2; m <= extra(i) + 1; m++) {
        await e.gateway.dbirth(`cnc-${m}`, cncBirth(Date.now()));
        await e.gateway.ddata(`cnc-${m}`, [
          { name: 'State', alias: 5, datatype: DataType.String, value: 'running' },
        ]);
      }
    }
    const total = fleet.enterprises.reduce((n, _, i) => n + 1 + extra(i), 0);
    await waitFor(
      async () => {
        await fleet.hub.flush();
        const s = await fleet.get<Statistics>('/api/v1/statistics');
        return s.networked + (s as unknown as { beyondLedger: number }).beyondLedger === total;
      },
      `all ${total} machines networked`,
      30_000,
    );
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it('ranks the enterprises and names the anomalous ones in place of the list, other figures unchanged', async () => {
    const full = await fleet.get<Statistics>('/api/v1/statistics');
    const r = await fetch(`${fleet.url}/api/v1/statistics?enterprises=summary&rank=3`, {
      headers: fleet.admin,
    });
    expect(r.status).toBe(200);
    const text = await r.text();
    const s = JSON.parse(text) as Statistics;
    expect(s.byEnterprise).toEqual([]);
    expect(s.target).toBe(full.target);
    expect(s.networked).toBe(full.networked);
    expect(s.byRegion.map((g) => g.code)).toEqual(full.byRegion.map((g) => g.code));
    const summary = s.enterpriseSummary!;
    expect(summary.count).toBe(ENTERPRISES);
    const want = expected(full.byEnterprise, 3);
    expect(summary.top.map((e) => e.code)).toEqual(want.top);
    expect(summary.bottom.map((e) => e.code)).toEqual(want.bottom);
    // Distinct rates here: the best is the one beyond its ledger (capped at 100 %), the worst at 10 %.
    expect(summary.top[0]).toMatchObject({
      code: fleet.enterprises[ENTERPRISES - 1]!.code,
      networkingRate: 1,
    });
    expect(summary.bottom[0]).toMatchObject({ code: fleet.enterprises[0]!.code, networkingRate: 0.1 });
    expect(summary.beyondLedger).toEqual({ count: 1, names: [fleet.enterprises[ENTERPRISES - 1]!.name] });
    // More machines or NC machines than declared: the last two (7 and 12 CNC machines, 6 NC declared).
    expect(summary.exceedingLedger.count).toBe(full.enterprisesExceedingLedger);
    expect(summary.exceedingLedger.names).toEqual(fleet.enterprises.slice(-2).map((e) => e.name));
    // Every enterprise's machines are unconfirmed (announced, never confirmed): the first five named.
    expect(summary.unconfirmed.count).toBe(ENTERPRISES);
    expect(summary.unconfirmed.names).toHaveLength(5);
    // Smaller than the full reply, which lists every enterprise.
    expect(text.length).toBeLessThan(JSON.stringify(full).length);
    // The default reply is unchanged: every enterprise, no summary.
    expect(full.byEnterprise).toHaveLength(ENTERPRISES);
    expect(full.enterpriseSummary).toBeUndefined();
  });

  it("gives a county's bureau user its county's enterprises only", async () => {
    const region = REGION_SEEDS[0]!.code;
    const bureau = apiToken(fleet.hub.registry, 'bureau', { regions: [region] });
    const get = async (q: string) =>
      (await (await fetch(`${fleet.url}/api/v1/statistics${q}`, { headers: bureau })).json()) as Statistics;
    const [full, s] = await Promise.all([get(''), get('?enterprises=summary')]);
    const own = full.byEnterprise.map((e) => e.code);
    expect(own.length).toBeGreaterThan(0);
    expect(own.length).toBeLessThan(ENTERPRISES);
    expect(s.enterpriseSummary!.count).toBe(own.length);
    const listed = [...s.enterpriseSummary!.top, ...s.enterpriseSummary!.bottom];
    expect(listed.map((e) => e.code).sort()).toEqual([...own].sort());
    expect(listed.every((e) => e.region === region)).toBe(true);
  });

  it('refuses a rank outside 1–50', async () => {
    for (const rank of [0, 51, -1]) {
      const r = await fetch(`${fleet.url}/api/v1/statistics?enterprises=summary&rank=${rank}`, {
        headers: fleet.admin,
      });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { code: string }).code).toBe('WANJI_E_API_VALIDATION');
    }
  });
});
