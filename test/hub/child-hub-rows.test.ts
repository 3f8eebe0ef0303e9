/**
 * Issue 9, "a corrupt row can never take the statistics down for everyone": the report with
 * `generatedAt: 9e15` that made /api/v1/stats, /api/v1/statistics and every export answer 500
 * for every role, across restarts, is refused; rows planted straight into SQLite (9e15, broken
 * JSON, counts beyond the ledgers) are left out with a logged warning, listed as unusable, and
 * can be replaced or deleted (audited). A child hub forwards to its parent with a child-hub
 * token. Against real hubs over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawSqliteForTests } from '../../hub/database/database.js';
import { Hub } from '../../hub/hub.js';
import { enterprise, OWN, ParentHub, report } from './child-hub-fixture.js';
import { silentLogger, tempDir, waitFor } from './helpers.js';

const parent = new ParentHub();
const ROLES = ['admin', 'operator', 'bureau', 'enterprise'] as const;
const TABLES = ['city', 'regions', 'industries', 'enterprises', 'state-time', 'trend'] as const;

/** Every route that reads child reports answers 200, for every role that may read it. */
async function everyRoleReads(): Promise<void> {
  for (const role of ROLES) {
    const token = parent.token(role, role === 'enterprise' ? { enterprise: OWN.code } : {});
    for (const path of [
      '/api/v1/stats',
      '/api/v1/statistics',
      ...TABLES.flatMap((t) => [
        `/api/v1/statistics/export?table=${t}&format=csv`,
        `/api/v1/statistics/export?table=${t}&format=xlsx`,
      ]),
    ]) {
      const r = await parent.call(token, 'GET', path);
      expect(r.status, `${role} ${path}: ${r.text.slice(0, 200)}`).toBe(200);
    }
  }
}

function plant(hubId: string, generatedAt: number, json: string): void {
  rawSqliteForTests(parent.hub.registry.database)
    .prepare('INSERT INTO child_reports (hub_id, received_at, generated_at, report) VALUES (?, ?, ?, ?)')
    .run(hubId, Date.now(), generatedAt, json);
}

let admin: string;
beforeAll(async () => {
  await parent.start();
  admin = parent.token('admin');
});
afterAll(async () => {
  await parent.close();
});

describe('child reports cannot take the statistics down', () => {
  it('refuses the generatedAt 9e15 report; every role keeps reading the statistics and exports', async () => {
    const token = parent.token('child-hub', { hubId: 'county-a', regions: ['yongkang'] });
    const attack = await parent.post(token, report('county-a', [enterprise('A1', 'yongkang', 5, 1)], 9e15));
    expect(attack.status).toBe(400);
    const near = await parent.post(token, report('county-a', [enterprise('A1', 'yongkang', 5, 1)], 8.64e15));
    expect(near.status).toBe(400);
    expect(near.json.message).toMatch(/limits\.maxFutureSkewMs/);
    const refused = parent.audit('statistics.child-report').filter((a) => a.outcome === 'refused');
    expect(refused).toHaveLength(2);
    await everyRoleReads();
    const list = await parent.call(admin, 'GET', '/api/v1/statistics/children');
    expect(list.json).toEqual({ children: [] });
  });

  it('leaves out rows planted in SQLite (9e15, broken JSON, counts beyond the ledgers), logs them, lists them, survives restarts', async () => {
    const good = report('good', [enterprise('G1', 'panan', 5, 2)]);
    plant('good', good.generatedAt, JSON.stringify(good));
    const future = report('planted-future', [enterprise('F1', 'panan', 5, 1)], 9e15);
    plant('planted-future', 9e15, JSON.stringify(future));
    plant('planted-json', Date.now(), '{"hubId": "planted-json", "generatedAt": ');
    const inflated = report('planted-inflated', [enterprise('I1', 'panan', 5, 5)]);
    inflated.unattributed = { ...inflated.unattributed, machines: 1e6, networked: 1e6 };
    plant('planted-inflated', inflated.generatedAt, JSON.stringify(inflated));

    await everyRoleReads();
    const stats = await parent.call(admin, 'GET', '/api/v1/statistics');
    expect(stats.json.children).toEqual([expect.objectContaining({ hubId: 'good', enterprises: 1 })]);
    expect(stats.json.byEnterprise).toContainEqual(expect.objectContaining({ code: 'G1', networked: 2 }));
    expect(stats.json.byEnterprise).not.toContainEqual(expect.objectContaining({ code: 'F1' }));
    expect(stats.json.networked).toBe(2);
    const warned = parent.logs.find(
      'stored child report unusable: left out of the statistics (replace it with a new report, or delete it)',
    );
    expect(warned.map((w) => w.hubId).sort()).toEqual(['planted-future', 'planted-inflated', 'planted-json']);
    expect(warned.find((w) => w.hubId === 'planted-json')).toMatchObject({
      reason: 'the stored report is not JSON',
    });

    const list = await parent.call(admin, 'GET', '/api/v1/statistics/children');
    expect(list.status).toBe(200);
    const byHub = Object.fromEntries(
      (list.json.children as Array<{ hubId: string; status: string; reason?: string }>).map((c) => [
        c.hubId,
        c,
      ]),
    );
    expect(byHub.good).toMatchObject({ status: 'counted', enterprises: 1 });
    expect(byHub['planted-future']).toMatchObject({ status: 'unusable', generatedAt: null });
    expect(byHub['planted-json']).toMatchObject({
      status: 'unusable',
      reason: 'the stored report is not JSON',
    });
    expect(byHub['planted-inflated']).toMatchObject({
      status: 'unusable',
      reason: expect.stringMatching(/more than the production equipment the report declares/),
    });
    // An operator lists them; a bureau does not.
    expect((await parent.call(parent.token('operator'), 'GET', '/api/v1/statistics/children')).status).toBe(
      200,
    );
    expect((await parent.call(parent.token('bureau'), 'GET', '/api/v1/statistics/children')).status).toBe(
      403,
    );

    // Across a restart, as before.
    await parent.restart();
    admin = parent.token('admin');
    await everyRoleReads();
    expect((await parent.call(admin, 'GET', '/api/v1/stats')).json.networked).toBe(2);
  });

  it('replaces an unusable row with a new report from its child', async () => {
    const token = parent.token('child-hub', { hubId: 'planted-future', regions: ['panan'] });
    const r = await parent.post(token, report('planted-future', [enterprise('F1', 'panan', 5, 3)]));
    expect(r.status, r.text).toBe(200);
    const done = parent
      .audit('statistics.child-report')
      .find((a) => a.outcome === 'ok' && a.target === 'planted-future');
    expect(done?.detail).toMatchObject({ replacedUnusable: expect.stringMatching(/schema/) });
    const stats = await parent.call(admin, 'GET', '/api/v1/statistics');
    expect(stats.json.byEnterprise).toContainEqual(
      expect.objectContaining({ code: 'F1', networked: 3, via: 'planted-future' }),
    );
  });

  it('deletes a stored report (admin only), audited; the figures lose its enterprises', async () => {
    const operator = parent.token('operator');
    expect((await parent.call(operator, 'DELETE', '/api/v1/statistics/children/planted-json')).status).toBe(
      403,
    );
    for (const hubId of ['planted-json', 'planted-inflated', 'good']) {
      const r = await parent.call(admin, 'DELETE', `/api/v1/statistics/children/${hubId}`);
      expect(r.status, r.text).toBe(200);
      expect(r.json.hubId).toBe(hubId);
    }
    const missing = await parent.call(admin, 'DELETE', '/api/v1/statistics/children/good');
    expect(missing.status).toBe(404);
    const audit = parent.audit('statistics.child-report.delete');
    expect(
      audit
        .filter((a) => a.outcome === 'ok')
        .map((a) => a.target)
        .sort(),
    ).toEqual(['good', 'planted-inflated', 'planted-json']);
    expect(audit.filter((a) => a.outcome === 'refused')).toHaveLength(1);
    expect(audit.find((a) => a.target === 'good' && a.outcome === 'ok')?.detail).toMatchObject({
      status: 'counted',
      enterprises: 1,
    });
    const list = await parent.call(admin, 'GET', '/api/v1/statistics/children');
    expect((list.json.children as Array<{ hubId: string }>).map((c) => c.hubId)).toEqual(['planted-future']);
    const stats = await parent.call(admin, 'GET', '/api/v1/statistics');
    expect(stats.json.byEnterprise).not.toContainEqual(expect.objectContaining({ code: 'G1' }));
  });
});

