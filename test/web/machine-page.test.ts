/**
 * The machine page in real Chromium against a real hub with simulated gateways: the header and
 * the live values are the API's; a DDATA the test's gateway sends appears on the page without
 * a reload (server-sent events); the history chart and the utilisation table (the hub's
 * figures) are there; a bureau user is told it may not see the page and the live URL answers
 * 403 to its session; screenshots at the three viewports, no serious axe violation.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataType } from '../../protocol/index.js';
import { axeViolations, launch, screenshot, skipWithoutChromium, VIEWPORTS } from './browser.js';
import { signInAs, startWebFleet, type WebFleet } from './fleet-fixture.js';

interface ApiLatest {
  machine: { enterprise: string; id: string; kind: string | null; online: boolean };
  latest: { metric: string; value: unknown }[];
}
interface ApiMachineDays {
  day: string;
  machines: { machine: string; utilisation: number | null }[];
}

const PATH = '/machines/e2e-01/cnc-1';

const liveValue = (page: Page, metric: string) =>
  page.locator(`[data-section="live"] tr[data-metric="${metric}"] [data-value]`);

describe.skipIf(skipWithoutChromium)('the machine page', () => {
  let browser: Browser;
  let fleet: WebFleet;

  beforeAll(async () => {
    [browser, fleet] = await Promise.all([launch(), startWebFleet({ enterprises: 2, machines: 2 })]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await fleet?.close();
  });

  it('shows the API values, then a new DDATA live without a reload', async () => {
    const { context, page } = await signInAs(browser, fleet, 'operator', { next: PATH });
    const api = await fleet.get<ApiLatest>('/api/v1/machines/e2e-01/cnc-1');
    await page.locator('[data-live-state].open').waitFor();
    expect(await page.locator('[data-fact="enterprise"]').textContent()).toBe('e2e-01');
    expect(await page.locator('[data-fact="kind"]').textContent()).toBe(api.machine.kind);
    expect(await page.locator('[data-fact="online"]').textContent()).toBe(api.machine.online ? '是' : '否');
    // Every value the API has is on the page (numbers as the page's locale writes them).
    const speed = api.latest.find((l) => l.metric === 'Signals/spindleSpeed')?.value;
    expect(typeof speed).toBe('number');
    await expect
      .poll(() => liveValue(page, 'Signals/spindleSpeed').textContent())
      .toBe((speed as number).toLocaleString('zh-CN'));
    expect(await liveValue(page, 'State').textContent()).toBe('运行');

    // The gateway sends; the page changes without a reload.
    let reloaded = false;
    page.on('framenavigated', () => {
      reloaded = true;
    });
    const gateway = fleet.enterprises[0]!.gateway;
    await gateway.ddata('cnc-1', [
      { name: 'Signals/spindleSpeed', alias: 6, datatype: DataType.Double, value: 4321.5 },
      { name: 'State', alias: 5, datatype: DataType.String, value: 'alarm' },
    ]);
    await expect
      .poll(() => liveValue(page, 'Signals/spindleSpeed').textContent(), { timeout: 10_000 })
      .toBe((4321.5).toLocaleString('zh-CN'));
    await expect.poll(() => liveValue(page, 'State').textContent(), { timeout: 10_000 }).toBe('报警');
    expect(reloaded).toBe(false);
    // The state timeline's last period follows the live State.
    await expect
      .poll(() => page.locator('[data-section="timeline"] tbody tr th').first().textContent(), {
        timeout: 10_000,
      })
      .toBe('报警');

    // The history chart and its figures in text; the utilisation table holds the hub's figures.
    await page.locator('[data-section="history"] [role="img"] canvas').first().waitFor();
    await page.locator('[data-history-summary]').waitFor();
    // Utilisation moves with the clock (in alarm, powered on and not running, it falls), and the
    // page took its figure when it loaded: load it again between two readings of the API, and
    // its figure lies between theirs.
    const utilisationNow = async () => {
      const days = await fleet.get<ApiMachineDays>(
        '/api/v1/statistics/state-time/machines?enterprise=e2e-01',
      );
      return { day: days.day, u: days.machines.find((x) => x.machine === 'cnc-1')?.utilisation ?? null };
    };
    const before = await utilisationNow();
    await page.reload();
    await page.locator('[data-section="utilisation"] tbody tr').first().waitFor();
    const shown = await page
      .locator(`[data-section="utilisation"] tr[data-day="${before.day}"] [data-utilisation]`)
      .textContent();
    const after = await utilisationNow();
    if (before.u === null || after.u === null) expect(shown).toBe('–');
    else {
      // zh-CN percent with one decimal, e.g. "89.3%".
      const pct = Number((shown ?? '').replace('%', '')) / 100;
      expect(pct, `${shown} between ${after.u} and ${before.u}`).toBeGreaterThanOrEqual(
        Math.min(before.u, after.u) - 0.0005,
      );
      expect(pct).toBeLessThanOrEqual(Math.max(before.u, after.u) + 0.0005);
    }
    await page.locator('[data-section="timeline"] [role="img"] canvas').first().waitFor();

    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'machine');
    await context.close();
  });

  it('fits the phone and the 4K wall', async () => {
    for (const viewport of [VIEWPORTS.phone, VIEWPORTS.wall4k]) {
      const { context, page } = await signInAs(browser, fleet, 'admin', { next: PATH, viewport });
      await page.locator('[data-live-state].open').waitFor();
      await page.locator('[data-history-summary]').waitFor();
      // Nothing wider than the screen: tables scroll inside their panels.
      const width = await page.locator('html').evaluate((el) => el.scrollWidth);
      expect(width, `${viewport.width}×${viewport.height}`).toBeLessThanOrEqual(viewport.width);
      expect(await axeViolations(page)).toEqual([]);
      await screenshot(page, 'machine');
      await context.close();
    }
  });

  it('tells a bureau user it may not see the page, and its session gets 403 from the live URL', async () => {
    const { context, page } = await signInAs(browser, fleet, 'bureau', { next: PATH });
    await page.getByRole('alert').filter({ hasText: '当前账号无权查看此页面' }).waitFor();
    expect(await page.locator('[data-section="live"]').count()).toBe(0);
    const status = await page.evaluate(async () => {
      const r = await fetch('/api/v1/machines/e2e-01/cnc-1/live', { credentials: 'same-origin' });
      return r.status;
    });
    expect(status).toBe(403);
    await context.close();
  });

  it("gives another enterprise's user the page's not-found, and its own machine live", async () => {
    const other = await signInAs(browser, fleet, 'enterprise', { enterprise: 'e2e-02', next: PATH });
    await other.page.getByText('没有这台设备，或当前账号无权查看。').waitFor();
    await other.context.close();
    const own = await signInAs(browser, fleet, 'enterprise', { enterprise: 'e2e-01', next: PATH });
    await own.page.locator('[data-live-state].open').waitFor();
    await own.context.close();
  });
});
