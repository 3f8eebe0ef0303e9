/**
 * The hub's registry: reference data (regions, industries), enterprises and their ledger
 * declarations, gateways and machines. One SQLite file in the data dir.
 */
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import {
  DEVICE_HEALTH_FIELD,
  DEVICE_METRIC_PREFIX,
  type EnterpriseDeclaration,
  INDUSTRY_SEEDS,
  type IndustrySeed,
  NODE_METRIC,
  REGION_SEEDS,
  type RegionSeed,
} from '../../protocol/index.js';
import { HubDatabase, sqliteOf } from '../database/database.js';
import { type ComponentHealth, HubError } from '../errors.js';
import { type ApplyResult, IngestApplier } from './apply.js';
import { DEFAULT_UTC_OFFSET_MIN } from './days.js';
import { type GatewayMetricRow, type GatewaySummary, summarize, toGatewayMetric } from './gateway-metrics.js';
import { type DeclareAudit, declarationProblems, LedgerWriter, ReferenceIndex, toRow } from './ledger.js';
import {
  type BulkRetireResult,
  type MachineChangeBy,
  type MachineChangeResult,
  MachineStatusWriter,
} from './machine-status.js';
import {
  type EnterpriseRow,
  type GatewayRow,
  type IndustryRow,
  type MachineRow,
  type RegionRow,
  toEnterprise,
  toGateway,
  toIndustry,
  toMachine,
  toRegion,
} from './rows.js';
import type {
  DeclarationRecord,
  Enterprise,
  EnterpriseActivity,
  Gateway,
  GatewayMetric,
  Industry,
  IngestBatch,
  MachineFilter,
  MachineRecord,
  MachineStatus,
  Region,
} from './types.js';

export interface RegistryOptions {
  /** SQLite file, e.g. `<dataDir>/registry.db`. */
  readonly path: string;
  readonly logger: Logger;
  /** ms since the epoch; injectable for tests. */
  readonly clock?: () => number;
  readonly regionSeeds?: readonly RegionSeed[];
  readonly industrySeeds?: readonly IndustrySeed[];
  /** Where local days start, minutes east of UTC; default 480 (China Standard Time). */
  readonly utcOffsetMin?: number;
  /** The online window: a machine unheard for longer was offline meanwhile (state time). */
  readonly onlineWindowMs?: number;
}

const MACHINE_COLUMNS = `m.enterprise, m.id, m.kind, m.nc, m.robot, m.data_depth, m.state, m.gateway,
  m.first_seen, m.last_seen_at, m.last_sample_at, m.dead, e.region_code, e.industry_code,
  h.value AS health, g.online AS gateway_online,
  m.confirmed_at, m.confirmed_by, m.retired_at, m.retired_by, m.merged_into`;

/** SQL for each machine status (rows.ts machineStatus says the same in TypeScript). */
const STATUS_SQL: Readonly<Record<MachineStatus, string>> = {
  retired: 'm.retired_at IS NOT NULL',
  confirmed: 'm.retired_at IS NULL AND m.confirmed_at IS NOT NULL',
  unconfirmed: 'm.retired_at IS NULL AND m.confirmed_at IS NULL',
};

/** Machines with their enterprise, their gateway and the health their gateway reports. */
const MACHINE_FROM = `machines m LEFT JOIN enterprises e ON e.code = m.enterprise
  LEFT JOIN gateways g ON g.group_id = m.enterprise AND g.edge_node = m.gateway
  LEFT JOIN gateway_metrics h ON h.group_id = m.enterprise AND h.edge_node = m.gateway
    AND h.name = '${DEVICE_METRIC_PREFIX}' || m.id || '/${DEVICE_HEALTH_FIELD.health}'`;

export class Registry {
  readonly #opts: RegistryOptions;
  readonly #log: Logger;
  readonly #clock: () => number;
  #db: Database.Database | undefined;
  #database: HubDatabase | undefined;
  #applier: IngestApplier | undefined;
  #state: ComponentHealth['status'] = 'starting';

