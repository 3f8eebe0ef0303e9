import { describe, expect, it } from 'vitest';
import { INDUSTRY_SEEDS, REGION_SEEDS } from '../../protocol/domain.js';
import { invalidIdReason } from '../../protocol/sparkplug/topic.js';
import { type FleetPlan, generateFleet } from '../../simulators/fleet.js';

function checkPlan(plan: FleetPlan, machines: number): void {
  expect(plan.machines).toHaveLength(machines);
  const ids = new Set(plan.machines.map((m) => m.id));
  expect(ids.size).toBe(machines);
  const codes = new Set(plan.enterprises.map((e) => e.code));
  expect(codes.size).toBe(plan.enterprises.length);
  expect(new Set(plan.enterprises.map((e) => e.name)).size).toBe(plan.enterprises.length);
  const regions = new Set(REGION_SEEDS.map((r) => r.code));
  const industries = new Set(INDUSTRY_SEEDS.map((r) => r.code));
  const servers = new Map<string, Set<number>>();
  for (const m of plan.machines) {
    expect(invalidIdReason(m.id), m.id).toBeUndefined();
    expect(m.id).toMatch(/^[A-Za-z0-9-]+$/);
    expect(codes.has(m.enterpriseCode)).toBe(true);
    expect(m.robot).toBe(m.kind === 'robot');
    if (m.protocol === 'modbus') {
      expect(m.unitId).toBeGreaterThanOrEqual(1);
      expect(m.unitId).toBeLessThanOrEqual(247);
      const key = `${m.enterpriseCode}/${m.modbusServer}`;
      const units = servers.get(key) ?? new Set<number>();
      expect(units.has(m.unitId!), `${key} unit ${m.unitId}`).toBe(false);
      units.add(m.unitId!);
      servers.set(key, units);
    } else {
      expect(m.unitId).toBeUndefined();
    }
  }
  for (const units of servers.values()) expect(units.size).toBeLessThanOrEqual(247);
  for (const e of plan.enterprises) {
    expect(regions.has(e.regionCode)).toBe(true);
    expect(industries.has(e.industryCode)).toBe(true);
    const own = plan.machines.filter((m) => m.enterpriseCode === e.code);
    expect(own.length).toBeGreaterThan(0);
    const { productionEquipment, ncEquipment, robots } = e.ledger;
    expect(productionEquipment).toBeGreaterThanOrEqual(own.length);
    expect(ncEquipment).toBeLessThanOrEqual(productionEquipment);
    expect(ncEquipment).toBeGreaterThanOrEqual(own.filter((m) => m.nc).length);
    expect(robots).toBeGreaterThanOrEqual(own.filter((m) => m.robot).length);
    if (own.length >= 2) expect(new Set(own.map((m) => m.protocol)).size, e.code).toBe(2);
  }
}

describe('generateFleet', () => {
  it('gives 100 machines over ≥ 3 enterprises, regions and ≥ 2 industries by default', () => {
    const plan = generateFleet({ seed: 1 });
    checkPlan(plan, 100);
    expect(plan.enterprises.length).toBeGreaterThanOrEqual(3);
    expect(new Set(plan.enterprises.map((e) => e.regionCode)).size).toBeGreaterThanOrEqual(3);
    expect(new Set(plan.enterprises.map((e) => e.industryCode)).size).toBeGreaterThanOrEqual(2);
    expect(plan.enterprises.some((e) => e.backbone)).toBe(true);
    expect(new Set(plan.machines.map((m) => m.dataDepth)).size).toBe(3);
    expect(plan.machines[0]?.id).toMatch(/^E001-[A-Z]+-\d{3}$/);
    for (const e of plan.enterprises) expect(e.name).toMatch(/有限公司$/);
  });

  it('is deterministic for a seed', () => {
    expect(generateFleet({ machines: 300, seed: 9 })).toEqual(generateFleet({ machines: 300, seed: 9 }));
    expect(generateFleet({ machines: 300, seed: 9 })).not.toEqual(generateFleet({ machines: 300, seed: 10 }));
  });

  it('holds for many seeds and sizes', () => {
    for (let seed = 1; seed <= 20; seed++) {
      for (const machines of [1, 2, 5, 7, 40]) checkPlan(generateFleet({ machines, seed }), machines);
    }
    checkPlan(generateFleet({ machines: 30, seed: 3, enterprises: 30 }), 30);
  });

  it('scales to 10,000 machines, splitting big Modbus populations over several servers', () => {
    const began = Date.now();
    const plan = generateFleet({ machines: 10_000, seed: 2026 });
    expect(Date.now() - began).toBeLessThan(2_000);
    checkPlan(plan, 10_000);
    const one = generateFleet({ machines: 1_000, seed: 1, enterprises: 1 });
    checkPlan(one, 1_000);
    const servers = new Set(one.machines.filter((m) => m.protocol === 'modbus').map((m) => m.modbusServer));
    expect(servers.size).toBeGreaterThanOrEqual(2);
  });

  it('rejects impossible options', () => {
    expect(() => generateFleet({ machines: 0 })).toThrow(RangeError);
    expect(() => generateFleet({ machines: 5, enterprises: 6 })).toThrow(/enterprises/);
    expect(() => generateFleet({ machines: 2.5 })).toThrow(/integer/);
  });
});
