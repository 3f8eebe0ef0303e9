/**
 * The programme overview in real Chromium against a hub with a simulated fleet and programme
 * targets set in its registry: it shows the API's figures (GET /api/v1/statistics) formatted, the
 * regions on the tile map and in the table, the trend of a daily snapshot, rankings and the
 * anomalies (machines beyond a ledger, unconfirmed machines); a county's bureau user sees its
 * county's own target, never the city's; English is one click away; screenshots at the three
 * viewports; no serious axe violation.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataType } from '../../protocol/index.js';
import { apiToken, cncBirth } from '../hub/helpers.js';
import { waitFor } from '../support/wait.js';
import {
  axeViolations,
  fitsWidth,
  launch,
  num,
  pct,
  screenshot,
  skipWithoutChromium,
  VIEWPORTS,
} from './browser.js';
import { signInAs, snapshotToday, startWebFleet, type WebFleet } from './fleet-fixture.js';

interface Group {
  code: string;
  nameZh: string;
  networked: number;
  online: number;
  networkingRate: number | null;
  backboneEnterprises: number;
  backboneMeetingTarget: number;
}
interface Statistics {
  target: number;
  progress: number | null;
  networked: number;
  online: number;
  networkingRate: number | null;
  ncRate: number | null;
  robots: number;
  networkedRobots: number;
  beyondLedger: number;
  networkedUnconfirmed: number;
  city: Group & {
    networkingRateMean: number | null;
    backboneMeetingNetworking: number;
    backboneMeetingNc: number;
  };
  byRegion: Group[];
  byIndustry: Group[];
  byEnterprise: { code: string; name: string; networkingRate: number | null }[];
}

describe.skipIf(skipWithoutChromium)('the programme overview page', () => {
  let browser: Browser;
  let fleet: WebFleet;

  beforeAll(async () => {
    [browser, fleet] = await Promise.all([
      launch(),
      // The targets are registry data, set as the bureau would (PUT /api/v1/targets).
      startWebFleet({
        targets: [
          { kind: 'networked', year: 2022, value: 12_000 },
          { kind: 'networked', region: 'yiwu', year: 2022, value: 1_500 },
        ],
      }),
    ]);
    // The first enterprise announces 8 machines more than the 4 it has: 12 against a ledger of 10.
    const first = fleet.enterprises[0]!;
    for (let m = 5; m <= 12; m++) {
      await first.gateway.dbirth(`cnc-${m}`, cncBirth(Date.now()));
      await first.gateway.ddata(`cnc-${m}`, [
        { name: 'State', alias: 5, datatype: DataType.String, value: 'running' },
      ]);
    }
    await waitFor(
      async () => {
        await fleet.hub.flush();
        return (await fleet.get<Statistics>('/api/v1/statistics')).beyondLedger === 2;
      },
      '2 machines beyond the first ledger',
      20_000,
    );
    await snapshotToday(fleet);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await fleet?.close();
  });

  it("shows the API's figures, map, table, trend, rankings and anomalies, at three sizes", async () => {
    const s = await fleet.get<Statistics>('/api/v1/statistics');
    expect(s.target).toBe(12_000);
    const { context, page } = await signInAs(browser, fleet, 'admin');
    try {
      await page.locator('[data-figure=networked]').waitFor();
      const text = async (sel: string) => (await page.locator(sel).first().innerText()).trim();
      expect(await text('[data-figure=networked]')).toBe(num(s.networked));
      expect(await text('[data-figure=target]')).toBe(num(12_000));
      expect(await text('[data-figure=online]')).toBe(num(s.online));
      expect(await text('[data-figure=networkingRate]')).toBe(pct(s.networkingRate));
      expect(await text('[data-figure=ncRate]')).toBe(pct(s.ncRate));
      expect(await text('[data-figure=networkingRateMean]')).toContain(pct(s.city.networkingRateMean));
      expect(await text('[data-figure=progress]')).toContain(pct(s.progress));
      expect(await text('[data-figure=backboneMeetingTarget]')).toContain(num(s.city.backboneMeetingTarget));
      expect(await text('[data-figure=networkedRobots]')).toBe(num(s.networkedRobots));
      // The rates say their form and whether they are declared or measured.
      const kpis = await page.locator('.kpis').innerText();
      expect(kpis).toContain('合计口径');
      expect(kpis).toContain('申报');
      expect(kpis).toContain('监测');
      expect(kpis).toContain('联网率 ≥ 50%');
      expect(kpis).toContain('数控化率 ≥ 70%');

      // Every county-level area is a tile; each region row has the API's figures.
      expect(await page.locator('.tile').count()).toBe(s.byRegion.length);
      expect(s.byRegion.length).toBe(11);
      for (const g of s.byRegion) {
        const row = page.locator(`table[data-table=byRegion] tr[data-code="${g.code}"]`);
        expect(await row.locator('th').innerText()).toBe(g.nameZh);
        expect(await row.locator('[data-col=networked]').innerText()).toBe(num(g.networked));
        expect(await row.locator('[data-col=networkingRate]').innerText()).toBe(pct(g.networkingRate));
        expect(await page.locator(`.tile[data-region="${g.code}"] .rate`).innerText()).toBe(
          pct(g.networkingRate),
        );
      }
      expect(
        await page.locator('table[data-table=byRegion] tr[data-code=yiwu] [data-col=target]').innerText(),
      ).toBe(num(1_500));
      expect(await page.locator('table[data-table=byIndustry] tbody tr').count()).toBe(s.byIndustry.length);

      // Rankings: the enterprise at 100 % (capped) first, the API's order.
      const best = [...s.byEnterprise].sort((a, b) => (b.networkingRate ?? 0) - (a.networkingRate ?? 0))[0]!;
      expect(best.code).toBe(fleet.enterprises[0]!.code);
      expect(await page.locator('[data-ranking=topEnterprises] li').first().getAttribute('data-code')).toBe(
        best.code,
      );
      // The hub ranks the enterprises (enterprises=summary): the page shows its lists, and never
      // downloads the whole enterprise list to rank them itself.
      const summary = (
        await fleet.get<{ enterpriseSummary: { top: { code: string }[]; bottom: { code: string }[] } }>(
          '/api/v1/statistics?enterprises=summary&rank=5',
        )
      ).enterpriseSummary;
      const shownCodes = (key: string) =>
        page
          .locator(`[data-ranking=${key}] li`)
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-code')));
      expect(await shownCodes('topEnterprises')).toEqual(summary.top.map((e) => e.code));
      expect(await shownCodes('bottomEnterprises')).toEqual(summary.bottom.map((e) => e.code));
      const asked: { url: string; bytes: number }[] = [];
      page.on('response', (r) => {
        if (new URL(r.url()).pathname === '/api/v1/statistics')
          void r.body().then((b) => asked.push({ url: r.url(), bytes: b.length }));
      });
      await page.reload();
      await page.locator('[data-ranking=topEnterprises] li').first().waitFor();
      await waitFor(() => asked.length > 0, 'the overview asked for its statistics', 10_000);
      expect(asked.every((a) => new URL(a.url).searchParams.get('enterprises') === 'summary')).toBe(true);
      expect(Math.max(...asked.map((a) => a.bytes))).toBeLessThan(JSON.stringify(s).length);

      // Highest and lowest apart, even when rates tie (most regions are at 40 % here).
      const codesOf = (key: string) =>
        page
          .locator(`[data-ranking=${key}] li`)
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-code')));
      const [top, bottom] = [await codesOf('topRegions'), await codesOf('bottomRegions')];
      expect(top.length).toBe(3);
      expect(bottom.length).toBeGreaterThan(0);
      expect(top.filter((c) => bottom.includes(c))).toEqual([]);

      // Anomalies: machines beyond the ledger (named), unconfirmed machines.
      const beyond = await text('[data-anomaly=beyondLedger]');
      expect(beyond).toContain(num(s.beyondLedger));
      expect(beyond).toContain(fleet.enterprises[0]!.name);
      expect(await text('[data-anomaly=unconfirmed]')).toContain(num(s.networkedUnconfirmed));
      expect(await page.locator('[data-anomaly=exceedingLedger]').count()).toBe(1);

      // The trend from today's snapshot, also as a table.
      expect(await page.locator('table[data-table=trend] tbody tr').count()).toBe(1);
      expect(await page.locator('canvas').count()).toBeGreaterThanOrEqual(2);

      for (const [name, v] of Object.entries(VIEWPORTS)) {
        await page.setViewportSize(v);
        // Nothing off-screen sideways once the charts follow the new size: tables scroll inside their panels.
        if (!(await fitsWidth(page))) expect.fail(`${name}: the page is wider than the viewport`);
        await screenshot(page, `overview-${name}`);
      }
      await page.setViewportSize(VIEWPORTS.wall);
      expect(await axeViolations(page)).toEqual([]);

      // English one click away: labels in English, numbers as English writes them.
      await page.getByRole('button', { name: 'English' }).click();
      await page.getByRole('heading', { name: 'Networked machines overview' }).waitFor();
      const en = await page.locator('.kpis').innerText();
      expect(en).toContain('pooled');
      expect(en).toContain('declared');
      expect(en).toContain('measured');
      expect(en).not.toMatch(/[\u4e00-\u9fff]/);
      expect(await text('[data-figure=target]')).toBe((12_000).toLocaleString('en'));
      await screenshot(page, 'overview-en');
      expect(await axeViolations(page)).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("gives a county's bureau user its county's target and figures, not the city's", async () => {
    const yiwu = await fetch(`${fleet.url}/api/v1/statistics`, {
      headers: apiToken(fleet.hub.registry, 'bureau', { regions: ['yiwu'] }),
    });
    const s = (await yiwu.json()) as Statistics;
    expect(s.target).toBe(1_500);
    const { context, page } = await signInAs(browser, fleet, 'bureau', { regions: ['yiwu'] });
    try {
      await page.locator('[data-figure=networked]').waitFor();
      expect((await page.locator('[data-figure=target]').innerText()).trim()).toBe(num(1_500));
      expect((await page.locator('[data-figure=networked]').innerText()).trim()).toBe(num(s.networked));
      expect(await page.locator('[data-figure=scope]').innerText()).toContain('义乌市');
      expect(await page.locator('body').innerText()).not.toContain(num(12_000));
      expect(await page.locator('.tile').count()).toBe(1);
      const rows = page.locator('table[data-table=byRegion] tbody tr');
      expect(await rows.count()).toBe(1);
      expect(await rows.first().getAttribute('data-code')).toBe('yiwu');
      // Its enterprises only, in the rankings.
      const codes = await page
        .locator('[data-ranking=topEnterprises] li')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-code')));
      expect(codes).toEqual(s.byEnterprise.map((e) => e.code));
      await screenshot(page, 'overview-county');
    } finally {
      await context.close();
    }
  });
});
