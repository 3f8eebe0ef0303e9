/**
 * The hub's database: one owner for the SQLite file `<dataDir>/registry.db`. It opens the
 * file, runs the migrations (migrations.ts, append-only), owns transactions, and exposes one
 * repository per concern (audit log, API tokens, MQTT credentials, snapshots, child reports,
 * state time, registry look-ups, and the registry's own tables in registry/: reference data,
 * enterprises, ledger history, gateways, gateway metrics, machines, machine status, state
 * spans). Repositories are the only code with SQL; hub/registry/ keeps the domain logic (what
 * a birth means, what is counted) and calls them.
 *
 * Two engines (docs/hub.md, "The registry on PostgreSQL"): the SQLite file (the default) or a
 * PostgreSQL database (`registry.url`, for several hub workers sharing one registry). The
 * repository interfaces (AuditRepository, TokenRepository, …) are backend-neutral — plain rows
 * and values — and their classes run on either, written against SqlConnection (sql.ts).
 */
import type Database from 'better-sqlite3';
import { openSqlite } from '../util/sqlite.js';
import { type AlertRepository, SqliteAlertRepository } from './alerts.js';
import { type AuditRepository, SqliteAuditRepository } from './audit.js';
import { type ChildReportRepository, SqliteChildReportRepository } from './child-reports.js';
import { HUB_MIGRATIONS } from './migrations.js';
import { type MqttCredentialRepository, SqliteMqttCredentialRepository } from './mqtt-credentials.js';
import { PostgresConnection } from './postgres/connection.js';
import { migratePostgres } from './postgres/migrations.js';
import { DEFAULT_POSTGRES_TIMEOUTS, type PostgresTimeouts, redactedUrl } from './postgres/options.js';
import { type EnterpriseRepository, SqliteEnterpriseRepository } from './registry/enterprises.js';
import { type GatewayMetricRepository, SqliteGatewayMetricRepository } from './registry/gateway-metrics.js';
import { type GatewayRepository, SqliteGatewayRepository } from './registry/gateways.js';
import { type LedgerRepository, SqliteLedgerRepository } from './registry/ledgers.js';
import { type RegistryLookups, SqliteRegistryLookups } from './registry/lookups.js';
import { type MachineStatusRepository, SqliteMachineStatusRepository } from './registry/machine-status.js';
import { type MachineRepository, SqliteMachineRepository } from './registry/machines.js';
import { type PlatformRepository, SqlitePlatformRepository } from './registry/platforms.js';
import { type RecognitionRepository, SqliteRecognitionRepository } from './registry/recognitions.js';
import { type ReferenceRepository, SqliteReferenceRepository } from './registry/reference.js';
import { SqliteStateSpanRepository, type StateSpanRepository } from './registry/state-spans.js';
import { SqliteTargetRepository, type TargetRepository } from './registry/targets.js';
import { type SnapshotRepository, SqliteSnapshotRepository } from './snapshots.js';
import { type SqlConnection, type SqlDialect, sqliteConnection } from './sql.js';
import { SqliteStateTimeRepository, type StateTimeRepository } from './state-time.js';
import { SqliteTokenRepository, type TokenRepository } from './tokens.js';
import {
  type SessionRepository,
  SqliteSessionRepository,
  SqliteUserRepository,
  type UserRepository,
} from './users.js';

/** The open connection: the SQLite handle too when it is SQLite (for the tests' raw access). */
interface Handle {
  readonly sql: SqlConnection;
  readonly sqlite?: Database.Database;
  readonly postgres?: PostgresConnection;
}

const HANDLES = new WeakMap<HubDatabase, Handle>();

