import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import { AuditLog } from '../../hub/security/audit.js';
import { figures } from '../../hub/stats/figures.js';
import { CredentialedGateway } from './credentialed-gateway.js';
import { apiToken, silentLogger, tempDir, waitFor } from './helpers.js';

interface EnterpriseRow {
  code: string;
  networked: number;
  networkedMeasured: number;
  networkedUnconfirmed: number;
  beyondLedger: number;
  exceedsLedger: boolean;
  networkedNc: number;
  networkedRobots: number;
  online: number;
  poweredOn: number;
  networkingRate: number | null;
  onlineRate: number | null;
  measuredNcRate: number | null;
}
interface Group {
  code: string;
  networked: number;
  networkedMeasured: number;
  beyondLedger: number;
  enterprisesExceedingLedger: number;
  networkingRate: number | null;
  networkingRateMean: number | null;
  onlineRate: number | null;
  backbone: Group;
}
interface Statistics {
  networked: number;
  progress: number;
  networkedMeasured: number;
  networkedUnconfirmed: number;
  beyondLedger: number;
  enterprisesExceedingLedger: number;
  unattributed: { machines: number; networked: number };
  city: Group;
  byRegion: Group[];
  byIndustry: Group[];
  byEnterprise: EnterpriseRow[];
}

const FAKES = 300;

function parseCsv(text: string): string[][] {
  return text
    .replace(/^\uFEFF/, '')
    .trimEnd()
    .split(/\r?\n/)
    .map((line) => line.split(','));
}