describe('a child hub forwarding to its parent', () => {
  it('sends its aggregates with a child-hub token, and the parent counts them', async () => {
    const created = await parent.call(admin, 'POST', '/api/v1/tokens', {
      role: 'child-hub',
      hubId: 'county-hub',
      regions: ['yongkang'],
    });
    expect(created.status).toBe(201);
    const dir = tempDir();
    const child = new Hub({
      dataDir: dir.path,
      hostId: 'county-hub',
      mqtt: { port: 0 },
      http: { port: 0 },
      statistics: { snapshots: false },
      parent: { url: parent.url, token: created.json.token as string, intervalS: 3600 },
      logger: silentLogger(),
    });
    try {
      await child.start();
      child.registry.upsertEnterprise(
        {
          code: 'C1',
          name: 'C1 公司',
          regionCode: 'yongkang',
          industryCode: 'hardware',
          backbone: true,
          ledger: { productionEquipment: 8, ncEquipment: 2, robots: 0 },
        },
        'test',
      );
      // Ten machines networked where the ledger declares eight: the child forwards eight.
      const now = Date.now();
      child.registry.applyIngest({
        events: Array.from({ length: 10 }, (_, i) => ({
          type: 'deviceBirth' as const,
          group: 'C1',
          edgeNode: 'gw',
          device: `m${i}`,
          at: now - 60_000,
          properties: {},
        })),
        devices: Array.from({ length: 10 }, (_, i) => ({
          enterprise: 'C1',
          machine: `m${i}`,
          gateway: 'gw',
          seenAt: now - 1_000,
          sampleAt: now - 1_000,
        })),
        gateways: [],
      });
      await child.close();
      await child.start(); // forwards as it starts, now with C1
      await waitFor(async () => {
        const s = await parent.call(admin, 'GET', '/api/v1/statistics');
        return (s.json.byEnterprise as Array<{ code: string }>).some((e) => e.code === 'C1');
      }, 'the child hub report');
      const s = await parent.call(admin, 'GET', '/api/v1/statistics');
      expect(s.json.byEnterprise).toContainEqual(
        expect.objectContaining({
          code: 'C1',
          via: 'county-hub',
          productionEquipment: 8,
          networked: 8,
          machines: 8,
        }),
      );
      const ok = parent
        .audit('statistics.child-report')
        .find((a) => a.outcome === 'ok' && a.target === 'county-hub');
      expect(ok?.actor).toBe(`token:${(created.json.record as { id: string }).id}`);
    } finally {
      await child.close();
      dir.remove();
    }
  });
});
