/** Enterprises (Sparkplug groups) as currently declared: one row each, the ledger (台账) in it. */
import type { SqlConnection, SqlStatement } from '../sql.js';

export interface EnterpriseRow {
  code: string;
  name: string;
  region_code: string;
  industry_code: string;
  /** 0/1 */
  backbone: number;
  production_equipment: number;
  nc_equipment: number;
  robots: number;
  declared_by: string;
  /** ms since the epoch */
  declared_at: number;
}

/** Backend-neutral: no driver types in the signatures. */
export interface EnterpriseRepository {
  /** Every enterprise, by code. */
  list(): EnterpriseRow[];
  byCode(code: string): EnterpriseRow | undefined;
  /** Every registered code, in no particular order. */
  codes(): string[];
  /** Inserts the enterprise, or replaces its declaration when the code is there. */
  upsert(row: EnterpriseRow): void;
}

/** The declaration's columns, code aside (ledgers.ts writes the same into the history). */
export const DECLARATION_COLUMNS = `name, region_code, industry_code, backbone, production_equipment,
  nc_equipment, robots, declared_by, declared_at`;
export const DECLARATION_VALUES = `@name, @region_code, @industry_code, @backbone, @production_equipment,
  @nc_equipment, @robots, @declared_by, @declared_at`;

export class SqliteEnterpriseRepository implements EnterpriseRepository {
  readonly #list: SqlStatement<[], EnterpriseRow>;
  readonly #byCode: SqlStatement<[string], EnterpriseRow>;
  readonly #codes: SqlStatement<[], { code: string }>;
  readonly #upsert: SqlStatement<[EnterpriseRow]>;

  constructor(db: SqlConnection) {
    this.#list = db.prepare('SELECT * FROM enterprises ORDER BY code');
    this.#byCode = db.prepare('SELECT * FROM enterprises WHERE code = ?');
    this.#codes = db.prepare('SELECT code FROM enterprises');
    this.#upsert = db.prepare(
      `INSERT INTO enterprises (code, ${DECLARATION_COLUMNS}) VALUES (@code, ${DECLARATION_VALUES})
       ON CONFLICT (code) DO UPDATE SET (${DECLARATION_COLUMNS}) = (${DECLARATION_VALUES})`,
    );
  }

  list(): EnterpriseRow[] {
    return this.#list.all();
  }

  byCode(code: string): EnterpriseRow | undefined {
    return this.#byCode.get(code);
  }

  codes(): string[] {
    return this.#codes.all().map((r) => r.code);
  }

  upsert(row: EnterpriseRow): void {
    this.#upsert.run(row);
  }
}
