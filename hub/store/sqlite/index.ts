/**
 * The embedded sample store: SQLite (better-sqlite3) in WAL mode, laid out so that a write
 * appends and a read seeks (docs/hub.md, "Store").
 *
 * - `series` names each (enterprise, machine, metric) once.
 * - `landing`: one row per `write()`, every point of the batch packed in one blob (points.ts),
 *   appended at the end of the table; committed with `synchronous = FULL` before `write()`
 *   resolves, so the batch survives a power cut.
 * - The head (head.ts): the same points in memory by series, so that a read needs no scan.
 * - `chunks`: a compaction (once the head holds HEAD_MAX_BYTES or is COMPACT_EVERY_MS old) writes
 *   each series' head points as one row of a new part, in series order, then deletes the landing
 *   rows it covers. Parts only ever append; a series' history is one seek per part its range
 *   overlaps (`parts` gives each part's time range).
 *
 * A row per sample keyed by (series, time), as this store had before, put each series' newest
 * point on its own B-tree page: once the file held more than a few samples a series, every sample
 * dirtied a page of its own and the cost per sample grew with the file's age (2.4 µs in the
 * first 20 s at 100,000 samples/s, 14 µs after 200 s). Here a batch is one row, whatever the file.
 *
 * A sample written twice (a journal replay) is kept twice and read once: for the same series and
 * time the head wins over every part, a newer part over an older one and, within one, the later
 * point. Rows of the table before this layout (`samples`, kept as it was) are read below all.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { type ComponentHealth, HubError } from '../../errors.js';
import { inner } from '../../util/maps.js';
import { openSqlite } from '../../util/sqlite.js';
import {
  DEFAULT_QUERY_LIMIT,
  type LatestValue,
  MAX_QUERY_LIMIT,
  type Sample,
  type SampleStore,
  type SeriesPoint,
  type SeriesQuery,
  type StoreConfig,
  type StoreContext,
} from '../types.js';
import { type Gathered, Head } from './head.js';
import { eachLandingPoint, writePoint } from './points.js';
import { type Part, PartList, PointSet } from './reads.js';
import { decodeLegacyRow, type LegacyRow, legacyValueColumn, MIGRATIONS } from './schema.js';

export interface SqliteStoreOptions {
  /** Database file; default `<dataDir>/samples.db`. */
  readonly path: string;
  /**
   * `full` (default) fsyncs every committed batch, so `write()` resolving means the batch
   * survives a power cut; the gateway's journal relies on that. `normal` is faster.
   */
  readonly synchronous: 'full' | 'normal';
  readonly logger: Logger;
  /** Reads a file another process writes (tests, tools): no writes, no compaction. */
  readonly readonly?: boolean;
  /** Compaction thresholds; the defaults suit a hub (tests make them small). */
  readonly compactEveryMs?: number;
  readonly headMaxBytes?: number;
}

/** A head older than this is compacted (at the next write or check). */
export const COMPACT_EVERY_MS = 60_000;
/**
 * A head holding this many bytes is compacted: about 3 million numbers, 13 s at 30,000 machines
 * of 10 metrics a second. Each series costs a compaction a row whatever it holds, so a bigger
 * head is less CPU a point (at 30,000 machines 32 MiB gave 6 points a chunk) and more memory: the
 * head and the one being compacted, with 8 bytes of index a point, and the compaction's copy of
 * its points by series, about 250 MB at most.
 */
export const HEAD_MAX_BYTES = 64 * 1024 * 1024;
/** Series written per compaction transaction; the event loop runs between them. */
const SERIES_PER_SLICE = 4_000;
/** Points a compaction gathers by series at a time (a few ms); the event loop runs between. */
const POINTS_PER_GATHER = 200_000;
/** Chunk rows per INSERT statement (each call into SQLite has a fixed cost). */
const CHUNKS_PER_INSERT = 32;

/** Precedence of a point's source when two hold the same series and time (higher wins). */
const RANK_HEAD = Number.MAX_SAFE_INTEGER;
const RANK_COMPACTING = Number.MAX_SAFE_INTEGER - 1;
const RANK_LEGACY = -1;

/** A write's landing row: its seq, and the times its points span. */
interface Landed {
  readonly seq: number;
  readonly minTs: number;
  readonly maxTs: number;
}

/** Series ids by enterprise, machine and metric: three lookups, no key string built per sample. */
type SeriesCache = Map<string, Map<string, Map<string, number>>>;

