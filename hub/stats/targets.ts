/**
 * Progress against every quantified target of the action plan (docs/statistics.md,
 * "Programme targets"): for each kind, the caller's target in force (the city's, or its
 * regions' own: never the city's for a county; a backbone threshold the city's for everyone;
 * chosen by programme.ts, the rule the statistics apply too), the current figure, declared (申报) and measured (监测)
 * beside it where both exist, and a figure per year. Targets and the workshop, factory and
 * platform declarations are registry data (hub/registry/programme-records.ts); machine and
 * robot figures come from the statistics (computeStats) now and from the daily snapshots
 * for past years (the last snapshot of each year); workshops and platforms from their
 * declared years; a child hub that reports with a platform level counts as that platform.
 */
import { localDay } from '../registry/days.js';
import {
  type Platform,
  type PlatformLevel,
  platforms,
  type Recognition,
  recognitions,
  TARGET_KIND_NAMES,
  TARGET_KINDS,
  type TargetKind,
  targets,
} from '../registry/programme-records.js';
import type { Registry } from '../registry/registry.js';
import { childReports, type StoredChildReport } from './children.js';
import { scopeMilestones, scopeTargetIn, type TargetScope } from './programme.js';
import { computeStats, inStatsScope, type StatsReport, type StatsScope, type StatsWindows } from './stats.js';

export type Basis = 'declared' | 'measured';

export interface TargetYear {
  readonly year: number;
  /** The figure compared with the target (declared or measured, as `basis` says). */
  readonly value: number | null;
  readonly declared: number | null;
  readonly measured: number | null;
  /** The target that year asks for; null without one. */
  readonly target: number | null;
}

export interface TargetProgress {
  readonly kind: TargetKind;
  readonly unit: 'count' | 'rate';
  /** total: a level to reach by a year; yearly: so many each year. */
  readonly cadence: 'total' | 'yearly';
  /** Which of declared / measured the current figure is. */
  readonly basis: Basis;
  /** The figures this kind has: declared (申报), measured (监测), or both. */
  readonly figures: readonly Basis[];
  /** The caller's target now; null when its scope has none. */
  readonly target: { readonly year: number | null; readonly value: number } | null;
  /** Every target of the kind in the caller's scope (year null: every year / no deadline). */
  readonly milestones: readonly { readonly year: number | null; readonly value: number }[];
  readonly current: number | null;
  readonly declared: number | null;
  readonly measured: number | null;
  /** current ÷ target (may exceed 1); null without either. */
  readonly done: number | null;
  /** Backbone kinds: backbone enterprises, and those reaching the target; platforms: from child hubs. */
  readonly detail: Readonly<Record<string, number>>;
  /** One entry per year, oldest first, this year last. */
  readonly series: readonly TargetYear[];
}

export interface TargetsReport {
  /** The local year now. */
  readonly year: number;
  readonly scope: { readonly level: 'city' | 'region' | 'enterprise'; readonly codes: readonly string[] };
  readonly targets: readonly TargetProgress[];
  /** ISO 8601 */
  readonly generatedAt: string;
}

/** At most this many years back in a series. */
const MAX_YEARS = 30;

/** What the last snapshot of a year said, summed over the caller's codes. */
interface YearEnd {
  networked: number;
  robots: number;
  networkedRobots: number;
  /** Backbone enterprises' declared production equipment, NC equipment, counted networked machines. */
  bbProduction: number;
  bbNc: number;
  bbNetworked: number;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const rec = (v: unknown): Readonly<Record<string, unknown>> =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);
const diff = (a: number | null, b: number | null | undefined): number | null =>
  a === null || b === null || b === undefined ? null : a - b;

/** The snapshot level and codes that are the caller's own (stats.ts trend: a county sees its regions). */
function scopeCodes(registry: Registry, scope: StatsScope): TargetsReport['scope'] {
  if (scope.enterprises !== undefined) return { level: 'enterprise', codes: [...scope.enterprises] };
  if (scope.regions !== undefined) {
    const known = new Set(registry.regions().map((r) => r.code));
    return { level: 'region', codes: scope.regions.filter((r) => known.has(r)) };
  }
  return { level: 'city', codes: ['city'] };
}

