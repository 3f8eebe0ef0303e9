/**
 * samples.db's schema, one migration per step (PRAGMA user_version), and how the rows of its
 * first layout read back: a row per sample, kept as it was in a file made before the second.
 */
import { qualityFromRank } from '../../../protocol/quality.js';
import type { SampleValue, SeriesPoint } from '../types.js';
import { parseExactInteger } from '../values.js';

export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE series (
     id INTEGER PRIMARY KEY,
     enterprise TEXT NOT NULL,
     machine TEXT NOT NULL,
     metric TEXT NOT NULL,
     UNIQUE (enterprise, machine, metric)
   );
   CREATE TABLE samples (
     series_id INTEGER NOT NULL REFERENCES series (id),
     ts INTEGER NOT NULL,
     value,
     vtype INTEGER NOT NULL,
     quality INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (series_id, ts)
   ) WITHOUT ROWID;`,
  // Points packed many to a row (points.ts): a write appends one landing row; a compaction
  // appends a part of chunks, one per series, in (part, series) order.
  `CREATE TABLE landing (
     seq INTEGER PRIMARY KEY,
     points BLOB NOT NULL
   );
   CREATE TABLE parts (
     id INTEGER PRIMARY KEY,
     min_ts NOT NULL,
     max_ts NOT NULL
   );
   CREATE TABLE chunks (
     part INTEGER NOT NULL,
     series_id INTEGER NOT NULL,
     points BLOB NOT NULL
   );
   CREATE UNIQUE INDEX chunks_by_part_series ON chunks (part, series_id);
   ALTER TABLE series ADD COLUMN last_part INTEGER;
   ALTER TABLE series ADD COLUMN last_ts;`,
];

// The first layout's vtype: how `value` reads back (SQLite has no boolean).
const VT_NULL = 0;
const VT_BOOLEAN = 2;
/** An integer beyond ±(2^53−1): INTEGER within signed 64 bits, else its decimal TEXT. */
const VT_BIGINT = 4;

export interface LegacyRow {
  ts: number;
  /** Decimal text for VT_BIGINT (legacyValueColumn casts it), so no integer is ever rounded. */
  value: number | string | null;
  vtype: number;
  quality: number;
}

/** `value` as it is read: a big integer as its decimal text (never seen as a double). */
export function legacyValueColumn(): string {
  return `CASE WHEN vtype = ${VT_BIGINT} THEN CAST(value AS TEXT) ELSE value END`;
}

export function decodeLegacyRow(r: LegacyRow): SeriesPoint {
  let value: SampleValue;
  if (r.vtype === VT_BOOLEAN) value = r.value === 1;
  else if (r.vtype === VT_NULL) value = null;
  else if (r.vtype === VT_BIGINT) value = parseExactInteger(String(r.value)) ?? null;
  else value = r.value;
  const quality = qualityFromRank(r.quality);
  return quality === 'good' ? { ts: r.ts, value } : { ts: r.ts, value, quality };
}
