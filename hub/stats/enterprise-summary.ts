/**
 * What the overview shows of the enterprises without receiving them all (docs/api.md,
 * "Statistics for the overview"): the best and worst by networking rate, and for each anomaly
 * how many enterprises and the first few names. Computed from the caller's own statistics
 * (already narrowed to its scope: a county's bureau user gets its county's enterprises), by the
 * same rule the pages use for regions (web/src/programme.ts `ranking`).
 */
import { type Static, Type } from '@sinclair/typebox';
import type { EnterpriseStats } from './stats.js';

/** How many names each anomaly lists. */
export const SUMMARY_NAMES = 5;
export const RANK_DEFAULT = 5;
export const RANK_MAX = 50;

const Ranked = Type.Object({
  code: Type.String(),
  name: Type.String(),
  region: Type.String(),
  networkingRate: Type.Number(),
});
const Named = Type.Object({
  count: Type.Integer({ description: 'how many enterprises' }),
  names: Type.Array(Type.String(), { description: `the first ${SUMMARY_NAMES} names` }),
});

export const EnterpriseSummarySchema = Type.Object(
  {
    count: Type.Integer({ description: 'enterprises in the scope (what byEnterprise would list)' }),
    top: Type.Array(Ranked, {
      description: 'the highest networking rates, best first (enterprises with a rate)',
    }),
    bottom: Type.Array(Ranked, {
      description: 'the lowest networking rates, worst first, none of those in top',
    }),
    rateAbove100: Named,
    beyondLedger: Named,
    exceedingLedger: Named,
    unconfirmed: Named,
  },
  {
    description:
      'with enterprises=summary: the rankings and anomalies of the enterprises in the scope, in place of byEnterprise (then empty)',
  },
);
export type EnterpriseSummary = Static<typeof EnterpriseSummarySchema>;

const over100 = (r: number | null): boolean => r !== null && r > 1;

function named(rows: readonly EnterpriseStats[], pick: (e: EnterpriseStats) => boolean) {
  let count = 0;
  const names: string[] = [];
  for (const e of rows) {
    if (!pick(e)) continue;
    count++;
    if (names.length < SUMMARY_NAMES) names.push(e.name);
  }
  return { count, names };
}

/** The summary of `rows` (byEnterprise, in its order) with `n` enterprises each way. */
export function enterpriseSummary(rows: readonly EnterpriseStats[], n: number): EnterpriseSummary {
  const rated = rows.filter(
    (e): e is EnterpriseStats & { networkingRate: number } => e.networkingRate !== null,
  );
  const ranked = (e: EnterpriseStats & { networkingRate: number }) => ({
    code: e.code,
    name: e.name,
    region: e.region,
    networkingRate: e.networkingRate,
  });
  // Stable sorts: ties keep byEnterprise's order, as the pages' own ranking does.
  const top = [...rated].sort((a, b) => b.networkingRate - a.networkingRate).slice(0, n);
  const inTop = new Set(top);
  // With few enterprises (or ties) the two lists would repeat each other: bottom shows the rest only.
  const bottom = [...rated]
    .sort((a, b) => a.networkingRate - b.networkingRate)
    .filter((e) => !inTop.has(e))
    .slice(0, n);
  return {
    count: rows.length,
    top: top.map(ranked),
    bottom: bottom.map(ranked),
    rateAbove100: named(rows, (e) => over100(e.networkingRate) || over100(e.ncRate)),
    beyondLedger: named(rows, (e) => e.beyondLedger > 0),
    exceedingLedger: named(rows, (e) => e.exceedsLedger),
    unconfirmed: named(rows, (e) => e.networkedUnconfirmed > 0),
  };
}

export const StatisticsQuery = Type.Object(
  {
    enterprises: Type.Union([Type.Literal('all'), Type.Literal('summary')], {
      default: 'all',
      description:
        'all: every enterprise in byEnterprise; summary: byEnterprise empty and enterpriseSummary instead (the overview: a few KB rather than one row per enterprise)',
    }),
    rank: Type.Integer({
      minimum: 1,
      maximum: RANK_MAX,
      default: RANK_DEFAULT,
      description: 'with enterprises=summary: how many enterprises each ranking lists',
    }),
  },
  // No additionalProperties: false: the route took any query before it took these two.
);
export type StatisticsQuery = Static<typeof StatisticsQuery>;
