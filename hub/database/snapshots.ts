/** The daily statistics snapshots' table (`stat_snapshots`); hub/stats/snapshot.ts takes and reads them. */
import type { SqlConnection } from './sql.js';

export interface StoredSnapshot {
  readonly day: string;
  readonly level: string;
  readonly code: string;
  /** ms since the epoch */
  readonly takenAt: number;
  /** The figures, JSON text. */
  readonly figures: string;
}

export interface SnapshotFilter {
  readonly level: string;
  readonly code?: string;
  /** Local day `YYYY-MM-DD`, inclusive. */
  readonly from?: string;
  readonly to?: string;
}

/** Which snapshots a trend reads (SnapshotRepository.listFigures): a filter read in the store. */
export interface SnapshotFigureFilter extends SnapshotFilter {
  /** Only these codes. */
  readonly codes?: readonly string[];
  /** Only rows whose figures' `region` is one of these (enterprise rows carry their region). */
  readonly regions?: readonly string[];
  /** Only these figures (names of letters, digits and `_`); absent: every figure. */
  readonly figures?: readonly string[];
}

/** A snapshot with each figure's JSON text by name, as stored (a figure the row lacks is absent). */
export interface StoredSnapshotFigures {
  readonly day: string;
  readonly level: string;
  readonly code: string;
  /** ms since the epoch */
  readonly takenAt: number;
  /** With `figures` asked: each one the row has, its JSON text as stored, in the order asked. */
  readonly parts?: ReadonlyMap<string, string>;
  /** Without `figures` asked: the whole figures' JSON text. */
  readonly figures?: string;
}

/** Backend-neutral: no driver types in the signatures. */
export interface SnapshotRepository {
  /** Writes the rows in one transaction; a row of the same (level, code, day) is replaced. */
  put(rows: readonly StoredSnapshot[]): void;
  /** Oldest day first, then by code. */
  list(f: SnapshotFilter): StoredSnapshot[];
  /**
   * Oldest day first, then by code; codes, regions and figures picked out by the store, so a
   * trend of 1,000 enterprises reads only the figures it shows (hub/stats/snapshot.ts trend).
   */
  listFigures(f: SnapshotFigureFilter): StoredSnapshotFigures[];
}

const FIGURE_NAME = /^[A-Za-z0-9_]+$/;

export class SqliteSnapshotRepository implements SnapshotRepository {
  readonly #db: SqlConnection;

  constructor(db: SqlConnection) {
    this.#db = db;
  }

  put(rows: readonly StoredSnapshot[]): void {
    const put = this.#db.prepare(
      `INSERT INTO stat_snapshots (day, level, code, taken_at, figures) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (level, code, day) DO UPDATE SET taken_at = excluded.taken_at, figures = excluded.figures`,
    );
    this.#db.transaction(() => {
      for (const r of rows) put.run(r.day, r.level, r.code, r.takenAt, r.figures);
    });
  }

  list(f: SnapshotFilter): StoredSnapshot[] {
    const where = ['level = @level'];
    if (f.code !== undefined) where.push('code = @code');
    if (f.from !== undefined) where.push('day >= @from');
    if (f.to !== undefined) where.push('day <= @to');
    return this.#db
      .prepare<
        [Record<string, string>],
        { day: string; level: string; code: string; taken_at: number; figures: string }
      >(`SELECT * FROM stat_snapshots WHERE ${where.join(' AND ')} ORDER BY day, code`)
      .all({
        level: f.level,
        ...(f.code === undefined ? {} : { code: f.code }),
        ...(f.from === undefined ? {} : { from: f.from }),
        ...(f.to === undefined ? {} : { to: f.to }),
      })
      .map((r) => ({ day: r.day, level: r.level, code: r.code, takenAt: r.taken_at, figures: r.figures }));
  }

  listFigures(f: SnapshotFigureFilter): StoredSnapshotFigures[] {
    const bad = f.figures?.find((n) => !FIGURE_NAME.test(n));
    if (bad !== undefined) {
      throw new RangeError(`figure name "${bad}": use letters, digits and "_" only (e.g. networked)`);
    }
    const pg = this.#db.dialect === 'postgres';
    const where = ['level = @level'];
    const params: Record<string, string> = { level: f.level };
    if (f.code !== undefined) {
      where.push('code = @code');
      params.code = f.code;
    }
    if (f.from !== undefined) {
      where.push('day >= @from');
      params.from = f.from;
    }
    if (f.to !== undefined) {
      where.push('day <= @to');
      params.to = f.to;
    }
    if (f.codes !== undefined) {
      where.push(
        pg
          ? 'code IN (SELECT json_array_elements_text(@codes::json))'
          : 'code IN (SELECT value FROM json_each(@codes))',
      );
      params.codes = JSON.stringify(f.codes);
    }
    if (f.regions !== undefined) {
      where.push(
        pg
          ? "figures::json ->> 'region' IN (SELECT json_array_elements_text(@regions::json))"
          : "figures ->> '$.region' IN (SELECT value FROM json_each(@regions))",
      );
      params.regions = JSON.stringify(f.regions);
    }
    // `->` gives a figure's JSON text as stored (numbers keep their digits), NULL when absent
    // (PostgreSQL's json, unlike jsonb, keeps the text too).
    const from = `FROM stat_snapshots WHERE ${where.join(' AND ')} ORDER BY day, code`;
    if (f.figures === undefined) {
      return this.#db
        .prepare<[Record<string, string>], SnapshotDbRow & { figures: string }>(
          `SELECT day, level, code, taken_at, figures ${from}`,
        )
        .all(params)
        .map((r) => ({ ...headOf(r), figures: r.figures }));
    }
    // In the order the figures are stored (as the whole object reads), taken from one row (any:
    // sorting every row to find the first would read them all).
    const first = this.#db
      .prepare<[Record<string, string>], { figures: string }>(
        `SELECT figures FROM stat_snapshots WHERE ${where.join(' AND ')} LIMIT 1`,
      )
      .get(params);
    const stored = first === undefined ? [] : Object.keys(JSON.parse(first.figures) as object);
    const asked = new Set(f.figures);
    const names = [...stored.filter((n) => asked.has(n)), ...[...asked].filter((n) => !stored.includes(n))];
    const columns = names
      .map((n, i) => (pg ? `, (figures::json -> '${n}')::text AS f${i}` : `, figures -> '$."${n}"' AS f${i}`))
      .join('');
    const rows = this.#db
      .prepare<[Record<string, string>], SnapshotDbRow & Record<string, unknown>>(
        `SELECT day, level, code, taken_at${columns} ${from}`,
      )
      .all(params);
    return rows.map((r) => {
      const parts = new Map<string, string>();
      for (let i = 0; i < names.length; i++) {
        const v = r[`f${i}`];
        if (typeof v === 'string') parts.set(names[i]!, v);
      }
      return { ...headOf(r), parts };
    });
  }
}

interface SnapshotDbRow {
  day: string;
  level: string;
  code: string;
  taken_at: number;
}

const headOf = (r: SnapshotDbRow) => ({ day: r.day, level: r.level, code: r.code, takenAt: r.taken_at });
