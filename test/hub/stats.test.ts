import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from '../../hub/registry/registry.js';
import type { DeviceActivity, RegistryEvent } from '../../hub/registry/types.js';
import { computeStats, DEFAULT_WINDOWS } from '../../hub/stats/stats.js';
import { silentLogger, tempDir } from './helpers.js';

const NOW = 1_700_000_000_000;
const MIN = 60_000;
const DAY = 86_400_000;

describe('computeStats', () => {
  const dir = tempDir();
  const reg = new Registry({ path: `${dir.path}/registry.db`, logger: silentLogger(), clock: () => NOW });

  /** Puts a machine in the registry with its last sample and last report at the given ages. */
  function machine(enterprise: string, id: string, sampleAge: number, opts: { dead?: boolean } = {}): void {
    const at = NOW - sampleAge;
    const events: RegistryEvent[] = [
      { type: 'deviceBirth', group: enterprise, edgeNode: 'gw', device: id, at, properties: {} },
    ];
    const devices: DeviceActivity[] = [{ enterprise, machine: id, gateway: 'gw', seenAt: at, sampleAt: at }];
    reg.applyIngest({ events, devices, gateways: [] });
    if (opts.dead) {
      reg.applyIngest({
        events: [{ type: 'deviceDeath', group: enterprise, edgeNode: 'gw', device: id, at }],
        devices: [],
        gateways: [],
      });
    }
  }

  beforeAll(async () => {
    await reg.start();
    const ledger = (p: number, nc: number) => ({ productionEquipment: p, ncEquipment: nc, robots: 1 });
    reg.upsertEnterprise(
      {
        code: 'A',
        name: 'A',
        regionCode: 'wucheng',
        industryCode: 'nev',
        backbone: true,
        ledger: ledger(10, 8),
      },
      't',
    );
    reg.upsertEnterprise(
      {
        code: 'B',
        name: 'B',
        regionCode: 'wucheng',
        industryCode: 'flask',
        backbone: false,
        ledger: ledger(4, 1),
      },
      't',
    );
    reg.upsertEnterprise(
      { code: 'C', name: 'C', regionCode: 'yiwu', industryCode: 'nev', backbone: true, ledger: ledger(2, 2) },
      't',
    );
    machine('A', 'a1', 1 * MIN); // networked, online
    machine('A', 'a2', 2 * DAY); // networked, not online
    machine('A', 'a3', 8 * DAY); // neither
    machine('A', 'a4', 1 * MIN, { dead: true }); // networked, dead → not online
    machine('B', 'b1', 30_000);
    machine('C', 'c1', 10_000);
    machine('C', 'c2', 4 * MIN);
    machine('ghost', 'g1', 1_000); // its group is no declared enterprise
  });
  afterAll(async () => {
    await reg.close();
    dir.remove();
  });

  it('counts networked (7-day window) and online (5-minute window, not dead) machines', () => {
    const s = computeStats(reg, NOW, DEFAULT_WINDOWS);
    // ghost's machine is seen (machines, unattributed) but never counted (docs/statistics.md).
    expect(s).toMatchObject({
      target: 10_000,
      networked: 6,
      networkedMeasured: 6,
      beyondLedger: 0,
      online: 4,
      machines: 8,
      enterprises: 3,
      productionEquipment: 16,
      ncEquipment: 11,
      unattributed: { machines: 1, networked: 1, online: 1 },
      windows: { networkingMs: 7 * DAY, onlineMs: 5 * MIN },
      generatedAt: new Date(NOW).toISOString(),
    });
    expect(s.networkingRate).toBeCloseTo(6 / 16);
    expect(s.ncRate).toBeCloseTo(11 / 16);
  });

  it('reports networking and NC rates per region, pooled and as the mean of enterprise rates', () => {
    const s = computeStats(reg, NOW, DEFAULT_WINDOWS);
    const wucheng = s.byRegion.find((r) => r.code === 'wucheng')!;
    expect(wucheng).toMatchObject({
      nameZh: '婺城区',
      enterprises: 2,
      networked: 4,
      online: 2,
      productionEquipment: 14,
      ncEquipment: 9,
      backboneEnterprises: 1,
      backboneMeetingTarget: 0,
    });
    expect(wucheng.networkingRate).toBeCloseTo(4 / 14);
    expect(wucheng.ncRate).toBeCloseTo(9 / 14);
    expect(wucheng.networkingRateMean).toBeCloseTo((3 / 10 + 1 / 4) / 2);
    const yiwu = s.byRegion.find((r) => r.code === 'yiwu')!;
    expect(yiwu).toMatchObject({
      networked: 2,
      online: 2,
      networkingRate: 1,
      ncRate: 1,
      backboneMeetingTarget: 1,
    });
    const empty = s.byRegion.find((r) => r.code === 'panan')!;
    expect(empty).toMatchObject({
      enterprises: 0,
      networked: 0,
      networkingRate: null,
      ncRate: null,
      networkingRateMean: null,
    });
  });

  it('reports per industry', () => {
    const s = computeStats(reg, NOW, DEFAULT_WINDOWS);
    const nev = s.byIndustry.find((i) => i.code === 'nev')!;
    expect(nev).toMatchObject({
      enterprises: 2,
      networked: 5,
      online: 3,
      productionEquipment: 12,
      ncEquipment: 10,
    });
    expect(nev.networkingRate).toBeCloseTo(5 / 12);
    expect(s.byIndustry.find((i) => i.code === 'flask')).toMatchObject({
      networked: 1,
      networkingRate: 0.25,
      ncRate: 0.25,
    });
  });

  it('gives online and power-on rates, backbone figures and each enterprise, labelled', () => {
    const s = computeStats(reg, NOW, DEFAULT_WINDOWS);
    expect(s).toMatchObject({ poweredOn: 4, progress: 6 / 10_000, figureWindows: { online: 'online' } });
    expect(s.onlineRate).toBeCloseTo(4 / 6);
    // The city: declared enterprises only (ghost's machine is unattributed).
    expect(s.city).toMatchObject({ population: 'all', networked: 6, online: 4, poweredOn: 4 });
    expect(s.city.onlineRate).toBeCloseTo(4 / 6);
    expect(s.city.onlineRateMean).toBeCloseTo((1 / 3 + 1 + 1) / 3);
    expect(s.city.backbone).toMatchObject({
      population: 'backbone',
      enterprises: 2,
      networked: 5,
      productionEquipment: 12,
      backboneMeetingTarget: 1,
    });
    expect(s.city.backbone.networkingRate).toBeCloseTo(5 / 12);
    expect(s.city.backbone.networkingRateMean).toBeCloseTo((3 / 10 + 2 / 2) / 2);
    const a = s.byEnterprise.find((e) => e.code === 'A')!;
    expect(a).toMatchObject({
      machines: 4,
      networked: 3,
      online: 1,
      backbone: true,
      meetsBackboneTarget: false,
    });
    expect(a.networkingRate).toBeCloseTo(0.3);
    expect(a.ncRate).toBeCloseTo(0.8);
    expect(s.byEnterprise.find((e) => e.code === 'C')).toMatchObject({
      meetsBackboneTarget: true,
      via: null,
    });
  });

  it('counts a machine reporting powered_off as online but not powered on', () => {
    reg.applyIngest({
      events: [],
      devices: [{ enterprise: 'B', machine: 'b1', gateway: 'gw', seenAt: NOW - 1_000, state: 'powered_off' }],
      gateways: [],
    });
    const b = computeStats(reg, NOW, DEFAULT_WINDOWS).byEnterprise.find((e) => e.code === 'B')!;
    expect(b).toMatchObject({ online: 1, poweredOn: 0, powerOnRate: 0 });
    reg.applyIngest({
      events: [],
      devices: [{ enterprise: 'B', machine: 'b1', gateway: 'gw', seenAt: NOW - 500, state: 'idle' }],
      gateways: [],
    });
    expect(computeStats(reg, NOW, DEFAULT_WINDOWS).byEnterprise.find((e) => e.code === 'B')).toMatchObject({
      poweredOn: 1,
      powerOnRate: 1,
    });
  });

  it('follows the configured windows and the injected clock', () => {
    const narrow = computeStats(reg, NOW, { networkingMs: 1 * DAY, onlineMs: 1 * MIN });
    expect(narrow.networked).toBe(5); // a2 (2 days) drops out
    expect(narrow.online).toBe(3); // c2 (4 minutes) drops out
    const later = computeStats(reg, NOW + 10 * DAY, DEFAULT_WINDOWS);
    expect(later).toMatchObject({ networked: 0, online: 0, machines: 8 });
  });
});
