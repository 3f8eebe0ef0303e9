/**
 * The web app as served by a real hub, in real Chromium: it loads under the hub's
 * Content-Security-Policy without a single refused script or style, sends a visitor who is not
 * signed in to the sign-in page (from any of the app's addresses, reloaded directly), speaks
 * Chinese first and English after one click (remembered), and the plain page stays at /plain.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_SECTIONS, WEB_CSP } from '../../hub/api/web.js';
import {
  axeViolations,
  launch,
  newPage,
  screenshot,
  skipWithoutChromium,
  startWebHub,
  VIEWPORTS,
  type WebHub,
} from './browser.js';

describe.skipIf(skipWithoutChromium)('the web app shell', () => {
  let browser: Browser;
  let web: WebHub;

  beforeAll(async () => {
    [browser, web] = await Promise.all([launch(), startWebHub()]);
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('is served with its CSP and loads without a refused resource or a script error', async () => {
    const r = await fetch(`${web.url}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toBe(WEB_CSP);
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    const html = await r.text();
    // No inline script: everything comes from /assets/ with a hashed name, cached for a year.
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]+<\/script>/);
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const a = await fetch(`${web.url}${asset}`);
    expect(a.status).toBe(200);
    expect(a.headers.get('cache-control')).toContain('immutable');
    expect(a.headers.get('content-type')).toMatch(/javascript/);
    expect([400, 404]).toContain((await fetch(`${web.url}/assets/..%2Fpackage.json`)).status);
    expect((await fetch(`${web.url}/assets/nothing.js`)).status).toBe(404);

    const { context, page } = await newPage(browser);
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && !/401|Unauthorized/.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${web.url}/`);
    await page.getByRole('heading', { name: '登录' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('answers every section of the app, reloaded directly, with the app (and sends it to sign in)', async () => {
    const { context, page } = await newPage(browser);
    for (const s of APP_SECTIONS) {
      const path = s === 'sign-in' ? '/sign-in' : `/${s}/deep/link`;
      const r = await page.goto(`${web.url}${path}`);
      expect(r?.status(), s).toBe(200);
      await page.getByRole('heading', { name: '登录' }).waitFor();
      if (s !== 'sign-in') expect(new URL(page.url()).searchParams.get('next'), s).toBe(path);
    }
    await context.close();
  });

  it('speaks Chinese first, English after one click, and remembers the choice', async () => {
    const { context, page } = await newPage(browser, VIEWPORTS.phone);
    await page.goto(`${web.url}/sign-in`);
    await page.getByRole('heading', { name: '登录' }).waitFor();
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    expect(await page.getByLabel('用户名').count()).toBe(1);
    await screenshot(page, 'sign-in-zh');
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await page.getByLabel('User name').count()).toBe(1);
    // One language at a time: no Chinese left on the page.
    expect(await page.locator('main').innerText()).not.toMatch(/[\u4e00-\u9fff]/);
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await screenshot(page, 'sign-in-en');
    expect(await axeViolations(page)).toEqual([]);
    await context.close();
  });

  it('keeps the plain page at /plain', async () => {
    const r = await fetch(`${web.url}/plain`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('联网设备 Networked machines');
  });
});
