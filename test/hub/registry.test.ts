import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HUB_MIGRATIONS as REGISTRY_MIGRATIONS } from '../../hub/database/migrations.js';
import { Registry } from '../../hub/registry/registry.js';
import { type EnterpriseDeclaration, INDUSTRY_SEEDS, REGION_SEEDS } from '../../protocol/index.js';
import { silentLogger, tempDir } from './helpers.js';

const decl = (over: Partial<EnterpriseDeclaration> = {}): EnterpriseDeclaration => ({
  code: 'acme',
  name: '金华精密机械有限公司',
  regionCode: 'wucheng',
  industryCode: 'nev',
  backbone: true,
  ledger: { productionEquipment: 100, ncEquipment: 60, robots: 5 },
  ...over,
});

describe('Registry', () => {
  let dir: ReturnType<typeof tempDir>;
  let now: number;
  let reg: Registry;
  const open = () =>
    new Registry({ path: `${dir.path}/registry.db`, logger: silentLogger(), clock: () => now });

  beforeEach(async () => {
    dir = tempDir();
    now = 1_700_000_000_000;
    reg = open();
    await reg.start();
  });
  afterEach(async () => {
    await reg.close();
    dir.remove();
  });

  it('seeds regions and industries as data, once, at the latest schema version', async () => {
    expect(reg.regions()).toHaveLength(REGION_SEEDS.length);
    expect(reg.industries()).toHaveLength(INDUSTRY_SEEDS.length);
    expect(reg.regions().find((r) => r.code === 'yiwu')).toEqual({
      code: 'yiwu',
      nameZh: '义乌市',
      nameEn: 'Yiwu City',
      aliases: ['义乌'],
    });
    expect(reg.industries().find((i) => i.code === 'flask')?.keySubIndustry).toBe(true);
    await reg.close();
    await reg.start();
    expect(reg.regions()).toHaveLength(REGION_SEEDS.length);
    const db = new Database(`${dir.path}/registry.db`, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(REGISTRY_MIGRATIONS.length);
    db.close();
  });

  it('keeps every ledger declaration as history, with who declared it and when', () => {
    reg.upsertEnterprise(decl(), 'zhang.san');
    now += 86_400_000;
    const e = reg.upsertEnterprise(
      decl({ ledger: { productionEquipment: 120, ncEquipment: 90, robots: 8 } }),
      'li.si@bureau',
    );
    expect(e.ledger.productionEquipment).toBe(120);
    expect(reg.enterprise('acme')).toEqual(e);
    expect(reg.enterprises()).toHaveLength(1);
    const history = reg.declarations('acme');
    expect(history.map((h) => [h.declaredBy, h.declaredAt, h.ledger.productionEquipment])).toEqual([
      ['zhang.san', 1_700_000_000_000, 100],
      ['li.si@bureau', 1_700_086_400_000, 120],
    ]);
  });

  it('rejects declarations with unknown regions or industries and impossible ledgers', () => {
    expect(() => reg.upsertEnterprise(decl({ regionCode: 'atlantis' }), 'x')).toThrow(
      expect.objectContaining({ code: 'WANJI_E_REGISTRY_UNKNOWN_REGION' }),
    );
    expect(() => reg.upsertEnterprise(decl({ industryCode: 'whaling' }), 'x')).toThrow(
      expect.objectContaining({ code: 'WANJI_E_REGISTRY_UNKNOWN_INDUSTRY' }),
    );
    expect(() =>
      reg.upsertEnterprise(decl({ ledger: { productionEquipment: 5, ncEquipment: 6, robots: 0 } }), 'x'),
    ).toThrow(expect.objectContaining({ code: 'WANJI_E_REGISTRY_INVALID_DECLARATION' }));
    expect(() => reg.upsertEnterprise(decl({ code: 'a/b' }), 'x')).toThrow(/Sparkplug group id/);
    expect(reg.enterprises()).toEqual([]);
  });

  it('applies births, last-seen and deaths; a stale NDEATH bdSeq changes nothing', () => {
    const T = now;
    let r = reg.applyIngest({
      events: [
        { type: 'nodeBirth', group: 'acme', edgeNode: 'gw1', bdSeq: 3, at: T },
        {
          type: 'deviceBirth',
          group: 'acme',
          edgeNode: 'gw1',
          device: 'cnc-1',
          at: T,
          properties: { kind: 'cnc', nc: true, robot: false, dataDepth: 'full' },
        },
        { type: 'deviceBirth', group: 'acme', edgeNode: 'gw1', device: 'cnc-2', at: T, properties: {} },
      ],
      devices: [
        {
          enterprise: 'acme',
          machine: 'cnc-1',
          gateway: 'gw1',
          seenAt: T + 5,
          sampleAt: T + 5,
          state: 'running',
          stateAt: T + 5,
        },
      ],
      gateways: [{ group: 'acme', edgeNode: 'gw1', seenAt: T + 5 }],
    });
    const m1 = reg.machine('acme', 'cnc-1');
    expect(m1).toMatchObject({
      kind: 'cnc',
      nc: true,
      robot: false,
      dataDepth: 'full',
      state: 'running',
      gateway: 'gw1',
    });
    expect(m1).toMatchObject({
      firstSeen: T,
      lastSeenAt: T + 5,
      lastSampleAt: T + 5,
      dead: false,
      regionCode: null,
    });
    expect(reg.gateway('acme', 'gw1')).toMatchObject({ online: true, bdSeq: 3, lastSeenAt: T + 5 });

    r = reg.applyIngest({
      events: [{ type: 'nodeDeath', group: 'acme', edgeNode: 'gw1', bdSeq: 2, at: T + 9 }],
      devices: [],
      gateways: [],
    });
    expect(r).toEqual({ nodeDeaths: 0, staleNodeDeaths: 1 });
    expect(reg.gateway('acme', 'gw1')?.online).toBe(true);
    expect(reg.machine('acme', 'cnc-1')?.dead).toBe(false);

    r = reg.applyIngest({
      events: [{ type: 'nodeDeath', group: 'acme', edgeNode: 'gw1', bdSeq: 3, at: T + 10 }],
      devices: [],
      gateways: [],
    });
    expect(r).toEqual({ nodeDeaths: 1, staleNodeDeaths: 0 });
    expect(reg.gateway('acme', 'gw1')).toMatchObject({ online: false, lastDeathAt: T + 10 });
    expect(reg.machines().map((m) => [m.id, m.dead])).toEqual([
      ['cnc-1', true],
      ['cnc-2', true],
    ]);
  });

  it('counts a machine once whichever gateway reports it, and keeps older state from overwriting newer', () => {
    const T = now;
    const birth = (edgeNode: string, at: number) => ({
      type: 'deviceBirth' as const,
      group: 'acme',
      edgeNode,
      device: 'press-1',
      at,
      properties: { kind: 'press' },
    });
    reg.applyIngest({ events: [birth('gw1', T)], devices: [], gateways: [] });
    reg.applyIngest({
      events: [birth('gw2', T + 100)],
      devices: [
        {
          enterprise: 'acme',
          machine: 'press-1',
          gateway: 'gw2',
          seenAt: T + 100,
          state: 'running',
          stateAt: T + 100,
        },
      ],
      gateways: [],
    });
    reg.applyIngest({
      events: [],
      devices: [
        {
          enterprise: 'acme',
          machine: 'press-1',
          gateway: 'gw2',
          seenAt: T + 50,
          state: 'idle',
          stateAt: T + 50,
        },
      ],
      gateways: [],
    });
    // A DDEATH from the gateway the machine has left does not kill it.
    reg.applyIngest({
      events: [{ type: 'deviceDeath', group: 'acme', edgeNode: 'gw1', device: 'press-1', at: T + 200 }],
      devices: [],
      gateways: [],
    });
    expect(reg.machines()).toHaveLength(1);
    expect(reg.machine('acme', 'press-1')).toMatchObject({
      gateway: 'gw2',
      firstSeen: T,
      lastSeenAt: T + 100,
      state: 'running',
      dead: false,
    });
    expect(reg.countMachines({ enterprise: 'acme' })).toBe(1);
    expect(reg.machines({ online: true, onlineSince: T + 101 })).toEqual([]);
    expect(reg.machines({ online: true, onlineSince: T + 100 })).toHaveLength(1);
  });
});
