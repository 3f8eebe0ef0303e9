/**
 * The hub's registry: reference data (regions, industries), enterprises and their ledger
 * declarations, gateways and machines. Its tables are in the hub database (one SQLite file in
 * the data dir); their SQL is in hub/database/registry/, the rules here.
 */
import type { Logger } from 'pino';
import {
  type EnterpriseDeclaration,
  INDUSTRY_SEEDS,
  type IndustrySeed,
  REGION_SEEDS,
  type RegionSeed,
} from '../../protocol/index.js';
import { HubDatabase } from '../database/database.js';
import { postgresTimeouts, redactedUrl } from '../database/postgres/options.js';
import type { MachineQuery } from '../database/registry/machines.js';
import { type ComponentHealth, HubError } from '../errors.js';
import { type Programme, programmeOf } from '../stats/programme.js';
import { type ApplyResult, IngestApplier } from './apply.js';
import { DEFAULT_UTC_OFFSET_MIN, localDay } from './days.js';
import {
  type ConnectionDetail,
  connectionsOf,
  type GatewaySummary,
  summariesOf,
  toGatewayMetric,
} from './gateway-metrics.js';
import { type DeclareAudit, declarationProblems, LedgerWriter, ReferenceIndex, toRow } from './ledger.js';
import {
  type BulkRetireResult,
  type MachineChangeBy,
  type MachineChangeResult,
  MachineStatusWriter,
} from './machine-status.js';
import { targets } from './programme-records.js';
import { toEnterprise, toGateway, toIndustry, toMachine, toRegion } from './rows.js';
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
  Region,
} from './types.js';

export interface RegistryOptions {
  /** SQLite file, e.g. `<dataDir>/registry.db` (unused when `postgres` is set). */
  readonly path: string;
  /** A PostgreSQL database instead of the file (config `registry`, docs/hub.md). */
  readonly postgres?: { readonly url: string; readonly statementTimeoutMs: number };
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

export class Registry {
  readonly #opts: RegistryOptions;
  readonly #log: Logger;
  readonly #clock: () => number;
  #database: HubDatabase | undefined;
  #applier: IngestApplier | undefined;
  #state: ComponentHealth['status'] = 'starting';
  /** The targets in force, derived from the target rows; kept until they change or the year turns. */
  #programme: { readonly key: string; readonly value: Programme } | undefined;

