/**
 * The embedded sample store: SQLite (better-sqlite3) in WAL mode. A `series` table names
 * each (enterprise, machine, metric) once; `samples` is keyed by (series, ts), so the
 * logical key is enterprise + machine + metric + ts and a replayed sample is an upsert.
 */
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { QUALITY_RANK, qualityFromRank } from '../../../protocol/quality.js';
import { type ComponentHealth, HubError } from '../../errors.js';
import { openSqlite } from '../../util/sqlite.js';
import {
  DEFAULT_QUERY_LIMIT,
  type LatestValue,
  MAX_QUERY_LIMIT,
  type Sample,
  type SampleStore,
  type SampleValue,
  type SeriesPoint,
  type SeriesQuery,
  type StoreConfig,
  type StoreContext,
} from '../types.js';
import { INT64_MAX, INT64_MIN, parseExactInteger } from '../values.js';

export interface SqliteStoreOptions {
  /** Database file; default `<dataDir>/samples.db`. */
  readonly path: string;
  /**
   * `full` (default) fsyncs every committed batch, so `write()` resolving means the batch
   * survives a power cut; the gateway's journal relies on that. `normal` is faster.
   */
  readonly synchronous: 'full' | 'normal';
  readonly logger: Logger;
}

const MIGRATIONS: readonly string[] = [
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
];

// vtype: how `value` reads back (SQLite has no boolean).
const VT_NULL = 0;
const VT_NUMBER = 1;
const VT_BOOLEAN = 2;
const VT_STRING = 3;
/**
 * An integer beyond ±(2^53−1), exact: INTEGER when it fits in signed 64 bits (Int64, UInt64
 * up to 2^63−1), else its decimal TEXT (UInt64 above 2^63−1). Read back as text, then BigInt.
 */
const VT_BIGINT = 4;

type StoredValue = number | bigint | string | null;

interface SampleRow {
  ts: number;
  /** Decimal text for VT_BIGINT (the statements cast it), so no integer is ever rounded. */
  value: number | string | null;
  vtype: number;
  quality: number;
}

interface LatestRow extends SampleRow {
  metric: string;
}

function encodeValue(v: SampleValue): [StoredValue, number] {
  if (v === null) return [null, VT_NULL];
  if (typeof v === 'bigint') return [v >= INT64_MIN && v <= INT64_MAX ? v : v.toString(), VT_BIGINT];
  if (typeof v === 'boolean') return [v ? 1 : 0, VT_BOOLEAN];
  if (typeof v === 'number') return Number.isFinite(v) ? [v, VT_NUMBER] : [null, VT_NULL];
  return [v, VT_STRING];
}

function decodeRow(r: SampleRow): SeriesPoint {
  let value: SampleValue;
  if (r.vtype === VT_BOOLEAN) value = r.value === 1;
  else if (r.vtype === VT_NULL) value = null;
  else if (r.vtype === VT_BIGINT) value = parseExactInteger(String(r.value)) ?? null;
  else value = r.value;
  const quality = qualityFromRank(r.quality);
  return quality === 'good' ? { ts: r.ts, value } : { ts: r.ts, value, quality };
}

/** `value` as it is read: a big integer as its decimal text (no reader ever sees it as a double). */
function valueColumn(table = ''): string {
  return `CASE WHEN ${table}vtype = ${VT_BIGINT} THEN CAST(${table}value AS TEXT) ELSE ${table}value END`;
}

interface Statements {
  insertSeries: Database.Statement<[string, string, string]>;
  findSeries: Database.Statement<[string, string, string], { id: number }>;
  upsert: Database.Statement<[number, number, StoredValue, number, number]>;
  range: Database.Statement<[number, number, number, number], SampleRow>;
  latest: Database.Statement<[string, string], LatestRow>;
}

export class SqliteSampleStore implements SampleStore {
  readonly type = 'sqlite';
  readonly #opts: SqliteStoreOptions;
  readonly #log: Logger;
  #db: Database.Database | undefined;
  #state: ComponentHealth['status'] = 'starting';
  readonly #seriesIds = new Map<string, number>();
  #stmts: Statements | undefined;
  #writeTx: ((samples: readonly Sample[]) => void) | undefined;

