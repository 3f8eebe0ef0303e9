/**
 * The programme's quantified targets (`programme_targets`): one row per kind, scope and year.
 * The action plan's are the rows migration 9 seeds; they are data, changed through the API
 * (hub/stats/targets.ts says what each kind counts). The city's rows have region '' and a
 * target for every year of the programme (a yearly kind's default) has year 0.
 */
import type { SqlConnection, SqlStatement } from '../sql.js';

export interface TargetRow {
  kind: string;
  /** '' = the city; else a region code. */
  region: string;
  /** The year the target is due (a total) or applies to (a yearly kind); 0 = every year. */
  year: number;
  value: number;
  updated_by: string;
  /** ms since the epoch */
  updated_at: number;
}

/** Backend-neutral: no driver types in the signatures. */
export interface TargetRepository {
  /** Every target, by kind, region, year. */
  list(): TargetRow[];
  get(kind: string, region: string, year: number): TargetRow | undefined;
  /** Inserts the target or replaces the value of the one with the same kind, region and year. */
  put(row: TargetRow): void;
  /** Whether a row was deleted. */
  delete(kind: string, region: string, year: number): boolean;
  /**
   * Changes whenever the rows may have: after each put or delete through this repository, and
   * after another connection (another process) commits to the database. Whoever keeps a
   * derivation of the targets (Registry.programmeAt) recomputes it when this differs.
   */
  version(): string;
}

export class SqliteTargetRepository implements TargetRepository {
  readonly #list: SqlStatement<[], TargetRow>;
  readonly #get: SqlStatement<[string, string, number], TargetRow>;
  readonly #put: SqlStatement<[TargetRow]>;
  readonly #delete: SqlStatement<[string, string, number]>;
  readonly #dataVersion: SqlStatement<[], Record<string, unknown>>;
  #writes = 0;

  constructor(db: SqlConnection) {
    // SQLite: data_version changes when another connection commits. PostgreSQL has no such
    // counter: a digest of the rows (a few dozen) changes when any other worker changes them.
    this.#dataVersion = db.prepare(
      db.dialect === 'sqlite'
        ? 'PRAGMA data_version'
        : `SELECT md5(coalesce(string_agg(kind || '/' || region || '/' || year || '/' || value || '/' || updated_at,
             ',' ORDER BY kind, region, year), '')) AS data_version FROM programme_targets`,
    );
    this.#list = db.prepare(
      'SELECT kind, region, year, value, updated_by, updated_at FROM programme_targets ORDER BY kind, region, year',
    );
    this.#get = db.prepare(
      'SELECT kind, region, year, value, updated_by, updated_at FROM programme_targets WHERE kind = ? AND region = ? AND year = ?',
    );
    this.#put = db.prepare(
      `INSERT INTO programme_targets (kind, region, year, value, updated_by, updated_at)
       VALUES (@kind, @region, @year, @value, @updated_by, @updated_at)
       ON CONFLICT (kind, region, year) DO UPDATE SET value = excluded.value,
         updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
    );
    this.#delete = db.prepare('DELETE FROM programme_targets WHERE kind = ? AND region = ? AND year = ?');
  }

  list(): TargetRow[] {
    return this.#list.all();
  }

  get(kind: string, region: string, year: number): TargetRow | undefined {
    return this.#get.get(kind, region, year);
  }

  put(row: TargetRow): void {
    this.#writes++;
    this.#put.run(row);
  }

  delete(kind: string, region: string, year: number): boolean {
    this.#writes++;
    return this.#delete.run(kind, region, year).changes > 0;
  }

  version(): string {
    // data_version changes when another connection commits; this connection's own writes are counted.
    return `${this.#writes}.${String(this.#dataVersion.get()?.data_version)}`;
  }
}
