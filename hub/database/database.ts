/**
 * The hub's database: one owner for the SQLite file `<dataDir>/registry.db`. It opens the
 * file, runs the migrations (migrations.ts, append-only), owns transactions, and exposes one
 * repository per concern (audit log, API tokens, MQTT credentials, snapshots, child reports,
 * state time, registry look-ups, and the registry's own tables in registry/: reference data,
 * enterprises, ledger history, gateways, gateway metrics, machines, machine status, state
 * spans). Repositories are the only code with SQL; hub/registry/ keeps the domain logic (what
 * a birth means, what is counted) and calls them.
 *
 * This is the seam a second backend (PostgreSQL, for scale-out) plugs into: the repository
 * interfaces (AuditRepository, TokenRepository, …) are backend-neutral — plain rows and
 * values, no better-sqlite3 types in their signatures — and the SQLite classes implementing
 * them stay inside this folder.
 */
import type Database from 'better-sqlite3';
import { openSqlite } from '../util/sqlite.js';
import { type AlertRepository, SqliteAlertRepository } from './alerts.js';
import { type AuditRepository, SqliteAuditRepository } from './audit.js';
import { type ChildReportRepository, SqliteChildReportRepository } from './child-reports.js';
import { HUB_MIGRATIONS } from './migrations.js';
import { type MqttCredentialRepository, SqliteMqttCredentialRepository } from './mqtt-credentials.js';
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
import { SqliteStateTimeRepository, type StateTimeRepository } from './state-time.js';
import { SqliteTokenRepository, type TokenRepository } from './tokens.js';
import {
  type SessionRepository,
  SqliteSessionRepository,
  SqliteUserRepository,
  type UserRepository,
} from './users.js';

const HANDLES = new WeakMap<HubDatabase, Database.Database>();

export class HubDatabase {
  /** The SQLite file. */
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
   * commits (or rolls back) with the change it records. A nested call is a savepoint in the
   * outer one: when its `fn` throws, only its own writes roll back, and the error goes on
   * (hub/registry/apply.ts refuses a bad row that way and keeps the rest of the batch).
   */
  transaction<T>(fn: () => T): T {
    return sqliteOf(this).transaction(fn)();
  }

  /** Whether a transaction is open (a failed statement inside one may have ended it). */
  get inTransaction(): boolean {
    return sqliteOf(this).inTransaction;
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

  /** Alert rules, alerts and the notification outbox (hub/alerts/). */
  get alerts(): AlertRepository {
    this.#alerts ??= new SqliteAlertRepository(sqliteOf(this));
    return this.#alerts;
  }

  /** The web app's user accounts (hub/security/users.ts). */
  get users(): UserRepository {
    this.#users ??= new SqliteUserRepository(sqliteOf(this));
    return this.#users;
  }

  /** The users' sign-in sessions. */
  get sessions(): SessionRepository {
    this.#sessions ??= new SqliteSessionRepository(sqliteOf(this));
    return this.#sessions;
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

  /** The registry's reference data: regions and industries (hub/registry/registry.ts seeds them). */
  get reference(): ReferenceRepository {
    this.#reference ??= new SqliteReferenceRepository(sqliteOf(this));
    return this.#reference;
  }

  /** Enterprises as currently declared, with their ledgers. */
  get enterprises(): EnterpriseRepository {
    this.#enterprises ??= new SqliteEnterpriseRepository(sqliteOf(this));
    return this.#enterprises;
  }

  /** The history of ledger declarations. */
  get ledgers(): LedgerRepository {
    this.#ledgers ??= new SqliteLedgerRepository(sqliteOf(this));
    return this.#ledgers;
  }

  /** Gateways (Sparkplug edge nodes): births, deaths, last seen. */
  get gateways(): GatewayRepository {
    this.#gateways ??= new SqliteGatewayRepository(sqliteOf(this));
    return this.#gateways;
  }

  /** The latest value of each gateway metric. */
  get gatewayMetrics(): GatewayMetricRepository {
    this.#gatewayMetrics ??= new SqliteGatewayMetricRepository(sqliteOf(this));
    return this.#gatewayMetrics;
  }

  /** Machines as their gateways announced them, and the counts made of them. */
  get machines(): MachineRepository {
    this.#machines ??= new SqliteMachineRepository(sqliteOf(this));
    return this.#machines;
  }

  /** What operators decided about machines (confirmed, retired, merged). */
  get machineStatus(): MachineStatusRepository {
    this.#machineStatus ??= new SqliteMachineStatusRepository(sqliteOf(this));
    return this.#machineStatus;
  }

  /** Each machine's open state interval and its closed spans per day, as the ingest writes them. */
  get stateSpans(): StateSpanRepository {
    this.#stateSpans ??= new SqliteStateSpanRepository(sqliteOf(this));
    return this.#stateSpans;
  }

  /** The programme's quantified targets (hub/stats/targets.ts). */
  get targets(): TargetRepository {
    this.#targets ??= new SqliteTargetRepository(sqliteOf(this));
    return this.#targets;
  }

  /** Digital workshops and smart factories as enterprises declared them. */
  get recognitions(): RecognitionRepository {
    this.#recognitions ??= new SqliteRecognitionRepository(sqliteOf(this));
    return this.#recognitions;
  }

  /** Industrial internet platforms as declared. */
  get platforms(): PlatformRepository {
    this.#platforms ??= new SqlitePlatformRepository(sqliteOf(this));
    return this.#platforms;
  }
}

/** The SQLite connection behind `db`: only this file hands it to the SQLite repositories. */
function sqliteOf(db: HubDatabase): Database.Database {
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
