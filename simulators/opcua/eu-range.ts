/**
 * Engineering-unit ranges of the simulator's analog signals, by unit: what a real device
 * declares in its AnalogItem's EURange, and what an OPC UA percent deadband is a percent of.
 * Wide enough for every value the machine profiles produce.
 */
import type { SignalSpec } from '../profiles/types.js';

export interface EuRange {
  readonly low: number;
  readonly high: number;
}

const BY_UNIT: Readonly<Record<string, EuRange>> = {
  '%': { low: 0, high: 200 },
  rpm: { low: 0, high: 30_000 },
  'mm/min': { low: 0, high: 30_000 },
  s: { low: 0, high: 3600 },
  Cel: { low: 0, high: 500 },
  m: { low: 0, high: 10_000 },
  '1/min': { low: 0, high: 600 },
  t: { low: 0, high: 5000 },
  A: { low: 0, high: 1000 },
  V: { low: 0, high: 100 },
  bar: { low: 0, high: 400 },
};

/** The EURange of a Float or Double signal with a known unit; undefined for the others. */
export function euRangeOf(spec: SignalSpec): EuRange | undefined {
  if (spec.type !== 'Float' && spec.type !== 'Double') return undefined;
  return BY_UNIT[spec.unit];
}