describe('the official count against one gateway credential inventing machines', () => {
  const dir = tempDir();
  const hub = new Hub({
    dataDir: dir.path,
    mqtt: { port: 0 },
    http: { port: 0 },
    flushIntervalMs: 20,
    logger: silentLogger(),
  });
  const gateways: CredentialedGateway[] = [];
  let base: string;
  let admin: { authorization: string };
  let bureau: { authorization: string };

  const get = async <T>(path: string, headers = bureau): Promise<T> => {
    const r = await fetch(`${base}${path}`, { headers });
    expect(r.status, path).toBe(200);
    return (await r.json()) as T;
  };
  const post = async (path: string, body?: unknown, headers = admin) =>
    await fetch(`${base}${path}`, {
      method: 'POST',
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const machines = (enterprise: string) => hub.registry.countMachines({ enterprise });
  const enterpriseOf = (s: Statistics, code: string) => s.byEnterprise.find((e) => e.code === code)!;
  /** A gateway of `group` with its own credential, born. */
  const gateway = async (group: string, node: string): Promise<CredentialedGateway> => {
    const { credential, password } = hub.mqttCredentials.create(
      { group, node },
      { actor: 'cli:test', source: 'cli' },
    );
    const g = new CredentialedGateway(group, node);
    gateways.push(g);
    await g.connect(hub.mqttUrl, credential.username, password);
    await g.nbirth();
    return g;
  };

  beforeAll(async () => {
    await hub.start();
    base = `http://127.0.0.1:${hub.httpPort}`;
    admin = apiToken(hub.registry, 'admin');
    bureau = apiToken(hub.registry, 'bureau');
    const declare = (code: string, regionCode: string, ledger: [number, number, number]) =>
      hub.registry.upsertEnterprise(
        {
          code,
          name: code,
          regionCode,
          industryCode: 'hardware',
          backbone: true,
          ledger: { productionEquipment: ledger[0], ncEquipment: ledger[1], robots: ledger[2] },
        },
        'test',
      );
    declare('victim', 'yongkang', [10, 6, 1]);
    declare('bystander', 'yiwu', [4, 2, 0]);
    const v = await gateway('victim', 'gw-1');
    for (let i = 1; i <= 8; i++) await v.dbirth(`m${i}`, { nc: i <= 4, robot: false });
    const b = await gateway('bystander', 'gw-1');
    await b.dbirth('b1', { nc: true });
    await b.dbirth('b2', { nc: false });
    await waitFor(async () => {
      await hub.flush();
      return machines('victim') === 8 && machines('bystander') === 2;
    }, 'the real machines in the registry');
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await hub.close();
    dir.remove();
  });

  it('before the attack: 8 of 10 networked, nothing beyond the ledger', async () => {
    const s = await get<Statistics>('/api/v1/statistics');
    expect(s).toMatchObject({
      networked: 10,
      networkedMeasured: 10,
      beyondLedger: 0,
      enterprisesExceedingLedger: 0,
    });
    expect(enterpriseOf(s, 'victim')).toMatchObject({
      networked: 8,
      networkedMeasured: 8,
      networkedUnconfirmed: 8,
      beyondLedger: 0,
      exceedsLedger: false,
      networkedNc: 4,
    });
    // The operator confirms the real machines, as after a site visit.
    for (let i = 1; i <= 8; i++) {
      const r = await post(`/api/v1/machines/victim/m${i}/confirm`);
      expect(r.status).toBe(200);
    }
    expect(enterpriseOf(await get<Statistics>('/api/v1/statistics'), 'victim').networkedUnconfirmed).toBe(0);
  });

  it(`${FAKES} invented machines from one credential: counted up to the ledger, the excess shown, never counted`, async () => {
    const before = await get<Statistics>('/api/v1/statistics');
    const attacker = await gateway('victim', 'gw-attacker');
    for (let i = 0; i < FAKES; i++) await attacker.dbirth(`fake-${i}`, { nc: true, robot: true });
    await waitFor(
      async () => {
        await hub.flush();
        return machines('victim') === 8 + FAKES;
      },
      'the invented machines in the registry',
      20_000,
    );
    const s = await get<Statistics>('/api/v1/statistics');
    const victim = enterpriseOf(s, 'victim');
    // The enterprise: never above its ledger, its rates never above 100 %.
    expect(victim).toMatchObject({
      networked: 10,
      networkedMeasured: 8 + FAKES,
      networkedUnconfirmed: FAKES,
      beyondLedger: 8 + FAKES - 10,
      exceedsLedger: true,
      networkedNc: 6, // ≤ declared NC equipment
      networkedRobots: 1, // ≤ declared robots
    });
    expect(victim.networkingRate).toBe(1);
    expect(victim.online).toBeLessThanOrEqual(victim.networked);
    expect(victim.poweredOn).toBeLessThanOrEqual(victim.online);
    expect(victim.onlineRate).toBeLessThanOrEqual(1);
    expect(victim.measuredNcRate).toBeLessThanOrEqual(1);
    // The bystander did not move.
    expect(enterpriseOf(s, 'bystander')).toEqual(enterpriseOf(before, 'bystander'));
    // The city, its region and industry: up by at most the victim's 2 free ledger places.
    expect(s.networked).toBe(before.networked + 2);
    expect(s.progress).toBe(s.networked / 10_000);
    expect(s).toMatchObject({
      networkedMeasured: 10 + FAKES,
      networkedUnconfirmed: FAKES + 2, // the fakes and the bystander's two
      beyondLedger: FAKES - 2,
      enterprisesExceedingLedger: 1,
    });
    expect(s.city).toMatchObject({ networked: 12, beyondLedger: FAKES - 2, enterprisesExceedingLedger: 1 });
    expect(s.city.networkingRate).toBeCloseTo(12 / 14, 12);
    expect(s.city.backbone).toMatchObject({ networked: 12, enterprisesExceedingLedger: 1 });
    for (const g of [...s.byRegion, ...s.byIndustry, s.city]) {
      expect(g.networkingRate ?? 0, g.code).toBeLessThanOrEqual(1);
      expect(g.networkingRateMean ?? 0, g.code).toBeLessThanOrEqual(1);
      expect(g.onlineRate ?? 0, g.code).toBeLessThanOrEqual(1);
    }
    expect(s.byRegion.find((r) => r.code === 'yongkang')).toMatchObject({
      networked: 10,
      networkedMeasured: 8 + FAKES,
      enterprisesExceedingLedger: 1,
      networkingRate: 1,
    });
    expect(s.byRegion.find((r) => r.code === 'yiwu')).toMatchObject({
      networked: 2,
      enterprisesExceedingLedger: 0,
    });
    expect(s.byIndustry.find((r) => r.code === 'hardware')).toMatchObject({
      networked: 12,
      enterprisesExceedingLedger: 1,
    });

    // The dashboard's /api/v1/stats and the enterprise list say the same.
    const stats = await get<Statistics>('/api/v1/stats');
    expect(stats).toMatchObject({
      networked: 12,
      networkedMeasured: 10 + FAKES,
      beyondLedger: FAKES - 2,
      enterprisesExceedingLedger: 1,
    });
    expect(stats.byRegion.find((r) => r.code === 'yongkang')).toMatchObject({
      networked: 10,
      networkingRate: 1,
      enterprisesExceedingLedger: 1,
    });
    const list = await get<{ enterprises: EnterpriseRow[] }>('/api/v1/enterprises');
    expect(list.enterprises.find((e) => e.code === 'victim')).toMatchObject({
      networked: 10,
      networkedMeasured: 8 + FAKES,
      exceedsLedger: true,
      networkingRate: 1,
    });
    const ledger = await get<{
      exceedsLedger: boolean;
      counted: { networked: number; beyondLedger: number };
    }>('/api/v1/registry/enterprises/victim/machines');
    expect(ledger).toMatchObject({
      exceedsLedger: true,
      counted: { networked: 10, beyondLedger: FAKES - 2 },
      discovered: { machines: 8 + FAKES, confirmed: 8, unconfirmed: FAKES, retired: 0 },
    });
    const listed = await get<{ total: number; machines: { id: string; status: string }[] }>(
      '/api/v1/machines?enterprise=victim&status=unconfirmed&limit=5',
      admin,
    );
    expect(listed.total).toBe(FAKES);
    expect(listed.machines.every((m) => m.id.startsWith('fake-') && m.status === 'unconfirmed')).toBe(true);

    // The exports: the counted figure, and the anomaly beside it.
    const csv = await fetch(`${base}/api/v1/statistics/export?table=enterprises&format=csv&lang=en`, {
      headers: bureau,
    });
    const [header, ...rows] = parseCsv(await csv.text());
    const row = rows.find((r) => r[header!.indexOf('Enterprise code')] === 'victim')!;
    const col = (name: string) => row[header!.indexOf(name)];
    expect(col('Networked machines')).toBe('10');
    expect(col('Networked machines (measured)')).toBe(String(8 + FAKES));
    expect(col('Beyond the ledger (not counted)')).toBe(String(FAKES - 2));
    expect(col('Exceeds its ledger')).toBe('Yes');
    expect(col('Networking rate')).toBe('100.0%');
    const regions = await fetch(`${base}/api/v1/statistics/export?table=regions&format=csv&lang=en`, {
      headers: bureau,
    });
    const [rh, ...rr] = parseCsv(await regions.text());
    const yk = rr.find((r) => r.at(-1) === 'yongkang' && r[rh!.indexOf('Enterprises counted')] === 'All')!;
    expect(yk[rh!.indexOf('Networked machines')]).toBe('10');
    expect(yk[rh!.indexOf('Enterprises exceeding their ledger')]).toBe('1');

    // A snapshot keeps the counted figure and the anomaly for the trend.
    expect((await post('/api/v1/statistics/snapshots')).status).toBe(200);
    const t = await get<{ snapshots: { figures: Record<string, unknown> }[] }>(
      '/api/v1/statistics/trend?level=enterprise&code=victim',
    );
    expect(t.snapshots[0]!.figures).toMatchObject({
      networked: 10,
      networkedMeasured: 8 + FAKES,
      exceedsLedger: true,
      networkingRate: 1,
    });
    const c = await get<{ snapshots: { figures: Record<string, unknown> }[] }>(
      '/api/v1/statistics/trend?level=city',
    );
    expect(c.snapshots[0]!.figures).toMatchObject({ networked: 12, enterprisesExceedingLedger: 1 });
  });

  it('retire via the API: out of every count, audited, and a rebirth does not bring it back', async () => {
    const r = await post('/api/v1/machines/bystander/b1/retire', { reason: 'scrapped in 2025' });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ changed: true, machine: { id: 'b1', status: 'retired' } });
    let s = await get<Statistics>('/api/v1/statistics');
    expect(enterpriseOf(s, 'bystander')).toMatchObject({
      networked: 1,
      networkedMeasured: 1,
      networkedNc: 0,
    });
    const entry = new AuditLog(hub.registry.database).list({ action: 'machine.retire' })[0]!;
    expect(entry).toMatchObject({ target: 'bystander/b1', outcome: 'ok' });
    expect(entry.actor).toMatch(/^token:/);
    expect(entry.detail).toMatchObject({ from: 'unconfirmed', to: 'retired', reason: 'scrapped in 2025' });

    // Its gateway births it again: still retired, still not counted.
    const seen = hub.registry.machine('bystander', 'b1')!.lastSeenAt!;
    const b = gateways[1]!;
    await b.dbirth('b1', { nc: true });
    await waitFor(async () => {
      await hub.flush();
      return (hub.registry.machine('bystander', 'b1')?.lastSeenAt ?? 0) > seen;
    }, 'the rebirth of b1');
    expect(hub.registry.machine('bystander', 'b1')).toMatchObject({ status: 'retired', dead: false });
    s = await get<Statistics>('/api/v1/statistics');
    expect(enterpriseOf(s, 'bystander')).toMatchObject({ networked: 1, networkedMeasured: 1 });
    const m = await get<{ machine: { status: string; retiredBy: string } }>(
      '/api/v1/machines/bystander/b1',
      admin,
    );
    expect(m.machine.status).toBe('retired');
    expect(m.machine.retiredBy).toBe(entry.actor);

    // Retiring it again changes nothing; confirming brings it back into the count.
    expect(await (await post('/api/v1/machines/bystander/b1/retire')).json()).toMatchObject({
      changed: false,
    });
    const c = await post('/api/v1/machines/bystander/b1/confirm', { reason: 'back in service' });
    expect(await c.json()).toMatchObject({
      changed: true,
      machine: { status: 'confirmed', retiredAt: null },
    });
    s = await get<Statistics>('/api/v1/statistics');
    expect(enterpriseOf(s, 'bystander')).toMatchObject({
      networked: 2,
      networkedUnconfirmed: 1,
      networkedNc: 1,
    });
    expect(new AuditLog(hub.registry.database).list({ action: 'machine.confirm' })[0]).toMatchObject({
      target: 'bystander/b1',
      outcome: 'ok',
      detail: { from: 'retired', to: 'confirmed', changed: true },
    });
  });

  it('retiring the invented machines brings the enterprise back to what is real', async () => {
    for (let i = 0; i < 5; i++)
      expect((await post(`/api/v1/machines/victim/fake-${i}/retire`)).status).toBe(200);
    const victim = enterpriseOf(await get<Statistics>('/api/v1/statistics'), 'victim');
    expect(victim).toMatchObject({
      networked: 10,
      networkedMeasured: 8 + FAKES - 5,
      networkedUnconfirmed: FAKES - 5,
    });
    const retired = await get<{ total: number }>('/api/v1/machines?enterprise=victim&status=retired', admin);
    expect(retired.total).toBe(5);
  });

  it('merges a duplicate id into the machine it is; refuses unknown machines (404) and bad merges (400), audited', async () => {
    const b = gateways[1]!;
    await b.dbirth('b2-renamed', { nc: false });
    await waitFor(async () => {
      await hub.flush();
      return machines('bystander') === 3;
    }, 'the duplicate in the registry');
    expect(enterpriseOf(await get<Statistics>('/api/v1/statistics'), 'bystander').networkedMeasured).toBe(3);

    const r = await post('/api/v1/machines/bystander/b2-renamed/merge', { into: 'b2' });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({
      changed: true,
      machine: { id: 'b2-renamed', status: 'retired', mergedInto: 'b2' },
    });
    expect(hub.registry.machine('bystander', 'b2')).toMatchObject({ status: 'unconfirmed' });
    expect(enterpriseOf(await get<Statistics>('/api/v1/statistics'), 'bystander')).toMatchObject({
      networked: 2,
      networkedMeasured: 2,
    });
    expect(new AuditLog(hub.registry.database).list({ action: 'machine.merge' })[0]).toMatchObject({
      target: 'bystander/b2-renamed',
      outcome: 'ok',
      detail: { into: 'b2', to: 'retired' },
    });

    const refusals: [string, unknown, number, string][] = [
      ['/api/v1/machines/bystander/nope/retire', undefined, 404, 'WANJI_E_API_NOT_FOUND'],
      ['/api/v1/machines/bystander/b1/merge', { into: 'nope' }, 404, 'WANJI_E_REGISTRY_UNKNOWN_MACHINE'],
      ['/api/v1/machines/bystander/b1/merge', { into: 'b1' }, 400, 'WANJI_E_REGISTRY_MACHINE_CHANGE'],
      ['/api/v1/machines/bystander/b1/merge', { into: 'b2-renamed' }, 400, 'WANJI_E_REGISTRY_MACHINE_CHANGE'],
      ['/api/v1/machines/bystander/b1/merge', {}, 400, 'WANJI_E_API_VALIDATION'],
      ['/api/v1/machines/bystander/b1/retire', { reason: 'x', extra: 1 }, 400, 'WANJI_E_API_VALIDATION'],
      ['/api/v1/machines/bystander/b1/retire', { reason: 'x'.repeat(501) }, 400, 'WANJI_E_API_VALIDATION'],
    ];
    const log = new AuditLog(hub.registry.database);
    for (const [path, body, status, code] of refusals) {
      const before = log.list({ limit: 1_000 }).filter((e) => e.outcome === 'refused').length;
      const res = await post(path, body);
      expect(res.status, path).toBe(status);
      const json = (await res.json()) as { code: string; message: string };
      expect(json.code, path).toBe(code);
      const after = log.list({ limit: 1_000 }).filter((e) => e.outcome === 'refused').length;
      expect(after, `${path} audited`).toBe(before + 1);
    }
    expect(hub.registry.machine('bystander', 'b1')).toMatchObject({ status: 'confirmed', mergedInto: null });
    // A bureau token reads the figures but changes no machine.
    expect((await post('/api/v1/machines/bystander/b1/retire', undefined, bureau)).status).toBe(403);
    expect(hub.registry.machine('bystander', 'b1')?.status).toBe('confirmed');
  });
});

