/**
 * The one connection shape every repository is written against, for both engines: SQLite
 * (better-sqlite3, synchronous by nature) and PostgreSQL (postgres/connection.ts, synchronous
 * through a worker thread). Statements are written once in SQLite's dialect with `?` or
 * `@name` parameters; the PostgreSQL connection translates them (postgres/dialect.ts), and a
 * repository branches on `dialect` only where the engines truly differ.
 */
import type Database from 'better-sqlite3';

export type SqlDialect = 'sqlite' | 'postgres';

export interface SqlRunResult {
  /** Rows inserted, updated or deleted. */
  readonly changes: number;
}

/** A prepared statement: the subset of better-sqlite3's Statement the repositories use. */
export interface SqlStatement<P extends unknown[] = unknown[], R = unknown> {
  run(...params: P): SqlRunResult;
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

export interface SqlConnection {
  readonly dialect: SqlDialect;
  prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): SqlStatement<P, R>;
  /**
   * Runs `fn` in a transaction; nested, a savepoint in the outer one (only its own writes roll
   * back when it throws, and the error goes on).
   */
  transaction<T>(fn: () => T): T;
  /** Whether a transaction is open. */
  readonly inTransaction: boolean;
}

/** better-sqlite3 as a SqlConnection: its statements already have this shape. */
export function sqliteConnection(db: Database.Database): SqlConnection {
  return {
    dialect: 'sqlite',
    prepare: <P extends unknown[] = unknown[], R = unknown>(sql: string): SqlStatement<P, R> =>
      db.prepare<P, R>(sql),
    transaction: <T>(fn: () => T): T => db.transaction(fn)(),
    get inTransaction(): boolean {
      return db.inTransaction;
    },
  };
}

/**
 * Rows per statement of a repository's batched write on PostgreSQL (`…Many()`: one array per
 * column, `unnest`): a flush of 10,000 machines is one round trip, and no message to the server
 * grows without bound.
 */
export const UNNEST_CHUNK = 10_000;

/** Rows of type R as one array per column K. */
export type Columns<R, K extends keyof R> = { [P in K]: R[P][] };

/** Rows as one array per column, for `unnest`, in chunks of at most UNNEST_CHUNK rows. */
export function columnChunks<R, K extends keyof R>(rows: readonly R[], keys: readonly K[]): Columns<R, K>[] {
  const chunks: Columns<R, K>[] = [];
  for (let i = 0; i < rows.length; i += UNNEST_CHUNK) {
    const chunk = {} as Columns<R, K>;
    for (const k of keys) chunk[k] = [];
    for (const r of rows.slice(i, i + UNNEST_CHUNK)) for (const k of keys) chunk[k].push(r[k]);
    chunks.push(chunk);
  }
  return chunks;
}
