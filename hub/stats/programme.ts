/**
 * The targets in force (docs/statistics.md, "Targets and thresholds"): which of the registry's
 * target rows (`programme_targets`, hub/registry/programme-records.ts) applies in a year, for
 * the city, a region or several. One rule for GET /api/v1/targets (targets.ts) and for the
 * statistics (stats.ts: the networked target of the caller, each region's own, and the
 * backbone thresholds), so the two never disagree. The rows are the one source: migration 9
 * seeds the action plan's, the bureau edits them (API, the targets page).
 */
import { HubError } from '../errors.js';
import { TARGET_KINDS, type Target, type TargetKind } from '../registry/programme-records.js';

export interface Milestone {
  /** The year it is due (a total) or applies to (a yearly kind); null = every year / no deadline. */
  readonly year: number | null;
  readonly value: number;
}

/** What the statistics apply in one year, derived from the target rows (Registry.programmeAt). */
export interface Programme {
  /** The local year these are the targets in force of. */
  readonly year: number;
  /** The city's target of networked machines; 0 = none set. */
  readonly target: number;
  /** A region's (county's) own networked target, by region code; a region without one is left out. */
  readonly regionTargets: Readonly<Record<string, number>>;
  /** A backbone enterprise meets the target with a networking rate at least this (0–1)… */
  readonly backboneNetworkingRate: number;
  /** …and an NC rate at least this (0–1). Both are the city's: a threshold applies city-wide. */
  readonly backboneNcRate: number;
}

/** The two thresholds of backbone compliance. */
export type BackboneThresholds = Pick<Programme, 'backboneNetworkingRate' | 'backboneNcRate'>;

/** The rows of one kind for the city (null) or one region, by year. */
export function milestonesOf(all: readonly Target[], kind: TargetKind, region: string | null): Milestone[] {
  return all
    .filter((t) => t.kind === kind && t.region === region)
    .map((t) => ({ year: t.year, value: t.value }))
    .sort((a, b) => (a.year ?? 0) - (b.year ?? 0));
}

/**
 * The target in force in `year`: a yearly kind's own for that year, else its every-year one; a
 * total's next one due (the first year ≥ `year`: this year's row when there is one, else the
 * next milestone), else the last one (the plan's end target once its year has passed), else
 * one without a year.
 */
export function targetIn(kind: TargetKind, ms: readonly Milestone[], year: number): Milestone | null {
  if (TARGET_KINDS[kind].cadence === 'yearly') {
    return ms.find((m) => m.year === year) ?? ms.find((m) => m.year === null) ?? null;
  }
  const dated = ms.filter((m) => m.year !== null);
  return (
    dated.find((m) => (m.year ?? 0) >= year) ??
    dated[dated.length - 1] ??
    ms.find((m) => m.year === null) ??
    null
  );
}

/**
 * Where a scope's target comes from: the city's rows; its regions' own (counts summed in each
 * year, none when one region has none: a county is never shown the city's as its own); none
 * for an enterprise. A rate (a backbone threshold) is the city's for every scope: it says
 * what each backbone enterprise must reach, wherever it is.
 */
export type TargetScope =
  | { readonly level: 'city' }
  | { readonly level: 'region'; readonly codes: readonly string[] }
  | { readonly level: 'enterprise' };

/** The scope's target of `kind` in force in `year`; null when it has none. */
export function scopeTargetIn(
  all: readonly Target[],
  kind: TargetKind,
  scope: TargetScope,
  year: number,
): Milestone | null {
  if (TARGET_KINDS[kind].unit === 'rate' || scope.level === 'city')
    return targetIn(kind, milestonesOf(all, kind, null), year);
  if (scope.level === 'enterprise' || scope.codes.length === 0) return null;
  let value = 0;
  let due: number | null = null;
  for (const code of scope.codes) {
    const t = targetIn(kind, milestonesOf(all, kind, code), year);
    if (t === null) return null;
    value += t.value;
    if (t.year !== null) due = Math.max(due ?? t.year, t.year);
  }
  return { year: due, value };
}

/** Every target of `kind` in the scope: the years any of its rows name, each with the scope's target then. */
export function scopeMilestones(all: readonly Target[], kind: TargetKind, scope: TargetScope): Milestone[] {
  if (TARGET_KINDS[kind].unit === 'rate' || scope.level === 'city') return milestonesOf(all, kind, null);
  if (scope.level === 'enterprise') return [];
  const years = new Set<number | null>();
  for (const code of scope.codes) for (const m of milestonesOf(all, kind, code)) years.add(m.year);
  const out: Milestone[] = [];
  for (const y of [...years].sort((a, b) => (a ?? 0) - (b ?? 0))) {
    const t = y === null ? scopeTargetIn(all, kind, scope, 0) : scopeTargetIn(all, kind, scope, y);
    if (t !== null && !out.some((m) => m.year === t.year && m.value === t.value)) out.push(t);
  }
  return out;
}

/** A backbone threshold must exist: the statistics judge every backbone enterprise by it. */
function threshold(all: readonly Target[], kind: 'backboneNetworkingRate' | 'backboneNcRate', year: number) {
  const t = scopeTargetIn(all, kind, { level: 'city' }, year);
  if (t === null) {
    throw new HubError(
      'WANJI_E_REGISTRY_PROGRAMME',
      `the registry holds no city ${kind} target, which the statistics judge backbone enterprises by: set one with PUT /api/v1/targets (e.g. {"kind":"${kind}","value":0.5})`,
    );
  }
  return t.value;
}

/** What the statistics apply in `year`, from the target rows. */
export function programmeOf(all: readonly Target[], year: number): Programme {
  const regionTargets: Record<string, number> = {};
  const regions = new Set(
    all.flatMap((t) => (t.kind === 'networked' && t.region !== null ? [t.region] : [])),
  );
  for (const code of [...regions].sort()) {
    const t = targetIn('networked', milestonesOf(all, 'networked', code), year);
    if (t !== null) regionTargets[code] = t.value;
  }
  return {
    year,
    target: targetIn('networked', milestonesOf(all, 'networked', null), year)?.value ?? 0,
    regionTargets,
    backboneNetworkingRate: threshold(all, 'backboneNetworkingRate', year),
    backboneNcRate: threshold(all, 'backboneNcRate', year),
  };
}

/**
 * The target a caller's figures are measured against: the city's for an unscoped caller; for
 * a caller scoped to regions, the sum of those regions' own targets when each has one; 0 (no
 * target) for a caller scoped to enterprises or to a region without a target of its own. The
 * same figure as scopeTargetIn(…, 'networked', …) gives GET /api/v1/targets.
 */
export function targetFor(
  p: Programme,
  scope: { readonly enterprises?: readonly string[]; readonly regions?: readonly string[] },
): number {
  if (scope.enterprises !== undefined) return 0;
  if (scope.regions === undefined) return p.target;
  if (scope.regions.length === 0) return 0;
  let sum = 0;
  for (const r of scope.regions) {
    const t = p.regionTargets[r];
    if (t === undefined) return 0;
    sum += t;
  }
  return sum;
}
