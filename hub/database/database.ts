/**
 * The hub's database: one owner for the SQLite file `<dataDir>/registry.db`. It opens the
 * file, runs the migrations (migrations.ts, append-only), owns transactions, and exposes one
 * repository per concern (audit log, API tokens, MQTT credentials, snapshots, child reports,
 * state time, registry look-ups). Repositories are the only code with SQL for their tables;
 * the registry's own tables (enterprises, ledgers, machines, gateways) are written by the
 * registry code in hub/registry/, which gets its connection from here (`sqliteOf`).
 *
 * This is the seam a second backend (PostgreSQL, for scale-out) plugs into: the repository
 * interfaces (AuditRepository, TokenRepository, …) are backend-neutral — plain rows and
 * values, no better-sqlite3 types in their signatures — and the SQLite classes implementing
 * them stay inside this folder.
 */
import type Database from 'better-sqlite3';
import { openSqlite } from '../util/sqlite.js';
import { type AuditRepository, SqliteAuditRepository } from './audit.js';
import { type ChildReportRepository, SqliteChildReportRepository } from './child-reports.js';
import { HUB_MIGRATIONS } from './migrations.js';
import { type MqttCredentialRepository, SqliteMqttCredentialRepository } from './mqtt-credentials.js';
import { type RegistryLookups, SqliteRegistryLookups } from './registry-lookups.js';
import { type SnapshotRepository, SqliteSnapshotRepository } from './snapshots.js';
import { SqliteStateTimeRepository, type StateTimeRepository } from './state-time.js';
import { SqliteTokenRepository, type TokenRepository } from './tokens.js';

const HANDLES = new WeakMap<HubDatabase, Database.Database>();

export class HubDatabase {
  /** The SQLite file. */
  readonly path: string;
  #audit: AuditRepository | undefined;
  #tokens: TokenRepository | undefined;
  #mqttCredentials: MqttCredentialRepository | undefined;
  #snapshots: SnapshotRepository | undefined;
  #childReports: ChildReportRepository | undefined;
  #stateTime: StateTimeRepository | undefined;
  #lookups: RegistryLookups | undefined;

  private constructor(path: string, sqlite: Database.Database) {
    this.path = path;
    HANDLES.set(this, sqlite);
  }

  /**
   * Opens (creating when missing) the file and brings its schema up to date. NORMAL
   * synchronous: a power cut may lose the last "last seen" batch, never corrupt the file.
   * Throws when the file cannot be opened or is newer than this hub understands.
   */
  static open(path: string): HubDatabase {
    return new HubDatabase(path, openSqlite(path, HUB_MIGRATIONS, 'normal'));
  }

  /**
   * Runs `fn` in one transaction, shared by every repository: an audit entry written inside
   * commits (or rolls back) with the change it records. Nested calls join the outer one.
   */
  transaction<T>(fn: () => T): T {
    return sqliteOf(this).transaction(fn)();
  }

  close(): void {
    sqliteOf(this).close();
  }

  get audit(): AuditRepository {
    this.#audit ??= new SqliteAuditRepository(sqliteOf(this));
    return this.#audit;
  }

  get tokens(): TokenRepository {
    this.#tokens ??= new SqliteTokenRepository(sqliteOf(this));
    return this.#tokens;
  }

  get mqttCredentials(): MqttCredentialRepository {
    this.#mqttCredentials ??= new SqliteMqttCredentialRepository(sqliteOf(this));
    return this.#mqttCredentials;
  }

  get snapshots(): SnapshotRepository {
    this.#snapshots ??= new SqliteSnapshotRepository(sqliteOf(this));
    return this.#snapshots;
  }

  get childReports(): ChildReportRepository {
    this.#childReports ??= new SqliteChildReportRepository(sqliteOf(this));
    return this.#childReports;
  }

  get stateTime(): StateTimeRepository {
    this.#stateTime ??= new SqliteStateTimeRepository(sqliteOf(this));
    return this.#stateTime;
  }

  /** Registry reads other concerns check against (known regions, known enterprises). */
  get registryLookups(): RegistryLookups {
    this.#lookups ??= new SqliteRegistryLookups(sqliteOf(this));
    return this.#lookups;
  }
}

/**
 * The SQLite connection behind `db`. Only for SQLite repository code: this folder and the
 * registry's own SQL in hub/registry/. Everything else goes through the repositories.
 */
export function sqliteOf(db: HubDatabase): Database.Database {
  const handle = HANDLES.get(db);
  if (handle === undefined) throw new Error('not a hub database');
  return handle;
}

/**
 * Tests only: the raw SQLite connection, to plant rows the hub would never write (corrupt
 * child reports, poisoned triggers) or to make the file read-only. Never use it in hub code.
 */
export function rawSqliteForTests(db: HubDatabase): Database.Database {
  return sqliteOf(db);
}
