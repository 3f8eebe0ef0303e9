/**
 * Industrial internet platforms (工业互联网平台) as declared (`platforms`): name, level
 * (regional 区域级, industry 行业级, enterprise 企业级), the enterprise operating it, the year
 * it was built, and the child hub (its hub id) that is the platform, when one reports to this
 * hub. Read back with the operator's current region.
 */
import type { SqlConnection, SqlStatement } from '../sql.js';

export interface PlatformRow {
  id: number;
  name: string;
  /** 'regional' | 'industry' | 'enterprise' */
  level: string;
  operator_code: string;
  year: number;
  hub_id: string | null;
  declared_by: string;
  /** ms since the epoch */
  declared_at: number;
}

/** A row as read: with the operator's region ('' when the enterprise is gone). */
export interface PlatformListRow extends PlatformRow {
  region_code: string;
}

/** Backend-neutral: no driver types in the signatures. */
export interface PlatformRepository {
  /** Every platform, by year and name. */
  list(): PlatformListRow[];
  byId(id: number): PlatformListRow | undefined;
  byName(name: string): PlatformListRow | undefined;
  /** Inserts, or replaces the rest of the platform of the same name; its id. */
  upsert(row: Omit<PlatformRow, 'id'>): number;
  delete(id: number): boolean;
}

const SELECT = `SELECT p.id, p.name, p.level, p.operator_code, p.year, p.hub_id, p.declared_by,
  p.declared_at, coalesce(e.region_code, '') AS region_code
  FROM platforms p LEFT JOIN enterprises e ON e.code = p.operator_code`;

export class SqlitePlatformRepository implements PlatformRepository {
  readonly #list: SqlStatement<[], PlatformListRow>;
  readonly #byId: SqlStatement<[number], PlatformListRow>;
  readonly #byName: SqlStatement<[string], PlatformListRow>;
  readonly #upsert: SqlStatement<[Omit<PlatformRow, 'id'>]>;
  readonly #delete: SqlStatement<[number]>;

  constructor(db: SqlConnection) {
    this.#list = db.prepare(`${SELECT} ORDER BY p.year, p.name`);
    this.#byId = db.prepare(`${SELECT} WHERE p.id = ?`);
    this.#byName = db.prepare(`${SELECT} WHERE p.name = ?`);
    this.#upsert = db.prepare(
      `INSERT INTO platforms (name, level, operator_code, year, hub_id, declared_by, declared_at)
       VALUES (@name, @level, @operator_code, @year, @hub_id, @declared_by, @declared_at)
       ON CONFLICT (name) DO UPDATE SET level = excluded.level, operator_code = excluded.operator_code,
         year = excluded.year, hub_id = excluded.hub_id, declared_by = excluded.declared_by,
         declared_at = excluded.declared_at`,
    );
    this.#delete = db.prepare('DELETE FROM platforms WHERE id = ?');
  }

  list(): PlatformListRow[] {
    return this.#list.all();
  }

  byId(id: number): PlatformListRow | undefined {
    return this.#byId.get(id);
  }

  byName(name: string): PlatformListRow | undefined {
    return this.#byName.get(name);
  }

  upsert(row: Omit<PlatformRow, 'id'>): number {
    this.#upsert.run(row);
    return this.byName(row.name)!.id;
  }

  delete(id: number): boolean {
    return this.#delete.run(id).changes > 0;
  }
}
