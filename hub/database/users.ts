/**
 * The web app's user accounts (`users`) and their sign-in sessions (`user_sessions`);
 * hub/security/users.ts (UserStore) is what callers use. A user row holds only its password's
 * scrypt hash; a session row only the SHA-256 of its id, never the id the cookie carries.
 */
import type { SqlConnection, SqlStatement } from './sql.js';

/** One stored user. */
export interface UserRow {
  name: string;
  role: string;
  enterprise: string | null;
  /** JSON array of region codes. */
  regions: string;
  password_hash: string;
  created_by: string;
  created_at: number;
  updated_at: number;
  disabled_at: number | null;
  last_login_at: number | null;
}

/** One sign-in session. */
export interface SessionRow {
  /** SHA-256 (hex) of the session id. */
  id_hash: string;
  user_name: string;
  created_at: number;
  last_seen_at: number;
  /** The client address it signed in from. */
  source: string | null;
}

/** What an update may change; the row's other columns stay. */
export type UserChange = Partial<
  Pick<UserRow, 'role' | 'enterprise' | 'regions' | 'password_hash' | 'disabled_at'>
>;

/** Backend-neutral: no driver types in the signatures. */
export interface UserRepository {
  insert(row: UserRow): void;
  byName(name: string): UserRow | undefined;
  /** By name. */
  list(): UserRow[];
  update(name: string, change: UserChange, at: number): void;
  setLastLogin(name: string, at: number): void;
  /** True when a row was deleted. */
  delete(name: string): boolean;
}

export interface SessionRepository {
  insert(row: SessionRow): void;
  byHash(idHash: string): SessionRow | undefined;
  touch(idHash: string, at: number): void;
  delete(idHash: string): void;
  /** Ends every session of a user except `keep` (an id hash); returns how many. */
  deleteForUser(name: string, keep?: string): number;
  /** Ends every session last seen at or before `seenBy`, or created at or before `createdBy`. */
  deleteExpired(seenBy: number, createdBy: number): number;
  /** Sessions per user name, of those last seen after `seenAfter` and created after `createdAfter`. */
  countByUser(seenAfter: number, createdAfter: number): Map<string, number>;
}

export class SqliteUserRepository implements UserRepository {
  readonly #db: SqlConnection;
  readonly #byName: SqlStatement<[string], UserRow>;

  constructor(db: SqlConnection) {
    this.#db = db;
    this.#byName = db.prepare('SELECT * FROM users WHERE name = ?');
  }

  insert(row: UserRow): void {
    this.#db
      .prepare(
        `INSERT INTO users (name, role, enterprise, regions, password_hash, created_by, created_at,
           updated_at, disabled_at, last_login_at)
         VALUES (@name, @role, @enterprise, @regions, @password_hash, @created_by, @created_at,
           @updated_at, @disabled_at, @last_login_at)`,
      )
      .run(row);
  }

  byName(name: string): UserRow | undefined {
    return this.#byName.get(name);
  }

  list(): UserRow[] {
    return this.#db.prepare<[], UserRow>('SELECT * FROM users ORDER BY name').all();
  }

  update(name: string, change: UserChange, at: number): void {
    // Column names come from this fixed list, never from the caller.
    const columns = (['role', 'enterprise', 'regions', 'password_hash', 'disabled_at'] as const).filter(
      (c) => change[c] !== undefined,
    );
    const sets = [...columns.map((c) => `${c} = @${c}`), 'updated_at = @at'].join(', ');
    this.#db.prepare(`UPDATE users SET ${sets} WHERE name = @name`).run({ ...change, name, at });
  }

  setLastLogin(name: string, at: number): void {
    this.#db.prepare('UPDATE users SET last_login_at = ? WHERE name = ?').run(at, name);
  }

  delete(name: string): boolean {
    return this.#db.prepare('DELETE FROM users WHERE name = ?').run(name).changes > 0;
  }
}

export class SqliteSessionRepository implements SessionRepository {
  readonly #db: SqlConnection;
  readonly #byHash: SqlStatement<[string], SessionRow>;
  readonly #touch: SqlStatement<[number, string]>;

  constructor(db: SqlConnection) {
    this.#db = db;
    this.#byHash = db.prepare('SELECT * FROM user_sessions WHERE id_hash = ?');
    this.#touch = db.prepare('UPDATE user_sessions SET last_seen_at = ? WHERE id_hash = ?');
  }

  insert(row: SessionRow): void {
    this.#db
      .prepare(
        `INSERT INTO user_sessions (id_hash, user_name, created_at, last_seen_at, source)
         VALUES (@id_hash, @user_name, @created_at, @last_seen_at, @source)`,
      )
      .run(row);
  }

  byHash(idHash: string): SessionRow | undefined {
    return this.#byHash.get(idHash);
  }

  touch(idHash: string, at: number): void {
    this.#touch.run(at, idHash);
  }

  delete(idHash: string): void {
    this.#db.prepare('DELETE FROM user_sessions WHERE id_hash = ?').run(idHash);
  }

  deleteForUser(name: string, keep?: string): number {
    return this.#db
      .prepare('DELETE FROM user_sessions WHERE user_name = ? AND id_hash IS NOT ?')
      .run(name, keep ?? null).changes;
  }

  deleteExpired(seenBy: number, createdBy: number): number {
    return this.#db
      .prepare('DELETE FROM user_sessions WHERE last_seen_at <= ? OR created_at <= ?')
      .run(seenBy, createdBy).changes;
  }

  countByUser(seenAfter: number, createdAfter: number): Map<string, number> {
    const rows = this.#db
      .prepare<[number, number], { user_name: string; n: number }>(
        `SELECT user_name, COUNT(*) AS n FROM user_sessions
         WHERE last_seen_at > ? AND created_at > ? GROUP BY user_name`,
      )
      .all(seenAfter, createdAfter);
    return new Map(rows.map((r) => [r.user_name, r.n]));
  }
}
