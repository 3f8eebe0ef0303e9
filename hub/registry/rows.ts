/** Row shapes as SQLite returns them, and their mapping to the registry's types. */
import { type DeviceHealth, isDeviceHealth } from '../../protocol/index.js';
import type { Enterprise, Gateway, Industry, MachineRecord, MachineStatus, Region } from './types.js';

export interface RegionRow {
  code: string;
  name_zh: string;
  name_en: string;
  aliases: string;
}

export interface IndustryRow extends RegionRow {
  key_sub_industry: number;
}

export interface EnterpriseRow {
  code: string;
  name: string;
  region_code: string;
  industry_code: string;
  backbone: number;
  production_equipment: number;
  nc_equipment: number;
  robots: number;
  declared_by: string;
  declared_at: number;
}

export interface GatewayRow {
  group_id: string;
  edge_node: string;
  online: number;
  bd_seq: number | null;
  first_seen: number;
  last_birth_at: number | null;
  last_death_at: number | null;
  last_seen_at: number | null;
}

export interface MachineRow {
  enterprise: string;
  id: string;
  kind: string | null;
  nc: number | null;
  robot: number | null;
  data_depth: string | null;
  state: string | null;
  gateway: string;
  first_seen: number;
  last_seen_at: number | null;
  last_sample_at: number | null;
  dead: number;
  health: unknown;
  gateway_online: number | null;
  region_code: string | null;
  industry_code: string | null;
  confirmed_at: number | null;
  confirmed_by: string | null;
  retired_at: number | null;
  retired_by: string | null;
  merged_into: string | null;
}

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