  constructor(opts: SqliteStoreOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'store', type: 'sqlite' });
  }

  async start(): Promise<void> {
    if (this.#db !== undefined) return;
    let db: Database.Database;
    try {
      db = openSqlite(this.#opts.path, MIGRATIONS, this.#opts.synchronous);
    } catch (err) {
      throw new HubError('WANJI_E_STORE', `cannot open sample store ${this.#opts.path}: ${String(err)}`, {
        cause: err,
      });
    }
    this.#stmts = {
      insertSeries: db.prepare('INSERT OR IGNORE INTO series (enterprise, machine, metric) VALUES (?, ?, ?)'),
      findSeries: db.prepare('SELECT id FROM series WHERE enterprise = ? AND machine = ? AND metric = ?'),
      upsert: db.prepare(
        `INSERT INTO samples (series_id, ts, value, vtype, quality) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (series_id, ts) DO UPDATE
         SET value = excluded.value, vtype = excluded.vtype, quality = excluded.quality`,
      ),
      range: db.prepare(
        `SELECT ts, ${valueColumn()} AS value, vtype, quality FROM samples
         WHERE series_id = ? AND ts >= ? AND ts <= ? ORDER BY ts DESC LIMIT ?`,
      ),
      latest: db.prepare(
        `SELECT s.metric AS metric, x.ts AS ts, ${valueColumn('x.')} AS value,
           x.vtype AS vtype, x.quality AS quality
         FROM series s JOIN samples x ON x.series_id = s.id
         AND x.ts = (SELECT max(ts) FROM samples WHERE series_id = s.id)
         WHERE s.enterprise = ? AND s.machine = ? ORDER BY s.metric`,
      ),
    };
    this.#writeTx = db.transaction((samples: readonly Sample[]) => {
      const upsert = this.#stmts!.upsert;
      for (const s of samples) {
        const [value, vtype] = encodeValue(s.value);
        upsert.run(this.#seriesId(s, true)!, s.ts, value, vtype, QUALITY_RANK[s.quality ?? 'good']);
      }
    });
    this.#db = db;
    this.#state = 'up';
    this.#log.info({ path: this.#opts.path }, 'sample store open');
  }

  async close(): Promise<void> {
    if (this.#db === undefined) {
      this.#state = 'closed';
      return;
    }
    const db = this.#db;
    this.#db = undefined;
    this.#stmts = undefined;
    this.#writeTx = undefined;
    this.#seriesIds.clear();
    db.close();
    this.#state = 'closed';
  }

  health(): ComponentHealth {
    return { status: this.#state };
  }

  async write(samples: readonly Sample[]): Promise<void> {
    if (samples.length === 0) return;
    try {
      this.#tx()(samples);
    } catch (err) {
      throw new HubError('WANJI_E_STORE', `sample write failed: ${String(err)}`, { cause: err });
    }
  }

  async query(q: SeriesQuery): Promise<SeriesPoint[]> {
    const stmts = this.#statements();
    const id = this.#seriesId(q, false);
    if (id === undefined) return [];
    const limit = Math.min(Math.max(1, q.limit ?? DEFAULT_QUERY_LIMIT), MAX_QUERY_LIMIT);
    const rows = stmts.range.all(
      id,
      q.from ?? Number.MIN_SAFE_INTEGER,
      q.to ?? Number.MAX_SAFE_INTEGER,
      limit,
    );
    return rows.reverse().map(decodeRow);
  }

  async latest(enterprise: string, machine: string): Promise<LatestValue[]> {
    return this.#statements()
      .latest.all(enterprise, machine)
      .map((r) => ({ metric: r.metric, ...decodeRow(r) }));
  }

  #statements(): Statements {
    if (this.#stmts === undefined) throw new HubError('WANJI_E_STORE', 'sample store is not started');
    return this.#stmts;
  }

  #tx(): (samples: readonly Sample[]) => void {
    if (this.#writeTx === undefined) throw new HubError('WANJI_E_STORE', 'sample store is not started');
    return this.#writeTx;
  }

  #seriesId(s: { enterprise: string; machine: string; metric: string }, create: boolean): number | undefined {
    const key = `${s.enterprise}\u0000${s.machine}\u0000${s.metric}`;
    const cached = this.#seriesIds.get(key);
    if (cached !== undefined) return cached;
    const stmts = this.#statements();
    if (create) stmts.insertSeries.run(s.enterprise, s.machine, s.metric);
    const row = stmts.findSeries.get(s.enterprise, s.machine, s.metric);
    if (row === undefined) return undefined;
    this.#seriesIds.set(key, row.id);
    return row.id;
  }
}

export function createSqliteStore(config: StoreConfig, ctx: StoreContext): SqliteSampleStore {
  const path = typeof config.path === 'string' ? config.path : join(ctx.dataDir, 'samples.db');
  const synchronous = config.synchronous === 'normal' ? 'normal' : 'full';
  return new SqliteSampleStore({ path, synchronous, logger: ctx.logger });
}
