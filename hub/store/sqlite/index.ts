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

/**
 * Rows per multi-row upsert. Each statement call has a fixed cost (binding from JavaScript,
 * stepping, resetting) that one row a call paid per sample; 64 rows take 320 of SQLite's
 * 32,766 parameters.
 */
const ROWS_PER_UPSERT = 64;

/**
 * An upsert of `rows` rows. `plain`: a finite number of good quality, the common sample, binds
 * only series, time and value (vtype and quality written in the statement); else all five.
 */
function upsertSql(rows: number, plain: boolean): string {
  const row = plain ? `(?, ?, ?, ${VT_NUMBER}, ${QUALITY_RANK.good})` : '(?, ?, ?, ?, ?)';
  return `INSERT INTO samples (series_id, ts, value, vtype, quality) VALUES ${Array.from({ length: rows }, () => row).join(', ')}
    ON CONFLICT (series_id, ts) DO UPDATE
    SET value = excluded.value, vtype = excluded.vtype, quality = excluded.quality`;
}

/** Series ids by enterprise, machine and metric: three lookups, no key string built per sample. */
type SeriesCache = Map<string, Map<string, Map<string, number>>>;

interface Statements {
  insertSeries: Database.Statement<[string, string, string]>;
  findSeries: Database.Statement<[string, string, string], { id: number }>;
  /** Parameters in one array (better-sqlite3 binds an array's elements in order). */
  upsert: Database.Statement<[StoredValue[]]>;
  upsertMany: Database.Statement<[StoredValue[]]>;
  upsertPlain: Database.Statement<[StoredValue[]]>;
  upsertPlainMany: Database.Statement<[StoredValue[]]>;
  range: Database.Statement<[number, number, number, number], SampleRow>;
  latest: Database.Statement<[string, string], LatestRow>;
}

