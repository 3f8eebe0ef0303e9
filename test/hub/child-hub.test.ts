/**
 * Issue 9, "child hubs get their own narrow role": a child-hub token posts reports for its own
 * hub id and scope and reaches nothing else; a report out of its scope, out of the hub's clock
 * bounds, or claiming more machines than its ledgers declare (the 10^15 claim) is refused with
 * the reason and audited, and the figures do not move. Against a real hub over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTokenCommand } from '../../cli/token.js';
import { runCommand } from '../support/cli-io.js';
import { enterprise, OWN, ParentHub, report } from './child-hub-fixture.js';

const MIN = 60_000;
const DAY = 86_400_000;
const parent = new ParentHub();
let admin: string;
/** county-a: may report enterprises of yongkang. */
let countyA: string;

/** The figures a bureau reads, to check that nothing moved. */
async function figures(): Promise<unknown> {
  const r = await parent.call(admin, 'GET', '/api/v1/statistics');
  expect(r.status).toBe(200);
  const { generatedAt: _g, ...rest } = r.json;
  return rest;
}

beforeAll(async () => {
  await parent.start();
  admin = parent.token('admin');
  const created = await parent.call(admin, 'POST', '/api/v1/tokens', {
    role: 'child-hub',
    hubId: 'county-a',
    regions: ['yongkang'],
    name: 'county A hub',
  });
  expect(created.status).toBe(201);
  expect(created.json.record).toMatchObject({
    role: 'child-hub',
    hubId: 'county-a',
    regions: ['yongkang'],
    enterprises: [],
  });
  countyA = created.json.token as string;
});
afterAll(async () => {
  await parent.close();
});