/** The last snapshot of each year, summed over the scope's codes. */
function yearEnds(
  registry: Registry,
  scope: TargetsReport['scope'],
  firstYear: number,
): Map<number, YearEnd> {
  const last = new Map<string, Readonly<Record<string, unknown>>>();
  for (const code of scope.codes) {
    const rows = registry.database.snapshots.list({ level: scope.level, code, from: `${firstYear}-01-01` });
    for (const r of rows) {
      let f: unknown;
      try {
        f = JSON.parse(r.figures);
      } catch {
        continue;
      }
      // Oldest first: the last one of the year stays.
      last.set(`${r.day.slice(0, 4)}\u0000${code}`, rec(f));
    }
  }
  const out = new Map<number, YearEnd>();
  for (const [key, f] of last) {
    const year = Number(key.slice(0, 4));
    const y = out.get(year) ?? {
      networked: 0,
      robots: 0,
      networkedRobots: 0,
      bbProduction: 0,
      bbNc: 0,
      bbNetworked: 0,
    };
    y.networked += num(f.networked);
    y.robots += num(f.robots);
    y.networkedRobots += num(f.networkedRobots);
    if (scope.level === 'enterprise') {
      if (f.backbone === true) {
        y.bbProduction += num(f.productionEquipment);
        y.bbNc += num(f.ncEquipment);
        y.bbNetworked += num(f.networked);
      }
    } else {
      const b = rec(f.backbone);
      y.bbProduction += num(b.productionEquipment);
      y.bbNc += num(b.ncEquipment);
      y.bbNetworked += num(b.networked);
    }
    out.set(year, y);
  }
  return out;
}

/** A child hub's platform, where it counts. */
interface ChildPlatform {
  readonly hubId: string;
  readonly level: PlatformLevel;
  readonly year: number;
}

/** Children that report with a platform level, within the scope: a county sees those whose enterprises all lie in its regions. */
function childPlatforms(
  reports: readonly StoredChildReport[],
  scope: StatsScope,
  offsetMin: number,
): ChildPlatform[] {
  return reports.flatMap((r) => {
    const p = r.report.platform;
    if (p === undefined) return [];
    if (scope.enterprises !== undefined) return [];
    if (scope.regions !== undefined) {
      const es = r.report.enterprises;
      if (es.length === 0 || !es.every((e) => scope.regions!.includes(e.regionCode))) return [];
    }
    return [{ hubId: r.hubId, level: p.level, year: Number(localDay(r.receivedAt, offsetMin).slice(0, 4)) }];
  });
}

const PLATFORM_KINDS: Readonly<Partial<Record<TargetKind, PlatformLevel>>> = {
  platformsRegional: 'regional',
  platformsIndustry: 'industry',
  platformsEnterprise: 'enterprise',
};

interface Figure {
  readonly declared: number | null;
  readonly measured: number | null;
  readonly detail?: Readonly<Record<string, number>>;
}