interface Statements {
  insertSeries: Database.Statement<[string, string, string]>;
  findSeries: Database.Statement<[string, string, string], { id: number }>;
  machineSeries: Database.Statement<
    [string, string],
    { id: number; metric: string; last_part: number | null }
  >;
  insertLanding: Database.Statement<[Buffer]>;
  chunk: Database.Statement<[number, number], Buffer>;
  insertPart: Database.Statement<[number, number]>;
  insertChunk: Database.Statement<[(number | Buffer)[]]>;
  insertChunks: Database.Statement<[(number | Buffer)[]]>;
  markLast: Database.Statement<[number, number, number, number]>;
  deleteLanding: Database.Statement<[number]>;
  legacyRange: Database.Statement<[number, number, number, number], LegacyRow> | undefined;
}

export class SqliteSampleStore implements SampleStore {
  readonly type = 'sqlite';
  readonly #opts: SqliteStoreOptions;
  readonly #log: Logger;
  readonly #compactEveryMs: number;
  readonly #headMaxBytes: number;
  #db: Database.Database | undefined;
  #state: ComponentHealth['status'] = 'starting';
  #detail: string | undefined;
  readonly #seriesIds: SeriesCache = new Map();
  #stmts: Statements | undefined;
  #writeTx: ((samples: readonly Sample[]) => Landed) | undefined;
  /** One write's points: each one's series, and where it ends in the head's log. */
  #pointIds = new Uint32Array(1024);
  #pointEnds = new Uint32Array(1024);
  #head = new Head(Date.now());
  /** The head being compacted: read until its part is whole. */
  #compacting: Head | undefined;
  #compaction: Promise<void> | undefined;
  /** The newest landing row written (its seq). */
  #landingSeq = 0;
  readonly #parts = new PartList();
  #legacy = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: SqliteStoreOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'store', type: 'sqlite' });
    this.#compactEveryMs = opts.compactEveryMs ?? COMPACT_EVERY_MS;
    this.#headMaxBytes = opts.headMaxBytes ?? HEAD_MAX_BYTES;
  }

  async start(): Promise<void> {
    if (this.#db !== undefined) return;
    const readonly = this.#opts.readonly === true;
    let db: Database.Database;
    try {
      db = readonly
        ? new Database(this.#opts.path, { readonly: true, fileMustExist: true })
        : openSqlite(this.#opts.path, MIGRATIONS, this.#opts.synchronous);
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version !== MIGRATIONS.length) {
        db.close();
        throw new Error(`schema version ${version}, this hub reads ${MIGRATIONS.length}`);
      }
    } catch (err) {
      throw new HubError('WANJI_E_STORE', `cannot open sample store ${this.#opts.path}: ${String(err)}`, {
        cause: err,
      });
    }
    this.#legacy = db.prepare('SELECT 1 FROM samples LIMIT 1').get() !== undefined;
    // Prepared read-only too (SQLite refuses them when run there; write() never gets that far).
    const write = <P extends unknown[]>(sql: string) => db.prepare<P>(sql);
    this.#stmts = {
      insertSeries: db.prepare('INSERT OR IGNORE INTO series (enterprise, machine, metric) VALUES (?, ?, ?)'),
      findSeries: db.prepare('SELECT id FROM series WHERE enterprise = ? AND machine = ? AND metric = ?'),
      machineSeries: db.prepare(
        'SELECT id, metric, last_part FROM series WHERE enterprise = ? AND machine = ? ORDER BY metric',
      ),
      insertLanding: write<[Buffer]>('INSERT INTO landing (points) VALUES (?)'),
      chunk: db
        .prepare<[number, number], Buffer>('SELECT points FROM chunks WHERE part = ? AND series_id = ?')
        .pluck(),
      insertPart: write<[number, number]>('INSERT INTO parts (min_ts, max_ts) VALUES (?, ?)'),
      insertChunk: write<[(number | Buffer)[]]>(chunkInsertSql(1)),
      insertChunks: write<[(number | Buffer)[]]>(chunkInsertSql(CHUNKS_PER_INSERT)),
      // The part holding the series' newest point, for latest(): a later part wins a tie.
      markLast: write<[number, number, number, number]>(
        'UPDATE series SET last_part = ?, last_ts = ? WHERE id = ? AND (last_ts IS NULL OR last_ts <= ?)',
      ),
      deleteLanding: write<[number]>('DELETE FROM landing WHERE seq <= ?'),
      legacyRange: this.#legacy
        ? db.prepare(
            `SELECT ts, ${legacyValueColumn()} AS value, vtype, quality FROM samples
             WHERE series_id = ? AND ts >= ? AND ts <= ? ORDER BY ts DESC LIMIT ?`,
          )
        : undefined,
    };
    this.#parts.clear();
    for (const p of db
      .prepare('SELECT id, min_ts AS minTs, max_ts AS maxTs FROM parts ORDER BY id')
      .all() as Part[]) {
      this.#parts.push(p);
    }
    // The head is what the landing rows hold: points written and not yet in a part.
    this.#head = new Head(Date.now());
    for (const row of db.prepare('SELECT seq, points FROM landing ORDER BY seq').iterate() as Iterable<{
      seq: number;
      points: Buffer;
    }>) {
      const ends: number[] = [];
      let minTs = Number.POSITIVE_INFINITY;
      let maxTs = Number.NEGATIVE_INFINITY;
      eachLandingPoint(row.points, (_id, _start, end, ts) => {
        ends.push(end);
        if (ts < minTs) minTs = ts;
        if (ts > maxTs) maxTs = ts;
      });
      // A truncated tail (never written so by this store) is left out, not misread.
      const whole = row.points.subarray(0, ends.at(-1) ?? 0);
      this.#head.appendLanding(whole, Uint32Array.from(ends), ends.length, minTs, maxTs);
      this.#landingSeq = row.seq;
    }
    if (!readonly) {
      this.#writeTx = db.transaction((samples: readonly Sample[]) => this.#land(samples));
      this.#timer = setInterval(() => this.#compactIfDue(), Math.min(this.#compactEveryMs, 5_000));
      this.#timer.unref();
    }
    this.#db = db;
    this.#state = 'up';
    this.#detail = undefined;
    this.#log.info(
      { path: this.#opts.path, parts: this.#parts.size, headBytes: this.#head.bytes, legacy: this.#legacy },
      'sample store open',
    );
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#db === undefined) {
      this.#state = 'closed';
      return;
    }
    const db = this.#db;
    this.#db = undefined;
    // A compaction stops at its next slice; what it did not finish is still in the landing rows.
    await this.#compaction;
    this.#stmts = undefined;
    this.#writeTx = undefined;
    this.#seriesIds.clear();
    this.#head = new Head(Date.now());
    this.#compacting = undefined;
    this.#parts.clear();
    db.close();
    this.#state = 'closed';
  }

  health(): ComponentHealth {
    return this.#detail === undefined
      ? { status: this.#state }
      : { status: this.#state, detail: this.#detail };
  }

  async write(samples: readonly Sample[]): Promise<void> {
    if (samples.length === 0) return;
    const tx = this.#writeTx;
    if (tx === undefined) {
      throw new HubError(
        'WANJI_E_STORE',
        this.#opts.readonly === true ? 'sample store is open read-only' : 'sample store is not started',
      );
    }
    let landed: Landed;
    try {
      landed = tx(samples);
    } catch (err) {
      // Series rows made in the failed transaction are gone: so must their cached ids be.
      this.#seriesIds.clear();
      throw new HubError('WANJI_E_STORE', `sample write failed: ${String(err)}`, { cause: err });
    }
    this.#landingSeq = landed.seq;
    this.#head.landed(this.#pointIds, this.#pointEnds, samples.length, landed.minTs, landed.maxTs);
    this.#compactIfDue();
  }

  async query(q: SeriesQuery): Promise<SeriesPoint[]> {
    const id = this.#seriesId(q);
    if (id === undefined) return [];
    const limit = Math.min(Math.max(1, q.limit ?? DEFAULT_QUERY_LIMIT), MAX_QUERY_LIMIT);
    return this.#collect(
      id,
      q.from ?? Number.NEGATIVE_INFINITY,
      q.to ?? Number.POSITIVE_INFINITY,
      limit,
    ).newest(limit);
  }

  /** Every series the file names, with its points counted once each (tests, tools). */
  async countPoints(): Promise<number> {
    const db = this.#opened();
    let n = 0;
    for (const { id } of db.prepare('SELECT id FROM series').all() as { id: number }[]) {
      n += this.#collect(
        id,
        Number.NEGATIVE_INFINITY,
        Number.POSITIVE_INFINITY,
        Number.POSITIVE_INFINITY,
      ).size;
    }
    return n;
  }

  /** The series of one metric, every machine's (tests, tools). */
  async seriesOf(metric: string): Promise<{ enterprise: string; machine: string; metric: string }[]> {
    return this.#opened()
      .prepare('SELECT enterprise, machine, metric FROM series WHERE metric = ? ORDER BY enterprise, machine')
      .all(metric) as { enterprise: string; machine: string; metric: string }[];
  }

  /** Series `id`'s points in [from, to]: at least its newest `limit`, one per time. */
  #collect(id: number, from: number, to: number, limit: number): PointSet {
    const stmts = this.#statements();
    const found = new PointSet(from, to);
    found.addBytes(RANK_HEAD, this.#head.points(id));
    if (this.#compacting !== undefined) found.addBytes(RANK_COMPACTING, this.#compacting.points(id));
    const parts = this.#parts.meeting(from, to).sort((a, b) => b.maxTs - a.maxTs || b.id - a.id);
    for (const p of parts) {
      // Every point left in the parts is older than the newest `limit` already found.
      if (found.size >= limit && p.maxTs < found.newestTime(limit)) break;
      found.addBytes(p.id, stmts.chunk.get(p.id, id));
    }
    if (stmts.legacyRange !== undefined) {
      const rows = stmts.legacyRange.all(
        id,
        clampTime(from),
        clampTime(to),
        Math.min(limit, MAX_QUERY_LIMIT),
      );
      for (const r of rows) found.add(RANK_LEGACY, decodeLegacyRow(r));
    }
    return found;
  }

  async latest(enterprise: string, machine: string): Promise<LatestValue[]> {
    const stmts = this.#statements();
    const out: LatestValue[] = [];
    for (const s of stmts.machineSeries.all(enterprise, machine)) {
      const found = new PointSet(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
      found.addBytes(RANK_HEAD, this.#head.points(s.id));
      if (this.#compacting !== undefined) found.addBytes(RANK_COMPACTING, this.#compacting.points(s.id));
      if (s.last_part !== null) found.addBytes(s.last_part, stmts.chunk.get(s.last_part, s.id));
      const legacy = stmts.legacyRange?.get(s.id, clampTime(-Infinity), clampTime(Infinity), 1);
      if (legacy !== undefined) found.add(RANK_LEGACY, decodeLegacyRow(legacy));
      const newest = found.newest(1)[0];
      if (newest !== undefined) out.push({ metric: s.metric, ...newest });
    }
    return out;
  }

  /** Compacts the head now (tests, tools); resolves when its part is whole. */
  async compact(): Promise<void> {
    if (this.#compaction !== undefined) await this.#compaction;
    if (this.#db === undefined || this.#writeTx === undefined || this.#head.empty) return;
    this.#compaction = this.#compactHead().finally(() => {
      this.#compaction = undefined;
    });
    await this.#compaction;
  }

  #opened(): Database.Database {
    if (this.#db === undefined) throw new HubError('WANJI_E_STORE', 'sample store is not started');
    return this.#db;
  }

  #statements(): Statements {
    if (this.#stmts === undefined) throw new HubError('WANJI_E_STORE', 'sample store is not started');
    return this.#stmts;
  }

  /**
   * Packs the batch into one landing row (inside the write's transaction), in place at the end
   * of the head's log, and notes each sample's series and where its point ends there, for the
   * head to take once the row is written.
   */
  #land(samples: readonly Sample[]): Landed {
    const stmts = this.#statements();
    const w = this.#head.writer();
    const from = w.len;
    if (this.#pointEnds.length < samples.length) {
      this.#pointIds = new Uint32Array(samples.length * 2);
      this.#pointEnds = new Uint32Array(samples.length * 2);
    }
    let minTs = Number.POSITIVE_INFINITY;
    let maxTs = Number.NEGATIVE_INFINITY;
    let enterprise: string | undefined;
    let machine: string | undefined;
    let series: Map<string, number> | undefined;
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!;
      if (series === undefined || s.machine !== machine || s.enterprise !== enterprise) {
        enterprise = s.enterprise;
        machine = s.machine;
        series = this.#machineSeries(enterprise, machine);
      }
      const id = series.get(s.metric) ?? this.#newSeries(s, series);
      this.#pointIds[i] = id;
      w.ensure(4);
      w.buf.writeUInt32LE(id, w.len);
      w.len += 4;
      writePoint(w, s.ts, s.value, s.quality);
      this.#pointEnds[i] = w.len;
      if (s.ts < minTs) minTs = s.ts;
      if (s.ts > maxTs) maxTs = s.ts;
    }
    const landing = w.buf.subarray(from, w.len);
    return { seq: Number(stmts.insertLanding.run(landing).lastInsertRowid), minTs, maxTs };
  }

  #compactIfDue(): void {
    if (this.#compaction !== undefined || this.#db === undefined || this.#head.empty) return;
    if (this.#head.bytes < this.#headMaxBytes && Date.now() - this.#head.since < this.#compactEveryMs) return;
    this.#compaction = this.#compactHead().finally(() => {
      this.#compaction = undefined;
    });
  }

  /**
   * Writes the head as a new part, a slice of series per transaction with the event loop free
   * between them, then deletes the landing rows it came from. New writes go to a new head
   * meanwhile; reads see the old one until its part is whole. On a failure the old head is taken
   * back (its landing rows are still there) and the next compaction tries again.
   */
  async #compactHead(): Promise<void> {
    const db = this.#db!;
    const stmts = this.#statements();
    const head = this.#head;
    const upTo = this.#landingSeq;
    this.#compacting = head;
    this.#head = new Head(Date.now(), head);
    const started = performance.now();
    try {
      // Each series' points together, the log read front to back a slice at a time; the part's
      // row only once there is something to write to it.
      const gathered = head.startGather();
      for (let from = 0; from < head.pointCount; from += POINTS_PER_GATHER) {
        head.gatherStep(gathered, from, Math.min(head.pointCount, from + POINTS_PER_GATHER));
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.#db !== db) return;
      }
      const part = Number(stmts.insertPart.run(head.minTs, head.maxTs).lastInsertRowid);
      const ids = gathered.ids;
      for (let first = 0; first < ids.length; first += SERIES_PER_SLICE) {
        if (this.#db !== db) return;
        const slice = ids.slice(first, first + SERIES_PER_SLICE);
        // The chunks need no fsync of their own: until the landing rows are deleted (a FULL
        // commit, which makes the WAL before it durable too) the points are there. Writes
        // between slices commit FULL again.
        if (this.#opts.synchronous === 'full') db.pragma('synchronous = NORMAL');
        try {
          db.transaction(() => this.#writeChunks(part, head, gathered, slice))();
        } finally {
          if (this.#opts.synchronous === 'full') db.pragma('synchronous = FULL');
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (this.#db !== db) return;
      stmts.deleteLanding.run(upTo);
      this.#parts.push({ id: part, minTs: head.minTs, maxTs: head.maxTs });
      this.#compacting = undefined;
      if (this.#state === 'degraded') {
        this.#state = 'up';
        this.#detail = undefined;
      }
      this.#log.debug(
        { part, series: ids.length, bytes: head.bytes, ms: Math.round(performance.now() - started) },
        'head compacted',
      );
    } catch (err) {
      if (this.#db !== db) return;
      this.#head.absorb(head);
      this.#compacting = undefined;
      this.#state = 'degraded';
      this.#detail = `compaction failed, retrying: ${String(err)}`;
      this.#log.error({ err }, 'sample store compaction failed; the points stay in the landing rows');
    }
  }

  /** One slice of a compaction: the chunk rows of `ids`, and where each series' newest point is. */
  #writeChunks(part: number, head: Head, gathered: Gathered, ids: readonly number[]): void {
    const stmts = this.#statements();
    const params: (number | Buffer)[] = [];
    for (const id of ids) {
      const c = head.gathered(gathered, id);
      params.push(part, id, c.points);
      if (params.length === 3 * CHUNKS_PER_INSERT) {
        stmts.insertChunks.run(params);
        params.length = 0;
      }
      stmts.markLast.run(part, c.maxTs, id, c.maxTs);
    }
    for (let i = 0; i < params.length; i += 3) stmts.insertChunk.run(params.slice(i, i + 3));
  }

  #machineSeries(enterprise: string, machine: string): Map<string, number> {
    return inner(inner(this.#seriesIds, enterprise), machine);
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

function chunkInsertSql(rows: number): string {
  return `INSERT INTO chunks (part, series_id, points) VALUES ${Array.from({ length: rows }, () => '(?, ?, ?)').join(', ')}`;
}

/** SQLite's integers stop at ±2^63; an open end of a range is the widest it can compare. */
function clampTime(t: number): number {
  return Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, t));
}

/** A read-only store on a samples.db another process writes (tests, tools). */
export async function openSampleFile(path: string, logger: Logger): Promise<SqliteSampleStore> {
  const store = new SqliteSampleStore({ path, synchronous: 'normal', logger, readonly: true });
  await store.start();
  return store;
}

export function createSqliteStore(config: StoreConfig, ctx: StoreContext): SqliteSampleStore {
  const path = typeof config.path === 'string' ? config.path : join(ctx.dataDir, 'samples.db');
  const synchronous = config.synchronous === 'normal' ? 'normal' : 'full';
  return new SqliteSampleStore({ path, synchronous, logger: ctx.logger });
}
