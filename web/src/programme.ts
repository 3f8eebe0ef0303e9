/**
 * What the overview and the wall screen both show of the programme: the statistics and the
 * daily snapshots as the hub gives them (GET /api/v1/statistics, /statistics/trend), ordered
 * for rankings and picked out for anomalies. Nothing here computes a bureau figure: every
 * number is a field of the API's reply; this file only chooses, sorts and labels them.
 */
import { api } from './api';
import type { Principal } from './session';
import type { Statistics, Trend } from './types';

export type GroupStatistics = Statistics['byRegion'][number];
export type EnterpriseStatistics = Statistics['byEnterprise'][number];

export const loadStatistics = (): Promise<Statistics> => api<Statistics>('/api/v1/statistics');

/** How many enterprises each of the overview's rankings lists. */
export const ENTERPRISE_RANK = 5;

/**
 * The overview's statistics: the hub ranks the enterprises and names the anomalous ones
 * (enterprises=summary, docs/api.md) instead of sending every enterprise, which the overview
 * never shows; an enterprise user's own single enterprise comes whole (its name heads the page).
 */
export const loadOverviewStatistics = (p: Principal | undefined): Promise<Statistics> =>
  p?.role === 'enterprise'
    ? loadStatistics()
    : api<Statistics>('/api/v1/statistics', { query: { enterprises: 'summary', rank: ENTERPRISE_RANK } });

/** A ranked enterprise as the lists show it. */
export interface RankedEnterprise {
  readonly code: string;
  readonly name: string;
  readonly networkingRate: number | null;
}

/** The enterprise rankings: the hub's (enterpriseSummary) when it sent them, else from byEnterprise. */
export function enterpriseRanking(s: Statistics | undefined): {
  top: RankedEnterprise[];
  bottom: RankedEnterprise[];
} {
  const summary = s?.enterpriseSummary;
  if (summary !== undefined) return { top: [...summary.top], bottom: [...summary.bottom] };
  return ranking(s?.byEnterprise ?? [], ENTERPRISE_RANK);
}

/** Each anomaly's enterprises (how many, the first few names): the hub's summary, else from byEnterprise. */
function enterpriseFlags(
  s: Statistics,
): Record<
  'rateAbove100' | 'beyondLedger' | 'exceedingLedger' | 'unconfirmed',
  { count: number; names: readonly string[] }
> {
  if (s.enterpriseSummary !== undefined) return s.enterpriseSummary;
  const flag = (pick: (e: EnterpriseStatistics) => boolean) => {
    const all = s.byEnterprise.filter(pick).map((e) => e.name);
    return { count: all.length, names: all.slice(0, 5) };
  };
  return {
    rateAbove100: flag((e) => over100(e.networkingRate) || over100(e.ncRate)),
    beyondLedger: flag((e) => e.beyondLedger > 0),
    exceedingLedger: flag((e) => e.exceedsLedger),
    unconfirmed: flag((e) => e.networkedUnconfirmed > 0),
  };
}

/**
 * The snapshots the caller may see: the city's for an unscoped user; a bureau user scoped to
 * regions gets no city rows (they mix regions), so its regions'; an enterprise user its own.
 */
export function trendQuery(p: Principal | undefined): { level: string; code?: string } {
  if (p?.enterprise !== undefined && p.role === 'enterprise')
    return { level: 'enterprise', code: p.enterprise };
  if (p !== undefined && p.role === 'bureau' && p.regions.length > 0) {
    return p.regions.length === 1 ? { level: 'region', code: p.regions[0] } : { level: 'region' };
  }
  return { level: 'city' };
}

export async function loadTrend(p: Principal | undefined): Promise<Trend> {
  return api<Trend>('/api/v1/statistics/trend', { query: trendQuery(p) });
}

export interface TrendLine {
  readonly code: string;
  readonly figure: 'networked' | 'online';
  readonly points: readonly { readonly day: string; readonly value: number | null }[];
}

