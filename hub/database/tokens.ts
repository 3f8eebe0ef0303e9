/** The API tokens' table (`api_tokens`); hub/security/tokens.ts (TokenStore) is what callers use. */
import type { SqlConnection, SqlStatement } from './sql.js';

/** One stored token: only the secret's hash, never the secret. */
export interface TokenRow {
  id: string;
  name: string;
  role: string;
  enterprise: string | null;
  /** JSON array of region codes. */
  regions: string;
  hub_id: string | null;
  /** JSON array of enterprise codes. */
  enterprises: string;
  secret_hash: string;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** Backend-neutral: no driver types in the signatures. */
export interface TokenRepository {
  insert(row: TokenRow): void;
  byId(id: string): TokenRow | undefined;
  /** Newest first. */
  list(): TokenRow[];
  setLastUsed(id: string, at: number): void;
  setRevoked(id: string, at: number): void;
}

export class SqliteTokenRepository implements TokenRepository {
  readonly #db: SqlConnection;
  readonly #byId: SqlStatement<[string], TokenRow>;
  readonly #touch: SqlStatement<[number, string]>;

  constructor(db: SqlConnection) {
    this.#db = db;
    this.#byId = db.prepare('SELECT * FROM api_tokens WHERE id = ?');
    this.#touch = db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?');
  }

  insert(row: TokenRow): void {
    this.#db
      .prepare(
        `INSERT INTO api_tokens (id, name, role, enterprise, regions, hub_id, enterprises, secret_hash,
           created_by, created_at, expires_at, last_used_at, revoked_at)
         VALUES (@id, @name, @role, @enterprise, @regions, @hub_id, @enterprises, @secret_hash,
           @created_by, @created_at, @expires_at, @last_used_at, @revoked_at)`,
      )
      .run(row);
  }

  byId(id: string): TokenRow | undefined {
    return this.#byId.get(id);
  }

  list(): TokenRow[] {
    return this.#db.prepare<[], TokenRow>('SELECT * FROM api_tokens ORDER BY created_at DESC, id').all();
  }

  setLastUsed(id: string, at: number): void {
    this.#touch.run(at, id);
  }

  setRevoked(id: string, at: number): void {
    this.#db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ?').run(at, id);
  }
}