export class HubDatabase {
  /** The SQLite file, or the PostgreSQL URL without its password. */
  readonly path: string;
  #audit: AuditRepository | undefined;
  #tokens: TokenRepository | undefined;
  #alerts: AlertRepository | undefined;
  #users: UserRepository | undefined;
  #sessions: SessionRepository | undefined;
  #mqttCredentials: MqttCredentialRepository | undefined;
  #snapshots: SnapshotRepository | undefined;
  #childReports: ChildReportRepository | undefined;
  #stateTime: StateTimeRepository | undefined;
  #lookups: RegistryLookups | undefined;
  #reference: ReferenceRepository | undefined;
  #enterprises: EnterpriseRepository | undefined;
  #ledgers: LedgerRepository | undefined;
  #gateways: GatewayRepository | undefined;
  #gatewayMetrics: GatewayMetricRepository | undefined;
  #machines: MachineRepository | undefined;
  #machineStatus: MachineStatusRepository | undefined;
  #stateSpans: StateSpanRepository | undefined;
  #targets: TargetRepository | undefined;
  #recognitions: RecognitionRepository | undefined;
  #platforms: PlatformRepository | undefined;

  private constructor(path: string, handle: Handle) {
    this.path = path;
    HANDLES.set(this, handle);
  }

  /** Which engine holds the data. */
  get dialect(): SqlDialect {
    return sqlOf(this).dialect;
  }

  /**
   * Opens (creating when missing) the file and brings its schema up to date. NORMAL
   * synchronous: a power cut may lose the last "last seen" batch, never corrupt the file.
   * Throws when the file cannot be opened or is newer than this hub understands.
   */
  static open(path: string): HubDatabase {
    const sqlite = openSqlite(path, HUB_MIGRATIONS, 'normal');
    return new HubDatabase(path, { sql: sqliteConnection(sqlite), sqlite });
  }

  /**
   * Connects to a PostgreSQL database (postgres://user:password@host:port/database) and brings
   * its schema up to date (postgres/migrations.ts), as open() does a file. Throws naming the
   * server's reason when it cannot connect, or when the schema is newer than this hub's.
   */
  static openPostgres(url: string, timeouts: PostgresTimeouts = DEFAULT_POSTGRES_TIMEOUTS): HubDatabase {
    const postgres = new PostgresConnection({ url, ...timeouts });
    try {
      migratePostgres(postgres);
    } catch (err) {
      postgres.close();
      throw err;
    }
    return new HubDatabase(redactedUrl(url), { sql: postgres, postgres });
  }

  /**
   * Runs `fn` in one transaction, shared by every repository: an audit entry written inside
   * commits (or rolls back) with the change it records. A nested call is a savepoint in the
   * outer one: when its `fn` throws, only its own writes roll back, and the error goes on
   * (hub/registry/apply.ts refuses a bad row that way and keeps the rest of the batch).
   */
  transaction<T>(fn: () => T): T {
    return sqlOf(this).transaction(fn);
  }

  /** Whether a transaction is open (a failed statement inside one may have ended it). */
  get inTransaction(): boolean {
    return sqlOf(this).inTransaction;
  }

  close(): void {
    const h = handleOf(this);
    h.sqlite?.close();
    h.postgres?.close();
  }

  get audit(): AuditRepository {
    this.#audit ??= new SqliteAuditRepository(sqlOf(this));
    return this.#audit;
  }

  get tokens(): TokenRepository {
    this.#tokens ??= new SqliteTokenRepository(sqlOf(this));
    return this.#tokens;
  }

  /** Alert rules, alerts and the notification outbox (hub/alerts/). */
  get alerts(): AlertRepository {
    this.#alerts ??= new SqliteAlertRepository(sqlOf(this));
    return this.#alerts;
  }

  /** The web app's user accounts (hub/security/users.ts). */
  get users(): UserRepository {
    this.#users ??= new SqliteUserRepository(sqlOf(this));
    return this.#users;
  }

  /** The users' sign-in sessions. */
  get sessions(): SessionRepository {
    this.#sessions ??= new SqliteSessionRepository(sqlOf(this));
    return this.#sessions;
  }

  get mqttCredentials(): MqttCredentialRepository {
    this.#mqttCredentials ??= new SqliteMqttCredentialRepository(sqlOf(this));
    return this.#mqttCredentials;
  }

