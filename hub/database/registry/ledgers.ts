/**
 * The history of ledger declarations (`ledger_declarations`): every declaration as it was made,
 * appended beside the enterprise's current row (enterprises.ts) in the same transaction.
 */
import type { SqlConnection, SqlStatement } from '../sql.js';
import { DECLARATION_COLUMNS, DECLARATION_VALUES, type EnterpriseRow } from './enterprises.js';

/** Backend-neutral: no driver types in the signatures. */
export interface LedgerRepository {
  /** Appends one declaration to its enterprise's history. */
  append(row: EnterpriseRow): void;
  /** Every declaration of one enterprise, oldest first, in the enterprise row's shape. */
  history(code: string): EnterpriseRow[];
}

export class SqliteLedgerRepository implements LedgerRepository {
  readonly #append: SqlStatement<[EnterpriseRow]>;
  readonly #history: SqlStatement<[string], EnterpriseRow>;

  constructor(db: SqlConnection) {
    this.#append = db.prepare(
      `INSERT INTO ledger_declarations (enterprise_code, ${DECLARATION_COLUMNS})
       VALUES (@code, ${DECLARATION_VALUES})`,
    );
    this.#history = db.prepare(
      `SELECT enterprise_code AS code, ${DECLARATION_COLUMNS} FROM ledger_declarations
       WHERE enterprise_code = ? ORDER BY id`,
    );
  }

  append(row: EnterpriseRow): void {
    this.#append.run(row);
  }

  history(code: string): EnterpriseRow[] {
    return this.#history.all(code);
  }
}
