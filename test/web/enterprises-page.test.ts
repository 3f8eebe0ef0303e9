/**
 * The enterprises pages in real Chromium against a real hub with a simulated fleet: the table
 * shows the hub's figures (ledger 申报, networked and online 监测, rates, a sparkline from the
 * daily snapshots), sorts and filters with the view in the address (so a reload keeps it), an
 * enterprise's page shows its ledger history, declared against discovered machines, its
 * machines and gateways; a bureau user gets the aggregates but neither the fleet page nor its
 * data, an enterprise user only its own enterprise.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDay } from '../../hub/registry/days.js';
import { takeSnapshot } from '../../hub/stats/snapshot.js';
import { axeViolations, launch, pct, screenshot, skipWithoutChromium, VIEWPORTS } from './browser.js';
import { signInAs, startWebFleet, type WebFleet } from './fleet-fixture.js';

interface EnterpriseStats {
  code: string;
  productionEquipment: number;
  ncEquipment: number;
  robots: number;
  networked: number;
  online: number;
  networkingRate: number | null;
  ncRate: number | null;
  meetsBackboneTarget: boolean;
}
interface Statistics {
  byEnterprise: EnterpriseStats[];
}

async function shownCodes(page: Page): Promise<string[]> {
  return page
    .locator('table.enterprises tbody tr')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-code') ?? ''));
}

describe.skipIf(skipWithoutChromium)('the enterprises pages', () => {
  let browser: Browser;
  let fleet: WebFleet;
  const days: string[] = [];

  beforeAll(async () => {
    [browser, fleet] = await Promise.all([launch(), startWebFleet({ enterprises: 6, machines: 4 })]);
    const { hub } = fleet;
    // A second declaration of e2e-01: its ledger has a history.
    hub.registry.upsertEnterprise(
      {
        code: 'e2e-01',
        name: fleet.enterprises[0]!.name,
        regionCode: fleet.enterprises[0]!.regionCode,
        industryCode: fleet.enterprises[0]!.industryCode,
        backbone: true,
        ledger: { productionEquipment: 12, ncEquipment: 7, robots: 2 },
      },
      'zhang.san',
    );
    // Three daily snapshots; e2e-02 retires a machine before the last, so its trend falls.
    const now = Date.now();
    for (let k = 2; k >= 0; k--) days.push(localDay(now - k * 86_400_000, hub.registry.utcOffsetMin));
    takeSnapshot(hub.registry, now, hub.windows, days[0]);
    takeSnapshot(hub.registry, now, hub.windows, days[1]);
    const r = await fetch(`${fleet.url}/api/v1/machines/e2e-02/cnc-4/retire`, {
      method: 'POST',
      headers: fleet.admin,
    });
    expect(r.status).toBe(200);
    takeSnapshot(hub.registry, now, hub.windows, days[2]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await fleet?.close();
  });

  it("shows the hub's figures for every enterprise, with a sparkline of the snapshots", async () => {
    const stats = await fleet.get<Statistics>('/api/v1/statistics');
    const { context, page } = await signInAs(browser, fleet, 'admin');
    await page.goto(`${fleet.url}/enterprises`);
    await page.locator('tr[data-code="e2e-06"]').waitFor();
    expect((await shownCodes(page)).sort()).toEqual(stats.byEnterprise.map((e) => e.code).sort());
    const cell = (code: string, figure: string) =>
      page.locator(`tr[data-code="${code}"] td[data-figure="${figure}"]`).innerText();
    for (const e of stats.byEnterprise) {
      expect(await cell(e.code, 'productionEquipment'), e.code).toBe(String(e.productionEquipment));
      expect(await cell(e.code, 'ncEquipment'), e.code).toBe(String(e.ncEquipment));
      expect(await cell(e.code, 'robots'), e.code).toBe(String(e.robots));
      expect(await cell(e.code, 'networked'), e.code).toBe(String(e.networked));
      expect(await cell(e.code, 'online'), e.code).toBe(String(e.online));
      expect(await cell(e.code, 'networkingRate'), e.code).toBe(pct(e.networkingRate));
      expect(await cell(e.code, 'ncRate'), e.code).toBe(pct(e.ncRate));
    }
    const e01 = stats.byEnterprise.find((e) => e.code === 'e2e-01') as EnterpriseStats;
    expect(e01.productionEquipment).toBe(12);
    expect(await cell('e2e-01', 'networkingRate')).toBe(pct(4 / 12));
    // Declared and measured columns say which they are.
    const head = await page.locator('table.enterprises thead').innerText();
    expect(head).toMatch(/生产设备\s*申报/);
    expect(head).toMatch(/联网设备\s*监测/);
    // The sparkline says the snapshots' figures: e2e-02 fell from 4 to 3.
    const spark = page.locator('tr[data-code="e2e-02"] svg[role="img"]');
    await expect.poll(() => spark.getAttribute('aria-label')).toContain('4, 4, 3');
    // The hub's export of the same table, as a download.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: '导出全部（CSV）' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^wanji-enterprises-\d{4}-\d{2}-\d{2}\.csv$/);
    for (const [name, v] of Object.entries(VIEWPORTS)) {
      await page.setViewportSize(v);
      await screenshot(page, `enterprises-${name}`);
    }
    expect(await axeViolations(page)).toEqual([]);
    // One language at a time: in English, no Chinese in the headers, regions by English name.
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Enterprises' }).waitFor();
    expect(await page.locator('table.enterprises thead').innerText()).not.toMatch(/[\u4e00-\u9fff]/);
    expect(await page.locator('tr[data-code="e2e-06"] td').first().innerText()).toMatch(/^[\x20-\x7e]+$/);
    await context.close();
  });

  it('sorts and filters, with the view in the address so that a reload keeps it', async () => {
    const { context, page } = await signInAs(browser, fleet, 'operator');
    await page.goto(`${fleet.url}/enterprises`);
    await page.locator('tr[data-code="e2e-06"]').waitFor();
    const header = page.locator('table.enterprises thead th', { hasText: '联网设备' }).locator('button');
    await header.click();
    await page.waitForURL(
      (u) => u.searchParams.get('sort') === 'networked' && u.searchParams.get('dir') === 'asc',
    );
    await expect.poll(async () => (await shownCodes(page))[0]).toBe('e2e-02');
    await header.click();
    await page.waitForURL((u) => u.searchParams.get('dir') === 'desc');
    await expect.poll(async () => (await shownCodes(page)).at(-1)).toBe('e2e-02');
    expect(await page.locator('th[aria-sort="descending"]').innerText()).toContain('联网设备');

    await page.locator('select[name="backbone"]').selectOption('no');
    await page.waitForURL((u) => u.searchParams.get('backbone') === 'no');
    await expect.poll(() => shownCodes(page)).toEqual(['e2e-04', 'e2e-06', 'e2e-02']);
    const region = fleet.enterprises[3]!.regionCode;
    await page.locator('select[name="region"]').selectOption(region);
    await page.waitForURL((u) => u.searchParams.get('region') === region);
    await expect.poll(() => shownCodes(page)).toEqual(['e2e-04']);
    await page.reload();
    await page.locator('tr[data-code="e2e-04"]').waitFor();
    expect(await shownCodes(page)).toEqual(['e2e-04']);
    expect(await page.locator('select[name="region"]').inputValue()).toBe(region);

    await page.getByRole('button', { name: '清除筛选' }).click();
    await page.waitForURL((u) => !u.searchParams.has('region') && !u.searchParams.has('backbone'));
    await page.locator('input[name="q"]').fill('e2e-05');
    await page.waitForURL((u) => u.searchParams.get('q') === 'e2e-05');
    await expect.poll(() => shownCodes(page)).toEqual(['e2e-05']);
    await page.locator('select[name="target"]').selectOption('meets');
    await page.waitForURL((u) => u.searchParams.get('target') === 'meets');
    const stats = await fleet.get<Statistics>('/api/v1/statistics');
    const meets = stats.byEnterprise.find((e) => e.code === 'e2e-05')!.meetsBackboneTarget;
    await expect.poll(() => shownCodes(page)).toEqual(meets ? ['e2e-05'] : []);
    await context.close();
  });

  it("shows an enterprise's ledger history, declared against discovered machines, its machines and gateways", async () => {
    const { context, page } = await signInAs(browser, fleet, 'admin', { next: '/enterprises' });
    await page.locator('tr[data-code="e2e-01"] a').click();
    await page.waitForURL((u) => u.pathname === '/enterprises/e2e-01');
    const history = page.locator('[data-section="declarations"] tbody tr');
    await expect.poll(() => history.count()).toBe(2);
    // Newest first: 12 production machines declared by zhang.san, then the fixture's 10.
    expect(await history.nth(0).innerText()).toMatch(/12\s+7\s+2\s+是\s+zhang\.san/);
    expect(await history.nth(1).innerText()).toMatch(/10\s+6\s+1/);
    const ledger = await fleet.get<{ discovered: { machines: number; unconfirmed: number } }>(
      '/api/v1/registry/enterprises/e2e-01/machines',
    );
    expect(await page.locator('[data-section="ledger"] tr[data-row="production"]').innerText()).toMatch(
      new RegExp(`12\\s+${ledger.discovered.machines}\\s+`),
    );
    expect(await page.locator('[data-figure="unconfirmed"]').innerText()).toBe(
      String(ledger.discovered.unconfirmed),
    );
    const machines = page.locator('[data-section="machines"] tbody tr');
    expect(await machines.count()).toBe(4);
    expect(
      await page
        .locator('[data-section="machines"] tr[data-machine="cnc-1"] [data-field="status"]')
        .innerText(),
    ).toBe('未确认');
    expect(
      await page.locator('[data-section="machines"] tr[data-machine="cnc-1"] a').getAttribute('href'),
    ).toBe('/machines/e2e-01/cnc-1');
    expect(await page.locator('[data-section="gateways"] tr[data-gateway="gw-1"]').innerText()).toMatch(
      /gw-1\s+是/,
    );
    for (const [name, v] of Object.entries(VIEWPORTS)) {
      await page.setViewportSize(v);
      await screenshot(page, `enterprise-${name}`);
    }
    expect(await axeViolations(page)).toEqual([]);

    // A retired machine is counted as such, and out of the discovered machines.
    await page.goto(`${fleet.url}/enterprises/e2e-02`);
    await expect
      .poll(() =>
        page
          .locator('[data-figure="retired"]')
          .innerText()
          .catch(() => ''),
      )
      .toBe('1');
    await context.close();
  });

  it('gives a bureau user the aggregates of its regions, never the fleet page or its data', async () => {
    const regions = [fleet.enterprises[0]!.regionCode, fleet.enterprises[1]!.regionCode];
    const { context, page } = await signInAs(browser, fleet, 'bureau', { regions, next: '/enterprises' });
    await page.locator('tr[data-code="e2e-01"]').waitFor();
    expect((await shownCodes(page)).sort()).toEqual(['e2e-01', 'e2e-02']);
    expect(await page.locator('header nav').innerText()).toContain('企业');
    expect(await page.locator('header nav').innerText()).not.toContain('设备与网关');
    // The API refuses the fleet's data to this session, whatever the page does.
    const statuses = await page.evaluate(async () =>
      Promise.all(
        ['/api/v1/machines', '/api/v1/gateways', '/api/v1/machines/e2e-01/cnc-1'].map(
          async (p) => (await fetch(p)).status,
        ),
      ),
    );
    expect(statuses).toEqual([403, 403, 403]);
    await page.goto(`${fleet.url}/fleet`);
    await page.getByText('当前账号无权查看此页面。').waitFor();
    expect(await page.locator('[data-section="machines"]').count()).toBe(0);
    // Its enterprise's page: aggregates only, no machine list.
    await page.goto(`${fleet.url}/enterprises/e2e-01`);
    await page.getByText('当前账号只能查看汇总数据，不含设备明细。').waitFor();
    expect(await page.locator('[data-section="ledger"]').count()).toBe(1);
    expect(await page.locator('[data-section="machines"]').count()).toBe(0);
    // Outside its regions: as if it did not exist.
    await page.goto(`${fleet.url}/enterprises/e2e-03`);
    await page.getByText('没有这家企业，或当前账号无权查看。').waitFor();
    await context.close();
  });

  it('shows an enterprise user its own enterprise only', async () => {
    const { context, page } = await signInAs(browser, fleet, 'enterprise', {
      enterprise: 'e2e-03',
      next: '/enterprises',
    });
    await page.locator('tr[data-code="e2e-03"]').waitFor();
    expect(await shownCodes(page)).toEqual(['e2e-03']);
    await page.goto(`${fleet.url}/enterprises/e2e-04`);
    await page.getByText('没有这家企业，或当前账号无权查看。').waitFor();
    await page.goto(`${fleet.url}/enterprises/e2e-03`);
    await expect.poll(() => page.locator('[data-section="machines"] tbody tr').count()).toBe(4);
    await context.close();
  });
});
