/**
 * A PostgreSQL database as a SqlConnection (../sql.ts): statements written in SQLite's dialect,
 * translated once (dialect.ts) and run on the synchronous client (sync-client.ts); transactions
 * as BEGIN/COMMIT with SAVEPOINTs when nested, as better-sqlite3's.
 */
import type { SqlConnection, SqlRunResult, SqlStatement } from '../sql.js';
import { bindValues, translateSql } from './dialect.js';
import { type SyncClientOptions, SyncPostgresClient } from './sync-client.js';

export class PostgresConnection implements SqlConnection {
  readonly dialect = 'postgres' as const;
  readonly #client: SyncPostgresClient;
  #depth = 0;
  #savepoints = 0;

  constructor(opts: SyncClientOptions) {
    this.#client = new SyncPostgresClient(opts);
  }

  /** Runs SQL without parameters, several statements allowed (migrations). */
  exec(sql: string): void {
    this.#client.query(sql, []);
  }

  /** One statement with $-numbered parameters, as PostgreSQL takes it. */
  query(text: string, values: readonly unknown[] = []): Record<string, unknown>[] {
    return this.#client.query(text, values).rows;
  }

  prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): SqlStatement<P, R> {
    const t = translateSql(sql);
    const client = this.#client;
    return {
      run(...params: P): SqlRunResult {
        return { changes: client.query(t.text, bindValues(t, params)).rowCount };
      },
      get(...params: P): R | undefined {
        return client.query(t.text, bindValues(t, params)).rows[0] as R | undefined;
      },
      all(...params: P): R[] {
        return client.query(t.text, bindValues(t, params)).rows as R[];
      },
    };
  }

  transaction<T>(fn: () => T): T {
    if (this.#depth === 0) {
      this.#client.query('BEGIN', []);
      this.#depth++;
      try {
        const result = fn();
        this.#client.query('COMMIT', []);
        return result;
      } catch (err) {
        try {
          this.#client.query('ROLLBACK', []);
        } catch {
          // the connection is gone: the server rolls back
        }
        throw err;
      } finally {
        this.#depth--;
      }
    }
    const name = `wanji_sp${++this.#savepoints}`;
    this.#client.query(`SAVEPOINT ${name}`, []);
    this.#depth++;
    try {
      const result = fn();
      this.#client.query(`RELEASE SAVEPOINT ${name}`, []);
      return result;
    } catch (err) {
      this.#client.query(`ROLLBACK TO SAVEPOINT ${name}`, []);
      this.#client.query(`RELEASE SAVEPOINT ${name}`, []);
      throw err;
    } finally {
      this.#depth--;
    }
  }

  get inTransaction(): boolean {
    return this.#depth > 0;
  }

  close(): void {
    this.#client.close();
  }
}
