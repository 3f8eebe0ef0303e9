/** Registry reads that other concerns check their input against (token scopes, imports). */
import type { SqlConnection } from '../sql.js';

/** Backend-neutral: no driver types in the signatures. */
export interface RegistryLookups {
  /** Every region code, in no particular order. */
  regionCodes(): string[];
  /** Whether an enterprise is declared or any gateway of it has connected. */
  enterpriseKnown(code: string): boolean;
}

export class SqliteRegistryLookups implements RegistryLookups {
  readonly #db: SqlConnection;

  constructor(db: SqlConnection) {
    this.#db = db;
  }

  regionCodes(): string[] {
    return this.#db
      .prepare<[], { code: string }>('SELECT code FROM regions')
      .all()
      .map((r) => r.code);
  }

  enterpriseKnown(code: string): boolean {
    return (
      this.#db.prepare('SELECT 1 FROM enterprises WHERE code = ?').get(code) !== undefined ||
      this.#db.prepare('SELECT 1 FROM gateways WHERE group_id = ? LIMIT 1').get(code) !== undefined
    );
  }
}
