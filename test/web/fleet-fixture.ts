/**
 * A hub with a small simulated fleet for the web app's end-to-end tests: enterprises declared
 * across regions and industries with their ledgers, one Sparkplug gateway per enterprise
 * (TestEdgeNode) announcing CNC machines and sending their values, so every page has real
 * figures that the test can compare with the API's.
 *
 * `signInAs` makes a user through the API (as an admin does) and signs in through the page's
 * form, returning a page with that user's session cookie.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { HubOptions } from '../../hub/config.js';
import type { Role } from '../../hub/security/roles.js';
import { INDUSTRY_SEEDS, REGION_SEEDS } from '../../protocol/domain.js';
import { DataType } from '../../protocol/index.js';
import { apiToken, cncBirth, TestEdgeNode } from '../hub/helpers.js';
import { waitFor } from '../support/wait.js';
import { newPage, startWebHub, VIEWPORTS, type WebHub } from './browser.js';

export interface FleetEnterprise {
  readonly code: string;
  readonly name: string;
  readonly regionCode: string;
  readonly industryCode: string;
  readonly backbone: boolean;
  readonly machines: readonly string[];
  readonly gateway: TestEdgeNode;
}

export interface WebFleet extends WebHub {
  readonly enterprises: readonly FleetEnterprise[];
  /** `{ authorization: 'Bearer …' }` of an admin token, for API calls in the test. */
  readonly admin: { authorization: string };
  /** GET on the API as the admin. */
  get<T>(path: string): Promise<T>;
}

/**
 * `enterprises` enterprises (default 6) in distinct regions and industries, each declaring 10
 * production machines (6 NC), announcing `machines` of them (default 4) through its gateway.
 */
export async function startWebFleet(
  o: {
    enterprises?: number;
    machines?: number;
    /** Programme targets to set through the API (PUT /api/v1/targets) once the hub runs. */
    targets?: readonly { kind: string; region?: string; year?: number; value: number }[];
    /** More hub options (e.g. `alerts`); the MQTT listener stays on port 0, anonymous. */
    hub?: Partial<HubOptions>;
  } = {},
): Promise<WebFleet> {
  // The simulated gateways log in without credentials (the hub refuses that by default).
  const web = await startWebHub({
    ...o.hub,
    mqtt: { ...o.hub?.mqtt, port: 0, allowAnonymous: true },
  });
  const { hub } = web;
  const count = o.enterprises ?? 6;
  const perEnterprise = o.machines ?? 4;
  const enterprises: FleetEnterprise[] = [];
  for (let i = 0; i < count; i++) {
    const region = REGION_SEEDS[i % REGION_SEEDS.length]!;
    const industry = INDUSTRY_SEEDS[i % INDUSTRY_SEEDS.length]!;
    const code = `e2e-${String(i + 1).padStart(2, '0')}`;
    const name = `${region.nameZh.slice(0, 2)}精密机械${i + 1}号`;
    hub.registry.upsertEnterprise(
      {
        code,
        name,
        regionCode: region.code,
        industryCode: industry.code,
        backbone: i % 2 === 0,
        ledger: { productionEquipment: 10, ncEquipment: 6, robots: 1 },
      },
      'test',
    );
    const gateway = new TestEdgeNode(code, 'gw-1');
    await gateway.connect(hub.mqttUrl);
    await gateway.nbirth();
    const machines: string[] = [];
    for (let m = 1; m <= perEnterprise; m++) {
      const id = `cnc-${m}`;
      await gateway.dbirth(id, cncBirth(Date.now()));
      await gateway.ddata(id, [
        { name: 'State', alias: 5, datatype: DataType.String, value: 'running' },
        { name: 'Signals/spindleSpeed', alias: 6, datatype: DataType.Double, value: 1000 + m },
      ]);
      machines.push(id);
    }
    enterprises.push({
      code,
      name,
      regionCode: region.code,
      industryCode: industry.code,
      backbone: i % 2 === 0,
      machines,
      gateway,
    });
  }
  const admin = apiToken(hub.registry, 'admin');
  const get = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${web.url}${path}`, { headers: admin });
    if (!r.ok) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  };
  for (const t of o.targets ?? []) {
    const r = await fetch(`${web.url}/api/v1/targets`, {
      method: 'PUT',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify(t),
    });
    if (!r.ok) throw new Error(`PUT /api/v1/targets: ${r.status} ${await r.text()}`);
  }
  const total = count * perEnterprise;
  await waitFor(
    async () => {
      await hub.flush();
      return (await get<{ networked: number }>('/api/v1/stats')).networked === total;
    },
    `all ${total} machines networked`,
    20_000,
  );
  return {
    ...web,
    enterprises,
    admin,
    get,
    async close() {
      await Promise.all(enterprises.map((e) => e.gateway.close()));
      await web.close();
    },
  };
}

let users = 0;

/** Today's statistics snapshot (POST /api/v1/statistics/snapshots as the admin): a day for the trends. */
export async function snapshotToday(fleet: WebFleet): Promise<void> {
  const r = await fetch(`${fleet.url}/api/v1/statistics/snapshots`, {
    method: 'POST',
    headers: fleet.admin,
  });
  if (r.status !== 200) throw new Error(`POST /api/v1/statistics/snapshots: ${r.status} ${await r.text()}`);
}

/**
 * A user of `role` made through the API (POST /api/v1/users as the admin), signed in through
 * the sign-in form in a fresh browser context; the page is left on `/` (or where `next` says).
 */
export async function signInAs(
  browser: Browser,
  fleet: WebFleet,
  role: Role,
  o: {
    regions?: string[];
    enterprise?: string;
    viewport?: { width: number; height: number };
    next?: string;
  } = {},
): Promise<{ context: BrowserContext; page: Page; name: string }> {
  const name = `e2e-${role}-${++users}`;
  const password = `pw-${role}-${users}-long-enough-123`;
  const r = await fetch(`${fleet.url}/api/v1/users`, {
    method: 'POST',
    headers: { ...fleet.admin, 'content-type': 'application/json' },
    body: JSON.stringify({
      name,
      password,
      role,
      ...(o.regions === undefined ? {} : { regions: o.regions }),
      ...(o.enterprise === undefined ? {} : { enterprise: o.enterprise }),
    }),
  });
  if (!r.ok) throw new Error(`POST /api/v1/users: ${r.status} ${await r.text()}`);
  const { context, page } = await newPage(browser, o.viewport ?? VIEWPORTS.wall);
  await page.goto(`${fleet.url}/sign-in${o.next === undefined ? '' : `?next=${encodeURIComponent(o.next)}`}`);
  await page.locator('#user-name').fill(name);
  await page.locator('#user-password').fill(password);
  await page.locator('form button[type=submit]').click();
  await page.waitForURL((u) => u.pathname !== '/sign-in');
  return { context, page, name };
}
