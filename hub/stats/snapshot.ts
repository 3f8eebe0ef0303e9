/**
 * Daily snapshots: every figure of computeStats at city, region, industry and enterprise
 * level, plus each enterprise's state time and utilisation, one row per (level, code, day),
 * so every figure has a trend. The hub takes one at each local midnight (for the day that
 * just ended) and on demand (for today, replaced by later ones of the same day).
 */
import type { Logger } from 'pino';
import { type Clock, REAL_CLOCK } from '../../protocol/clock.js';
import { localDay, nextMidnight } from '../registry/days.js';
import type { Registry } from '../registry/registry.js';
import { enterpriseDays, machineDays } from './state-time.js';
import { computeStats, type StatsScope, type StatsWindows } from './stats.js';

export const SNAPSHOT_LEVELS = ['city', 'region', 'industry', 'enterprise'] as const;
export type SnapshotLevel = (typeof SNAPSHOT_LEVELS)[number];

export interface SnapshotRow {
  readonly day: string;
  readonly level: SnapshotLevel;
  readonly code: string;
  /** ISO 8601 */
  readonly takenAt: string;
  readonly figures: Readonly<Record<string, unknown>>;
}

/** Takes the snapshot of `day` (default: the local day of `now`) and returns how many rows it wrote. */
export function takeSnapshot(
  registry: Registry,
  now: number,
  windows: StatsWindows,
  day = localDay(now, registry.utcOffsetMin),
): { day: string; rows: number } {
  const s = computeStats(registry, now, windows);
  const util = new Map(
    enterpriseDays(machineDays(registry, { day, now, windows })).map((d) => [d.enterprise, d]),
  );
  const rows: [SnapshotLevel, string, Record<string, unknown>][] = [];
  const { byRegion, byIndustry, byEnterprise, children: _c, figureWindows: _w, city, ...totals } = s;
  rows.push(['city', 'city', { ...totals, ...city }]);
  for (const r of byRegion) rows.push(['region', r.code, { ...r }]);
  for (const i of byIndustry) rows.push(['industry', i.code, { ...i }]);
  for (const e of byEnterprise) {
    const u = util.get(e.code);
    rows.push([
      'enterprise',
      e.code,
      {
        ...e,
        stateMs: u?.ms ?? null,
        utilisation: u?.utilisation ?? null,
        powerOnTimeRate: u?.powerOnTimeRate ?? null,
      },
    ]);
  }
  registry.database.snapshots.put(
    rows.map(([level, code, f]) => ({ day, level, code, takenAt: now, figures: JSON.stringify(f) })),
  );
  return { day, rows: rows.length };
}

export interface TrendQuery {
  readonly level: SnapshotLevel;
  /** Omit for every code of the level. */
  readonly code?: string;
  readonly from?: string;
  readonly to?: string;
  readonly scope?: StatsScope;
  /** Only these figures of each snapshot (e.g. networked for a sparkline); omit for every figure. */
  readonly figures?: readonly string[];
}

/**
 * Snapshots oldest first; a scoped caller sees its enterprises and regions only. The store
 * picks out the scope's rows and the asked figures (hub/database/snapshots.ts listFigures), so
 * a trend of 1,000 enterprises × 30 days parses only what it returns.
 */
export function trend(registry: Registry, q: TrendQuery): SnapshotRow[] {
  const scope = q.scope ?? {};
  const scoped = scope.enterprises !== undefined || scope.regions !== undefined;
  // Only a region a bureau token is scoped to is its own; cities and industries mix regions.
  if (scoped && q.level !== 'enterprise' && (q.level !== 'region' || scope.enterprises !== undefined))
    return [];
  const rows = registry.database.snapshots.listFigures({
    level: q.level,
    ...(q.code === undefined ? {} : { code: q.code }),
    ...(q.from === undefined ? {} : { from: q.from }),
    ...(q.to === undefined ? {} : { to: q.to }),
    ...(q.figures === undefined ? {} : { figures: q.figures }),
    ...(!scoped
      ? {}
      : q.level === 'region'
        ? { codes: scope.regions ?? [] }
        : {
            ...(scope.enterprises === undefined ? {} : { codes: scope.enterprises }),
            ...(scope.regions === undefined ? {} : { regions: scope.regions }),
          }),
  });
  // The rows of one snapshot share their time: one ISO string each.
  const iso = new Map<number, string>();
  const isoOf = (ms: number): string => {
    const known = iso.get(ms);
    if (known !== undefined) return known;
    const v = new Date(ms).toISOString();
    iso.set(ms, v);
    return v;
  };
  return rows.map((r) => ({
    day: r.day,
    level: r.level as SnapshotLevel,
    code: r.code,
    takenAt: isoOf(r.takenAt),
    figures:
      r.figures !== undefined
        ? (JSON.parse(r.figures) as Record<string, unknown>)
        : Object.fromEntries([...(r.parts ?? [])].map(([k, v]) => [k, JSON.parse(v) as unknown])),
  }));
}

export interface SnapshotTimerOptions {
  readonly registry: Registry;
  readonly windows: StatsWindows;
  readonly logger: Logger;
  /** Default REAL_CLOCK. */
  readonly clock?: Clock;
  /** A worker of a hub cluster takes the snapshot only while this says so (the leader); absent: always. */
  readonly active?: () => boolean;
}

/** Takes the snapshot of each day at the local midnight that ends it. */
export class SnapshotTimer {
  readonly #o: SnapshotTimerOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  #timer: unknown;
  #started = false;

  constructor(o: SnapshotTimerOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'snapshots' });
    this.#clock = o.clock ?? REAL_CLOCK;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#arm();
  }

  async close(): Promise<void> {
    this.#started = false;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    if (!this.#started) return;
    const now = this.#clock.now();
    const midnight = nextMidnight(now, this.#o.registry.utcOffsetMin);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#o.active?.() !== false) this.#fire(midnight);
      this.#arm();
    }, midnight - now);
  }

  #fire(midnight: number): void {
    const { registry, windows } = this.#o;
    // The day that just ended, whatever the timer's lateness.
    const day = localDay(midnight - 1, registry.utcOffsetMin);
    try {
      const r = takeSnapshot(registry, this.#clock.now(), windows, day);
      this.#log.info(r, 'daily statistics snapshot taken');
    } catch (err) {
      this.#log.error({ err, day }, 'daily statistics snapshot failed');
    }
  }
}
