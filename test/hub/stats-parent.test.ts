/**
 * Multi-level platforms: child hubs forward their aggregates to a parent hub over real HTTP,
 * each with its own child-hub token; the parent's totals equal the sum of its children's.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../hub/api/app.js';
import { Hub } from '../../hub/hub.js';
import { Registry } from '../../hub/registry/registry.js';
import { AuditLog } from '../../hub/security/audit.js';
import { TokenStore } from '../../hub/security/tokens.js';
import { acceptChildReport } from '../../hub/stats/children.js';
import { childReport, ParentForwarder } from '../../hub/stats/parent.js';
import { computeStats, DEFAULT_WINDOWS, type StatsReport } from '../../hub/stats/stats.js';
import { createStore } from '../../hub/store/index.js';
import type { SampleStore } from '../../hub/store/types.js';
import { generateFleet } from '../../simulators/fleet.js';
import { ManualClock } from '../support/manual-clock.js';
import { apiToken, silentLogger, tempDir, waitFor } from './helpers.js';

const MIN = 60_000;

/** A child-hub token of `parent` for `hubId`, for every region the parent knows. */
function childHubToken(parent: Registry, hubId: string): string {
  const tokens = new TokenStore(parent.database, new AuditLog(parent.database));
  const regions = parent.regions().map((r) => r.code);
  return tokens.create({ role: 'child-hub', hubId, regions }, { actor: 'cli:test', source: 'cli' }).token;
}

/** A child registry with a generated fleet; every third machine networked and online. */
async function childRegistry(path: string, seed: number, prefix: string, now: number): Promise<Registry> {
  const reg = new Registry({ path, logger: silentLogger(), clock: () => now });
  await reg.start();
  const plan = generateFleet({ machines: 120, seed, enterprises: 5 });
  for (const e of plan.enterprises) reg.upsertEnterprise({ ...e, code: `${prefix}${e.code}` }, 'plan');
  reg.applyIngest({
    events: plan.machines.map((m) => ({
      type: 'deviceBirth' as const,
      group: `${prefix}${m.enterpriseCode}`,
      edgeNode: 'gw',
      device: m.id,
      at: now - 10 * MIN,
      properties: { nc: m.nc, robot: m.robot },
    })),
    devices: plan.machines
      .filter((_, i) => i % 3 === 0)
      .map((m) => ({
        enterprise: `${prefix}${m.enterpriseCode}`,
        machine: m.id,
        gateway: 'gw',
        seenAt: now - MIN,
        sampleAt: now - MIN,
        state: 'running',
      })),
    gateways: [],
  });
  return reg;
}

const KEYS = [
  'networked',
  'online',
  'poweredOn',
  'machines',
  'enterprises',
  'productionEquipment',
  'ncEquipment',
  'robots',
] as const;
const total = (reports: StatsReport[]) =>
  Object.fromEntries(KEYS.map((k) => [k, reports.reduce((a, r) => a + r[k], 0)]));

