/**
 * The web app's end-to-end tests drive Debian's Chromium (`/usr/bin/chromium`, or $CHROMIUM)
 * with playwright-core against a real hub on port 0 serving the built app (dist/web: `npm run
 * build`, which `npm test` runs first). Without Chromium the tests skip, as the other real
 * peers' do — unless `CI` is set: then they run and fail saying what is missing (CI must run
 * every browser test; `bash .ci/run` installs Chromium).
 *
 * Screenshots go to test-artifacts/web/<name>-<width>x<height>.png; `axeViolations` runs axe-core
 * in the page and returns the serious and critical violations.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { findWebRoot } from '../../hub/api/web.js';
import type { HubOptions } from '../../hub/config.js';
import { Hub } from '../../hub/hub.js';
import { silentLogger, tempDir } from '../support/temp.js';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
const missing = `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`;
export const skipWithoutChromium = haveChromium || process.env.CI ? false : missing;

export const VIEWPORTS = {
  wall: { width: 1920, height: 1080 },
  wall4k: { width: 3840, height: 2160 },
  phone: { width: 390, height: 844 },
} as const;

export async function launch(): Promise<Browser> {
  if (!haveChromium) throw new Error(`${missing}; CI is set, so this is a failure, not a skip`);
  if (findWebRoot() === undefined) throw new Error('the web app is not built: run `npm run build` first');
  return chromium.launch({
    executablePath: CHROMIUM,
    // Root in CI: Chromium's sandbox needs a user namespace it may not get there.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--lang=zh-CN'],
  });
}

export interface WebHub {
  readonly hub: Hub;
  readonly url: string;
  close(): Promise<void>;
}

/** A hub on ports 0 with its own data dir, serving the built app. */
export async function startWebHub(opts: Partial<HubOptions> = {}): Promise<WebHub> {
  const dir = tempDir();
  const hub = new Hub({
    dataDir: dir.path,
    mqtt: { port: 0 },
    http: { port: 0 },
    logger: silentLogger(),
    ...opts,
  } as HubOptions);
  await hub.start();
  return {
    hub,
    url: `http://127.0.0.1:${hub.httpPort}`,
    async close() {
      await hub.close();
      dir.remove();
    },
  };
}

/** A count as the app shows it in Chinese (web/src/format.ts). */
export const num = (n: number): string => n.toLocaleString('zh-CN');
/** A rate as the app shows it in Chinese: a percentage with one decimal, '–' for none. */
export const pct = (r: number | null): string =>
  r === null
    ? '–'
    : new Intl.NumberFormat('zh-CN', {
        style: 'percent',
        minimumFractionDigits: 1,
        maximumFractionDigits: 1,
      }).format(r);

/**
 * Whether the page fits the viewport's width (tables scroll inside their panels), waiting up to
 * 10 s for the charts to follow a new size.
 */
export async function fitsWidth(page: Page): Promise<boolean> {
  return page
    .waitForFunction(
      () => {
        const g = globalThis as unknown as {
          document: { documentElement: { scrollWidth: number } };
          innerWidth: number;
        };
        return g.document.documentElement.scrollWidth <= g.innerWidth;
      },
      null,
      { timeout: 10_000 },
    )
    .then(
      () => true,
      () => false,
    );
}

/** A fresh context (own cookies) in Chinese, the app's default, at a viewport. */
export async function newPage(
  browser: Browser,
  viewport: { width: number; height: number } = VIEWPORTS.wall,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, locale: 'zh-CN' });
  const page = await context.newPage();
  return { context, page };
}

const ARTIFACTS = new URL('../../test-artifacts/web/', import.meta.url);

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const v = page.viewportSize();
  const size = v === null ? '' : `-${v.width}x${v.height}`;
  await page.screenshot({ path: new URL(`${name}${size}.png`, ARTIFACTS).pathname, fullPage: true });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly string[];
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  // evaluate() runs outside the page's Content-Security-Policy, which would refuse a script tag.
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }).axe;
    const r = await axe.run();
    return r.violations as {
      id: string;
      impact: string | null;
      help: string;
      nodes: { target: string[] }[];
    }[];
  });
  return found
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.join(' ')),
    }));
}
