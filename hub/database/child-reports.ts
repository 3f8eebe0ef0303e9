/**
 * The child hubs' latest reports (`child_reports`, one row per child hub id). Rows are
 * returned as stored: hub/stats/children.ts checks each as it reads it (a hand-edited or
 * corrupt row is left out of the statistics, never trusted).
 */
import type { SqlConnection } from './sql.js';

export interface ChildReportRow {
  hub_id: string;
  /** ms since the epoch */
  received_at: number;
  generated_at: number;
  /** The report, JSON text. */
  report: string;
}

/** Backend-neutral: no driver types in the signatures. */
export interface ChildReportRepository {
  get(hubId: string): ChildReportRow | undefined;
  /** Ordered by hub id. */
  list(): ChildReportRow[];
  /** Inserts or replaces the child's row. */
  put(row: ChildReportRow): void;
  delete(hubId: string): void;
}

export class SqliteChildReportRepository implements ChildReportRepository {
  readonly #db: SqlConnection;

  constructor(db: SqlConnection) {
    this.#db = db;
  }

  get(hubId: string): ChildReportRow | undefined {
    return this.#db
      .prepare<[string], ChildReportRow>('SELECT * FROM child_reports WHERE hub_id = ?')
      .get(hubId);
  }

  list(): ChildReportRow[] {
    return this.#db.prepare<[], ChildReportRow>('SELECT * FROM child_reports ORDER BY hub_id').all();
  }

  put(r: ChildReportRow): void {
    this.#db
      .prepare(
        `INSERT INTO child_reports (hub_id, received_at, generated_at, report) VALUES (?, ?, ?, ?)
         ON CONFLICT (hub_id) DO UPDATE SET received_at = excluded.received_at,
           generated_at = excluded.generated_at, report = excluded.report`,
      )
      .run(r.hub_id, r.received_at, r.generated_at, r.report);
  }

  delete(hubId: string): void {
    this.#db.prepare('DELETE FROM child_reports WHERE hub_id = ?').run(hubId);
  }
}