export function programmeTargets(
  registry: Registry,
  now: number,
  windows: StatsWindows,
  scope: StatsScope = {},
): TargetsReport {
  const offset = registry.utcOffsetMin;
  const thisYear = Number(localDay(now, offset).slice(0, 4));
  const s: StatsReport = computeStats(registry, now, windows, { scope });
  const where = scopeCodes(registry, scope);
  const inScope = (code: string, region: string): boolean =>
    inStatsScope(scope, code, region === '' ? null : region);
  const recs: Recognition[] = recognitions(registry).filter((r) => inScope(r.enterprise, r.region));
  const plats: Platform[] = platforms(registry).filter((p) => inScope(p.operator, p.region));
  let reports: StoredChildReport[] = [];
  try {
    reports = childReports(registry);
  } catch {
    // A registry view narrowed to a scope (api/scope.ts) reads no child reports.
  }
  const reporting = new Set(reports.map((r) => r.hubId));
  const linked = new Set(plats.flatMap((p) => (p.hubId === null ? [] : [p.hubId])));
  const children = childPlatforms(reports, scope, offset).filter((c) => !linked.has(c.hubId));

  const firstDataYear = Math.min(
    thisYear,
    ...recs.map((r) => r.year),
    ...plats.map((p) => p.year),
    ...children.map((c) => c.year),
  );
  const fromYear = Math.max(firstDataYear, thisYear - MAX_YEARS + 1);
  const oldest = thisYear - MAX_YEARS + 1;
  const ends = yearEnds(registry, where, oldest);
  const firstYear = Math.min(fromYear, ...[...ends.keys()].filter((y) => y >= oldest && y <= thisYear));
  const years: number[] = [];
  for (let y = firstYear; y <= thisYear; y++) years.push(y);

  // The caller's targets, by the rule the statistics apply (programme.ts): their `target` is this one's networked.
  const targetScope: TargetScope =
    scope.enterprises !== undefined
      ? { level: 'enterprise' }
      : scope.regions !== undefined
        ? { level: 'region', codes: scope.regions }
        : { level: 'city' };
  const bb = s.city.backbone;
  const backboneRows = s.byEnterprise.filter((e) => e.backbone);
  const all = targets(registry);

  /** The figure of `kind` in `year` (this year: now). */
  const figure = (kind: TargetKind, year: number, target: number | null): Figure => {
    const live = year === thisYear;
    const end = ends.get(year);
    const before = ends.get(year - 1);
    const level = PLATFORM_KINDS[kind];
    if (level !== undefined) {
      const declared = plats.filter((p) => p.level === level && p.year <= year);
      const own = children.filter((c) => c.level === level && c.year <= year);
      const measured = declared.filter((p) => p.hubId !== null && reporting.has(p.hubId)).length + own.length;
      return { declared: declared.length, measured, detail: { childHubs: own.length } };
    }
    switch (kind) {
      case 'networked':
        return { declared: null, measured: live ? s.networked : (end?.networked ?? null) };
      case 'robots':
        return {
          declared: live ? s.robots : (end?.robots ?? null),
          measured: live ? s.networkedRobots : (end?.networkedRobots ?? null),
        };
      case 'robotsNewPerYear':
        return {
          declared: diff(live ? s.robots : (end?.robots ?? null), before?.robots),
          measured: diff(live ? s.networkedRobots : (end?.networkedRobots ?? null), before?.networkedRobots),
        };
      case 'workshopsFactories':
        return { declared: recs.filter((r) => r.year <= year).length, measured: null };
      case 'benchmarksPerYear':
        return { declared: recs.filter((r) => r.benchmark && r.year === year).length, measured: null };
      case 'backboneNcRate':
        if (!live)
          return { declared: end === undefined ? null : ratio(end.bbNc, end.bbProduction), measured: null };
        return {
          declared: bb.ncRate,
          measured: bb.measuredNcRate,
          detail: {
            backboneEnterprises: backboneRows.length,
            meeting: target === null ? 0 : backboneRows.filter((e) => (e.ncRate ?? -1) >= target).length,
          },
        };
      case 'backboneNetworkingRate':
        if (!live)
          return {
            declared: null,
            measured: end === undefined ? null : ratio(end.bbNetworked, end.bbProduction),
          };
        return {
          declared: null,
          measured: bb.networkingRate,
          detail: {
            backboneEnterprises: backboneRows.length,
            meeting:
              target === null ? 0 : backboneRows.filter((e) => (e.networkingRate ?? -1) >= target).length,
          },
        };
      default:
        return { declared: null, measured: null };
    }
  };

  const BASIS: Readonly<Record<TargetKind, { basis: Basis; figures: Basis[] }>> = {
    networked: { basis: 'measured', figures: ['measured'] },
    robots: { basis: 'declared', figures: ['declared', 'measured'] },
    robotsNewPerYear: { basis: 'declared', figures: ['declared', 'measured'] },
    workshopsFactories: { basis: 'declared', figures: ['declared'] },
    benchmarksPerYear: { basis: 'declared', figures: ['declared'] },
    platformsRegional: { basis: 'declared', figures: ['declared', 'measured'] },
    platformsIndustry: { basis: 'declared', figures: ['declared', 'measured'] },
    platformsEnterprise: { basis: 'declared', figures: ['declared', 'measured'] },
    backboneNcRate: { basis: 'declared', figures: ['declared', 'measured'] },
    backboneNetworkingRate: { basis: 'measured', figures: ['measured'] },
  };

  const out = TARGET_KIND_NAMES.map((kind): TargetProgress => {
    const { unit, cadence } = TARGET_KINDS[kind];
    const { basis, figures } = BASIS[kind];
    const milestones = scopeMilestones(all, kind, targetScope);
    const target = scopeTargetIn(all, kind, targetScope, thisYear);
    const f = figure(kind, thisYear, target?.value ?? null);
    // A platform counts when declared, or when a child hub reports as one without a declaration.
    const platformCurrent = (x: Figure): number | null =>
      x.declared === null ? null : x.declared + (x.detail?.childHubs ?? 0);
    const compared = (x: Figure): number | null =>
      PLATFORM_KINDS[kind] !== undefined
        ? platformCurrent(x)
        : basis === 'declared'
          ? x.declared
          : x.measured;
    const current = compared(f);
    return {
      kind,
      unit,
      cadence,
      basis,
      figures,
      target,
      milestones,
      current,
      declared: f.declared,
      measured: f.measured,
      done: current === null || target === null ? null : current / target.value,
      detail: f.detail ?? {},
      series: years.map((year) => {
        const t = scopeTargetIn(all, kind, targetScope, year);
        const x = year === thisYear ? f : figure(kind, year, t?.value ?? null);
        return {
          year,
          value: compared(x),
          declared: x.declared,
          measured: x.measured,
          target: t?.value ?? null,
        };
      }),
    };
  });
  return { year: thisYear, scope: where, targets: out, generatedAt: new Date(now).toISOString() };
}
