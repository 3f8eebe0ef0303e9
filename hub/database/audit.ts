/**
 * The audit log's table (`audit_log`). hub/security/audit.ts (AuditLog) stamps entries with
 * the hub's clock and is what callers use; this is only its storage.
 */
import type { SqlConnection, SqlStatement } from './sql.js';

export type AuditOutcome = 'ok' | 'refused';

export interface AuditEntry {
  /** Who: `token:<id>`, `cli:<os user>`, `mqtt:<username>`, `anonymous`. */
  readonly actor: string;
  /** What, as `<object>.<verb>`: `login`, `token.create`, `enterprise.import`, … */
  readonly action: string;
  /** What it was done to: a token id, an enterprise code, a file name. */
  readonly target?: string;
  readonly outcome: AuditOutcome;
  /** Where from: an IP address, `cli`. */
  readonly source?: string;
  /** Anything else worth keeping (never a secret). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface AuditRecord extends AuditEntry {
  readonly id: number;
  /** ms since the epoch */
  readonly at: number;
}

export interface AuditQuery {
  readonly since?: number;
  readonly until?: number;
  readonly actor?: string;
  readonly action?: string;
  readonly outcome?: AuditOutcome;
  /** Only entries older than this id (the next page after one ending at it). */
  readonly beforeId?: number;
  readonly limit?: number;
}

/** Backend-neutral: no driver types in the signatures. */
export interface AuditRepository {
  /** Appends one entry at `at` (inside the caller's transaction, when there is one). */
  insert(at: number, e: AuditEntry): void;
  /** Newest first; `limit` defaults to 100 and is kept within 1..10,000. */
  list(q: AuditQuery): AuditRecord[];
}

interface AuditRow {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  source: string | null;
  detail: string;
}

export class SqliteAuditRepository implements AuditRepository {
  readonly #db: SqlConnection;
  readonly #insert: SqlStatement<[number, string, string, string | null, string, string | null, string]>;

  constructor(db: SqlConnection) {
    this.#db = db;
    this.#insert = db.prepare(
      `INSERT INTO audit_log (at, actor, action, target, outcome, source, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  insert(at: number, e: AuditEntry): void {
    this.#insert.run(
      at,
      e.actor,
      e.action,
      e.target ?? null,
      e.outcome,
      e.source ?? null,
      JSON.stringify(e.detail ?? {}),
    );
  }

  list(q: AuditQuery): AuditRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.since !== undefined) {
      where.push('at >= ?');
      args.push(q.since);
    }
    if (q.until !== undefined) {
      where.push('at < ?');
      args.push(q.until);
    }
    if (q.actor !== undefined) {
      where.push('actor = ?');
      args.push(q.actor);
    }
    if (q.action !== undefined) {
      where.push('action = ?');
      args.push(q.action);
    }
    if (q.outcome !== undefined) {
      where.push('outcome = ?');
      args.push(q.outcome);
    }
    if (q.beforeId !== undefined) {
      where.push('id < ?');
      args.push(q.beforeId);
    }
    const sql = `SELECT * FROM audit_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY id DESC LIMIT ?`;
    args.push(Math.min(Math.max(q.limit ?? 100, 1), 10_000));
    return this.#db
      .prepare<(string | number)[], AuditRow>(sql)
      .all(...args)
      .map((r) => ({
        id: r.id,
        at: r.at,
        actor: r.actor,
        action: r.action,
        ...(r.target === null ? {} : { target: r.target }),
        outcome: r.outcome as AuditOutcome,
        ...(r.source === null ? {} : { source: r.source }),
        detail: JSON.parse(r.detail) as Record<string, unknown>,
      }));
  }
}