describe('what is counted, summed over enterprises whatever reports them', () => {
  it("caps a child hub's enterprise by its ledger like this hub's own", () => {
    const base = {
      name: 'x',
      regionCode: 'yiwu',
      industryCode: 'nev',
      backbone: false,
      ledger: { productionEquipment: 10, ncEquipment: 5, robots: 0 },
    };
    const activity = (networked: number) => ({
      machines: networked,
      networked,
      online: networked,
      poweredOn: networked,
      networkedNc: networked,
      networkedRobots: 0,
    });
    const f = figures(
      [
        { ...base, code: 'own', activity: activity(4), networkedUnconfirmed: 0 },
        { ...base, code: 'child', activity: activity(1_000_000_000), via: 'county-hub' },
        {
          ...base,
          code: 'undeclared',
          ledger: { productionEquipment: 0, ncEquipment: 0, robots: 0 },
          activity: activity(7),
        },
      ],
      'all',
      { backboneNetworkingRate: 0.5, backboneNcRate: 0.7 },
    );
    expect(f).toMatchObject({
      networked: 14,
      online: 14,
      poweredOn: 14,
      networkedNc: 9,
      networkedRobots: 0,
      networkedMeasured: 1_000_000_011,
      networkedUnconfirmed: 1_000_000_007,
      beyondLedger: 1_000_000_011 - 14,
      enterprisesExceedingLedger: 2,
      productionEquipment: 20,
    });
    expect(f.networkingRate).toBe(14 / 20);
    expect(f.networkingRateMean).toBe((4 / 10 + 1) / 2);
    expect(f.onlineRate).toBe(1);
    expect(f.measuredNcRate).toBe(9 / 14);
  });
});