const figureOf = (f: Readonly<Record<string, unknown>>, key: string): number | null => {
  const v = f[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

/** The snapshots as lines: networked and online per code (one code: the city, a region, an enterprise). */
export function trendLines(t: Trend | undefined): { days: string[]; lines: TrendLine[] } {
  const rows = t?.snapshots ?? [];
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const codes = [...new Set(rows.map((r) => r.code))];
  const lines: TrendLine[] = [];
  for (const figure of ['networked', 'online'] as const) {
    for (const code of codes) {
      const byDay = new Map(
        rows.filter((r) => r.code === code).map((r) => [r.day, figureOf(r.figures, figure)]),
      );
      lines.push({ code, figure, points: days.map((day) => ({ day, value: byDay.get(day) ?? null })) });
    }
  }
  return { days, lines };
}

/** Highest and lowest by networking rate (those with a rate), `n` each; best first, worst first. */
export function ranking<T extends { networkingRate: number | null }>(
  rows: readonly T[],
  n: number,
): { top: T[]; bottom: T[] } {
  const rated = rows.filter((r) => r.networkingRate !== null);
  const desc = [...rated].sort((a, b) => (b.networkingRate ?? 0) - (a.networkingRate ?? 0));
  const asc = [...rated].sort((a, b) => (a.networkingRate ?? 0) - (b.networkingRate ?? 0));
  const top = desc.slice(0, n);
  // With few rows (or ties) the two lists would repeat each other: the bottom list shows the rest only.
  const bottom = asc.filter((r) => !top.includes(r)).slice(0, n);
  return { top, bottom };
}

/** A figure the reader must not take at face value, with what it refers to. */
export interface Anomaly {
  /** Message key under `overview.anomalies`. */
  readonly kind: 'rateAbove100' | 'beyondLedger' | 'exceedingLedger' | 'unconfirmed' | 'unattributed';
  readonly count: number;
  /** Enterprises or groups concerned, by name (at most a few). */
  readonly names: readonly string[];
}

const over100 = (r: number | null | undefined): boolean => typeof r === 'number' && r > 1;

/** What the statistics flag: rates above 100 %, machines beyond the ledgers, unconfirmed and unattributed machines. */
export function anomalies(s: Statistics, groupName: (g: GroupStatistics) => string): Anomaly[] {
  const found: Anomaly[] = [];
  const flags = enterpriseFlags(s);
  const groups = [...s.byRegion, ...s.byIndustry]
    .filter((g) => over100(g.networkingRate) || over100(g.ncRate))
    .map(groupName);
  const high = [...groups, ...flags.rateAbove100.names];
  const highCount = groups.length + flags.rateAbove100.count;
  if (over100(s.networkingRate) || over100(s.ncRate) || highCount > 0) {
    found.push({ kind: 'rateAbove100', count: highCount, names: high.slice(0, 5) });
  }
  if (s.beyondLedger > 0) {
    found.push({ kind: 'beyondLedger', count: s.beyondLedger, names: flags.beyondLedger.names.slice(0, 5) });
  }
  if (s.enterprisesExceedingLedger > 0) {
    found.push({
      kind: 'exceedingLedger',
      count: s.enterprisesExceedingLedger,
      names: flags.exceedingLedger.names.slice(0, 5),
    });
  }
  if (s.networkedUnconfirmed > 0) {
    found.push({
      kind: 'unconfirmed',
      count: s.networkedUnconfirmed,
      names: flags.unconfirmed.names.slice(0, 5),
    });
  }
  if (s.unattributed.machines > 0)
    found.push({ kind: 'unattributed', count: s.unattributed.machines, names: [] });
  return found;
}

/**
 * Where each county-level area sits on the schematic map (column, row of a 6 × 3 grid), roughly
 * as they lie: Lanxi and Pujiang in the north, the city districts in the middle, Wuyi,
 * Yongkang and Pan'an in the south. A region not placed here goes on a row below.
 */
export const TILE_PLACES: Readonly<Record<string, readonly [number, number]>> = {
  lanxi: [2, 1],
  pujiang: [4, 1],
  'jinhua-dev': [1, 2],
  wucheng: [2, 2],
  jindong: [3, 2],
  jinyi: [4, 2],
  yiwu: [5, 2],
  dongyang: [6, 2],
  wuyi: [2, 3],
  yongkang: [4, 3],
  panan: [6, 3],
};

/** A tile's colour for a networking rate: light (0 %) to deep blue (100 %); grey without a rate. */
export function rateColour(rate: number | null): string {
  if (rate === null) return 'hsl(210 10% 82%)';
  const r = Math.max(0, Math.min(1, rate));
  return `hsl(210 70% ${Math.round(93 - r * 31)}%)`;
}
