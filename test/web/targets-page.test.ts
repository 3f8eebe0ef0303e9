/**
 * The programme targets page in real Chromium against a hub with a simulated fleet: a card per
 * target of the action plan showing GET /api/v1/targets's figures formatted (current, target,
 * done, declared beside measured, the year-by-year table), the declarations behind them; a
 * county's bureau user sees its county's own target, never the city's; English one click
 * away; screenshots at the three viewports; no serious axe violation. An operator edits the
 * targets (the registry is their one source: the overview shows a changed target at once),
 * declares and deletes, uploads a declarations file and sees its refused rows and the hub's
 * refusals; a bureau user gets no edit control.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TargetProgress } from '../../hub/stats/targets.js';
import { REGION_SEEDS } from '../../protocol/domain.js';
import { apiToken } from '../hub/helpers.js';
import { axeViolations, fitsWidth, launch, screenshot, skipWithoutChromium, VIEWPORTS } from './browser.js';
import { signInAs, snapshotToday, startWebFleet, type WebFleet } from './fleet-fixture.js';

interface Targets {
  year: number;
  targets: TargetProgress[];
}

const fmtIn =
  (locale: string) =>
  (x: Pick<TargetProgress, 'unit'>, v: number | null): string =>
    v === null
      ? '–'
      : x.unit === 'rate'
        ? new Intl.NumberFormat(locale, {
            style: 'percent',
            minimumFractionDigits: 1,
            maximumFractionDigits: 1,
          }).format(v)
        : v.toLocaleString(locale);
const zh = fmtIn('zh-CN');
const pct = (v: number | null) => zh({ unit: 'rate' }, v);

describe.skipIf(skipWithoutChromium)('the programme targets page', () => {
  let browser: Browser;
  let fleet: WebFleet;
  const county = REGION_SEEDS[0]!;

  beforeAll(async () => {
    [browser, fleet] = await Promise.all([launch(), startWebFleet()]);
    const send = async (method: string, path: string, body: unknown) => {
      const r = await fetch(`${fleet.url}${path}`, {
        method,
        headers: { ...fleet.admin, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(r.status, `${method} ${path}`).toBeLessThan(300);
    };
    const year = (await fleet.get<Targets>('/api/v1/targets')).year;
    const [first, second] = fleet.enterprises;
    await send('PUT', '/api/v1/targets', { kind: 'networked', region: county.code, year: 2022, value: 800 });
    await send('POST', '/api/v1/targets/recognitions', {
      enterprise: first!.code,
      name: '数控加工数字化车间',
      kind: 'workshop',
      benchmark: true,
      year,
    });
    await send('POST', '/api/v1/targets/recognitions', {
      enterprise: second!.code,
      name: '智能工厂一期',
      kind: 'factory',
      year: year - 1,
    });
    await send('POST', '/api/v1/targets/platforms', {
      name: '五金行业工业互联网平台',
      level: 'industry',
      operator: first!.code,
      year,
    });
    await snapshotToday(fleet);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await fleet?.close();
  });

  it("shows a card per target with the API's figures, in Chinese and English, at three sizes", async () => {
    const t = await fleet.get<Targets>('/api/v1/targets');
    expect(t.targets.length).toBe(10);
    const { context, page } = await signInAs(browser, fleet, 'admin', { next: '/targets' });
    try {
      await page.locator('[data-kind=networked] [data-figure=current]').waitFor();
      const text = async (sel: string) => (await page.locator(sel).first().innerText()).trim();
      for (const x of t.targets) {
        const card = `[data-kind=${x.kind}]`;
        expect(await text(`${card} [data-figure=current]`), x.kind).toBe(zh(x, x.current));
        expect(x.target, x.kind).not.toBeNull();
        expect(await text(`${card} [data-figure=target]`), x.kind).toBe(zh(x, x.target!.value));
        expect(await text(`${card} [data-figure=done]`), x.kind).toContain(pct(x.done));
        // The tag says whether the current figure is declared (申报) or measured (监测).
        expect(await text(`${card} h2 .tag`)).toBe(x.basis === 'declared' ? '申报' : '监测');
        if (x.figures.length > 1) {
          expect(await text(`${card} [data-figure=declared]`)).toContain(zh(x, x.declared));
          expect(await text(`${card} [data-figure=measured]`)).toContain(zh(x, x.measured));
        }
        expect(await page.locator(`table[data-table=${x.kind}] tbody tr`).count()).toBe(x.series.length);
      }
      const networked = t.targets.find((x) => x.kind === 'networked')!;
      expect(networked.current).toBe(24);
      expect(await text('[data-kind=networked] [data-figure=when]')).toBe('2022 年底前');
      expect(await text('[data-kind=robotsNewPerYear] [data-figure=when]')).toBe('每年');
      const workshops = t.targets.find((x) => x.kind === 'workshopsFactories')!;
      expect(workshops.current).toBe(2);
      expect(await text('[data-kind=benchmarksPerYear] [data-figure=current]')).toBe('1');
      expect(await text('[data-kind=platformsIndustry] [data-figure=current]')).toBe('1');
      const nc = t.targets.find((x) => x.kind === 'backboneNcRate')!;
      expect(nc.detail).toEqual({ backboneEnterprises: 3, meeting: 0 });
      expect(await text('[data-kind=backboneNcRate] [data-figure=meeting]')).toContain('0 / 3');
      expect(await page.locator('table[data-table=recognitions] tbody tr').count()).toBe(2);
      expect(await page.locator('table[data-table=platforms] tbody tr').count()).toBe(1);
      expect(await page.locator('.cards canvas').count()).toBe(10);

      for (const [name, v] of Object.entries(VIEWPORTS)) {
        await page.setViewportSize(v);
        if (!(await fitsWidth(page))) {
          const wide = await page.evaluate(() => {
            const g = globalThis as unknown as {
              document: {
                querySelectorAll(s: string): ArrayLike<{
                  getBoundingClientRect(): { right: number };
                  tagName: string;
                  className: string;
                  id: string;
                }>;
              };
              innerWidth: number;
            };
            return Array.from(g.document.querySelectorAll('body *'))
              .filter((e) => e.getBoundingClientRect().right > g.innerWidth)
              .slice(0, 15)
              .map((e) => `${e.tagName}.${e.className}#${e.id} ${e.getBoundingClientRect().right}`);
          });
          expect.fail(`${name}: the page is wider than the viewport ${wide.join(' | ')}`);
        }
        await screenshot(page, `targets-${name}`);
      }
      await page.setViewportSize(VIEWPORTS.wall);
      expect(await axeViolations(page)).toEqual([]);

      await page.getByRole('button', { name: 'English' }).click();
      await page.getByRole('heading', { name: 'Programme targets', level: 1 }).waitFor();
      const cards = await page.locator('.cards').innerText();
      expect(cards).toContain('Networked machines');
      expect(cards).toContain('declared');
      expect(cards).toContain('measured');
      expect(cards).not.toMatch(/[\u4e00-\u9fff]/);
      expect(await text('[data-kind=networked] [data-figure=target]')).toBe(fmtIn('en')(networked, 10_000));
      expect(await text('[data-kind=networked] [data-figure=when]')).toBe('by the end of 2022');
      await screenshot(page, 'targets-en');
      expect(await axeViolations(page)).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("gives a county's bureau user its county's own targets and figures, not the city's", async () => {
    const r = await fetch(`${fleet.url}/api/v1/targets`, {
      headers: apiToken(fleet.hub.registry, 'bureau', { regions: [county.code] }),
    });
    const t = (await r.json()) as Targets;
    const networked = t.targets.find((x) => x.kind === 'networked')!;
    expect(networked).toMatchObject({ target: { year: 2022, value: 800 }, current: 4 });
    const { context, page } = await signInAs(browser, fleet, 'bureau', {
      regions: [county.code],
      next: '/targets',
    });
    try {
      await page.locator('[data-kind=networked] [data-figure=current]').waitFor();
      const text = async (sel: string) => (await page.locator(sel).first().innerText()).trim();
      expect(await text('[data-figure=scope]')).toContain(county.nameZh);
      expect(await text('[data-kind=networked] [data-figure=target]')).toBe('800');
      expect(await text('[data-kind=networked] [data-figure=current]')).toBe('4');
      // No target of its own for robots: it says so rather than showing the city's 20,000.
      expect(await page.locator('[data-kind=robots] [data-figure=no-target]').count()).toBe(1);
      expect(await page.locator('.cards').innerText()).not.toContain((20_000).toLocaleString('zh-CN'));
      expect(await page.locator('table[data-table=recognitions] tbody tr').count()).toBe(1);
      await screenshot(page, 'targets-county');
    } finally {
      await context.close();
    }
  });
  it('lets an operator change the networked target in the browser; the overview shows the new one', async () => {
    const { context, page } = await signInAs(browser, fleet, 'operator', { next: '/targets' });
    try {
      const text = async (sel: string) => (await page.locator(sel).first().innerText()).trim();
      const row =
        'table[data-table=stored-targets] tr[data-kind=networked][data-region=""][data-year="2022"]';
      await page.locator(row).waitFor();
      expect(await text(`${row} [data-col=value]`)).toBe(zh({ unit: 'count' }, 10_000));
      // Edit fills the form from the stored row; only the value changes.
      await page.locator(row).getByRole('button', { name: /^修改/ }).click();
      expect(await page.locator('#target-kind').inputValue()).toBe('networked');
      expect(await page.locator('#target-region').inputValue()).toBe('');
      expect(await page.locator('#target-year').inputValue()).toBe('2022');
      expect(await page.locator('#target-value').inputValue()).toBe('10000');
      await page.locator('#target-value').fill('15000');
      await page.locator('[data-form=target] button[type=submit]').click();
      await page
        .locator('[data-kind=networked] [data-figure=target]', { hasText: zh({ unit: 'count' }, 15_000) })
        .waitFor();
      expect(await text(`${row} [data-col=value]`)).toBe(zh({ unit: 'count' }, 15_000));
      // The one source: the statistics and the targets API say the same at once.
      expect((await fleet.get<{ target: number }>('/api/v1/statistics')).target).toBe(15_000);
      const t = await fleet.get<Targets>('/api/v1/targets');
      expect(t.targets.find((x) => x.kind === 'networked')?.target).toEqual({ year: 2022, value: 15_000 });

      // A threshold typed as a percentage is stored as a rate; deleting the city's last one is refused, shown.
      await page.locator('#target-kind').selectOption('backboneNcRate');
      expect(await page.locator('#target-region').isDisabled()).toBe(true);
      await page.locator('#target-year').fill('2022');
      await page.locator('#target-value').fill('65');
      await page.locator('[data-form=target] button[type=submit]').click();
      await page.locator('[data-kind=backboneNcRate] [data-figure=target]', { hasText: pct(0.65) }).waitFor();
      expect(
        (await fleet.get<{ backboneTargets: { ncRate: number } }>('/api/v1/statistics')).backboneTargets
          .ncRate,
      ).toBe(0.65);
      await page
        .locator('table[data-table=stored-targets] tr[data-kind=backboneNcRate]')
        .getByRole('button', { name: /^删除/ })
        .click();
      expect(await text('[data-error=target]')).toMatch(/WANJI_E_REGISTRY_PROGRAMME: .*set another value/);

      // A platform declared by hand, then deleted.
      const platformRows = page.locator('table[data-table=platforms] tbody tr');
      const before = await platformRows.count();
      await page.locator('#platform-name').fill('兰溪纺织行业平台');
      await page.locator('#platform-level').selectOption('industry');
      await page.locator('[data-form=platform] button[type=submit]').click();
      await page.locator('table[data-table=platforms] tbody tr', { hasText: '兰溪纺织行业平台' }).waitFor();
      expect(await platformRows.count()).toBe(before + 1);
      await page
        .locator('table[data-table=platforms] tbody tr', { hasText: '兰溪纺织行业平台' })
        .getByRole('button', { name: /^删除/ })
        .click();
      await page
        .locator('table[data-table=platforms] tbody tr', { hasText: '兰溪纺织行业平台' })
        .waitFor({ state: 'detached' });

      // A declarations file with a bad row: checked, the refused row shown with why, the good one imported.
      const recognitionRows = page.locator('table[data-table=recognitions] tbody tr');
      const declared = await recognitionRows.count();
      const csv = [
        '企业代码,车间/工厂名称,类型,是否标杆,认定年份',
        `${fleet.enterprises[2]!.code},总装数字化车间,数字化车间,否,${t.year}`,
        `nobody,不存在的车间,数字化车间,否,${t.year}`,
      ].join('\r\n');
      await page
        .locator('#upload-file')
        .setInputFiles({ name: 'decl.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
      await page.locator('[data-form=upload] button[type=submit]').click();
      await page.locator('table[data-table=refused-rows] tbody tr').waitFor();
      expect(await page.locator('table[data-table=refused-rows] tbody tr').count()).toBe(1);
      expect(await text('table[data-table=refused-rows] tbody tr')).toMatch(
        /^3\s.*本平台登记中没有企业“nobody”/s,
      );
      expect(await recognitionRows.count()).toBe(declared);
      await page.locator('[data-figure=report] button').click();
      await page.locator('[data-figure=imported]').waitFor();
      await page.locator('table[data-table=recognitions] tbody tr', { hasText: '总装数字化车间' }).waitFor();
      expect(await recognitionRows.count()).toBe(declared + 1);

      // Target rows from a file, the refused one said in Chinese; the good one stored.
      await page.locator('#upload-what').selectOption('targets');
      const targetsCsv = [
        '目标类型,区县,年份,目标值',
        '在役工业机器人,,2027,"25,000"',
        '未知指标,,2027,5',
      ].join('\r\n');
      await page
        .locator('#upload-file')
        .setInputFiles({ name: 'targets.csv', mimeType: 'text/csv', buffer: Buffer.from(targetsCsv) });
      await page.locator('[data-form=upload] button[type=submit]').click();
      await page.locator('table[data-table=refused-rows] tbody tr').waitFor();
      expect(await text('table[data-table=refused-rows] tbody tr')).toMatch(
        /^3\s.*未知的目标类型“未知指标”/s,
      );
      await page.locator('[data-figure=report] button').click();
      const robots2027 =
        'table[data-table=stored-targets] tr[data-kind=robots][data-region=""][data-year="2027"]';
      await page.locator(robots2027).waitFor();
      expect(await text(`${robots2027} [data-col=value]`)).toBe(zh({ unit: 'count' }, 25_000));

      await screenshot(page, 'targets-manage');
      expect(await axeViolations(page)).toEqual([]);

      // The overview shows the new target.
      await page.goto(`${fleet.url}/`);
      await page.locator('[data-figure=target]', { hasText: zh({ unit: 'count' }, 15_000) }).waitFor();
    } finally {
      await context.close();
    }
  });

  it('gives a bureau user the page read-only: no edit control, and the hub refuses a change', async () => {
    const { context, page } = await signInAs(browser, fleet, 'bureau', { next: '/targets' });
    try {
      await page.locator('[data-kind=networked] [data-figure=current]').waitFor();
      await page.locator('table[data-table=recognitions]').waitFor();
      expect(await page.locator('[data-manage]').count()).toBe(0);
      expect(await page.locator('form, input, select').count()).toBe(0);
      expect(await page.getByRole('button', { name: /^(删除|修改|保存目标)/ }).count()).toBe(0);
      const r = await fetch(`${fleet.url}/api/v1/targets`, {
        method: 'PUT',
        headers: {
          ...apiToken(fleet.hub.registry, 'bureau'),
          'content-type': 'application/json',
        },
        body: JSON.stringify({ kind: 'networked', year: 2022, value: 1 }),
      });
      expect(r.status).toBe(403);
    } finally {
      await context.close();
    }
  });
});