  constructor(opts: RegistryOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'registry' });
    this.#clock = opts.clock ?? Date.now;
  }

  async start(): Promise<void> {
    if (this.#db !== undefined) return;
    let database: HubDatabase;
    try {
      database = HubDatabase.open(this.#opts.path);
    } catch (err) {
      throw new HubError('WANJI_E_REGISTRY', `cannot open registry ${this.#opts.path}: ${String(err)}`, {
        cause: err,
      });
    }
    // The registry's own tables: hub/registry/ is their repository code.
    const db = sqliteOf(database);
    this.#seed(db);
    this.#applier = new IngestApplier(db, this.utcOffsetMin, this.#opts.onlineWindowMs);
    this.#db = db;
    this.#database = database;
    this.#state = 'up';
    this.#log.info({ path: this.#opts.path }, 'registry open');
  }

  async close(): Promise<void> {
    const database = this.#database;
    this.#db = undefined;
    this.#database = undefined;
    this.#applier = undefined;
    this.#state = 'closed';
    database?.close();
  }

  /**
   * The open hub database (hub/database/): its repositories for the concerns that keep their
   * tables in the registry file (API tokens, MQTT credentials, the audit log, snapshots, child
   * reports, state time), and the transaction they share, so that an audit entry commits in
   * the same transaction as the change it records.
   */
  get database(): HubDatabase {
    if (this.#database === undefined) throw new HubError('WANJI_E_REGISTRY', 'registry is not started');
    return this.#database;
  }

  /** Where local days start (statistics per day), minutes east of UTC. */
  get utcOffsetMin(): number {
    return this.#opts.utcOffsetMin ?? DEFAULT_UTC_OFFSET_MIN;
  }

  /** ms since the epoch, from the injected clock. */
  now(): number {
    return this.#clock();
  }

  health(): ComponentHealth {
    return { status: this.#state };
  }

  /** Adds seed regions and industries that are missing; never overwrites edited ones. */
  #seed(db: Database.Database): void {
    const region = db.prepare(
      'INSERT OR IGNORE INTO regions (code, name_zh, name_en, aliases) VALUES (?, ?, ?, ?)',
    );
    const industry = db.prepare(
      `INSERT OR IGNORE INTO industries (code, name_zh, name_en, aliases, key_sub_industry)
       VALUES (?, ?, ?, ?, ?)`,
    );
    db.transaction(() => {
      for (const r of this.#opts.regionSeeds ?? REGION_SEEDS) {
        region.run(r.code, r.nameZh, r.nameEn, JSON.stringify(r.aliases));
      }
      for (const i of this.#opts.industrySeeds ?? INDUSTRY_SEEDS) {
        industry.run(i.code, i.nameZh, i.nameEn, JSON.stringify(i.aliases), i.keySubIndustry ? 1 : 0);
      }
    })();
  }

  #open(): Database.Database {
    if (this.#db === undefined) throw new HubError('WANJI_E_REGISTRY', 'registry is not started');
    return this.#db;
  }

  regions(): Region[] {
    return this.#open().prepare<[], RegionRow>('SELECT * FROM regions ORDER BY code').all().map(toRegion);
  }

  industries(): Industry[] {
    return this.#open()
      .prepare<[], IndustryRow>('SELECT * FROM industries ORDER BY code')
      .all()
      .map(toIndustry);
  }

  /** The region code `text` names (its code, Chinese or English name, or an alias), if any. */
  resolveRegion(text: string): string | undefined {
    return ReferenceIndex.regions(this.#open()).find(text);
  }

  /** The industry code `text` names (its code, Chinese or English name, or an alias), if any. */
  resolveIndustry(text: string): string | undefined {
    return ReferenceIndex.industries(this.#open()).find(text);
  }

  /**
   * Records a ledger declaration: the enterprise's current row becomes `decl`, and the
   * declaration is appended to its history with who made it and when, and audited, in one
   * transaction. Declaring exactly what is already declared changes nothing.
   */
  upsertEnterprise(decl: EnterpriseDeclaration, declaredBy: string, audit?: DeclareAudit): Enterprise {
    const db = this.#open();
    const problems = declarationProblems(decl);
    if (declaredBy.trim() === '') problems.push('declaredBy is empty: say who declares the ledger');
    if (problems.length > 0) {
      throw new HubError(
        'WANJI_E_REGISTRY_INVALID_DECLARATION',
        `enterprise declaration "${decl.code}": ${problems.join('; ')}`,
      );
    }
    if (db.prepare('SELECT 1 FROM regions WHERE code = ?').get(decl.regionCode) === undefined) {
      throw new HubError(
        'WANJI_E_REGISTRY_UNKNOWN_REGION',
        `enterprise "${decl.code}": region "${decl.regionCode}" is not in the registry`,
      );
    }
    if (db.prepare('SELECT 1 FROM industries WHERE code = ?').get(decl.industryCode) === undefined) {
      throw new HubError(
        'WANJI_E_REGISTRY_UNKNOWN_INDUSTRY',
        `enterprise "${decl.code}": industry "${decl.industryCode}" is not in the registry`,
      );
    }
    const row = toRow(decl, declaredBy, this.#clock());
    const writer = new LedgerWriter(this.database, this.#clock);
    const outcome = db.transaction(() => writer.declare(row, audit ?? { actor: declaredBy }))();
    this.#log.info({ enterprise: decl.code, declaredBy, outcome }, 'enterprise declared');
    return outcome === 'unchanged' ? (this.enterprise(decl.code) ?? toEnterprise(row)) : toEnterprise(row);
  }

  enterprises(): Enterprise[] {
    return this.#open()
      .prepare<[], EnterpriseRow>('SELECT * FROM enterprises ORDER BY code')
      .all()
      .map(toEnterprise);
  }

  enterprise(code: string): Enterprise | undefined {
    const row = this.#open()
      .prepare<[string], EnterpriseRow>('SELECT * FROM enterprises WHERE code = ?')
      .get(code);
    return row === undefined ? undefined : toEnterprise(row);
  }

  /** Every declaration of one enterprise, oldest first. */
  declarations(code: string): DeclarationRecord[] {
    const rows = this.#open()
      .prepare<[string], EnterpriseRow & { enterprise_code: string }>(
        'SELECT *, enterprise_code AS code FROM ledger_declarations WHERE enterprise_code = ? ORDER BY id',
      )
      .all(code);
    return rows.map((r) => {
      const e = toEnterprise(r);
      return {
        code: e.code,
        name: e.name,
        regionCode: e.regionCode,
        industryCode: e.industryCode,
        backbone: e.backbone,
        ledger: e.ledger,
        declaredBy: e.declaredBy,
        declaredAt: e.declaredAt,
      };
    });
  }

  gateways(): Gateway[] {
    return this.#open()
      .prepare<[], GatewayRow>('SELECT * FROM gateways ORDER BY group_id, edge_node')
      .all()
      .map(toGateway);
  }

  gateway(group: string, edgeNode: string): Gateway | undefined {
    const row = this.#open()
      .prepare<[string, string], GatewayRow>('SELECT * FROM gateways WHERE group_id = ? AND edge_node = ?')
      .get(group, edgeNode);
    return row === undefined ? undefined : toGateway(row);
  }

  /** The latest value of every metric of one gateway, by name. */
  gatewayMetrics(group: string, edgeNode: string): GatewayMetric[] {
    return this.#open()
      .prepare<[string, string], GatewayMetricRow>(
        'SELECT * FROM gateway_metrics WHERE group_id = ? AND edge_node = ? ORDER BY name',
      )
      .all(group, edgeNode)
      .map(toGatewayMetric);
  }

  /**
   * Per gateway ("group/edgeNode"), the metrics a fleet view needs: `Gateway/*` counters,
   * `Properties/Software` and each machine's `Devices/<id>/Health`.
   */
  gatewaySummaries(): Map<string, GatewaySummary> {
    const rows = this.#open()
      .prepare<[], GatewayMetricRow>(
        `SELECT * FROM gateway_metrics
         WHERE name GLOB 'Gateway/*' OR name = '${NODE_METRIC.software}'
            OR name GLOB '${DEVICE_METRIC_PREFIX}*/${DEVICE_HEALTH_FIELD.health}'`,
      )
      .all();
    const byGateway = new Map<string, GatewayMetric[]>();
    for (const r of rows) {
      const key = `${r.group_id}/${r.edge_node}`;
      const list = byGateway.get(key) ?? [];
      if (list.length === 0) byGateway.set(key, list);
      list.push(toGatewayMetric(r));
    }
    return new Map([...byGateway].map(([k, metrics]) => [k, summarize(metrics)]));
  }

  machines(filter: MachineFilter = {}): MachineRecord[] {
    const { where, params } = this.#machineWhere(filter);
    const sql = `SELECT ${MACHINE_COLUMNS} FROM ${MACHINE_FROM}
      ${where} ORDER BY m.enterprise, m.id LIMIT @limit OFFSET @offset`;
    return this.#open()
      .prepare<[typeof params], MachineRow>(sql)
      .all({ ...params, limit: filter.limit ?? -1, offset: filter.offset ?? 0 })
      .map(toMachine);
  }

  /** How many machines match `filter` (its limit and offset aside). */
  countMachines(filter: MachineFilter = {}): number {
    const { where, params } = this.#machineWhere(filter);
    const sql = `SELECT count(*) AS n FROM machines m LEFT JOIN enterprises e ON e.code = m.enterprise ${where}`;
    return this.#open().prepare<[typeof params], { n: number }>(sql).get(params)?.n ?? 0;
  }

  #machineWhere(filter: MachineFilter): { where: string; params: Record<string, string | number> } {
    const where: string[] = [];
    const params: Record<string, string | number> = {};
    if (filter.enterprise !== undefined) {
      where.push('m.enterprise = @enterprise');
      params.enterprise = filter.enterprise;
    }
    if (filter.region !== undefined) {
      where.push('e.region_code = @region');
      params.region = filter.region;
    }
    if (filter.industry !== undefined) {
      where.push('e.industry_code = @industry');
      params.industry = filter.industry;
    }
    if (filter.online !== undefined) {
      const online = 'm.dead = 0 AND coalesce(m.last_seen_at, 0) >= @onlineSince';
      where.push(filter.online ? `(${online})` : `NOT (${online})`);
      params.onlineSince = filter.onlineSince ?? this.#clock();
    }
    if (filter.status !== undefined) where.push(`(${STATUS_SQL[filter.status]})`);
    return { where: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '', params };
  }

  machine(enterprise: string, id: string): MachineRecord | undefined {
    const row = this.#open()
      .prepare<[string, string], MachineRow>(
        `SELECT ${MACHINE_COLUMNS} FROM ${MACHINE_FROM} WHERE m.enterprise = ? AND m.id = ?`,
      )
      .get(enterprise, id);
    return row === undefined ? undefined : toMachine(row);
  }

  /**
   * Machine counts per Sparkplug group, retired machines left out: networked since
   * `networkedSince`, online since `onlineSince`; powered on = online and not reporting
   * powered_off. A machine is one row (enterprise, id) however often it is born and whichever
   * gateway reports it. These are the measured counts; the statistics cap them by the ledger.
   */
  activityByEnterprise(networkedSince: number, onlineSince: number): EnterpriseActivity[] {
    const networked = 'coalesce(last_sample_at, 0) >= @networkedSince';
    const online = 'dead = 0 AND coalesce(last_seen_at, 0) >= @onlineSince';
    return this.#open()
      .prepare<[{ networkedSince: number; onlineSince: number }], EnterpriseActivity>(
        `SELECT enterprise, count(*) AS machines,
           coalesce(sum(${networked}), 0) AS networked,
           coalesce(sum(${online}), 0) AS online,
           coalesce(sum(${online} AND coalesce(state, '') <> 'powered_off'), 0) AS poweredOn,
           coalesce(sum(${networked} AND nc = 1), 0) AS networkedNc,
           coalesce(sum(${networked} AND robot = 1), 0) AS networkedRobots,
           coalesce(sum(${networked} AND confirmed_at IS NULL), 0) AS networkedUnconfirmed
         FROM machines WHERE retired_at IS NULL GROUP BY enterprise ORDER BY enterprise`,
      )
      .all({ networkedSince, onlineSince });
  }

  /**
   * An operator says the machine is real: it is confirmed, and no longer retired if it was.
   * Audited with the change (hub/registry/machine-status.ts).
   */
  confirmMachine(enterprise: string, id: string, by: MachineChangeBy): MachineChangeResult {
    return this.#machineStatus().confirm(enterprise, id, by);
  }

  /** Takes the machine out of every count until an operator confirms it again; a birth does not bring it back. */
  retireMachine(enterprise: string, id: string, by: MachineChangeBy): MachineChangeResult {
    return this.#machineStatus().retire(enterprise, id, by);
  }

  /**
   * Retires every unconfirmed machine of `enterprise`, or only those last announced by
   * `gateway`: after a flood of invented machines. One audit entry (machine-status.ts).
   */
  retireUnconfirmedMachines(
    enterprise: string,
    opts: { readonly gateway?: string },
    by: MachineChangeBy,
  ): BulkRetireResult {
    return this.#machineStatus().retireUnconfirmed(enterprise, opts.gateway, by);
  }

  /** Folds the duplicate `id` into `into` (same enterprise): `id` is retired with `mergedInto`. */
  mergeMachine(enterprise: string, id: string, into: string, by: MachineChangeBy): MachineChangeResult {
    return this.#machineStatus().merge(enterprise, id, into, by);
  }

  #machineStatus(): MachineStatusWriter {
    return new MachineStatusWriter(this.database, this.#clock, (e, id) => this.machine(e, id), this.#log);
  }

  /** Applies one batch from the host (births, deaths, last-seen) in a single transaction. */
  applyIngest(batch: IngestBatch): ApplyResult {
    if (this.#applier === undefined) throw new HubError('WANJI_E_REGISTRY', 'registry is not started');
    return this.#applier.apply(batch);
  }
}
