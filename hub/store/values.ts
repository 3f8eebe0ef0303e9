/**
 * Exact 64-bit integers in samples. A Sparkplug Int64 or UInt64 may be beyond what a JS
 * number holds exactly (±(2^53−1)); such a value travels as a bigint from the decoder to
 * the store and back, and leaves the API as a JSON string of its decimal digits (as in
 * protobuf's JSON mapping). Every other integer stays a number, as before.
 */
import type { SampleValue } from './types.js';

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const UINT64_MAX = 2n ** 64n - 1n;

const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** A number when it is exact (within ±(2^53−1)), else the bigint itself. */
export function exactInteger(v: bigint): number | bigint {
  return v >= SAFE_MIN && v <= SAFE_MAX ? Number(v) : v;
}

const DECIMAL = /^-?\d{1,20}$/;

/**
 * An integer read back as decimal text (SQLite, InfluxQL answers); undefined when the text is
 * not an integer of at most 20 digits, so a damaged row reads as no value instead of throwing.
 */
export function parseExactInteger(text: string): number | bigint | undefined {
  return DECIMAL.test(text) ? exactInteger(BigInt(text)) : undefined;
}

/** A sample value as JSON can carry it exactly: a bigint becomes its decimal string. */
export type JsonSampleValue = Exclude<SampleValue, bigint>;

export function jsonSampleValue(v: SampleValue): JsonSampleValue {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** A point (series point, latest value) with its value made JSON-exact. */
export function jsonPoint<P extends { readonly value: SampleValue }>(
  p: P,
): Omit<P, 'value'> & { value: JsonSampleValue } {
  return { ...p, value: jsonSampleValue(p.value) };
}
