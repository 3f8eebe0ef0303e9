/**
 * Web app benchmark: how soon the overview and the fleet page are usable in Chromium with a
 * 10,000-machine registry, and how much JavaScript the overview ships. One JSON line each.
 *
 *   npm run bench:web [-- --enterprises 500 --machines-per 20 --runs 5]
 *
 * A hub on port 0 gets `enterprises` declared enterprises across the regions and industries,
 * each announcing `machines-per` machines over MQTT (the real Sparkplug path), then Debian's
 * Chromium (playwright-core) signs in as an admin and loads each page `runs` times in a fresh
 * tab: "usable" is the page showing its figures (the overview's networked count, the fleet's
 * first machine row). The baseline, measured in the same run, is the app's not-found page:
 * the same scripts and sign-in check with no data, so the ratio is what the data costs.
 * Goals (issue 12): overview < 1 s, fleet < 2 s, overview JavaScript < 500 KB gzipped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { chromium, type Page } from 'playwright-core';
import { findWebRoot } from '../hub/api/web.js';
import { Hub } from '../hub/hub.js';
import { AuditLog } from '../hub/security/audit.js';
import { TokenStore } from '../hub/security/tokens.js';
import { buildFleet } from './fleet-registry.js';

const { values: args } = parseArgs({
  options: {
    enterprises: { type: 'string', default: '500' },
    'machines-per': { type: 'string', default: '20' },
    runs: { type: 'string', default: '5' },
    chromium: { type: 'string', default: process.env.CHROMIUM ?? '/usr/bin/chromium' },
  },
});
const ENTERPRISES = Number(args.enterprises);
const PER = Number(args['machines-per']);
const RUNS = Number(args.runs);
const GOAL = { overviewMs: 1_000, fleetMs: 2_000, overviewJsGzipKB: 500 };

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const emit = (o: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ bench: 'web', ...o })}\n`);
};

/** Milliseconds from navigation until `ready` is visible, in a fresh tab of the signed-in context. */
async function usable(open: () => Promise<Page>, path: string, ready: string, base: string): Promise<number> {
  const page = await open();
  const t0 = performance.now();
  await page.goto(`${base}${path}`);
  await page.locator(ready).first().waitFor({ state: 'visible', timeout: 60_000 });
  const ms = performance.now() - t0;
  await page.close();
  return ms;
}

async function main(): Promise<void> {
  if (findWebRoot() === undefined) throw new Error('the web app is not built: run `npm run build` first');
  const dir = mkdtempSync(join(tmpdir(), 'wanji-bench-web-'));
  const hub = new Hub({
    dataDir: dir,
    mqtt: { port: 0, allowAnonymous: true },
    http: { port: 0, rateLimit: { enabled: false, windowMs: 60_000, perToken: 6_000, perIp: 120 } },
    logger: pino({ level: 'warn' }),
  });
  const browser = await chromium.launch({
    executablePath: args.chromium,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  try {
    await hub.start();
    const base = `http://127.0.0.1:${hub.httpPort}`;
    const t0 = performance.now();
    await buildFleet(hub, { enterprises: ENTERPRISES, machinesPer: PER });
    const admin = new TokenStore(hub.registry.database, new AuditLog(hub.registry.database)).create(
      { role: 'admin', name: 'bench' },
      { actor: 'cli:bench', source: 'cli' },
    ).token;
    const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    const total = ENTERPRISES * PER;
    emit({
      step: 'fleet',
      enterprises: ENTERPRISES,
      machines: total,
      seconds: Math.round(performance.now() - t0) / 1000,
    });

    const password = 'bench-password-long-enough';
    const made = await fetch(`${base}/api/v1/users`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'bench', password, role: 'admin' }),
    });
    if (!made.ok) throw new Error(`POST /api/v1/users: ${made.status} ${await made.text()}`);
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' });
    const signIn = await context.newPage();
    await signIn.goto(`${base}/sign-in`);
    await signIn.locator('#user-name').fill('bench');
    await signIn.locator('#user-password').fill(password);
    await signIn.locator('form button[type=submit]').click();
    await signIn.waitForURL((u) => u.pathname !== '/sign-in');
    await signIn.close();
    const open = () => context.newPage();

    // Warm the hub's caches and the browser's, as a user's second visit would be.
    await usable(open, '/', '[data-figure="networked"]', base);
    const baseline: number[] = [];
    const overview: number[] = [];
    const fleetPage: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      baseline.push(await usable(open, '/fleet/no-such-page', 'main .notice', base));
      overview.push(await usable(open, '/', '[data-figure="networked"]', base));
      fleetPage.push(await usable(open, '/fleet', 'main table tbody tr', base));
    }
    const b = median(baseline);
    for (const [page, xs, goal] of [
      ['overview', overview, GOAL.overviewMs],
      ['fleet', fleetPage, GOAL.fleetMs],
    ] as const) {
      const ms = median(xs);
      emit({
        page,
        machines: total,
        medianMs: Math.round(ms),
        baselineMs: Math.round(b),
        ratio: Number((ms / b).toFixed(2)),
        goalMs: goal,
        meetsGoal: ms < goal,
        runs: xs.map(Math.round),
      });
    }

    // What the overview ships: every script it loads, gzipped (a cold tab, no cache).
    const cold = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    await cold.addCookies(await context.cookies());
    const page = await cold.newPage();
    const scripts = new Map<string, number>();
    /** The statistics replies the overview asked for: their size as sent (the hub does not compress). */
    const statistics: { query: string; bytes: number }[] = [];
    page.on('response', (res) => {
      const url = new URL(res.url());
      if (url.pathname === '/api/v1/statistics') {
        void res
          .body()
          .then((body) => statistics.push({ query: url.search, bytes: body.length }))
          .catch(() => undefined);
      }
      if (url.pathname.endsWith('.js')) {
        void res
          .body()
          .then((body) => scripts.set(url.pathname, gzipSync(body).length))
          .catch(() => undefined);
      }
    });
    await page.goto(`${base}/`);
    await page.locator('[data-figure="networked"]').first().waitFor({ state: 'visible' });
    await page.waitForLoadState('networkidle');
    const gz = [...scripts.values()].reduce((a, n) => a + n, 0) / 1024;
    emit({
      page: 'overview',
      metric: 'javascript',
      files: scripts.size,
      gzipKB: Math.round(gz),
      goalKB: GOAL.overviewJsGzipKB,
      meetsGoal: gz < GOAL.overviewJsGzipKB,
    });
    // The overview's statistics reply (enterprises ranked by the hub) against the full one.
    const full = await (await fetch(`${base}/api/v1/statistics`, { headers })).arrayBuffer();
    emit({
      page: 'overview',
      metric: 'statistics-reply',
      enterprises: ENTERPRISES,
      replies: statistics,
      replyKB: Math.round(Math.max(0, ...statistics.map((x) => x.bytes)) / 1024),
      fullReplyKB: Math.round(full.byteLength / 1024),
    });
    await cold.close();
    await context.close();
  } finally {
    await browser.close();
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
