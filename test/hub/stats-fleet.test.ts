/**
 * The programme's statistics from a generated fleet whose right answers are computed here,
 * independently, from the fleet's declarations and the machines the test makes networked,
 * online, dead or powered off; then a real hub over MQTT for reconnect storms and moved machines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from '../../hub/registry/registry.js';
import type { DeviceActivity, RegistryEvent } from '../../hub/registry/types.js';
import { computeStats, DEFAULT_WINDOWS, type GroupStats } from '../../hub/stats/stats.js';
import { DataType, type EnterpriseDeclaration } from '../../protocol/index.js';
import { generateFleet } from '../../simulators/fleet.js';
import { apiToken, cncBirth, silentLogger, TestEdgeNode, tempDir, testHub, waitFor } from './helpers.js';

const NOW = 1_700_000_000_000;
const MIN = 60_000;
const DAY = 86_400_000;

/** What the test makes of machine i: networked? online? powered on? */
function fate(i: number): { sampleAge: number | null; dead: boolean; poweredOff: boolean } {
  switch (i % 6) {
    case 0:
      return { sampleAge: 1 * MIN, dead: false, poweredOff: false }; // networked, online, on
    case 1:
      return { sampleAge: 2 * MIN, dead: false, poweredOff: true }; // networked, online, off
    case 2:
      return { sampleAge: 3 * DAY, dead: false, poweredOff: false }; // networked, not online
    case 3:
      return { sampleAge: 1 * MIN, dead: true, poweredOff: false }; // networked, dead
    case 4:
      return { sampleAge: 9 * DAY, dead: false, poweredOff: false }; // neither
    default:
      return { sampleAge: null, dead: false, poweredOff: false }; // born, never a valid sample
  }
}

interface Expect {
  p: number;
  nc: number;
  robots: number;
  networked: number;
  online: number;
  poweredOn: number;
  networkedNc: number;
}

