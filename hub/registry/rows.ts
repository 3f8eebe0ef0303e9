/** The hub database's registry rows (hub/database/registry/) mapped to the registry's types. */
import { type DeviceHealth, isDeviceHealth } from '../../protocol/index.js';
import type { EnterpriseRow } from '../database/registry/enterprises.js';
import type { GatewayRow } from '../database/registry/gateways.js';
import type { MachineRow } from '../database/registry/machines.js';
import type { IndustryRow, RegionRow } from '../database/registry/reference.js';
import type { Enterprise, Gateway, Industry, MachineRecord, MachineStatus, Region } from './types.js';

/** A machine's status from its row: retired wins over confirmed (docs/statistics.md). */
export function machineStatus(r: { confirmed_at: number | null; retired_at: number | null }): MachineStatus {
  if (r.retired_at !== null) return 'retired';
  return r.confirmed_at !== null ? 'confirmed' : 'unconfirmed';
}

function aliases(json: string): string[] {
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((a): a is string => typeof a === 'string') : [];
  } catch {
    return [];
  }
}

const bool = (v: number | null): boolean | null => (v === null ? null : v !== 0);

export function toRegion(r: RegionRow): Region {
  return { code: r.code, nameZh: r.name_zh, nameEn: r.name_en, aliases: aliases(r.aliases) };
}

export function toIndustry(r: IndustryRow): Industry {
  return { ...toRegion(r), keySubIndustry: r.key_sub_industry !== 0 };
}

export function toEnterprise(r: EnterpriseRow): Enterprise {
  return {
    code: r.code,
    name: r.name,
    regionCode: r.region_code,
    industryCode: r.industry_code,
    backbone: r.backbone !== 0,
    ledger: {
      productionEquipment: r.production_equipment,
      ncEquipment: r.nc_equipment,
      robots: r.robots,
    },
    declaredBy: r.declared_by,
    declaredAt: r.declared_at,
  };
}

export function toGateway(r: GatewayRow): Gateway {
  return {
    group: r.group_id,
    edgeNode: r.edge_node,
    online: r.online !== 0,
    bdSeq: r.bd_seq,
    firstSeen: r.first_seen,
    lastBirthAt: r.last_birth_at,
    lastDeathAt: r.last_death_at,
    lastSeenAt: r.last_seen_at,
  };
}

export function toMachine(r: MachineRow): MachineRecord {
  return {
    enterprise: r.enterprise,
    id: r.id,
    kind: r.kind,
    nc: bool(r.nc),
    robot: bool(r.robot),
    dataDepth: r.data_depth,
    state: r.state,
    gateway: r.gateway,
    firstSeen: r.first_seen,
    lastSeenAt: r.last_seen_at,
    lastSampleAt: r.last_sample_at,
    dead: r.dead !== 0,
    health: machineHealth(r),
    regionCode: r.region_code,
    industryCode: r.industry_code,
    status: machineStatus(r),
    confirmedAt: r.confirmed_at,
    confirmedBy: r.confirmed_by,
    retiredAt: r.retired_at,
    retiredBy: r.retired_by,
    mergedInto: r.merged_into,
  };
}

/** The gateway's word on the machine while the gateway is online; offline when it is not. */
function machineHealth(r: MachineRow): DeviceHealth | null {
  if (!isDeviceHealth(r.health)) return null;
  return r.gateway_online === 1 ? r.health : 'offline';
}
