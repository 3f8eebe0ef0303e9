/**
 * The programme's numbers (docs/domain.md): networked and online machines against the target,
 * networking, NC, online and power-on rates by enterprise, region, industry and city, for
 * all and for backbone enterprises, declared beside measured. Computed from the registry
 * (and what child hubs forwarded) on demand; snapshot.ts keeps one set per day for trends.
 */
import { HubError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import type { EnterpriseActivity, Region } from '../registry/types.js';
import { type ChildSummary, childEnterprises, childReports, type StoredChildReport } from './children.js';
import {
  type Activity,
  type EnterpriseInput,
  enterpriseRates,
  type Figures,
  figures,
  NO_ACTIVITY,
  type OfficialCount,
  officialCountOf,
} from './figures.js';
import { type BackboneThresholds, type Programme, targetFor } from './programme.js';

export interface StatsWindows {
  /** A machine with a valid sample this recent is networked (联网); default 7 days. */
  readonly networkingMs: number;
  /** A machine heard from this recently, and not dead, is online (在线); default 5 minutes. */
  readonly onlineMs: number;
}

export const DEFAULT_WINDOWS: StatsWindows = { networkingMs: 7 * 24 * 3_600_000, onlineMs: 5 * 60_000 };

/** What a caller may see (api/access.ts scopeOf): undefined = no limit. */
export interface StatsScope {
  readonly enterprises?: readonly string[];
  readonly regions?: readonly string[];
}

/** A region, an industry or the city: figures for all its enterprises, and for its backbone ones. */
export interface GroupStats extends Figures {
  readonly code: string;
  readonly nameZh: string;
  readonly nameEn: string;
  readonly backbone: Figures;
}

/** One enterprise: what is counted (capped by its ledger), the measured figure and the excess beside it. */
export interface EnterpriseStats extends OfficialCount {
  readonly code: string;
  readonly name: string;
  readonly region: string;
  readonly industry: string;
  readonly backbone: boolean;
  /** Declared ledger. */
  readonly productionEquipment: number;
  readonly ncEquipment: number;
  readonly robots: number;
  readonly networkingRate: number | null;
  readonly ncRate: number | null;
  readonly onlineRate: number | null;
  readonly powerOnRate: number | null;
  readonly measuredNcRate: number | null;
  /** Networking rate ≥ 50 % and NC rate ≥ 70 % (judged for every enterprise; the target binds backbone ones). */
  readonly meetsBackboneTarget: boolean;
  /** The child hub that reported it; null for this hub's own enterprises. */
  readonly via: string | null;
}

export interface StatsReport {
  /**
   * The caller's target of networked machines in force this year (the registry's target rows,
   * programme.ts): the city's, or for a caller scoped to regions the sum of their own targets;
   * 0 when its scope has none (targetFor). GET /api/v1/targets shows the same.
   */
  readonly target: number;
  /** networked ÷ target; null without a target. */
  readonly progress: number | null;
  /** The own targets of the regions the caller sees (those that have one). */
  readonly regionTargets: Readonly<Record<string, number>>;
  /** What a backbone enterprise must reach (0–1): the city's networking-rate and NC-rate targets. */
  readonly backboneTargets: { readonly networkingRate: number; readonly ncRate: number };
  /** Counted (the city's): declared enterprises only, each capped by its ledger. */
  readonly networked: number;
  readonly online: number;
  readonly poweredOn: number;
  /** Measured networked machines of declared enterprises before the cap; unconfirmed; beyond the ledgers. */
  readonly networkedMeasured: number;
  readonly networkedUnconfirmed: number;
  readonly beyondLedger: number;
  /** Declared enterprises whose machines exceed their ledger. */
  readonly enterprisesExceedingLedger: number;
  /** Machines seen and not retired, unattributed ones included. */
  readonly machines: number;
  /** Declared enterprises. */
  readonly enterprises: number;
  readonly productionEquipment: number;
  readonly ncEquipment: number;
  readonly robots: number;
  readonly networkedRobots: number;
  readonly networkingRate: number | null;
  readonly ncRate: number | null;
  readonly onlineRate: number | null;
  readonly powerOnRate: number | null;
  /** Machines whose Sparkplug group is not a declared enterprise: shown here, never counted. */
  readonly unattributed: { readonly machines: number; readonly networked: number; readonly online: number };
  /** The whole city (or what the caller may see of it): declared enterprises only. */
  readonly city: GroupStats;
  readonly byRegion: readonly GroupStats[];
  readonly byIndustry: readonly GroupStats[];
  readonly byEnterprise: readonly EnterpriseStats[];
  /** Child hubs whose aggregates are included. */
  readonly children: readonly ChildSummary[];
  readonly windows: StatsWindows;
  /** Which window (or declaration) each figure depends on: its label beside `population`. */
  readonly figureWindows: typeof FIGURE_WINDOWS;
  /** ISO 8601. */
  readonly generatedAt: string;
}

/**
 * networking = a valid sample within the networking window; online = heard from within the
 * online window; declaration = the enterprises' current ledgers; ever = every machine seen.
 */
export const FIGURE_WINDOWS = {
  machines: 'ever',
  networked: 'networking',
  networkedMeasured: 'networking',
  networkedUnconfirmed: 'networking',
  beyondLedger: 'networking, declaration',
  exceedsLedger: 'ever, networking, declaration',
  enterprisesExceedingLedger: 'ever, networking, declaration',
  networkedNc: 'networking',
  networkedRobots: 'networking',
  online: 'online',
  poweredOn: 'online',
  productionEquipment: 'declaration',
  ncEquipment: 'declaration',
  robots: 'declaration',
  networkingRate: 'networking ÷ declaration',
  ncRate: 'declaration',
  measuredNcRate: 'networking',
  onlineRate: 'online ÷ networking',
  powerOnRate: 'online ÷ networking',
  backboneMeetingTarget: 'networking ÷ declaration',
  backboneMeetingNetworking: 'networking ÷ declaration',
  backboneMeetingNc: 'declaration',
  progress: 'networking',
} as const;

export interface StatsOptions {
  readonly scope?: StatsScope;
  /** Default: the targets in force at `now` (Registry.programmeAt: the registry's target rows). */
  readonly programme?: Programme;
}

export function activityOf(a: EnterpriseActivity | undefined): Activity {
  if (a === undefined) return NO_ACTIVITY;
  return {
    machines: a.machines,
    networked: a.networked,
    online: a.online,
    poweredOn: a.poweredOn,
    networkedNc: a.networkedNc,
    networkedRobots: a.networkedRobots,
  };
}

export interface StatsInputs {
  readonly enterprises: EnterpriseInput[];
  /** Activity of groups that are no declared enterprise (this hub's and its children's): never counted. */
  readonly unattributed: Activity;
  readonly children: ChildSummary[];
}

/** This hub's enterprises and its children's, merged by code (this hub's own declaration wins). */
export function statsInputs(registry: Registry, now: number, windows: StatsWindows): StatsInputs {
  const activity = registry.activityByEnterprise(now - windows.networkingMs, now - windows.onlineMs);
  const byCode = new Map(activity.map((a) => [a.enterprise, a]));
  const merged = new Map<string, EnterpriseInput>();
  const reports = childReportsIfReadable(registry);
  for (const e of childEnterprises(reports)) merged.set(e.code, e);
  for (const e of registry.enterprises()) {
    merged.set(e.code, {
      code: e.code,
      name: e.name,
      regionCode: e.regionCode,
      industryCode: e.industryCode,
      backbone: e.backbone,
      ledger: e.ledger,
      activity: activityOf(byCode.get(e.code)),
      networkedUnconfirmed: byCode.get(e.code)?.networkedUnconfirmed ?? 0,
    });
  }
  const own = new Set(registry.enterprises().map((e) => e.code));
  const stray = activity.filter((a) => !own.has(a.enterprise)).map(activityOf);
  for (const r of reports) stray.push({ ...NO_ACTIVITY, ...r.report.unattributed });
  const unattributed = stray.reduce(
    (acc, a) => ({
      machines: acc.machines + a.machines,
      networked: acc.networked + a.networked,
      online: acc.online + a.online,
      poweredOn: acc.poweredOn + a.poweredOn,
      networkedNc: acc.networkedNc + a.networkedNc,
      networkedRobots: acc.networkedRobots + a.networkedRobots,
    }),
    NO_ACTIVITY,
  );
  const children = reports.map((r) => ({
    hubId: r.hubId,
    receivedAt: new Date(r.receivedAt).toISOString(),
    generatedAt: new Date(r.report.generatedAt).toISOString(),
    enterprises: r.report.enterprises.length,
  }));
  return {
    enterprises: [...merged.values()].sort((a, b) => (a.code < b.code ? -1 : 1)),
    unattributed,
    children,
  };
}

/**
 * A registry view narrowed to a caller's scope (hub/api/scope.ts) answers only the reads it
 * lists and throws HubError for the rest, child reports included: such a caller gets this
 * hub's own enterprises. computeStats with `opts.scope` on the whole registry includes the
 * children's enterprises within the scope as well.
 */
function childReportsIfReadable(registry: Registry): StoredChildReport[] {
  try {
    return childReports(registry);
  } catch (err) {
    if (err instanceof HubError) return [];
    throw err;
  }
}

function group(
  meta: Omit<Region, 'aliases'>,
  rows: readonly EnterpriseInput[],
  t: BackboneThresholds,
): GroupStats {
  return {
    code: meta.code,
    nameZh: meta.nameZh,
    nameEn: meta.nameEn,
    ...figures(rows, 'all', t),
    backbone: figures(
      rows.filter((r) => r.backbone),
      'backbone',
      t,
    ),
  };
}

export function inStatsScope(scope: StatsScope, code: string, region: string | null): boolean {
  if (scope.enterprises !== undefined && !scope.enterprises.includes(code)) return false;
  if (scope.regions !== undefined && (region === null || !scope.regions.includes(region))) return false;
  return true;
}

export function enterpriseStats(e: EnterpriseInput, t: BackboneThresholds): EnterpriseStats {
  const r = enterpriseRates(e, t);
  return {
    code: e.code,
    name: e.name,
    region: e.regionCode,
    industry: e.industryCode,
    backbone: e.backbone,
    ...officialCountOf(e),
    productionEquipment: e.ledger.productionEquipment,
    ncEquipment: e.ledger.ncEquipment,
    robots: e.ledger.robots,
    ...r,
    via: e.via ?? null,
  };
}

export function computeStats(
  registry: Registry,
  now: number,
  windows: StatsWindows = DEFAULT_WINDOWS,
  opts: StatsOptions = {},
): StatsReport {
  const inputs = statsInputs(registry, now, windows);
  const scope = opts.scope ?? {};
  const scoped = scope.enterprises !== undefined || scope.regions !== undefined;
  const rows = inputs.enterprises.filter((e) => inStatsScope(scope, e.code, e.regionCode));
  // A scoped caller sees neither machines of undeclared groups nor other hubs' list.
  const stray = scoped ? NO_ACTIVITY : inputs.unattributed;
  const programme = opts.programme ?? registry.programmeAt(now);
  const target = targetFor(programme, scope);
  const city = group({ code: 'city', nameZh: '全市', nameEn: 'City' }, rows, programme);
  const regions = registry
    .regions()
    .filter((r) => scope.regions === undefined || scope.regions.includes(r.code))
    .filter((r) => scope.enterprises === undefined || rows.some((x) => x.regionCode === r.code));
  const industries = registry
    .industries()
    .filter((i) => !scoped || rows.some((x) => x.industryCode === i.code));
  // The official totals are the city's: unattributed machines are shown apart, never counted.
  return {
    target,
    progress: target > 0 ? city.networked / target : null,
    regionTargets: Object.fromEntries(
      regions.flatMap((r) => {
        const t = programme.regionTargets[r.code];
        return t === undefined ? [] : [[r.code, t]];
      }),
    ),
    backboneTargets: { networkingRate: programme.backboneNetworkingRate, ncRate: programme.backboneNcRate },
    networked: city.networked,
    online: city.online,
    poweredOn: city.poweredOn,
    networkedMeasured: city.networkedMeasured,
    networkedUnconfirmed: city.networkedUnconfirmed,
    beyondLedger: city.beyondLedger,
    enterprisesExceedingLedger: city.enterprisesExceedingLedger,
    machines: city.machines + stray.machines,
    enterprises: city.enterprises,
    productionEquipment: city.productionEquipment,
    ncEquipment: city.ncEquipment,
    robots: city.robots,
    networkedRobots: city.networkedRobots,
    networkingRate: city.networkingRate,
    ncRate: city.ncRate,
    onlineRate: city.onlineRate,
    powerOnRate: city.powerOnRate,
    unattributed: { machines: stray.machines, networked: stray.networked, online: stray.online },
    city,
    byRegion: regions.map((r) =>
      group(
        r,
        rows.filter((x) => x.regionCode === r.code),
        programme,
      ),
    ),
    byIndustry: industries.map((i) =>
      group(
        i,
        rows.filter((x) => x.industryCode === i.code),
        programme,
      ),
    ),
    byEnterprise: rows.map((e) => enterpriseStats(e, programme)),
    children: scoped ? [] : inputs.children,
    windows: { networkingMs: windows.networkingMs, onlineMs: windows.onlineMs },
    figureWindows: FIGURE_WINDOWS,
    generatedAt: new Date(now).toISOString(),
  };
}
