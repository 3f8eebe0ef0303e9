/**
 * Local calendar days at a fixed UTC offset. The programme's city keeps China Standard Time
 * (UTC+8, no daylight saving), so a fixed offset gives the same days as the wall clock and
 * keeps day arithmetic pure: no time-zone database, the same answer on every server.
 */
export const DAY_MS = 86_400_000;

/** China Standard Time, in minutes east of UTC. */
export const DEFAULT_UTC_OFFSET_MIN = 480;

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

/** How the span [from, to) falls on local days: [day, ms] in order; empty when to ≤ from. */
export function splitByDay(from: number, to: number, offsetMin: number): [string, number][] {
  const parts: [string, number][] = [];
  let t = from;
  while (t < to) {
    const end = Math.min(to, nextMidnight(t, offsetMin));
    parts.push([localDay(t, offsetMin), end - t]);
    t = end;
  }
  return parts;
}