export class SqliteSampleStore implements SampleStore {
  readonly type = 'sqlite';
  readonly #opts: SqliteStoreOptions;
  readonly #log: Logger;
  #db: Database.Database | undefined;
  #state: ComponentHealth['status'] = 'starting';
  readonly #seriesIds: SeriesCache = new Map();
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
      // Each sample row would look its series up again to check the foreign key (a sixth of the
      // write's CPU). Only #upsert writes rows, with ids it just read from `series`, and series
      // are never deleted: the key holds by construction.
      db.pragma('foreign_keys = OFF');
    } catch (err) {
      throw new HubError('WANJI_E_STORE', `cannot open sample store ${this.#opts.path}: ${String(err)}`, {
        cause: err,
      });
    }
    this.#stmts = {
      insertSeries: db.prepare('INSERT OR IGNORE INTO series (enterprise, machine, metric) VALUES (?, ?, ?)'),
      findSeries: db.prepare('SELECT id FROM series WHERE enterprise = ? AND machine = ? AND metric = ?'),
      upsert: db.prepare<[StoredValue[]]>(upsertSql(1, false)),
      upsertMany: db.prepare<[StoredValue[]]>(upsertSql(ROWS_PER_UPSERT, false)),
      upsertPlain: db.prepare<[StoredValue[]]>(upsertSql(1, true)),
      upsertPlainMany: db.prepare<[StoredValue[]]>(upsertSql(ROWS_PER_UPSERT, true)),
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
    this.#writeTx = db.transaction((samples: readonly Sample[]) => this.#upsert(samples));
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
    const id = this.#seriesId(q);
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

  /**
   * Upserts in statements of ROWS_PER_UPSERT rows, the rest one by one, in the samples' order (a
   * replayed sample may repeat one of the same batch). A message's samples come together, so the
   * machine's series are looked up once per run of the same machine.
   */
  #upsert(samples: readonly Sample[]): void {
    const stmts = this.#statements();
    const plainRows = new PendingRows(3, stmts.upsertPlainMany, stmts.upsertPlain);
    const otherRows = new PendingRows(5, stmts.upsertMany, stmts.upsert);
    let pending = plainRows;
    let enterprise: string | undefined;
    let machine: string | undefined;
    let series: Map<string, number> | undefined;
    for (const s of samples) {
      if (series === undefined || s.machine !== machine || s.enterprise !== enterprise) {
        enterprise = s.enterprise;
        machine = s.machine;
        series = this.#machineSeries(enterprise, machine);
      }
      const id = series.get(s.metric) ?? this.#newSeries(s, series);
      const v = s.value;
      const plain =
        typeof v === 'number' && Number.isFinite(v) && (s.quality === undefined || s.quality === 'good');
      const rows = plain ? plainRows : otherRows;
      if (rows !== pending) {
        pending.flush();
        pending = rows;
      }
      const p = rows.params;
      const o = rows.offset;
      p[o] = id;
      p[o + 1] = s.ts;
      if (plain) p[o + 2] = v;
      else {
        const [value, vtype] = encodeValue(v);
        p[o + 2] = value;
        p[o + 3] = vtype;
        p[o + 4] = QUALITY_RANK[s.quality ?? 'good'];
      }
      rows.added();
    }
    pending.flush();
  }

  #machineSeries(enterprise: string, machine: string): Map<string, number> {
    let machines = this.#seriesIds.get(enterprise);
    if (machines === undefined) {
      machines = new Map();
      this.#seriesIds.set(enterprise, machines);
    }
    let series = machines.get(machine);
    if (series === undefined) {
      series = new Map();
      machines.set(machine, series);
    }
    return series;
  }

  #newSeries(
    s: { enterprise: string; machine: string; metric: string },
    series: Map<string, number>,
  ): number {
    const stmts = this.#statements();
    stmts.insertSeries.run(s.enterprise, s.machine, s.metric);
    const row = stmts.findSeries.get(s.enterprise, s.machine, s.metric);
    if (row === undefined) throw new Error(`series ${s.enterprise}/${s.machine}/${s.metric} was not created`);
    series.set(s.metric, row.id);
    return row.id;
  }

  /** A series' id for a query: cached, else read (an unknown name caches nothing). */
  #seriesId(q: { enterprise: string; machine: string; metric: string }): number | undefined {
    const cached = this.#seriesIds.get(q.enterprise)?.get(q.machine)?.get(q.metric);
    if (cached !== undefined) return cached;
    const row = this.#statements().findSeries.get(q.enterprise, q.machine, q.metric);
    if (row !== undefined) this.#machineSeries(q.enterprise, q.machine).set(q.metric, row.id);
    return row?.id;
  }
}

/** Rows of one kind waiting for a multi-row statement. */
class PendingRows {
  readonly params: StoredValue[];
  readonly #columns: number;
  readonly #many: Database.Statement<[StoredValue[]]>;
  readonly #one: Database.Statement<[StoredValue[]]>;
  #rows = 0;

  constructor(
    columns: number,
    many: Database.Statement<[StoredValue[]]>,
    one: Database.Statement<[StoredValue[]]>,
  ) {
    this.#columns = columns;
    this.#many = many;
    this.#one = one;
    this.params = new Array<StoredValue>(ROWS_PER_UPSERT * columns);
  }

  /** Where the next row's columns go in `params`. */
  get offset(): number {
    return this.#rows * this.#columns;
  }

  /** The row at `offset` is filled in: written once ROWS_PER_UPSERT are. */
  added(): void {
    if (++this.#rows < ROWS_PER_UPSERT) return;
    this.#many.run(this.params);
    this.#rows = 0;
  }

  /** Writes the rows left, one by one. */
  flush(): void {
    const c = this.#columns;
    for (let r = 0; r < this.#rows; r++) this.#one.run(this.params.slice(r * c, r * c + c));
    this.#rows = 0;
  }
}

export function createSqliteStore(config: StoreConfig, ctx: StoreContext): SqliteSampleStore {
  const path = typeof config.path === 'string' ? config.path : join(ctx.dataDir, 'samples.db');
  const synchronous = config.synchronous === 'normal' ? 'normal' : 'full';
  return new SqliteSampleStore({ path, synchronous, logger: ctx.logger });
}