describe('statistics of a generated fleet', () => {
  const dir = tempDir();
  const reg = new Registry({ path: `${dir.path}/registry.db`, logger: silentLogger(), clock: () => NOW });
  const plan = generateFleet({ machines: 600, seed: 11, enterprises: 24 });
  const expected = new Map<string, Expect>();

  beforeAll(async () => {
    await reg.start();
    for (const e of plan.enterprises) reg.upsertEnterprise(e, 'fleet plan');
    for (const e of plan.enterprises) {
      expected.set(e.code, {
        p: e.ledger.productionEquipment,
        nc: e.ledger.ncEquipment,
        robots: e.ledger.robots,
        networked: 0,
        online: 0,
        poweredOn: 0,
        networkedNc: 0,
      });
    }
    const events: RegistryEvent[] = [];
    const devices: DeviceActivity[] = [];
    const deaths: RegistryEvent[] = [];
    plan.machines.forEach((m, i) => {
      const f = fate(i);
      const gw = `gw-${i % 3}`;
      const at = NOW - (f.sampleAge ?? 10 * DAY);
      events.push({
        type: 'deviceBirth',
        group: m.enterpriseCode,
        edgeNode: gw,
        device: m.id,
        at,
        properties: { kind: m.kind, nc: m.nc, robot: m.robot, dataDepth: m.dataDepth },
      });
      devices.push({
        enterprise: m.enterpriseCode,
        machine: m.id,
        gateway: gw,
        seenAt: at,
        ...(f.sampleAge === null ? {} : { sampleAt: at }),
        state: f.poweredOff ? 'powered_off' : 'running',
        stateAt: at,
      });
      if (f.dead)
        deaths.push({ type: 'deviceDeath', group: m.enterpriseCode, edgeNode: gw, device: m.id, at });
      const x = expected.get(m.enterpriseCode)!;
      const networked = f.sampleAge !== null && f.sampleAge <= 7 * DAY;
      const online = !f.dead && f.sampleAge !== null && f.sampleAge <= 5 * MIN;
      if (networked) x.networked++;
      if (networked && m.nc) x.networkedNc++;
      if (online) x.online++;
      if (online && !f.poweredOff) x.poweredOn++;
    });
    // A reconnect storm: every machine of the first enterprise born 50 more times.
    const stormed = plan.machines.filter((m) => m.enterpriseCode === plan.enterprises[0]!.code);
    for (let k = 0; k < 50; k++) {
      for (const m of stormed) {
        events.push({
          type: 'deviceBirth',
          group: m.enterpriseCode,
          edgeNode: 'gw-0',
          device: m.id,
          at: NOW - 10 * DAY,
          properties: {},
        });
      }
    }
    reg.applyIngest({ events, devices, gateways: [] });
    reg.applyIngest({ events: deaths, devices: [], gateways: [] });
  });
  afterAll(async () => {
    await reg.close();
    dir.remove();
  });

  const sumOf = (codes: readonly EnterpriseDeclaration[]) => {
    const t = { p: 0, nc: 0, robots: 0, networked: 0, online: 0, poweredOn: 0, networkedNc: 0 };
    for (const e of codes) {
      const x = expected.get(e.code)!;
      for (const k of Object.keys(t) as (keyof typeof t)[]) t[k] += x[k];
    }
    return t;
  };
  const meanOf = (xs: (number | null)[]): number | null => {
    const v = xs.filter((x): x is number => x !== null);
    return v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length;
  };
  const r = (n: number, d: number): number | null => (d > 0 ? n / d : null);

  function check(g: GroupStats, members: readonly EnterpriseDeclaration[]): void {
    const t = sumOf(members);
    expect(g).toMatchObject({
      enterprises: members.length,
      networked: t.networked,
      online: t.online,
      poweredOn: t.poweredOn,
      networkedNc: t.networkedNc,
      productionEquipment: t.p,
      ncEquipment: t.nc,
      robots: t.robots,
    });
    const close = (a: number | null, b: number | null) =>
      b === null ? expect(a).toBeNull() : expect(a).toBeCloseTo(b, 12);
    close(g.networkingRate, r(t.networked, t.p));
    close(g.ncRate, r(t.nc, t.p));
    close(g.onlineRate, r(t.online, t.networked));
    close(g.powerOnRate, r(t.poweredOn, t.networked));
    close(
      g.networkingRateMean,
      meanOf(members.map((e) => r(expected.get(e.code)!.networked, e.ledger.productionEquipment))),
    );
    close(g.ncRateMean, meanOf(members.map((e) => r(e.ledger.ncEquipment, e.ledger.productionEquipment))));
    const backbone = members.filter((e) => e.backbone);
    const meeting = backbone.filter((e) => {
      const x = expected.get(e.code)!;
      return x.p > 0 && x.networked / x.p >= 0.5 && x.nc / x.p >= 0.7;
    });
    expect(g.backboneEnterprises).toBe(backbone.length);
    expect(g.backboneMeetingTarget).toBe(meeting.length);
    expect(g.backbone).toMatchObject({
      population: 'backbone',
      enterprises: backbone.length,
      networked: sumOf(backbone).networked,
    });
    close(g.backbone.networkingRate, r(sumOf(backbone).networked, sumOf(backbone).p));
  }

  it('counts the city, each region, each industry and each enterprise as computed from the plan', () => {
    const s = computeStats(reg, NOW, DEFAULT_WINDOWS);
    const total = sumOf(plan.enterprises);
    expect(s.machines).toBe(plan.machines.length); // the storm added no machine
    expect(s.networked).toBe(total.networked);
    expect(s.progress).toBeCloseTo(total.networked / 10_000, 12);
    expect(total.networked).toBeGreaterThan(100); // the fleet is big enough to mean something
    check(s.city, plan.enterprises);
    for (const g of s.byRegion)
      check(
        g,
        plan.enterprises.filter((e) => e.regionCode === g.code),
      );
    for (const g of s.byIndustry)
      check(
        g,
        plan.enterprises.filter((e) => e.industryCode === g.code),
      );
    for (const e of s.byEnterprise) {
      const x = expected.get(e.code)!;
      expect(e).toMatchObject({
        networked: x.networked,
        online: x.online,
        poweredOn: x.poweredOn,
        via: null,
      });
      expect(e.meetsBackboneTarget).toBe(x.p > 0 && x.networked / x.p >= 0.5 && x.nc / x.p >= 0.7);
    }
  });

  it('narrows to a scope: a region, or one enterprise', () => {
    const region = plan.enterprises[0]!.regionCode;
    const s = computeStats(reg, NOW, DEFAULT_WINDOWS, { scope: { regions: [region] } });
    const members = plan.enterprises.filter((e) => e.regionCode === region);
    expect(s.byRegion.map((g) => g.code)).toEqual([region]);
    expect(s.byEnterprise.map((e) => e.code).sort()).toEqual(members.map((e) => e.code).sort());
    check(s.city, members);
    const one = computeStats(reg, NOW, DEFAULT_WINDOWS, { scope: { enterprises: ['E002'] } });
    expect(one.byEnterprise.map((e) => e.code)).toEqual(['E002']);
    expect(one.networked).toBe(expected.get('E002')!.networked);
  });
});

