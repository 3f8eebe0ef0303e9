/**
 * The audit log (docs/domain.md: every login and every change to the registry is audited). One
 * table in the hub database, so callers that change the registry write the entry inside
 * the same transaction (HubDatabase.transaction): a change is never recorded without
 * happening, nor the reverse. Refusals are recorded too (`outcome: 'refused'`), with the
 * reason in `detail`. Storage: hub/database/audit.ts.
 */
import type { AuditEntry, AuditQuery, AuditRecord } from '../database/audit.js';
import type { HubDatabase } from '../database/database.js';

export type { AuditEntry, AuditOutcome, AuditQuery, AuditRecord } from '../database/audit.js';

export class AuditLog {
  readonly #db: HubDatabase;
  readonly #clock: () => number;

  constructor(db: HubDatabase, clock: () => number = Date.now) {
    this.#db = db;
    this.#clock = clock;
  }

  /** Appends one entry (inside the caller's transaction, when there is one). */
  record(e: AuditEntry): void {
    this.#db.audit.insert(this.#clock(), e);
  }

  /** Newest first. */
  list(q: AuditQuery = {}): AuditRecord[] {
    return this.#db.audit.list(q);
  }
}