describe('a child-hub token', () => {
  it('is made with a hub id and a scope, by the admin API and by `wanji token create`', async () => {
    for (const [body, reason] of [
      [{ role: 'child-hub', regions: ['yongkang'] }, /needs --hub-id/],
      [{ role: 'child-hub', hubId: 'county-x' }, /needs --regions or --enterprises/],
      [{ role: 'child-hub', hubId: 'a/b', regions: ['yongkang'] }, /hub id/],
      [{ role: 'child-hub', hubId: 'county\u202Ex', regions: ['yongkang'] }, /U\+202E/],
      [{ role: 'child-hub', hubId: 'county-x', regions: ['atlantis'] }, /unknown region/],
      [{ role: 'bureau', hubId: 'county-x' }, /only role child-hub takes a hub id/],
      [{ role: 'operator', enterprises: ['E1'] }, /only role child-hub takes enterprise codes/],
    ] as const) {
      const r = await parent.call(admin, 'POST', '/api/v1/tokens', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.message).toMatch(reason);
    }
    // The CLI, against the running hub's registry file.
    const cli = await runCommand(runTokenCommand, [
      'create',
      '--role',
      'child-hub',
      '--hub-id',
      'county-b',
      '--regions',
      'yiwu,panan',
      '--enterprises',
      'X1,X2',
      '--name',
      'county B hub',
      '-d',
      parent.dir.path,
    ]);
    expect(cli.err).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.out).toContain('child-hub, hub county-b regions yiwu,panan enterprises X1,X2');
    const tokenB = cli.out.split('\n')[0]!;
    const list = await runCommand(runTokenCommand, ['list', '-d', parent.dir.path]);
    expect(list.out).toMatch(/child-hub\s+hub county-b regions yiwu,panan enterprises X1,X2\s+active/);
    const bad = await runCommand(runTokenCommand, ['create', '--role', 'child-hub', '-d', parent.dir.path]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/needs --hub-id/);
    // It reports X1 (listed, in any region) and yiwu's enterprises.
    const ok = await parent.post(
      tokenB,
      report('county-b', [enterprise('X1', 'wucheng', 5, 2), enterprise('B1', 'yiwu', 5, 1)]),
    );
    expect(ok.status, ok.text).toBe(200);
    const listed = await parent.call(admin, 'GET', '/api/v1/tokens');
    expect(listed.json.tokens).toContainEqual(
      expect.objectContaining({ role: 'child-hub', hubId: 'county-b', enterprises: ['X1', 'X2'] }),
    );
  });

  it('reaches no route but posting its report: no statistics, fleet, telemetry, manage or admin route', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/v1/stats'],
      ['GET', '/api/v1/statistics'],
      ['GET', '/api/v1/statistics/export?table=enterprises&format=csv'],
      ['GET', '/api/v1/statistics/children'],
      ['GET', '/api/v1/enterprises'],
      ['GET', '/api/v1/machines'],
      ['GET', '/api/v1/gateways'],
      ['GET', '/api/v1/machines/P1/m1'],
      ['GET', '/api/v1/machines/P1/m1/series?metric=x'],
      ['GET', '/api/v1/mqtt-users'],
      ['POST', '/api/v1/mqtt-users', { group: 'P1', node: 'gw' }],
      [
        'PUT',
        `/api/v1/registry/enterprises/${OWN.code}`,
        { ...OWN, ledger: { ...OWN.ledger, productionEquipment: 1e6 } },
      ],
      ['POST', '/api/v1/statistics/snapshots'],
      ['GET', '/api/v1/tokens'],
      ['GET', '/api/v1/audit'],
      ['DELETE', '/api/v1/statistics/children/county-a'],
    ] as const) {
      const r = await parent.call(countyA, method, path, body);
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.json.code).toBe('WANJI_E_API_FORBIDDEN');
    }
    const refusals = parent
      .audit('access')
      .filter(
        (a) =>
          a.outcome === 'refused' && a.detail?.reason === 'role child-hub may not reach aggregate routes',
      );
    expect(refusals.length).toBeGreaterThanOrEqual(4);
    // And no other role posts a report: not even an admin or operator.
    for (const role of ['admin', 'operator', 'bureau'] as const) {
      const r = await parent.post(
        parent.token(role),
        report('county-a', [enterprise('A1', 'yongkang', 5, 1)]),
      );
      expect(r.status, role).toBe(403);
    }
  });

  it('posts only for its own hub id and within its regions, nothing stored otherwise', async () => {
    const before = await figures();
    const refusedBefore = parent
      .audit('statistics.child-report')
      .filter((a) => a.outcome === 'refused').length;
    const cases: Array<[unknown, RegExp]> = [
      [
        report('county-b', [enterprise('A1', 'yongkang', 5, 1)]),
        /hubId "county-b" is not this token's hub id \("county-a"\)/,
      ],
      [
        report('county-a', [enterprise('Y1', 'yiwu', 5, 1)]),
        /enterprise "Y1" \(region yiwu\) is outside this token's scope \(regions yongkang\)/,
      ],
      [
        report('county-a', [enterprise('A1', 'atlantis', 5, 1)]),
        /region "atlantis" is not a region of this hub/,
      ],
      // The parent's own enterprise (yiwu here) cannot be moved into the child's region.
      [
        report('county-a', [enterprise(OWN.code, 'yongkang', 10, 1)]),
        /is in region yiwu in this hub's registry, not yongkang/,
      ],
      [report('county-a', [enterprise('A\u202E1', 'yongkang', 5, 1)]), /U\+202E/],
      [
        report('county-a', [{ ...enterprise('A1', 'yongkang', 5, 1), name: 'A1\u200B公司' }]),
        /name contains U\+200B/,
      ],
      [
        report('county-a', [enterprise('A1', 'yongkang', 5, 1), enterprise('A1', 'yongkang', 5, 1)]),
        /appears twice/,
      ],
    ];
    for (const [body, reason] of cases) {
      const r = await parent.post(countyA, body);
      expect(r.status, String(reason)).toBe(400);
      expect(r.json).toMatchObject({ code: 'WANJI_E_STATS_CHILD_REPORT' });
      expect(r.json.message).toMatch(reason);
    }
    const list = await parent.call(admin, 'GET', '/api/v1/statistics/children');
    expect((list.json.children as Array<{ hubId: string }>).map((c) => c.hubId)).not.toContain('county-a');
    expect(await figures()).toEqual(before);
    const refused = parent.audit('statistics.child-report').filter((a) => a.outcome === 'refused');
    expect(refused.length - refusedBefore).toBe(cases.length);
    expect(refused[0]).toMatchObject({ actor: expect.stringMatching(/^token:/), target: 'county-a' });
    expect(parent.logs.find('child report refused').length).toBeGreaterThanOrEqual(cases.length);
  });

  it('refuses the 10^15 claim and any count above the ledgers, and leaves the figures as they were', async () => {
    const before = await figures();
    const huge = enterprise('A1', 'yongkang', 5, 1);
    const claims: Array<[unknown, number, RegExp]> = [
      // 10^15 networked machines: beyond any ledger (schema bound, 1,000,000 per enterprise).
      [
        report('county-a', [{ ...huge, activity: { ...huge.activity, machines: 1e15, networked: 1e15 } }]),
        400,
        /networked|machines/,
      ],
      [
        report('county-a', [
          {
            ...huge,
            ledger: { ...huge.ledger, productionEquipment: 1e15 },
            activity: { ...huge.activity, machines: 1e15, networked: 1e15 },
          },
        ]),
        400,
        /productionEquipment|machines/,
      ],
      // More machines than the enterprise's own declared equipment.
      [
        report('county-a', [enterprise('A1', 'yongkang', 5, 50)]),
        400,
        /50 machines reported, more than its declared production equipment \(5\)/,
      ],
      // Unattributed machines beyond what the report's ledgers declare in all.
      [
        {
          ...report('county-a', [enterprise('A1', 'yongkang', 5, 5)]),
          unattributed: {
            machines: 500,
            networked: 500,
            online: 0,
            poweredOn: 0,
            networkedNc: 0,
            networkedRobots: 0,
          },
        },
        400,
        /505 machines in all .* more than the production equipment the report declares \(5\)/,
      ],
    ];
    for (const [body, status, reason] of claims) {
      const r = await parent.post(countyA, body);
      expect(r.status, String(reason)).toBe(status);
      expect(r.json.message).toMatch(reason);
    }
    // An enterprise the parent declares itself: its counts within the parent's ledger too.
    const listed = parent.token('child-hub', {
      hubId: 'county-a',
      regions: ['yongkang'],
      enterprises: [OWN.code],
    });
    const r = await parent.post(listed, report('county-a', [enterprise(OWN.code, 'yiwu', 1_000, 900)]));
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(
      /900 machines reported, more than the production equipment this hub's ledger declares \(10\)/,
    );
    expect(await figures()).toEqual(before);
    expect((await parent.call(admin, 'GET', '/api/v1/stats')).json.networked).toBe(
      (before as { networked: number }).networked,
    );
  });

  it("refuses a report dated beyond the hub's clock bounds (limits.maxFutureSkewMs, maxPastMs)", async () => {
    const e = [enterprise('A1', 'yongkang', 5, 1)];
    const ahead = await parent.post(countyA, report('county-a', e, Date.now() + 10 * MIN));
    expect(ahead.status).toBe(400);
    expect(ahead.json.message).toMatch(/ahead of this hub's clock .*limits\.maxFutureSkewMs/);
    const old = await parent.post(countyA, report('county-a', e, Date.now() - 40 * DAY));
    expect(old.status).toBe(400);
    expect(old.json.message).toMatch(/older than limits\.maxPastMs/);
    const far = await parent.post(countyA, report('county-a', e, 8.64e15));
    expect(far.status).toBe(400);
    // Past the largest date there is: refused by the schema before anything reads it.
    const past = await parent.post(countyA, report('county-a', e, 9e15));
    expect(past.status).toBe(400);
    expect(past.json.code).toBe('WANJI_E_API_VALIDATION');
    expect(
      parent.audit('statistics.child-report').filter((a) => a.detail?.code === 'WANJI_E_API_VALIDATION')
        .length,
    ).toBeGreaterThan(0);
  });

  it('bounds the size of a report: enterprises, string lengths', async () => {
    const many = Array.from({ length: 50_001 }, (_, i) => enterprise(`A${i}`, 'yongkang', 1, 0));
    const big = await parent.post(countyA, report('county-a', many));
    expect(big.status).toBe(400);
    expect(big.json.message).toMatch(/enterprises.*50000/);
    const long = await parent.post(
      countyA,
      report('county-a', [{ ...enterprise('A1', 'yongkang', 5, 1), name: 'x'.repeat(501) }]),
    );
    expect(long.status).toBe(400);
    const longId = await parent.post(countyA, report('county-a'.padEnd(65, 'x'), []));
    expect(longId.status).toBe(400);
  });

  it('keeps a valid report, replaces it with a newer one, refuses an older one (409), all audited', async () => {
    const t0 = Date.now();
    const first = await parent.post(
      countyA,
      report('county-a', [enterprise('A1', 'yongkang', 5, 3)], t0 - MIN),
    );
    expect(first.status, first.text).toBe(200);
    const s1 = await parent.call(admin, 'GET', '/api/v1/statistics');
    expect(s1.json.byEnterprise).toContainEqual(
      expect.objectContaining({ code: 'A1', networked: 3, via: 'county-a' }),
    );
    const newer = await parent.post(countyA, report('county-a', [enterprise('A1', 'yongkang', 5, 4)], t0));
    expect(newer.status).toBe(200);
    const older = await parent.post(
      countyA,
      report('county-a', [enterprise('A1', 'yongkang', 5, 5)], t0 - 2 * MIN),
    );
    expect(older.status).toBe(409);
    const s2 = await parent.call(admin, 'GET', '/api/v1/statistics');
    expect(s2.json.byEnterprise).toContainEqual(expect.objectContaining({ code: 'A1', networked: 4 }));
    const ok = parent
      .audit('statistics.child-report')
      .filter((a) => a.outcome === 'ok' && a.target === 'county-a');
    expect(ok[0]!.detail).toMatchObject({
      replaced: new Date(t0 - MIN).toISOString(),
      generatedAt: new Date(t0).toISOString(),
    });
  });
});