describe('statistics through a real hub: reconnect storms and moved machines count once', () => {
  const dir = tempDir();
  const hub = testHub(dir.path, { rebirthMinIntervalMs: 0 });
  const nodes: TestEdgeNode[] = [];

  beforeAll(async () => {
    await hub.start();
    hub.registry.upsertEnterprise(
      {
        code: 'acme',
        name: 'Acme',
        regionCode: 'yiwu',
        industryCode: 'nev',
        backbone: true,
        ledger: { productionEquipment: 4, ncEquipment: 4, robots: 0 },
      },
      'test',
    );
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await hub.close();
    dir.remove();
  });

  it('a machine born 50 times, and one that moves from gateway A to B, each count once', async () => {
    const a = new TestEdgeNode('acme', 'gw-a', 1);
    const b = new TestEdgeNode('acme', 'gw-b', 1);
    nodes.push(a, b);
    await a.connect(hub.mqttUrl);
    await b.connect(hub.mqttUrl);
    await a.nbirth();
    for (let k = 0; k < 50; k++) {
      await a.dbirth('storm', cncBirth(Date.now()));
      await a.ddata('storm', [{ alias: 6, datatype: DataType.Double, value: k }]);
    }
    await a.dbirth('mover', cncBirth(Date.now()));
    await a.ddata('mover', [{ alias: 6, datatype: DataType.Double, value: 1 }]);
    await waitFor(async () => {
      await hub.flush();
      return hub.registry.machine('acme', 'mover')?.gateway === 'gw-a';
    }, 'mover on gateway A');
    // The machine is rewired to gateway B; A then reports it dead (a stale death for B's machine).
    await b.nbirth();
    await b.dbirth('mover', cncBirth(Date.now()));
    await b.ddata('mover', [{ alias: 6, datatype: DataType.Double, value: 2 }]);
    await waitFor(async () => {
      await hub.flush();
      return hub.registry.machine('acme', 'mover')?.gateway === 'gw-b';
    }, 'mover on gateway B');
    await a.ddeath('mover');
    await a.ddata('storm', [{ alias: 6, datatype: DataType.Double, value: 99 }]);
    // A's messages arrive in order: once the 99 is stored, A's death of "mover" was handled.
    await waitFor(async () => {
      await hub.flush();
      const latest = await hub.store.latest('acme', 'storm');
      return latest.some((l) => l.value === 99);
    }, 'the last message from gateway A');
    await hub.flush();

    const res = await fetch(`http://127.0.0.1:${hub.httpPort}/api/v1/statistics`, {
      headers: apiToken(hub.registry, 'bureau'),
    });
    expect(res.status).toBe(200);
    const s = (await res.json()) as {
      machines: number;
      networked: number;
      online: number;
      byEnterprise: { code: string; networked: number }[];
      city: GroupStats;
    };
    expect(s).toMatchObject({ machines: 2, networked: 2, online: 2 });
    expect(s.city.networkingRate).toBeCloseTo(2 / 4, 12);
    expect(hub.registry.machine('acme', 'mover')).toMatchObject({ gateway: 'gw-b', dead: false });
  });
});