describe('a parent hub sums its children', () => {
  const now = Date.now();
  const dir = tempDir();
  const logger = silentLogger();
  const parent = new Registry({ path: `${dir.path}/parent/registry.db`, logger, clock: () => now });
  let store: SampleStore;
  let app: FastifyInstance;
  let url: string;
  const token = (hubId: string) => childHubToken(parent, hubId);
  const children: Registry[] = [];
  let childHub: Hub | undefined;

  beforeAll(async () => {
    await parent.start();
    store = createStore({ type: 'sqlite' }, { dataDir: `${dir.path}/parent`, logger });
    await store.start();
    app = buildApi({
      registry: parent,
      store,
      logger,
      clock: () => now,
      windows: DEFAULT_WINDOWS,
      health: () => ({ components: {} as never, counters: {} }),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
    children.push(await childRegistry(`${dir.path}/a/registry.db`, 1, 'A', now));
    children.push(await childRegistry(`${dir.path}/b/registry.db`, 2, 'B', now));
  });
  afterAll(async () => {
    await childHub?.close();
    await app.close();
    await store.close();
    for (const c of children) await c.close();
    await parent.close();
    dir.remove();
  });

  it("equals the sum of two child registries' and a running child hub's statistics", async () => {
    for (const [i, c] of children.entries()) {
      const f = new ParentForwarder({
        parent: { url, token: token(`child-${i}`), intervalS: 60 },
        hubId: `child-${i}`,
        registry: c,
        windows: DEFAULT_WINDOWS,
        logger,
        clock: new ManualClock(now),
      });
      await f.forward();
      expect(f.counters).toEqual({ sent: 1, failed: 0 });
    }
    // A real hub configured with `parent:` forwards on its own as it starts.
    childHub = new Hub({
      dataDir: `${dir.path}/c`,
      hostId: 'county-hub',
      mqtt: { port: 0, allowAnonymous: true },
      http: { port: 0 },
      parent: { url, token: token('county-hub'), intervalS: 3600 },
      logger,
    });
    await childHub.start();
    childHub.registry.upsertEnterprise(
      {
        code: 'C1',
        name: 'C1',
        regionCode: 'panan',
        industryCode: 'biomedicine',
        backbone: true,
        ledger: { productionEquipment: 10, ncEquipment: 9, robots: 2 },
      },
      'test',
    );
    await childHub.close();
    await childHub.start(); // forwards again, now with C1
    await waitFor(
      () => computeStats(parent, now).children.some((c) => c.hubId === 'county-hub' && c.enterprises === 1),
      'the child hub report',
    );

    const mine = computeStats(parent, now, DEFAULT_WINDOWS);
    const theirs = [
      ...children.map((c) => computeStats(c, now, DEFAULT_WINDOWS)),
      computeStats(childHub.registry, Date.now(), DEFAULT_WINDOWS),
    ];
    expect(total([mine])).toEqual(total(theirs));
    expect(mine.networked).toBeGreaterThan(70);
    expect(mine.children.map((c) => c.hubId)).toEqual(['child-0', 'child-1', 'county-hub']);
    // Per region too, and an enterprise says which child reported it.
    for (const g of mine.byRegion) {
      const sum = theirs.reduce((a, r) => a + r.byRegion.find((x) => x.code === g.code)!.networked, 0);
      expect(g.networked).toBe(sum);
    }
    expect(mine.byEnterprise.find((e) => e.code === 'C1')).toMatchObject({
      via: 'county-hub',
      productionEquipment: 10,
    });

    // Through the parent's API, as the bureau reads it.
    const res = await app.inject({ url: '/api/v1/statistics', headers: apiToken(parent, 'bureau') });
    expect(res.json()).toMatchObject({ networked: mine.networked, enterprises: mine.enterprises });
  });

  it("forwards its children's enterprises too (three levels), and says when the parent refuses or is away", async () => {
    // child-1 is itself the parent of a grandchild hub.
    const grandchild = await childRegistry(`${dir.path}/g/registry.db`, 3, 'G', now);
    children.push(grandchild);
    acceptChildReport(children[1]!, childReport(grandchild, now, DEFAULT_WINDOWS, 'grandchild'), {
      actor: 'test',
      scope: { hubId: 'grandchild', regions: grandchild.regions().map((r) => r.code), enterprises: [] },
    });
    const child1 = token('child-1');
    const forwarder = (parentUrl: string, t = child1) =>
      new ParentForwarder({
        parent: { url: parentUrl, token: t, intervalS: 60 },
        hubId: 'child-1',
        registry: children[1]!,
        windows: DEFAULT_WINDOWS,
        logger,
        clock: new ManualClock(now + 1),
      });
    await forwarder(url).forward();
    const mine = computeStats(parent, now, DEFAULT_WINDOWS);
    const g = computeStats(grandchild, now, DEFAULT_WINDOWS);
    expect(mine.byEnterprise.filter((e) => e.code.startsWith('G')).map((e) => e.via)).toEqual(
      Array(g.enterprises).fill('child-1'),
    );
    expect(mine.networked).toBe(
      computeStats(children[0]!, now).networked +
        computeStats(children[1]!, now).networked +
        computeStats(childHub!.registry, Date.now()).networked,
    );
    expect(computeStats(children[1]!, now).networked).toBe(
      g.networked +
        computeStats(children[1]!, now)
          .byEnterprise.filter((e) => e.via === null)
          .reduce((a, e) => a + e.networked, 0),
    );

    const refused = forwarder(url, apiToken(parent, 'bureau').authorization.slice('Bearer '.length));
    await expect(refused.forward()).rejects.toMatchObject({
      code: 'WANJI_E_STATS_PARENT',
      message: expect.stringMatching(/answered 403/),
    });
    expect(refused.counters).toEqual({ sent: 0, failed: 1 });
    const away = forwarder('http://127.0.0.1:9');
    await expect(away.forward()).rejects.toMatchObject({
      code: 'WANJI_E_STATS_PARENT',
      message: expect.stringMatching(/cannot reach/),
    });
  });

  it('refuses a report that is stale, inconsistent or sent with another role than child-hub, changing nothing', async () => {
    const before = computeStats(parent, now).networked;
    const child0 = token('child-0');
    const report = childReport(children[0]!, now - 60 * MIN, DEFAULT_WINDOWS, 'child-0');
    const post = (body: unknown, auth = `Bearer ${child0}`) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/statistics/children',
        payload: body as object,
        headers: { authorization: auth },
      });
    const stale = await post(report);
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ code: 'WANJI_E_STATS_CHILD_REPORT' });
    const fresh = childReport(children[0]!, now + MIN, DEFAULT_WINDOWS, 'child-0');
    const e0 = fresh.enterprises[0]!;
    const inconsistent = {
      ...fresh,
      enterprises: [{ ...e0, activity: { ...e0.activity, online: e0.activity.machines + 1 } }],
    };
    expect((await post(inconsistent)).statusCode).toBe(400);
    expect((await post({ ...fresh, hubId: 'a/b' })).statusCode).toBe(400);
    expect((await post({ hubId: 'x' })).statusCode).toBe(400);
    expect((await post(fresh, apiToken(parent, 'bureau').authorization)).statusCode).toBe(403);
    // An operator token no longer posts reports: only a child-hub token, within its scope.
    expect((await post(fresh, apiToken(parent, 'operator').authorization)).statusCode).toBe(403);
    expect(computeStats(parent, now).networked).toBe(before);
    const refusals = new AuditLog(parent.database)
      .list({ action: 'statistics.child-report' })
      .filter((a) => a.outcome === 'refused');
    expect(refusals.length).toBeGreaterThanOrEqual(4);
  });
});
