/** The daily statistics snapshots' table (`stat_snapshots`); hub/stats/snapshot.ts takes and reads them. */
import type Database from 'better-sqlite3';

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

/** Backend-neutral: no driver types in the signatures. */
export interface SnapshotRepository {
  /** Writes the rows in one transaction; a row of the same (level, code, day) is replaced. */
  put(rows: readonly StoredSnapshot[]): void;
  /** Oldest day first, then by code. */
  list(f: SnapshotFilter): StoredSnapshot[];
}

export class SqliteSnapshotRepository implements SnapshotRepository {
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  put(rows: readonly StoredSnapshot[]): void {
    const put = this.#db.prepare(
      `INSERT INTO stat_snapshots (day, level, code, taken_at, figures) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (level, code, day) DO UPDATE SET taken_at = excluded.taken_at, figures = excluded.figures`,
    );
    this.#db.transaction(() => {
      for (const r of rows) put.run(r.day, r.level, r.code, r.takenAt, r.figures);
    })();
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
}