  constructor(opts: RegistryOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'registry' });
    this.#clock = opts.clock ?? Date.now;
  }

  async start(): Promise<void> {
    if (this.#database !== undefined) return;
    let database: HubDatabase;
    const pg = this.#opts.postgres;
    const where = pg === undefined ? this.#opts.path : redactedUrl(pg.url);
    try {
      database =
        pg === undefined
          ? HubDatabase.open(this.#opts.path)
          : HubDatabase.openPostgres(pg.url, postgresTimeouts(pg.statementTimeoutMs));
    } catch (err) {
      throw new HubError('WANJI_E_REGISTRY', `cannot open registry ${where}: ${String(err)}`, {
        cause: err,
      });
    }
    this.#seed(database);
    this.#applier = new IngestApplier(database, this.utcOffsetMin, this.#opts.onlineWindowMs);
    this.#database = database;
    this.#state = 'up';
    this.#log.info({ path: where }, 'registry open');
  }

  async close(): Promise<void> {
    const database = this.#database;
    this.#database = undefined;
    this.#applier = undefined;
    this.#programme = undefined;
    this.#state = 'closed';
    database?.close();
  }

  /**
   * The open hub database (hub/database/): a repository per concern (the registry's tables, API
   * tokens, MQTT credentials, the audit log, snapshots, child reports, state time), and the
   * transaction they share, so that an audit entry commits in the same transaction as the
   * change it records.
   */
  get database(): HubDatabase {
    if (this.#database === undefined) throw new HubError('WANJI_E_REGISTRY', 'registry is not started');
    return this.#database;
  }

  /** Where local days start (statistics per day), minutes east of UTC. */
  get utcOffsetMin(): number {
    return this.#opts.utcOffsetMin ?? DEFAULT_UTC_OFFSET_MIN;
  }

  /** The programme's targets (by region) and backbone thresholds the statistics apply now. */
  get programme(): Programme {
    return this.programmeAt(this.now());
  }

  /**
   * The targets in force in the local year of `now` (docs/statistics.md, "Targets and
   * thresholds"), derived from the registry's target rows, the one source. The statistics ask
   * on every computation: the derivation is kept until a target row changes (the repository's
   * version, which also sees another process's commit) or the year turns.
   */
  programmeAt(now: number): Programme {
    const db = this.database;
    const year = Number(localDay(now, this.utcOffsetMin).slice(0, 4));
    const key = `${year}\u0000${db.targets.version()}`;
    if (this.#programme?.key !== key) this.#programme = { key, value: programmeOf(targets(this), year) };
    return this.#programme.value;
  }

  /** ms since the epoch, from the injected clock. */
  now(): number {
    return this.#clock();
  }

  health(): ComponentHealth {
    return { status: this.#state };
  }

  /** Adds seed regions and industries that are missing; never overwrites edited ones. */
  #seed(db: HubDatabase): void {
    const reference = db.reference;
    db.transaction(() => {
      for (const r of this.#opts.regionSeeds ?? REGION_SEEDS) {
        reference.addRegionIfMissing({
          code: r.code,
          name_zh: r.nameZh,
          name_en: r.nameEn,
          aliases: JSON.stringify(r.aliases),
        });
      }
      for (const i of this.#opts.industrySeeds ?? INDUSTRY_SEEDS) {
        reference.addIndustryIfMissing({
          code: i.code,
          name_zh: i.nameZh,
          name_en: i.nameEn,
          aliases: JSON.stringify(i.aliases),
          key_sub_industry: i.keySubIndustry ? 1 : 0,
        });
      }
    });
  }

  #open(): HubDatabase {
    if (this.#database === undefined) throw new HubError('WANJI_E_REGISTRY', 'registry is not started');
    return this.#database;
  }

  regions(): Region[] {
    return this.#open().reference.regions().map(toRegion);
  }

  industries(): Industry[] {
    return this.#open().reference.industries().map(toIndustry);
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
    if (!db.reference.regionExists(decl.regionCode)) {
      throw new HubError(
        'WANJI_E_REGISTRY_UNKNOWN_REGION',
        `enterprise "${decl.code}": region "${decl.regionCode}" is not in the registry`,
      );
    }
    if (!db.reference.industryExists(decl.industryCode)) {
      throw new HubError(
        'WANJI_E_REGISTRY_UNKNOWN_INDUSTRY',
        `enterprise "${decl.code}": industry "${decl.industryCode}" is not in the registry`,
      );
    }
    const row = toRow(decl, declaredBy, this.#clock());
    const writer = new LedgerWriter(db, this.#clock);
    const outcome = db.transaction(() => writer.declare(row, audit ?? { actor: declaredBy }));
    this.#log.info({ enterprise: decl.code, declaredBy, outcome }, 'enterprise declared');
    return outcome === 'unchanged' ? (this.enterprise(decl.code) ?? toEnterprise(row)) : toEnterprise(row);
  }

  enterprises(): Enterprise[] {
    return this.#open().enterprises.list().map(toEnterprise);
  }

  enterprise(code: string): Enterprise | undefined {
    const row = this.#open().enterprises.byCode(code);
    return row === undefined ? undefined : toEnterprise(row);
  }

  /** Every declaration of one enterprise, oldest first. */
  declarations(code: string): DeclarationRecord[] {
    return this.#open()
      .ledgers.history(code)
      .map((r) => {
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
    return this.#open().gateways.list().map(toGateway);
  }

  gateway(group: string, edgeNode: string): Gateway | undefined {
    const row = this.#open().gateways.byId(group, edgeNode);
    return row === undefined ? undefined : toGateway(row);
  }

  /** The latest value of every metric of one gateway, by name. */
  gatewayMetrics(group: string, edgeNode: string): GatewayMetric[] {
    return this.#open().gatewayMetrics.of(group, edgeNode).map(toGatewayMetric);
  }

  /**
   * Per gateway ("group/edgeNode"), the metrics a fleet view needs: `Gateway/*` counters,
   * `Properties/Software` and each machine's `Devices/<id>/Health`.
   */
  gatewaySummaries(): Map<string, GatewaySummary> {
    return summariesOf(this.#open().gatewayMetrics.fleetSummaryRows());
  }

  /** Per gateway ("group/edgeNode"), its connections' counters: one read for the whole fleet. */
  gatewayConnections(): Map<string, ConnectionDetail[]> {
    return connectionsOf(this.#open().gatewayMetrics.connectionRows());
  }

  /**
   * Per gateway, as gatewaySummaries, of the `Devices/<id>/Health` of machines never announced
   * only: what the machine list adds of them (hub/api/routes/reported-machines.ts), without
   * reading the whole fleet's metrics.
   */
  unannouncedHealthSummaries(): Map<string, GatewaySummary> {
    return summariesOf(this.#open().gatewayMetrics.unannouncedHealthRows());
  }

  machines(filter: MachineFilter = {}): MachineRecord[] {
    return this.#open().machines.list(this.#machineQuery(filter)).map(toMachine);
  }

  /** Which machines match `filter` (its limit and offset aside): "enterprise\u0000id" each. */
  machineKeys(filter: MachineFilter = {}): Set<string> {
    const { limit: _limit, offset: _offset, attentionSince: _order, ...query } = this.#machineQuery(filter);
    return new Set(
      this.#open()
        .machines.keys(query)
        .map((k) => `${k.enterprise}\u0000${k.id}`),
    );
  }

  /** How many machines match `filter` (its limit and offset aside). */
  countMachines(filter: MachineFilter = {}): number {
    const { limit: _limit, offset: _offset, attentionSince: _order, ...query } = this.#machineQuery(filter);
    return this.#open().machines.count(query);
  }

  /** The filter as the machine repository takes it: "online" is since `onlineSince`, by default now. */
  #machineQuery(filter: MachineFilter): MachineQuery {
    const { online, onlineSince, attention, ...filtered } = filter;
    const rest =
      attention === true ? { ...filtered, attentionSince: onlineSince ?? this.#clock() } : filtered;
    return online === undefined
      ? rest
      : { ...rest, online: { is: online, since: onlineSince ?? this.#clock() } };
  }

  machine(enterprise: string, id: string): MachineRecord | undefined {
    const row = this.#open().machines.byId(enterprise, id);
    return row === undefined ? undefined : toMachine(row);
  }

  /**
   * Machine counts per Sparkplug group, retired machines left out: networked since
   * `networkedSince`, online since `onlineSince`; powered on = online and not reporting
   * powered_off. A machine is one row (enterprise, id) however often it is born and whichever
   * gateway reports it. These are the measured counts; the statistics cap them by the ledger.
   */
  activityByEnterprise(networkedSince: number, onlineSince: number): EnterpriseActivity[] {
    return this.#open().machines.activityByEnterprise(networkedSince, onlineSince);
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