  get snapshots(): SnapshotRepository {
    this.#snapshots ??= new SqliteSnapshotRepository(sqlOf(this));
    return this.#snapshots;
  }

  get childReports(): ChildReportRepository {
    this.#childReports ??= new SqliteChildReportRepository(sqlOf(this));
    return this.#childReports;
  }

  get stateTime(): StateTimeRepository {
    this.#stateTime ??= new SqliteStateTimeRepository(sqlOf(this));
    return this.#stateTime;
  }

  /** Registry reads other concerns check against (known regions, known enterprises). */
  get registryLookups(): RegistryLookups {
    this.#lookups ??= new SqliteRegistryLookups(sqlOf(this));
    return this.#lookups;
  }

  /** The registry's reference data: regions and industries (hub/registry/registry.ts seeds them). */
  get reference(): ReferenceRepository {
    this.#reference ??= new SqliteReferenceRepository(sqlOf(this));
    return this.#reference;
  }

  /** Enterprises as currently declared, with their ledgers. */
  get enterprises(): EnterpriseRepository {
    this.#enterprises ??= new SqliteEnterpriseRepository(sqlOf(this));
    return this.#enterprises;
  }

  /** The history of ledger declarations. */
  get ledgers(): LedgerRepository {
    this.#ledgers ??= new SqliteLedgerRepository(sqlOf(this));
    return this.#ledgers;
  }

  /** Gateways (Sparkplug edge nodes): births, deaths, last seen. */
  get gateways(): GatewayRepository {
    this.#gateways ??= new SqliteGatewayRepository(sqlOf(this));
    return this.#gateways;
  }

  /** The latest value of each gateway metric. */
  get gatewayMetrics(): GatewayMetricRepository {
    this.#gatewayMetrics ??= new SqliteGatewayMetricRepository(sqlOf(this));
    return this.#gatewayMetrics;
  }

  /** Machines as their gateways announced them, and the counts made of them. */
  get machines(): MachineRepository {
    this.#machines ??= new SqliteMachineRepository(sqlOf(this));
    return this.#machines;
  }

  /** What operators decided about machines (confirmed, retired, merged). */
  get machineStatus(): MachineStatusRepository {
    this.#machineStatus ??= new SqliteMachineStatusRepository(sqlOf(this));
    return this.#machineStatus;
  }

  /** Each machine's open state interval and its closed spans per day, as the ingest writes them. */
  get stateSpans(): StateSpanRepository {
    this.#stateSpans ??= new SqliteStateSpanRepository(sqlOf(this));
    return this.#stateSpans;
  }

  /** The programme's quantified targets (hub/stats/targets.ts). */
  get targets(): TargetRepository {
    this.#targets ??= new SqliteTargetRepository(sqlOf(this));
    return this.#targets;
  }

  /** Digital workshops and smart factories as enterprises declared them. */
  get recognitions(): RecognitionRepository {
    this.#recognitions ??= new SqliteRecognitionRepository(sqlOf(this));
    return this.#recognitions;
  }

  /** Industrial internet platforms as declared. */
  get platforms(): PlatformRepository {
    this.#platforms ??= new SqlitePlatformRepository(sqlOf(this));
    return this.#platforms;
  }
}

function handleOf(db: HubDatabase): Handle {
  const handle = HANDLES.get(db);
  if (handle === undefined) throw new Error('not a hub database');
  return handle;
}

/** The connection behind `db`: only this file hands it to the repositories. */
function sqlOf(db: HubDatabase): SqlConnection {
  return handleOf(db).sql;
}

/**
 * Tests only: the raw SQLite connection, to plant rows the hub would never write (corrupt
 * child reports, poisoned triggers) or to make the file read-only. Never use it in hub code.
 */
export function rawSqliteForTests(db: HubDatabase): Database.Database {
  const sqlite = handleOf(db).sqlite;
  if (sqlite === undefined) throw new Error('rawSqliteForTests: this hub database is not SQLite');
  return sqlite;
}
