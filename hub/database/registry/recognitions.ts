/**
 * Digital workshops (数字化车间) and smart factories (智能工厂) as enterprises declare them
 * (`recognitions`): one row per enterprise, kind and name, with the year it was recognised
 * and whether it is a benchmark (标杆) one. Read back with the enterprise's current region.
 */
import type { SqlConnection, SqlStatement } from '../sql.js';

export interface RecognitionRow {
  id: number;
  enterprise_code: string;
  name: string;
  /** 'workshop' | 'factory' */
  kind: string;
  /** 0/1 */
  benchmark: number;
  year: number;
  declared_by: string;
  /** ms since the epoch */
  declared_at: number;
}

/** A row as read: with the enterprise's region ('' when the enterprise is gone). */
export interface RecognitionListRow extends RecognitionRow {
  region_code: string;
}

/** Backend-neutral: no driver types in the signatures. */
export interface RecognitionRepository {
  /** Every declaration, by year, enterprise, name. */
  list(): RecognitionListRow[];
  byId(id: number): RecognitionListRow | undefined;
  /** The declaration of that enterprise, kind and name, if any. */
  find(enterprise: string, kind: string, name: string): RecognitionListRow | undefined;
  /** Inserts, or replaces benchmark, year and who declared it for the same enterprise, kind and name; its id. */
  upsert(row: Omit<RecognitionRow, 'id'>): number;
  delete(id: number): boolean;
}

const SELECT = `SELECT r.id, r.enterprise_code, r.name, r.kind, r.benchmark, r.year, r.declared_by,
  r.declared_at, coalesce(e.region_code, '') AS region_code
  FROM recognitions r LEFT JOIN enterprises e ON e.code = r.enterprise_code`;

export class SqliteRecognitionRepository implements RecognitionRepository {
  readonly #list: SqlStatement<[], RecognitionListRow>;
  readonly #byId: SqlStatement<[number], RecognitionListRow>;
  readonly #find: SqlStatement<[string, string, string], RecognitionListRow>;
  readonly #upsert: SqlStatement<[Omit<RecognitionRow, 'id'>]>;
  readonly #delete: SqlStatement<[number]>;

  constructor(db: SqlConnection) {
    this.#list = db.prepare(`${SELECT} ORDER BY r.year, r.enterprise_code, r.name`);
    this.#byId = db.prepare(`${SELECT} WHERE r.id = ?`);
    this.#find = db.prepare(`${SELECT} WHERE r.enterprise_code = ? AND r.kind = ? AND r.name = ?`);
    this.#upsert = db.prepare(
      `INSERT INTO recognitions (enterprise_code, name, kind, benchmark, year, declared_by, declared_at)
       VALUES (@enterprise_code, @name, @kind, @benchmark, @year, @declared_by, @declared_at)
       ON CONFLICT (enterprise_code, kind, name) DO UPDATE SET benchmark = excluded.benchmark,
         year = excluded.year, declared_by = excluded.declared_by, declared_at = excluded.declared_at`,
    );
    this.#delete = db.prepare('DELETE FROM recognitions WHERE id = ?');
  }

  list(): RecognitionListRow[] {
    return this.#list.all();
  }

  byId(id: number): RecognitionListRow | undefined {
    return this.#byId.get(id);
  }

  find(enterprise: string, kind: string, name: string): RecognitionListRow | undefined {
    return this.#find.get(enterprise, kind, name);
  }

  upsert(row: Omit<RecognitionRow, 'id'>): number {
    this.#upsert.run(row);
    return this.find(row.enterprise_code, row.kind, row.name)!.id;
  }

  delete(id: number): boolean {
    return this.#delete.run(id).changes > 0;
  }
}
