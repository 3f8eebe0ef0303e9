/**
 * The programme's numbers (DOMAIN.md): networked and online machines against the target,
 * networking rate and NC rate per region and per industry. Computed from the registry on
 * demand; daily snapshots and trends come later.
 */
import {
  BACKBONE_NC_RATE_TARGET,
  BACKBONE_NETWORKING_RATE_TARGET,
  NETWORKED_MACHINES_TARGET,
} from '../../protocol/index.js';
import type { Registry } from '../registry/registry.js';
import type { Enterprise, EnterpriseActivity, Region } from '../registry/types.js';

export interface StatsWindows {
  /** A machine with a valid sample this recent is networked (联网); default 7 days. */
  readonly networkingMs: number;
  /** A machine heard from this recently, and not dead, is online (在线); default 5 minutes. */
  readonly onlineMs: number;
}

export const DEFAULT_WINDOWS: StatsWindows = { networkingMs: 7 * 24 * 3_600_000, onlineMs: 5 * 60_000 };

export interface GroupStats {
  readonly code: string;
  readonly nameZh: string;
  readonly nameEn: string;
  /** Declared enterprises in the group. */
  readonly enterprises: number;
  readonly backboneEnterprises: number;
  /** Backbone enterprises with networking rate ≥ 50 % and NC rate ≥ 70 %. */
  readonly backboneMeetingTarget: number;
  /** Machines the hub has seen for these enterprises. */
  readonly machines: number;
  readonly networked: number;
  readonly online: number;
  /** Declared (申报) ledger totals. */
  readonly productionEquipment: number;
  readonly ncEquipment: number;
  readonly robots: number;
  /** Pooled: Σ networked ÷ Σ declared production equipment; null without a denominator. */
  readonly networkingRate: number | null;
  /** Pooled: Σ declared NC ÷ Σ declared production equipment. */
  readonly ncRate: number | null;
  /** Mean of the enterprises' own rates (those with a denominator). */
  readonly networkingRateMean: number | null;
  readonly ncRateMean: number | null;
}

export interface StatsReport {
  readonly target: number;
  readonly networked: number;
  readonly online: number;
  readonly machines: number;
  /** Declared enterprises. */
  readonly enterprises: number;
  readonly productionEquipment: number;
  readonly ncEquipment: number;
  readonly robots: number;
  readonly networkingRate: number | null;
  readonly ncRate: number | null;
  /** Machines whose Sparkplug group is not a declared enterprise: counted in the totals only. */
  readonly unattributed: { readonly machines: number; readonly networked: number; readonly online: number };
  readonly byRegion: readonly GroupStats[];
  readonly byIndustry: readonly GroupStats[];
  readonly windows: StatsWindows;
  /** ISO 8601. */
  readonly generatedAt: string;
}

const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : null);

function mean(values: readonly (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null);
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

const NONE: EnterpriseActivity = { enterprise: '', machines: 0, networked: 0, online: 0 };

interface Row {
  readonly e: Enterprise;
  readonly a: EnterpriseActivity;
}

function group(meta: Region, rows: readonly Row[]): GroupStats {
  const sum = (f: (r: Row) => number): number => rows.reduce((acc, r) => acc + f(r), 0);
  const p = sum((r) => r.e.ledger.productionEquipment);
  const nc = sum((r) => r.e.ledger.ncEquipment);
  const networked = sum((r) => r.a.networked);
  const rates = rows.map((r) => ({
    networking: ratio(r.a.networked, r.e.ledger.productionEquipment),
    nc: ratio(r.e.ledger.ncEquipment, r.e.ledger.productionEquipment),
    backbone: r.e.backbone,
  }));
  const backbone = rates.filter((r) => r.backbone);
  return {
    code: meta.code,
    nameZh: meta.nameZh,
    nameEn: meta.nameEn,
    enterprises: rows.length,
    backboneEnterprises: backbone.length,
    backboneMeetingTarget: backbone.filter(
      (r) =>
        r.networking !== null &&
        r.nc !== null &&
        r.networking >= BACKBONE_NETWORKING_RATE_TARGET &&
        r.nc >= BACKBONE_NC_RATE_TARGET,
    ).length,
    machines: sum((r) => r.a.machines),
    networked,
    online: sum((r) => r.a.online),
    productionEquipment: p,
    ncEquipment: nc,
    robots: sum((r) => r.e.ledger.robots),
    networkingRate: ratio(networked, p),
    ncRate: ratio(nc, p),
    networkingRateMean: mean(rates.map((r) => r.networking)),
    ncRateMean: mean(rates.map((r) => r.nc)),
  };
}

export function computeStats(
  registry: Registry,
  now: number,
  windows: StatsWindows = DEFAULT_WINDOWS,
): StatsReport {
  const activity = registry.activityByEnterprise(now - windows.networkingMs, now - windows.onlineMs);
  const byCode = new Map(activity.map((a) => [a.enterprise, a]));
  const enterprises = registry.enterprises();
  const rows: Row[] = enterprises.map((e) => ({ e, a: byCode.get(e.code) ?? NONE }));
  const declared = new Set(enterprises.map((e) => e.code));
  const stray = activity.filter((a) => !declared.has(a.enterprise));
  const total = (xs: readonly EnterpriseActivity[], f: (a: EnterpriseActivity) => number): number =>
    xs.reduce((acc, a) => acc + f(a), 0);
  const all = group({ code: '', nameZh: '', nameEn: '', aliases: [] }, rows);
  return {
    target: NETWORKED_MACHINES_TARGET,
    networked: total(activity, (a) => a.networked),
    online: total(activity, (a) => a.online),
    machines: total(activity, (a) => a.machines),
    enterprises: enterprises.length,
    productionEquipment: all.productionEquipment,
    ncEquipment: all.ncEquipment,
    robots: all.robots,
    networkingRate: all.networkingRate,
    ncRate: all.ncRate,
    unattributed: {
      machines: total(stray, (a) => a.machines),
      networked: total(stray, (a) => a.networked),
      online: total(stray, (a) => a.online),
    },
    byRegion: registry.regions().map((r) =>
      group(
        r,
        rows.filter((x) => x.e.regionCode === r.code),
      ),
    ),
    byIndustry: registry.industries().map((i) =>
      group(
        i,
        rows.filter((x) => x.e.industryCode === i.code),
      ),
    ),
    windows: { networkingMs: windows.networkingMs, onlineMs: windows.onlineMs },
    generatedAt: new Date(now).toISOString(),
  };
}
