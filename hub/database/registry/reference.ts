/** The reference data enterprises are declared against: regions (区县) and industries. */
import type { SqlConnection, SqlStatement } from '../sql.js';

export interface RegionRow {
  code: string;
  name_zh: string;
  name_en: string;
  /** JSON array of strings. */
  aliases: string;
}

export interface IndustryRow extends RegionRow {
  /** 0/1 */
  key_sub_industry: number;
}

/** Backend-neutral: no driver types in the signatures. */
export interface ReferenceRepository {
  /** Every region, by code. */
  regions(): RegionRow[];
  /** Every industry, by code. */
  industries(): IndustryRow[];
  regionExists(code: string): boolean;
  industryExists(code: string): boolean;
  /** Adds the region unless its code is there; never overwrites an edited one. */
  addRegionIfMissing(row: RegionRow): void;
  /** Adds the industry unless its code is there; never overwrites an edited one. */
  addIndustryIfMissing(row: IndustryRow): void;
  /** Replaces an industry's aliases (a JSON array of strings); false when there is no such industry. */
  setIndustryAliases(code: string, aliases: string): boolean;
}

export class SqliteReferenceRepository implements ReferenceRepository {
  readonly #regions: SqlStatement<[], RegionRow>;
  readonly #industries: SqlStatement<[], IndustryRow>;
  readonly #regionExists: SqlStatement<[string]>;
  readonly #industryExists: SqlStatement<[string]>;
  readonly #addRegion: SqlStatement<[RegionRow]>;
  readonly #addIndustry: SqlStatement<[IndustryRow]>;
  readonly #setIndustryAliases: SqlStatement<[string, string]>;

  constructor(db: SqlConnection) {
    this.#regions = db.prepare('SELECT * FROM regions ORDER BY code');
    this.#industries = db.prepare('SELECT * FROM industries ORDER BY code');
    this.#regionExists = db.prepare('SELECT 1 FROM regions WHERE code = ?');
    this.#industryExists = db.prepare('SELECT 1 FROM industries WHERE code = ?');
    this.#addRegion = db.prepare(
      `INSERT OR IGNORE INTO regions (code, name_zh, name_en, aliases)
       VALUES (@code, @name_zh, @name_en, @aliases)`,
    );
    this.#addIndustry = db.prepare(
      `INSERT OR IGNORE INTO industries (code, name_zh, name_en, aliases, key_sub_industry)
       VALUES (@code, @name_zh, @name_en, @aliases, @key_sub_industry)`,
    );
    this.#setIndustryAliases = db.prepare('UPDATE industries SET aliases = ? WHERE code = ?');
  }

  regions(): RegionRow[] {
    return this.#regions.all();
  }

  industries(): IndustryRow[] {
    return this.#industries.all();
  }

  regionExists(code: string): boolean {
    return this.#regionExists.get(code) !== undefined;
  }

  industryExists(code: string): boolean {
    return this.#industryExists.get(code) !== undefined;
  }

  addRegionIfMissing(row: RegionRow): void {
    this.#addRegion.run(row);
  }

  addIndustryIfMissing(row: IndustryRow): void {
    this.#addIndustry.run(row);
  }

  setIndustryAliases(code: string, aliases: string): boolean {
    return this.#setIndustryAliases.run(aliases, code).changes > 0;
  }
}
