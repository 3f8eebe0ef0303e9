/**
 * Numbers, rates and times as the current language writes them (Intl), the one place the
 * pages format a figure. A missing figure (no ledger yet, no data) is a dash, never 0.
 */
import { currentLocale } from './i18n';

export const DASH = '–';

export function num(n: number | null | undefined): string {
  return typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString(currentLocale()) : DASH;
}

/** A rate (0..1, may exceed 1 when measured beyond a ledger) as a percentage, one decimal. */
export function pct(rate: number | null | undefined, digits = 1): string {
  if (typeof rate !== 'number' || !Number.isFinite(rate)) return DASH;
  return new Intl.NumberFormat(currentLocale(), {
    style: 'percent',
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(rate);
}

export function dateTime(t: string | number | null | undefined): string {
  if (t === null || t === undefined) return DASH;
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return DASH;
  return new Intl.DateTimeFormat(currentLocale(), { dateStyle: 'short', timeStyle: 'medium' }).format(d);
}

export function date(t: string | number | null | undefined): string {
  if (t === null || t === undefined) return DASH;
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return DASH;
  return new Intl.DateTimeFormat(currentLocale(), { dateStyle: 'medium' }).format(d);
}

/** A duration in ms as the largest sensible unit ("3 分钟", "2 h"). */
export function duration(ms: number | null | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return DASH;
  const units: [Intl.NumberFormatOptions['unit'], number][] = [
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
    ['second', 1_000],
  ];
  for (const [unit, size] of units) {
    if (ms >= size || unit === 'second') {
      return new Intl.NumberFormat(currentLocale(), {
        style: 'unit',
        unit,
        unitDisplay: 'short',
        maximumFractionDigits: 0,
      }).format(ms / size);
    }
  }
  return DASH;
}
