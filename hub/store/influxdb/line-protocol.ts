/**
 * Samples as InfluxDB line protocol, the schema of docs/store.md:
 *
 *   machine_samples,enterprise=<e>,machine=<m>,metric=<name> <field>=<v>,quality=<0|1|2>i <ts ms>
 *
 * Tags are only the series identity (bounded by the ledger: enterprises × machines ×
 * metrics); the value goes to a field named by its type (`value` float, `value_str`,
 * `value_bool`; an integer beyond ±(2^53−1) to `value_int` (integer) or, above 2^63−1,
 * `value_uint_str` (decimal digits: InfluxDB 1.x refuses `u` unsigned fields)), so a metric
 * never meets a field type conflict and a null is simply no value field. The point key is
 * measurement + tags + timestamp, so writing a sample again overwrites it: a replay never
 * double counts.
 */
import { QUALITY_RANK } from '../../../protocol/quality.js';
import { inner } from '../../util/maps.js';
import type { Sample } from '../types.js';
import { INT64_MAX, INT64_MIN } from '../values.js';

export const FIELD = {
  number: 'value',
  string: 'value_str',
  boolean: 'value_bool',
  /** Integers beyond ±(2^53−1) within signed 64 bits, as an InfluxDB integer (`i`). */
  integer: 'value_int',
  /** UInt64 values above 2^63−1 as decimal digits (needs `writeStrings`). */
  unsignedText: 'value_uint_str',
  quality: 'quality',
} as const;

// Line protocol has no escape for a line break; tags and strings carry a space instead.
const BREAKS = /[\r\n]/g;

export function escapeMeasurement(s: string): string {
  return s.replace(BREAKS, ' ').replace(/[, ]/g, '\\$&');
}

const TAG_SPECIALS = /[,= \r\n]/;

export function escapeTag(s: string): string {
  if (!TAG_SPECIALS.test(s)) return s;
  return s.replace(BREAKS, ' ').replace(/[,= ]/g, '\\$&');
}

export function escapeFieldString(s: string): string {
  return `"${s.replace(BREAKS, ' ').replace(/["\\]/g, '\\$&')}"`;
}

export interface EncodeOptions {
  /** Series keys of the measurement, reused across batches. */
  readonly keys: SeriesKeys;
  /** false: string values are written as quality only (the server cannot hold strings). */
  readonly writeStrings: boolean;
}

/**
 * The line up to the fields, per series. The same few thousand series come back every
 * second, so they are escaped once; the cache is emptied when it grows past `max` (a
 * bound in case something sends ever new metric names).
 */
export class SeriesKeys {
  readonly #measurement: string;
  readonly #max: number;
  #keys = new Map<string, Map<string, Map<string, string>>>();
  #size = 0;

  constructor(measurement: string, max = 200_000) {
    this.#measurement = escapeMeasurement(measurement);
    this.#max = max;
  }

  key(enterprise: string, machine: string, metric: string): string {
    const metrics = inner(inner(this.#keys, enterprise), machine);
    let key = metrics.get(metric);
    if (key === undefined) {
      if (this.#size >= this.#max) this.#clear();
      key = `${this.#measurement},enterprise=${escapeTag(enterprise)},machine=${escapeTag(machine)},metric=${escapeTag(metric)}`;
      metrics.set(metric, key);
      this.#size++;
    }
    return key;
  }

  #clear(): void {
    this.#keys = new Map();
    this.#size = 0;
  }
}

/** One line per sample; undefined for a sample that cannot be a point (an empty tag value). */
export function sampleLine(s: Sample, keys: SeriesKeys, writeStrings: boolean): string | undefined {
  if (s.enterprise === '' || s.machine === '' || s.metric === '') return undefined;
  let field = '';
  const v = s.value;
  if (typeof v === 'number') {
    if (Number.isFinite(v)) field = `${FIELD.number}=${v},`;
  } else if (typeof v === 'bigint') {
    field = bigintField(v, writeStrings);
  } else if (typeof v === 'boolean') {
    field = `${FIELD.boolean}=${v},`;
  } else if (typeof v === 'string' && writeStrings) {
    field = `${FIELD.string}=${escapeFieldString(v)},`;
  }
  const q = QUALITY_RANK[s.quality ?? 'good'];
  return `${keys.key(s.enterprise, s.machine, s.metric)} ${field}${FIELD.quality}=${q}i ${Math.trunc(s.ts)}`;
}

/**
 * An exact integer: `value_int=<n>i` within signed 64 bits, `value_uint_str="<n>"` above (a
 * UInt64). A server that cannot hold strings gets the nearest float in `value`, the best it
 * can keep (VictoriaMetrics keeps every number as a float anyway).
 */
function bigintField(v: bigint, writeStrings: boolean): string {
  if (v >= INT64_MIN && v <= INT64_MAX) return `${FIELD.integer}=${v}i,`;
  if (writeStrings) return `${FIELD.unsignedText}="${v}",`;
  return `${FIELD.number}=${Number(v)},`;
}

/** Encodes a batch; `skipped` counts samples that cannot be points. */
export function encodeSamples(
  samples: readonly Sample[],
  opts: EncodeOptions,
): { lines: string[]; skipped: number } {
  const lines: string[] = [];
  let skipped = 0;
  for (const s of samples) {
    const line = sampleLine(s, opts.keys, opts.writeStrings);
    if (line === undefined) skipped++;
    else lines.push(line);
  }
  return { lines, skipped };
}
