/**
 * Local calendar days at a fixed UTC offset. The programme's city keeps China Standard Time
 * (UTC+8, no daylight saving), so a fixed offset gives the same days as the wall clock and
 * keeps day arithmetic pure: no time-zone database, the same answer on every server.
 */
export const DAY_MS = 86_400_000;

/** China Standard Time, in minutes east of UTC. */
export const DEFAULT_UTC_OFFSET_MIN = 480;

/**
 * The longest span splitByDay splits, in days. State intervals are counted per day for the
 * daily figures; nothing reads a day more than a year back, and a longer span only comes from
 * a time that should never have got this far (a gateway's clock years off). Bounding it here
 * bounds the loop whatever the caller passes.
 */
export const MAX_SPLIT_DAYS = 400;

/**
 * The latest time a day is taken of: the end of year 9999 less two days (a local day adds up
 * to 14 h of offset). Beyond it `toISOString()` writes a six-digit year and a "YYYY-MM-DD" day
 * no longer fits; beyond 8.64e15 ms `new Date()` is invalid altogether.
 */
export const MAX_DAY_TIME_MS = Date.UTC(10_000, 0, 1) - 2 * DAY_MS;

/** A finite ms since the epoch that has a local day at any offset (1970 to the end of 9999). */
export function isDayTime(ms: number): boolean {
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_DAY_TIME_MS;
}

/** The local date ("YYYY-MM-DD") of `ms` at `offsetMin` minutes east of UTC. */
export function localDay(ms: number, offsetMin: number): string {
  return new Date(ms + offsetMin * 60_000).toISOString().slice(0, 10);
}

/** ms of the local midnight that starts `day` ("YYYY-MM-DD"); NaN for a malformed day. */
export function dayStart(day: string, offsetMin: number): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return Number.NaN;
  return Date.parse(`${day}T00:00:00Z`) - offsetMin * 60_000;
}

/** The first local midnight strictly after `ms`. */
export function nextMidnight(ms: number, offsetMin: number): number {
  return dayStart(localDay(ms, offsetMin), offsetMin) + DAY_MS;
}

/** What splitByDay did with a span: the parts, and how much of the span it left out. */
export interface DaySplit {
  /** [day, ms] in order; at most MAX_SPLIT_DAYS + 1 of them. */
  readonly parts: [string, number][];
  /** ms left out: the span's start beyond MAX_SPLIT_DAYS before its end, or all of it when an end is not a time. */
  readonly droppedMs: number;
}

/**
 * How the span [from, to) falls on local days; empty when to ≤ from. Bounded by construction:
 * a span longer than MAX_SPLIT_DAYS keeps only its last MAX_SPLIT_DAYS (the rest is reported
 * as `droppedMs`), and an end that is not a day time (NaN, ±Infinity, before 1970, past
 * MAX_DAY_TIME_MS) splits to nothing, all dropped, rather than loop or throw.
 */
export function splitDays(from: number, to: number, offsetMin: number): DaySplit {
  if (!isDayTime(from) || !isDayTime(to)) {
    const span = to - from;
    return { parts: [], droppedMs: Number.isFinite(span) && span > 0 ? span : 0 };
  }
  const start = Math.max(from, to - MAX_SPLIT_DAYS * DAY_MS);
  const parts: [string, number][] = [];
  let t = start;
  while (t < to) {
    const end = Math.min(to, nextMidnight(t, offsetMin));
    parts.push([localDay(t, offsetMin), end - t]);
    t = end;
  }
  return { parts, droppedMs: Math.max(start - from, 0) };
}

/** splitDays' parts alone (see there for the bounds). */
export function splitByDay(from: number, to: number, offsetMin: number): [string, number][] {
  return splitDays(from, to, offsetMin).parts;
}
