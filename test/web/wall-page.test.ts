/**
 * The wall screen (大屏) in real Chromium against a hub with a simulated fleet: the API's
 * figures, the whole screen without scrolling at 1920×1080 and 3840×2160, panels that rotate
 * by themselves, English one click away, no serious axe violation, and a hub restart (closed
 * and started again on the same data dir and port) survived: the last figures stay, a
 * discreet "reconnecting" shows, and the screen recovers by itself.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import { silentLogger } from '../support/temp.js';
import { axeViolations, launch, num, pct, screenshot, skipWithoutChromium, VIEWPORTS } from './browser.js';
import { signInAs, snapshotToday, startWebFleet, type WebFleet } from './fleet-fixture.js';

interface Statistics {
  networked: number;
  online: number;
  target: number;
  networkingRate: number | null;
  ncRate: number | null;
  generatedAt: string;
}

/** What the tests read of the page's globals (the tests compile without the DOM library). */
interface PageGlobals {
  readonly document: {
    readonly documentElement: { readonly scrollHeight: number; readonly scrollWidth: number };
    querySelector(selector: string): { getAttribute(name: string): string | null } | null;
  };
  readonly innerWidth: number;
  readonly innerHeight: number;
  seenPanels?: Set<string>;
}

/**
 * The page's scroll size against the viewport, once it has settled at its size (a chart follows
 * a resize a frame later): waits up to 10 s for it to fit, then measures either way.
 */
async function fits(page: Page) {
  const measure = () => {
    const g = globalThis as unknown as PageGlobals;
    const d = g.document.documentElement;
    return {
      height: d.scrollHeight,
      width: d.scrollWidth,
      innerHeight: g.innerHeight,
      innerWidth: g.innerWidth,
    };
  };
  await page
    .waitForFunction(
      () => {
        const g = globalThis as unknown as PageGlobals;
        const d = g.document.documentElement;
        return d.scrollHeight <= g.innerHeight && d.scrollWidth <= g.innerWidth;
      },
      null,
      { timeout: 10_000 },
    )
    .catch(() => undefined);
  return page.evaluate(measure);
}

describe.skipIf(skipWithoutChromium)('the wall screen', () => {
  let browser: Browser;
  let fleet: WebFleet;
  let restarted: Hub | undefined;

  beforeAll(async () => {
    [browser, fleet] = await Promise.all([launch(), startWebFleet()]);
    // Today's snapshot, so the trend panel has a day to show.
    await snapshotToday(fleet);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await restarted?.close();
    await fleet?.close();
  });

  it("fills the screen without scrolling, shows the API's figures and rotates its panels", async () => {
    const s = await fleet.get<Statistics>('/api/v1/statistics');
    const { context, page } = await signInAs(browser, fleet, 'bureau', { next: '/wall?rotate=2' });
    try {
      await page.locator('.wall [data-figure=networked]').waitFor();
      expect(await page.locator('header.top').count()).toBe(0);
      const text = async (sel: string) => (await page.locator(`.wall ${sel}`).first().innerText()).trim();
      expect(await text('[data-figure=networked]')).toBe(num(s.networked));
      expect(await text('[data-figure=target]')).toBe(num(s.target));
      expect(await text('[data-figure=online]')).toBe(num(s.online));
      expect(await text('[data-figure=networkingRate]')).toBe(pct(s.networkingRate));
      expect(await text('[data-figure=ncRate]')).toBe(pct(s.ncRate));
      expect(await text('[data-figure=generatedAt]')).toMatch(/^数据时间 /);

      for (const [name, v] of [
        ['wall', VIEWPORTS.wall],
        ['wall4k', VIEWPORTS.wall4k],
      ] as const) {
        await page.setViewportSize(v);
        await page.waitForFunction(
          ([w, h]) => {
            const g = globalThis as unknown as PageGlobals;
            return g.innerWidth === w && g.innerHeight === h;
          },
          [v.width, v.height] as const,
        );
        const f = await fits(page);
        expect(f.height, `${name}: no vertical scrolling`).toBeLessThanOrEqual(f.innerHeight);
        expect(f.width, `${name}: no horizontal scrolling`).toBeLessThanOrEqual(f.innerWidth);
        await screenshot(page, `wall-${await page.locator('.stage').getAttribute('data-panel')}`);
      }
      await page.setViewportSize(VIEWPORTS.wall);

      // It rotates by itself (every 2 s here): every panel comes round.
      await page
        .waitForFunction(
          () => {
            const w = globalThis as unknown as PageGlobals;
            w.seenPanels ??= new Set();
            const p = w.document.querySelector('.stage')?.getAttribute('data-panel');
            if (p) w.seenPanels.add(p);
            return w.seenPanels.size === 4;
          },
          null,
          { timeout: 30_000, polling: 200 },
        )
        .catch(() => expect.fail('the wall did not rotate through its four panels'));
      // Each panel, chosen by hand, fits the screen too.
      const panels = ['map', 'industry', 'trend', 'ranking'];
      for (const [i, panel] of panels.entries()) {
        await page.locator('.dots button').nth(i).click();
        await page.locator(`.stage[data-panel=${panel}]`).waitFor();
        const f = await fits(page);
        expect(f.height, panel).toBeLessThanOrEqual(f.innerHeight);
        await screenshot(page, `wall-${panel}`);
      }
      expect(await axeViolations(page)).toEqual([]);

      await page.getByRole('button', { name: 'English' }).click();
      await page.getByRole('heading', { name: /wall screen/ }).waitFor();
      expect(await page.locator('.kpis').innerText()).not.toMatch(/[\u4e00-\u9fff]/);
      await screenshot(page, 'wall-en');
      await page.setViewportSize(VIEWPORTS.phone);
      await screenshot(page, 'wall-en');
    } finally {
      await context.close();
    }
  });

  it('survives the hub restarting: keeps the figures, says it is reconnecting, recovers', async () => {
    const { context, page } = await signInAs(browser, fleet, 'admin', { next: '/wall?refresh=2' });
    try {
      await page.locator('.wall [data-figure=networked]').waitFor();
      const before = await page.locator('.wall [data-figure=networked]').innerText();
      const { dataDir } = fleet.hub.config;
      const port = fleet.hub.httpPort!;
      await fleet.hub.close();

      await page.locator('[data-state=reconnecting]').waitFor({ timeout: 20_000 });
      expect(await page.locator('.wall [data-figure=networked]').innerText()).toBe(before);
      expect(await page.locator('[data-state=reconnecting]').innerText()).toMatch(/正在重新连接/);
      await screenshot(page, 'wall-reconnecting');

      restarted = new Hub({
        dataDir,
        mqtt: { port: 0, allowAnonymous: true },
        http: { port },
        logger: silentLogger(),
      });
      await restarted.start();
      // Back by itself, with figures the new hub made, the same session.
      await page.locator('[data-figure=generatedAt]').waitFor({ timeout: 20_000 });
      expect(await page.locator('[data-state=reconnecting]').count()).toBe(0);
      expect(new URL(page.url()).pathname).toBe('/wall');
      expect(await page.locator('.wall [data-figure=networked]').innerText()).toBe(before);
    } finally {
      await context.close();
    }
  });
});
