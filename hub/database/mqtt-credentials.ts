/**
 * The MQTT credentials' table (`mqtt_credentials`); hub/security/mqtt-credentials.ts
 * (MqttCredentialStore) is what callers use.
 */
import type { SqlConnection, SqlStatement } from './sql.js';

/** One stored credential: only the password's hash, never the password. */
export interface MqttCredentialRow {
  username: string;
  group_id: string;
  edge_node: string;
  secret_hash: string;
  created_by: string;
  created_at: number;
  revoked_at: number | null;
}

/** Backend-neutral: no driver types in the signatures. */
export interface MqttCredentialRepository {
  find(username: string): MqttCredentialRow | undefined;
  insert(row: Omit<MqttCredentialRow, 'revoked_at'>): void;
  setRevoked(username: string, at: number): void;
  /** Oldest first. */
  list(): MqttCredentialRow[];
  revokedUsernames(): string[];
}

export class SqliteMqttCredentialRepository implements MqttCredentialRepository {
  readonly #db: SqlConnection;
  readonly #find: SqlStatement<[string], MqttCredentialRow>;

  constructor(db: SqlConnection) {
    this.#db = db;
    this.#find = db.prepare<[string], MqttCredentialRow>('SELECT * FROM mqtt_credentials WHERE username = ?');
  }

  find(username: string): MqttCredentialRow | undefined {
    return this.#find.get(username);
  }

  insert(r: Omit<MqttCredentialRow, 'revoked_at'>): void {
    this.#db
      .prepare(
        `INSERT INTO mqtt_credentials (username, group_id, edge_node, secret_hash, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(r.username, r.group_id, r.edge_node, r.secret_hash, r.created_by, r.created_at);
  }

  setRevoked(username: string, at: number): void {
    this.#db.prepare('UPDATE mqtt_credentials SET revoked_at = ? WHERE username = ?').run(at, username);
  }

  list(): MqttCredentialRow[] {
    return this.#db
      .prepare<[], MqttCredentialRow>('SELECT * FROM mqtt_credentials ORDER BY created_at, username')
      .all();
  }

  revokedUsernames(): string[] {
    return this.#db
      .prepare<[], { username: string }>('SELECT username FROM mqtt_credentials WHERE revoked_at IS NOT NULL')
      .all()
      .map((r) => r.username);
  }
}
