/**
 * The fleet page in real Chromium against a real hub with simulated gateways: machines a page
 * at a time in the hub's attention order, with their state, link health and its reason, last
 * value; gateways with their journal backlog and, on demand, their connections' counters; a
 * machine that stops (DDEATH) or whose gateway is killed (the will's NDEATH) shows offline
 * and comes first; search and pages in the address; an enterprise user sees its own only.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataType } from '../../protocol/index.js';
import { waitFor } from '../support/wait.js';
import { axeViolations, launch, screenshot, skipWithoutChromium, VIEWPORTS } from './browser.js';
import { signInAs, startWebFleet, type WebFleet } from './fleet-fixture.js';

interface ApiMachine {
  enterprise: string;
  id: string;
  online: boolean;
}
interface ApiGateway {
  group: string;
  edgeNode: string;
  online: boolean;
  counters: Record<string, number>;
}

const PER_ENTERPRISE = 9;

async function shownMachines(page: Page): Promise<string[]> {
  return page
    .locator('[data-section="machines"] tbody tr')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-machine') ?? ''));
}

describe.skipIf(skipWithoutChromium)('the fleet page', () => {
  let browser: Browser;
  let fleet: WebFleet;
  const machines = async (query = 'order=attention&limit=50') =>
    fleet.get<{ total: number; machines: ApiMachine[] }>(`/api/v1/machines?${query}`);

  beforeAll(async () => {
    // 54 machines: more than one page of 50.
    [browser, fleet] = await Promise.all([
      launch(),
      startWebFleet({ enterprises: 6, machines: PER_ENTERPRISE }),
    ]);
    // e2e-01's gateway reports a backlog, a connection's counters and a degraded machine link.
    await fleet.enterprises[0]!.gateway.ndata([
      { name: 'Gateway/Queued', datatype: DataType.UInt64, value: 7 },
      { name: 'Connections/plc/Reads', datatype: DataType.UInt64, value: 123 },
      { name: 'Devices/cnc-1/Health', datatype: DataType.String, value: 'degraded' },
      { name: 'Devices/cnc-1/Health Reason', datatype: DataType.String, value: 'timeout after 1000 ms' },
    ]);
    // And a value of cnc-1 newer than its birth's: the last value the page shows.
    await new Promise((r) => setTimeout(r, 5));
    await fleet.enterprises[0]!.gateway.ddata('cnc-1', [
      { name: 'Signals/spindleSpeed', alias: 6, datatype: DataType.Double, value: 1234.5 },
    ]);
    await waitFor(
      async () => {
        await fleet.hub.flush();
        const { gateways } = await fleet.get<{ gateways: ApiGateway[] }>('/api/v1/gateways');
        const { latest } = await fleet.get<{ latest: { metric: string; value: unknown }[] }>(
          '/api/v1/machines/e2e-01/cnc-1',
        );
        return (
          gateways.find((g) => g.group === 'e2e-01')?.counters.queued === 7 &&
          latest.some((p) => p.metric === 'Signals/spindleSpeed' && p.value === 1234.5)
        );
      },
      "e2e-01's gateway metrics and cnc-1's value stored",
      20_000,
    );
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await fleet?.close();
  });

  it("shows the API's machines in attention order with link health, reason and last value, and the gateways", async () => {
    const { context, page } = await signInAs(browser, fleet, 'operator', { next: '/fleet' });
    const api = await machines();
    expect(api.total).toBe(6 * PER_ENTERPRISE);
    await page.locator('[data-section="machines"] tbody tr').first().waitFor();
    expect(await shownMachines(page)).toEqual(api.machines.map((m) => `${m.enterprise}/${m.id}`));
    // The degraded machine link comes first among the online ones, with its gateway's reason.
    expect(api.machines[0]).toMatchObject({ enterprise: 'e2e-01', id: 'cnc-1' });
    const row = page.locator('tr[data-machine="e2e-01/cnc-1"]');
    expect(await row.locator('[data-field="state"]').innerText()).toBe('运行');
    expect(await row.locator('[data-field="online"]').innerText()).toBe('是');
    expect(await row.locator('[data-field="health"]').innerText()).toBe('降级');
    await expect.poll(() => row.locator('[data-field="reason"]').innerText()).toBe('timeout after 1000 ms');
    await expect.poll(() => row.locator('[data-field="value"]').innerText()).toBe('spindleSpeed = 1,234.5');
    expect(await row.locator('th a').getAttribute('href')).toBe('/machines/e2e-01/cnc-1');
    expect(await page.locator('[data-section="machines"]').innerText()).toContain(
      `共 ${6 * PER_ENTERPRISE} 台`,
    );

    // Gateways: every one, the backlogged one first; its connections' counters on demand.
    const gateways = page.locator('[data-section="gateways"] tbody tr[data-gateway]');
    expect(await gateways.count()).toBe(6);
    expect(await gateways.first().getAttribute('data-gateway')).toBe('e2e-01/gw-1');
    expect(await gateways.first().locator('[data-field="backlog"]').innerText()).toBe('7');
    await gateways.first().getByRole('button', { name: '详情' }).click();
    const detail = page.getByRole('group', { name: '网关 e2e-01/gw-1 的连接与设备' });
    await expect.poll(() => detail.innerText()).toContain('Reads 123');
    expect(await detail.innerText()).toContain('timeout after 1000 ms');
    for (const [name, v] of Object.entries(VIEWPORTS)) {
      await page.setViewportSize(v);
      await screenshot(page, `fleet-${name}`);
    }
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    expect(await row.locator('[data-field="state"]').innerText()).toBe('running');
    expect(await row.locator('[data-field="health"]').innerText()).toBe('degraded');
    expect(await page.locator('[data-section="machines"] thead').innerText()).not.toMatch(/[\u4e00-\u9fff]/);
    await context.close();
  });

  it('pages and searches, with both in the address', async () => {
    const { context, page } = await signInAs(browser, fleet, 'admin', { next: '/fleet' });
    await page.locator('[data-section="machines"] tbody tr').first().waitFor();
    expect(await shownMachines(page)).toHaveLength(50);
    await page
      .getByRole('navigation', { name: '设备', exact: true })
      .getByRole('button', { name: '下一页' })
      .click();
    await page.waitForURL((u) => u.searchParams.get('page') === '2');
    const second = await machines('order=attention&limit=50&offset=50');
    await expect
      .poll(() => shownMachines(page))
      .toEqual(second.machines.map((m) => `${m.enterprise}/${m.id}`));
    await page.locator('input[name="q"]').fill('e2e-04');
    await page.waitForURL((u) => u.searchParams.get('q') === 'e2e-04' && !u.searchParams.has('page'));
    await expect.poll(async () => (await shownMachines(page)).length).toBe(PER_ENTERPRISE);
    expect((await shownMachines(page)).every((m) => m.startsWith('e2e-04/'))).toBe(true);
    await page.reload();
    await expect.poll(async () => (await shownMachines(page)).length).toBe(PER_ENTERPRISE);
    expect(await page.locator('input[name="q"]').inputValue()).toBe('e2e-04');
    await context.close();
  });

  it('shows a machine that stops, and the machines of a killed gateway, offline and first', async () => {
    const { context, page } = await signInAs(browser, fleet, 'admin', { next: '/fleet' });
    await page.locator('tr[data-machine="e2e-02/cnc-2"]').waitFor();
    expect(await page.locator('tr[data-machine="e2e-02/cnc-2"] [data-field="online"]').innerText()).toBe(
      '是',
    );
    await fleet.enterprises[1]!.gateway.ddeath('cnc-2');
    fleet.enterprises[2]!.gateway.kill();
    await waitFor(
      async () => {
        await fleet.hub.flush();
        const { machines: list } = await machines('limit=100');
        const on = new Map(list.map((m) => [`${m.enterprise}/${m.id}`, m.online]));
        return on.get('e2e-02/cnc-2') === false && on.get('e2e-03/cnc-1') === false;
      },
      'cnc-2 of e2e-02 and the machines of e2e-03 offline in the API',
      20_000,
    );
    await page.reload();
    const first = await machines('order=attention&limit=10');
    expect(first.machines.slice(0, 10).map((m) => `${m.enterprise}/${m.id}`)).toEqual([
      'e2e-02/cnc-2',
      ...Array.from({ length: PER_ENTERPRISE }, (_, i) => `e2e-03/cnc-${i + 1}`),
    ]);
    await expect
      .poll(async () => (await shownMachines(page)).slice(0, 10))
      .toEqual(first.machines.map((m) => `${m.enterprise}/${m.id}`));
    const stopped = page.locator('tr[data-machine="e2e-02/cnc-2"]');
    expect(await stopped.locator('[data-field="online"]').innerText()).toBe('否');
    expect(await stopped.locator('[data-field="state"]').innerText()).toBe('离线');
    const killed = page.locator('[data-section="gateways"] tbody tr[data-gateway]').first();
    expect(await killed.getAttribute('data-gateway')).toBe('e2e-03/gw-1');
    expect(await killed.locator('[data-field="online"]').innerText()).toBe('否');
    await context.close();
  });

  it('shows an enterprise user its own machines and gateway only', async () => {
    const { context, page } = await signInAs(browser, fleet, 'enterprise', {
      enterprise: 'e2e-05',
      next: '/fleet',
    });
    await page.locator('[data-section="machines"] tbody tr').first().waitFor();
    const shown = await shownMachines(page);
    expect(shown).toHaveLength(PER_ENTERPRISE);
    expect(shown.every((m) => m.startsWith('e2e-05/'))).toBe(true);
    const gateways = page.locator('[data-section="gateways"] tbody tr[data-gateway]');
    await expect.poll(() => gateways.count()).toBe(1);
    expect(await gateways.first().getAttribute('data-gateway')).toBe('e2e-05/gw-1');
    await context.close();
  });
});
