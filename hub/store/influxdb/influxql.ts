/**
 * History through InfluxQL `/query` (InfluxDB 1.x natively, 2.x and 3.x through their v1
 * compatibility API): the statements the SampleStore contract needs and the reading of
 * their JSON answers.
 */

import { type Quality, qualityFromRank } from '../../../protocol/quality.js';
import { StoreError } from '../errors.js';
import type { LatestValue, SampleValue, SeriesPoint } from '../types.js';
import { parseExactInteger } from '../values.js';
import { type HttpTarget, request } from './http.js';
import { FIELD } from './line-protocol.js';

/** An InfluxQL string literal. */
export function quoteString(s: string): string {
  return `'${s.replace(/[\\']/g, '\\$&')}'`;
}

/** An InfluxQL identifier. */
export function quoteIdent(s: string): string {
  return `"${s.replace(/[\\"]/g, '\\$&')}"`;
}

const COLUMNS = [FIELD.number, FIELD.string, FIELD.boolean, FIELD.integer, FIELD.unsignedText, FIELD.quality]
  .map(quoteIdent)
  .join(', ');

export function seriesStatement(
  measurement: string,
  q: { enterprise: string; machine: string; metric: string; from?: number; to?: number },
  limit: number,
): string {
  const where = [
    `"enterprise" = ${quoteString(q.enterprise)}`,
    `"machine" = ${quoteString(q.machine)}`,
    `"metric" = ${quoteString(q.metric)}`,
  ];
  if (q.from !== undefined) where.push(`time >= ${Math.trunc(q.from)}ms`);
  if (q.to !== undefined) where.push(`time <= ${Math.trunc(q.to)}ms`);
  return (
    `SELECT ${COLUMNS} FROM ${quoteIdent(measurement)} WHERE ${where.join(' AND ')} ` +
    `ORDER BY time DESC LIMIT ${limit}`
  );
}

export function latestStatement(measurement: string, enterprise: string, machine: string): string {
  return (
    `SELECT ${COLUMNS} FROM ${quoteIdent(measurement)} ` +
    `WHERE "enterprise" = ${quoteString(enterprise)} AND "machine" = ${quoteString(machine)} ` +
    `GROUP BY "metric" ORDER BY time DESC LIMIT 1`
  );
}

interface Series {
  readonly name?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly columns: readonly string[];
  readonly values: readonly (readonly unknown[])[];
}

interface QueryAnswer {
  readonly results?: readonly { readonly series?: readonly Series[]; readonly error?: string }[];
  readonly error?: string;
}

/** An integer column: a number, or the digits parseExact kept as a string. */
function integerOf(x: unknown): number | bigint | undefined {
  if (typeof x === 'number') return Number.isSafeInteger(x) ? x : undefined;
  return typeof x === 'string' ? parseExactInteger(x) : undefined;
}

/**
 * JSON.parse that keeps integers exact: InfluxDB writes an integer field as a bare JSON
 * number, which JSON.parse would round beyond 2^53. Every whole integer literal of 16 digits
 * or more outside a string (not part of a fraction or exponent) becomes a string first; the
 * columns that can hold numbers (pointOf) read such strings back. String values are skipped
 * whole by the pattern, so their contents are never touched.
 */
export function parseExact(body: string): unknown {
  return JSON.parse(
    body.replace(/"(?:[^"\\]|\\.)*"|(?<![\d.eE+-])-?\d{16,}(?![.\deE])/g, (m) =>
      m.startsWith('"') ? m : `"${m}"`,
    ),
  );
}

function pointOf(columns: readonly string[], row: readonly unknown[]): SeriesPoint {
  const at = (name: string): unknown => {
    const i = columns.indexOf(name);
    return i < 0 ? null : row[i];
  };
  const ts = Number(at('time'));
  const n = at(FIELD.number);
  const i = at(FIELD.integer);
  const u = at(FIELD.unsignedText);
  const s = at(FIELD.string);
  const b = at(FIELD.boolean);
  const value: SampleValue =
    integerOf(i) ??
    (typeof u === 'string' ? parseExactInteger(u) : undefined) ??
    (typeof n === 'number' || typeof n === 'string' ? Number(n) : undefined) ??
    (typeof s === 'string' ? s : typeof b === 'boolean' ? b : null);
  const q = at(FIELD.quality);
  const quality: Quality = typeof q === 'number' ? qualityFromRank(q) : 'good';
  return quality === 'good' ? { ts, value } : { ts, value, quality };
}

export class InfluxQLReader {
  readonly #target: HttpTarget;
  readonly #params: URLSearchParams;
  readonly #measurement: string;

  constructor(target: HttpTarget, db: string, rp: string | undefined, measurement: string) {
    this.#target = target;
    this.#params = new URLSearchParams({ db, epoch: 'ms' });
    if (rp !== undefined) this.#params.set('rp', rp);
    this.#measurement = measurement;
  }

  /** Newest `limit` points of the range, oldest first. */
  async series(
    q: { enterprise: string; machine: string; metric: string; from?: number; to?: number },
    limit: number,
  ): Promise<SeriesPoint[]> {
    const series = await this.#select(seriesStatement(this.#measurement, q, limit));
    const points = series.flatMap((s) => s.values.map((row) => pointOf(s.columns, row)));
    return points.reverse();
  }

  async latest(enterprise: string, machine: string): Promise<LatestValue[]> {
    const series = await this.#select(latestStatement(this.#measurement, enterprise, machine));
    const out: LatestValue[] = [];
    for (const s of series) {
      const metric = s.tags?.metric;
      const row = s.values[0];
      if (metric !== undefined && row !== undefined) out.push({ metric, ...pointOf(s.columns, row) });
    }
    return out.sort((a, b) => (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0));
  }

  async #select(statement: string): Promise<readonly Series[]> {
    const params = new URLSearchParams(this.#params);
    params.set('q', statement);
    const body = await request(this.#target, 'InfluxQL query', `/query?${params.toString()}`, {
      method: 'GET',
    });
    let answer: QueryAnswer;
    try {
      answer = parseExact(body) as QueryAnswer;
    } catch (err) {
      throw new StoreError('WANJI_E_STORE_QUERY', 'InfluxQL query: the answer is not JSON', { cause: err });
    }
    const result = answer.results?.[0];
    const error = answer.error ?? result?.error;
    if (error !== undefined) {
      // Nothing written yet: the database does not exist, so there is nothing to read.
      if (error.startsWith('database not found')) return [];
      throw new StoreError('WANJI_E_STORE_QUERY', `InfluxQL query: ${error}`);
    }
    return (result?.series ?? []).filter((s) => s.name === this.#measurement);
  }
}
