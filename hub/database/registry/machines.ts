/**
 * Machines (Sparkplug devices) as their gateways announced them, and the reads the API and the
 * statistics make of them. Written by the ingest (hub/registry/apply.ts decides what a birth,
 * a death and "last seen" mean); an operator's decisions are machine-status.ts.
 */

import { DEVICE_HEALTH_FIELD, DEVICE_METRIC_PREFIX } from '../../../protocol/index.js';
import { type Columns, columnChunks, type SqlConnection, type SqlStatement, UNNEST_CHUNK } from '../sql.js';
import type { OpenInterval } from './state-spans.js';

/** A machine with its enterprise's region and industry, its gateway's state and reported health. */
export interface MachineRow {
  enterprise: string;
  id: string;
  kind: string | null;
  nc: number | null;
  robot: number | null;
  data_depth: string | null;
  state: string | null;
  gateway: string;
  first_seen: number;
  last_seen_at: number | null;
  last_sample_at: number | null;
  dead: number;
  /** The gateway's `Devices/<id>/Health` metric, as stored. */
  health: unknown;
  gateway_online: number | null;
  region_code: string | null;
  industry_code: string | null;
  confirmed_at: number | null;
  confirmed_by: string | null;
  retired_at: number | null;
  retired_by: string | null;
  merged_into: string | null;
}

export type MachineStatusName = 'confirmed' | 'unconfirmed' | 'retired';

/** Which machines: every given condition holds. */
export interface MachineQuery {
  readonly enterprise?: string;
  readonly region?: string;
  readonly industry?: string;
  /** Only machines that are (true) or are not (false) online: not dead, heard since `since`. */
  readonly online?: { readonly is: boolean; readonly since: number };
  readonly status?: MachineStatusName;
  /** A part of the machine id, the enterprise code or its name (case-insensitive for ASCII). */
  readonly search?: string;
  /**
   * Listed for attention (the fleet page): machines not online (dead, or not heard since this
   * time) first, then those in alarm, then those their gateway reports degraded; each group
   * by enterprise and id. Absent: by enterprise and id.
   */
  readonly attentionSince?: number;
  /** Absent: all. */
  readonly limit?: number;
  readonly offset?: number;
}

/** A DBIRTH: 0/1 or null (not announced) for the booleans. */
export interface MachineBirth {
  readonly group: string;
  readonly edgeNode: string;
  readonly device: string;
  readonly at: number;
  readonly kind: string | null;
  readonly nc: number | null;
  readonly robot: number | null;
  readonly dataDepth: string | null;
}

/** Coalesced "last seen" news about one machine. */
export interface MachineSeen {
  readonly enterprise: string;
  readonly machine: string;
  readonly gateway: string;
  readonly seenAt: number;
  readonly sampleAt: number | null;
  readonly state: string | null;
  readonly stateAt: number;
}

/** What the ingest reads of a machine while it applies a batch's "last seen" rows. */
export interface MachineIngestState {
  readonly dead: boolean;
  /** Its open interval (state-spans.ts). */
  readonly open: OpenInterval;
}

/** The key by which ingestStates() answers: enterprise and machine id. */
export const machineKey = (enterprise: string, id: string): string => `${enterprise}\u0000${id}`;

/** Measured counts of one enterprise, retired machines left out. */
export interface EnterpriseActivityRow {
  enterprise: string;
  machines: number;
  networked: number;
  online: number;
  poweredOn: number;
  networkedNc: number;
  networkedRobots: number;
  networkedUnconfirmed: number;
}

/** Machines of one enterprise (retired left out) with the same announced kind, NC, robot, depth. */
export interface MachineKindRow {
  kind: string | null;
  nc: number | null;
  robot: number | null;
  data_depth: string | null;
  machines: number;
  networked: number;
}

/** One enterprise's machines by status (null: no machine at all). */
export interface MachineStatusCountsRow {
  confirmed: number | null;
  retired: number | null;
  networked_unconfirmed: number | null;
}

/** Backend-neutral: no driver types in the signatures. */
export interface MachineRepository {
  /** DBIRTH: created, or updated keeping what the birth does not announce; alive again. */
  born(b: MachineBirth): void;
  /**
   * born() for each row, with the same result as calling it for each in order (a machine born
   * twice ends as two born() leave it). On PostgreSQL one statement per UNNEST_CHUNK rows of
   * distinct machines (a machine repeated starts the next), so the births of a flush (a
   * failover's rebirths) cost one round trip, not one per machine; on SQLite, born() per row.
   */
  bornMany(rows: readonly MachineBirth[]): void;
  /** DDEATH from the gateway it was last on: dead. False when no such machine there. */
  died(group: string, edgeNode: string, device: string, at: number): boolean;
  /** NDEATH: every machine of the gateway that is alive is dead at `at`. */
  gatewayDied(group: string, edgeNode: string, at: number): void;
  /** Last seen / last sample never go back; the state only moves forward in time. */
  seen(s: MachineSeen): void;
  /**
   * seen() for each row, with the same result as calling it for each in order (a machine seen
   * twice ends as seen() twice leaves it). On PostgreSQL one statement per UNNEST_CHUNK rows,
   * so a flush costs one round trip, not one per machine; on SQLite, in process, seen() per row.
   */
  seenMany(rows: readonly MachineSeen[]): void;
  /**
   * Whether each machine is dead and its open interval, by machineKey(); machines that do not
   * exist are left out. On PostgreSQL one statement for all of them.
   */
  ingestStates(
    keys: readonly { readonly enterprise: string; readonly machine: string }[],
  ): Map<string, MachineIngestState>;
  /** Whether the machine is dead; undefined when there is no such machine. */
  isDead(enterprise: string, id: string): boolean | undefined;

  byId(enterprise: string, id: string): MachineRow | undefined;
  /** By enterprise and id. */
  list(q: MachineQuery): MachineRow[];
  /** How many match (limit and offset aside). */
  count(q: MachineQuery): number;
  /** Which machines match (limit and offset aside), enterprise and id only: a cheap "is it announced". */
  keys(q: MachineQuery): { enterprise: string; id: string }[];
  /**
   * Per enterprise, by code: machines, networked (a sample since `networkedSince`), online
   * (not dead, heard since `onlineSince`), powered on (online, not reporting powered_off),
   * networked NC / robots / unconfirmed. Retired machines left out.
   */
  activityByEnterprise(networkedSince: number, onlineSince: number): EnterpriseActivityRow[];
  /** One enterprise's machines (retired left out) by announced kind, NC, robot and data depth. */
  kindsOf(enterprise: string, networkedSince: number): MachineKindRow[];
  /** One enterprise's confirmed, retired and networked-unconfirmed machines. */
  statusCounts(enterprise: string, networkedSince: number): MachineStatusCountsRow | undefined;
}

const MACHINE_COLUMNS = `m.enterprise, m.id, m.kind, m.nc, m.robot, m.data_depth, m.state, m.gateway,
  m.first_seen, m.last_seen_at, m.last_sample_at, m.dead, e.region_code, e.industry_code,
  h.value AS health, g.online AS gateway_online,
  m.confirmed_at, m.confirmed_by, m.retired_at, m.retired_by, m.merged_into`;

/** Machines with their enterprise, their gateway and the health their gateway reports. */
const MACHINE_FROM = `machines m LEFT JOIN enterprises e ON e.code = m.enterprise
  LEFT JOIN gateways g ON g.group_id = m.enterprise AND g.edge_node = m.gateway
  LEFT JOIN gateway_metrics h ON h.group_id = m.enterprise AND h.edge_node = m.gateway
    AND h.name = '${DEVICE_METRIC_PREFIX}' || m.id || '/${DEVICE_HEALTH_FIELD.health}'`;

/** SQL for each machine status (hub/registry/rows.ts machineStatus says the same in TypeScript). */
const STATUS_SQL: Readonly<Record<MachineStatusName, string>> = {
  retired: 'm.retired_at IS NOT NULL',
  confirmed: 'm.retired_at IS NULL AND m.confirmed_at IS NOT NULL',
  unconfirmed: 'm.retired_at IS NULL AND m.confirmed_at IS NULL',
};

type QueryParams = Record<string, string | number>;

/** Not online first (false sorts before true), then alarm, then degraded health (MachineQuery). */
const ATTENTION_ORDER = `(m.dead = 0 AND coalesce(m.last_seen_at, 0) >= @attentionSince),
  coalesce(m.state, '') <> 'alarm', coalesce(h.value, '') <> 'degraded'`;

/** What a birth does to a machine already known: born() and bornMany() alike. */
const BIRTH_CONFLICT = `ON CONFLICT (enterprise, id) DO UPDATE SET
  kind = coalesce(excluded.kind, machines.kind), nc = coalesce(excluded.nc, machines.nc),
  robot = coalesce(excluded.robot, machines.robot),
  data_depth = coalesce(excluded.data_depth, machines.data_depth),
  gateway = excluded.gateway, last_birth_at = excluded.last_birth_at, dead = 0,
  last_seen_at = max(coalesce(machines.last_seen_at, 0), excluded.last_seen_at)`;

export class SqliteMachineRepository implements MachineRepository {
  readonly #db: SqlConnection;
  /** Statements of list() and count(), by SQL: one per combination of conditions used. */
  readonly #queries = new Map<string, SqlStatement<[QueryParams], unknown>>();
  readonly #born: SqlStatement<[MachineBirth]>;
  /** PostgreSQL only: born() for many distinct machines, one array per column (unnest). */
  readonly #bornMany: SqlStatement<[BirthColumns]> | undefined;
  readonly #died: SqlStatement<[{ group: string; edgeNode: string; device: string; at: number }]>;
  readonly #gatewayDied: SqlStatement<[{ group: string; edgeNode: string; at: number }]>;
  readonly #seen: SqlStatement<SeenParams>;
  /** SQLite only: #seen for a machine whose gateway is the row's. */
  readonly #seenOnGateway: SqlStatement<SeenParams> | undefined;
  readonly #isDead: SqlStatement<[string, string], { dead: number }>;
  /** PostgreSQL only: seen() for many rows, one array per column (unnest). */
  readonly #seenMany: SqlStatement<[SeenColumns]> | undefined;
  readonly #ingestState: SqlStatement<[string, string], IngestStateRow> | undefined;
  readonly #ingestStates: SqlStatement<[string[], string[]], IngestStateRow & KeyRow> | undefined;
  readonly #byId: SqlStatement<[string, string], MachineRow>;
  readonly #activity: SqlStatement<[{ networkedSince: number; onlineSince: number }], EnterpriseActivityRow>;
  readonly #kinds: SqlStatement<[{ enterprise: string; since: number }], MachineKindRow>;
  readonly #statusCounts: SqlStatement<[{ enterprise: string; since: number }], MachineStatusCountsRow>;

  constructor(db: SqlConnection) {
    this.#db = db;
    this.#born = db.prepare(
      `INSERT INTO machines (enterprise, id, kind, nc, robot, data_depth, gateway, first_seen,
                             last_birth_at, last_seen_at, dead)
       VALUES (@group, @device, @kind, @nc, @robot, @dataDepth, @edgeNode, @at, @at, @at, 0)
       ${BIRTH_CONFLICT}`,
    );
    this.#died = db.prepare(
      `UPDATE machines SET dead = 1, last_death_at = @at
       WHERE enterprise = @group AND id = @device AND gateway = @edgeNode`,
    );
    this.#gatewayDied = db.prepare(
      `UPDATE machines SET dead = 1, last_death_at = @at
       WHERE enterprise = @group AND gateway = @edgeNode AND dead = 0`,
    );
    // Positional: binding an object's named values cost SQLite a third more a row (the ingest
    // runs it once per machine per flush). Both statements take seenParams().
    this.#seen = db.prepare(`UPDATE machines SET ${SEEN_TIMES}, gateway = ? WHERE enterprise = ? AND id = ?`);
    // For a machine still on the row's gateway (nearly every row): `gateway` left out of SET, so
    // SQLite does not rewrite the machine's machines_by_gateway entry (a third of the statement's
    // cost). No row changed: the gateway differs (or there is no such machine), #seen follows.
    this.#seenOnGateway =
      db.dialect === 'sqlite'
        ? db.prepare(`UPDATE machines SET ${SEEN_TIMES} WHERE gateway = ? AND enterprise = ? AND id = ?`)
        : undefined;
    this.#isDead = db.prepare('SELECT dead FROM machines WHERE enterprise = ? AND id = ?');
    if (db.dialect === 'postgres') {
      // The same values and assignments as #born, from one row of arrays; an INSERT … ON
      // CONFLICT changes each machine once, so bornMany() sends a repeated machine in the next.
      this.#bornMany = db.prepare(
        `INSERT INTO machines (enterprise, id, kind, nc, robot, data_depth, gateway, first_seen,
                               last_birth_at, last_seen_at, dead)
         SELECT b.enterprise, b.id, b.kind, b.nc, b.robot, b.data_depth, b.gateway, b.at, b.at, b.at, 0
         FROM unnest(@group::text[], @device::text[], @kind::text[], @nc::bigint[], @robot::bigint[],
                     @dataDepth::text[], @edgeNode::text[], @at::bigint[])
           AS b(enterprise, id, kind, nc, robot, data_depth, gateway, at)
         ${BIRTH_CONFLICT}`,
      );
      // The same assignments as #seen, from one row of arrays: seenMany() merges a machine's
      // repeated rows first, since an UPDATE … FROM changes each machine once.
      this.#seenMany = db.prepare(
        `UPDATE machines AS m SET
           gateway = s.gateway,
           last_seen_at = max(coalesce(m.last_seen_at, 0), s.seen_at),
           last_sample_at = CASE WHEN s.sample_at IS NULL THEN m.last_sample_at
                                 ELSE max(coalesce(m.last_sample_at, 0), s.sample_at) END,
           state = CASE WHEN s.state IS NOT NULL AND s.state_at >= coalesce(m.state_at, 0) THEN s.state
                        ELSE m.state END,
           state_at = CASE WHEN s.state IS NOT NULL AND s.state_at >= coalesce(m.state_at, 0) THEN s.state_at
                           ELSE m.state_at END
         FROM unnest(@enterprise::text[], @machine::text[], @gateway::text[], @seenAt::bigint[],
                     @sampleAt::bigint[], @state::text[], @stateAt::bigint[])
           AS s(enterprise, id, gateway, seen_at, sample_at, state, state_at)
         WHERE m.enterprise = s.enterprise AND m.id = s.id`,
      );
      this.#ingestStates = db.prepare(
        `SELECT m.enterprise, m.id, m.dead, m.since_state, m.since_at
         FROM unnest(?::text[], ?::text[]) AS k(enterprise, id)
         JOIN machines m ON m.enterprise = k.enterprise AND m.id = k.id`,
      );
    } else {
      this.#ingestState = db.prepare(
        'SELECT dead, since_state, since_at FROM machines WHERE enterprise = ? AND id = ?',
      );
    }
    this.#byId = db.prepare(
      `SELECT ${MACHINE_COLUMNS} FROM ${MACHINE_FROM} WHERE m.enterprise = ? AND m.id = ?`,
    );
    const networked = 'coalesce(last_sample_at, 0) >= @networkedSince';
    const online = 'dead = 0 AND coalesce(last_seen_at, 0) >= @onlineSince';
    // How many rows a condition holds for: SQLite sums its 0/1; PostgreSQL sums it as an integer
    // (NULL stays NULL, as in SQLite), not through the schema's sum(boolean), which is slower.
    const trues = (cond: string): string =>
      db.dialect === 'postgres' ? `sum((${cond})::int)` : `sum(${cond})`;
    this.#activity = db.prepare(
      `SELECT enterprise, count(*) AS machines,
         coalesce(${trues(networked)}, 0) AS networked,
         coalesce(${trues(online)}, 0) AS online,
         coalesce(${trues(`${online} AND coalesce(state, '') <> 'powered_off'`)}, 0) AS poweredOn,
         coalesce(${trues(`${networked} AND nc = 1`)}, 0) AS networkedNc,
         coalesce(${trues(`${networked} AND robot = 1`)}, 0) AS networkedRobots,
         coalesce(${trues(`${networked} AND confirmed_at IS NULL`)}, 0) AS networkedUnconfirmed
       FROM machines WHERE retired_at IS NULL GROUP BY enterprise ORDER BY enterprise`,
    );
    this.#kinds = db.prepare(
      `SELECT kind, nc, robot, data_depth, count(*) AS machines,
         coalesce(${trues('coalesce(last_sample_at, 0) >= @since')}, 0) AS networked
       FROM machines WHERE enterprise = @enterprise AND retired_at IS NULL
       GROUP BY kind, nc, robot, data_depth ORDER BY kind, nc, robot, data_depth`,
    );
    this.#statusCounts = db.prepare(
      `SELECT ${trues('retired_at IS NULL AND confirmed_at IS NOT NULL')} AS confirmed,
         ${trues('retired_at IS NOT NULL')} AS retired,
         ${trues('retired_at IS NULL AND confirmed_at IS NULL AND coalesce(last_sample_at, 0) >= @since')}
           AS networked_unconfirmed
       FROM machines WHERE enterprise = @enterprise`,
    );
  }

  born(b: MachineBirth): void {
    this.#born.run(b);
  }

  bornMany(rows: readonly MachineBirth[]): void {
    if (this.#bornMany === undefined) {
      for (const r of rows) this.#born.run(r);
      return;
    }
    let run: MachineBirth[] = [];
    const keys = new Set<string>();
    const send = (): void => {
      for (const c of columnChunks(run, BIRTH_COLUMNS)) this.#bornMany?.run(c);
      run = [];
      keys.clear();
    };
    for (const r of rows) {
      const key = machineKey(r.group, r.device);
      if (keys.has(key) || run.length >= UNNEST_CHUNK) send();
      keys.add(key);
      run.push(r);
    }
    send();
  }

  died(group: string, edgeNode: string, device: string, at: number): boolean {
    return this.#died.run({ group, edgeNode, device, at }).changes > 0;
  }

  gatewayDied(group: string, edgeNode: string, at: number): void {
    this.#gatewayDied.run({ group, edgeNode, at });
  }

  seen(s: MachineSeen): void {
    const values = seenParams(s);
    if (this.#seenOnGateway !== undefined && this.#seenOnGateway.run(...values).changes > 0) return;
    this.#seen.run(...values);
  }

  seenMany(rows: readonly MachineSeen[]): void {
    if (this.#seenMany === undefined) {
      for (const r of rows) this.seen(r);
      return;
    }
    for (const c of columnChunks(mergeSeen(rows), SEEN_COLUMNS)) this.#seenMany.run(c);
  }

  ingestStates(
    keys: readonly { readonly enterprise: string; readonly machine: string }[],
  ): Map<string, MachineIngestState> {
    const out = new Map<string, MachineIngestState>();
    const put = (enterprise: string, id: string, r: IngestStateRow): void => {
      out.set(machineKey(enterprise, id), {
        dead: r.dead !== 0,
        open: { state: r.since_state, since: r.since_at },
      });
    };
    if (this.#ingestStates === undefined) {
      for (const k of keys) {
        const r = this.#ingestState?.get(k.enterprise, k.machine);
        if (r !== undefined) put(k.enterprise, k.machine, r);
      }
      return out;
    }
    const unique = new Map(keys.map((k) => [machineKey(k.enterprise, k.machine), k]));
    if (unique.size === 0) return out;
    const enterprises: string[] = [];
    const ids: string[] = [];
    for (const k of unique.values()) {
      enterprises.push(k.enterprise);
      ids.push(k.machine);
    }
    for (const r of this.#ingestStates.all(enterprises, ids)) put(r.enterprise, r.id, r);
    return out;
  }

  isDead(enterprise: string, id: string): boolean | undefined {
    const row = this.#isDead.get(enterprise, id);
    return row === undefined ? undefined : row.dead !== 0;
  }

  byId(enterprise: string, id: string): MachineRow | undefined {
    return this.#byId.get(enterprise, id);
  }

  list(q: MachineQuery): MachineRow[] {
    const { where, params } = machineWhere(q);
    const attention = q.attentionSince === undefined ? '' : `${ATTENTION_ORDER}, `;
    const sql = `SELECT ${MACHINE_COLUMNS} FROM ${MACHINE_FROM}
      ${where} ORDER BY ${attention}m.enterprise, m.id LIMIT @limit OFFSET @offset`;
    return this.#query(sql).all({
      ...params,
      ...(q.attentionSince === undefined ? {} : { attentionSince: q.attentionSince }),
      limit: q.limit ?? -1,
      offset: q.offset ?? 0,
    }) as MachineRow[];
  }

  count(q: MachineQuery): number {
    const { where, params } = machineWhere(q);
    const sql = `SELECT count(*) AS n FROM machines m LEFT JOIN enterprises e ON e.code = m.enterprise ${where}`;
    return (this.#query(sql).get(params) as { n: number } | undefined)?.n ?? 0;
  }

  keys(q: MachineQuery): { enterprise: string; id: string }[] {
    const { where, params } = machineWhere(q);
    const sql = `SELECT m.enterprise, m.id FROM machines m LEFT JOIN enterprises e ON e.code = m.enterprise ${where}`;
    return this.#query(sql).all(params) as { enterprise: string; id: string }[];
  }

  activityByEnterprise(networkedSince: number, onlineSince: number): EnterpriseActivityRow[] {
    return this.#activity.all({ networkedSince, onlineSince });
  }

  kindsOf(enterprise: string, networkedSince: number): MachineKindRow[] {
    return this.#kinds.all({ enterprise, since: networkedSince });
  }

  statusCounts(enterprise: string, networkedSince: number): MachineStatusCountsRow | undefined {
    return this.#statusCounts.get({ enterprise, since: networkedSince });
  }

  #query(sql: string): SqlStatement<[QueryParams], unknown> {
    let s = this.#queries.get(sql);
    if (s === undefined) {
      s = this.#db.prepare<[QueryParams], unknown>(sql);
      this.#queries.set(sql, s);
    }
    return s;
  }
}

interface IngestStateRow {
  dead: number;
  since_state: string | null;
  since_at: number | null;
}

interface KeyRow {
  enterprise: string;
  id: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A birth's fields in bornMany()'s statement, in its unnest() order. */
const BIRTH_COLUMNS = ['group', 'device', 'kind', 'nc', 'robot', 'dataDepth', 'edgeNode', 'at'] as const;
type BirthColumns = Columns<MachineBirth, (typeof BIRTH_COLUMNS)[number]>;

/**
 * What seen() sets but the gateway, from the first nine of seenParams(): the times never go back,
 * a state applies when stamped at or after the one held.
 */
const SEEN_TIMES = `
  last_seen_at = max(coalesce(last_seen_at, 0), ?),
  last_sample_at = CASE WHEN CAST(? AS BIGINT) IS NULL THEN last_sample_at
                        ELSE max(coalesce(last_sample_at, 0), ?) END,
  state = CASE WHEN CAST(? AS TEXT) IS NOT NULL AND ? >= coalesce(state_at, 0) THEN ? ELSE state END,
  state_at = CASE WHEN CAST(? AS TEXT) IS NOT NULL AND ? >= coalesce(state_at, 0) THEN ? ELSE state_at END`;

type SeenParams = [
  number,
  number | null,
  number | null,
  string | null,
  number,
  string | null,
  string | null,
  number,
  number,
  string,
  string,
  string,
];

/** The values of #seen and #seenOnGateway, in their order: SEEN_TIMES', the gateway, the machine. */
function seenParams(r: MachineSeen): SeenParams {
  return [
    r.seenAt,
    r.sampleAt,
    r.sampleAt,
    r.state,
    r.stateAt,
    r.state,
    r.state,
    r.stateAt,
    r.stateAt,
    r.gateway,
    r.enterprise,
    r.machine,
  ];
}

/** A seen row's fields in seenMany()'s statement, in its unnest() order. */
const SEEN_COLUMNS = ['enterprise', 'machine', 'gateway', 'seenAt', 'sampleAt', 'state', 'stateAt'] as const;
type SeenColumns = Columns<MachineSeen, (typeof SEEN_COLUMNS)[number]>;

/**
 * One row per machine, where applying it once leaves the machine as applying `rows` one by one
 * would (the #seen statement): the last gateway; the latest seen and sample times; of the rows
 * with a state, the one stamped latest, the later row on a tie (each applies when its time is at
 * or after the one before). First appearance order.
 */
export function mergeSeen(rows: readonly MachineSeen[]): MachineSeen[] {
  const byKey = new Map<string, Mutable<MachineSeen>>();
  for (const r of rows) {
    const key = machineKey(r.enterprise, r.machine);
    const m = byKey.get(key);
    if (m === undefined) {
      byKey.set(key, { ...r });
      continue;
    }
    m.gateway = r.gateway;
    m.seenAt = Math.max(m.seenAt, r.seenAt);
    if (r.sampleAt !== null) m.sampleAt = m.sampleAt === null ? r.sampleAt : Math.max(m.sampleAt, r.sampleAt);
    if (r.state !== null && (m.state === null || r.stateAt >= m.stateAt)) {
      m.state = r.state;
      m.stateAt = r.stateAt;
    }
  }
  return [...byKey.values()];
}

function machineWhere(q: MachineQuery): { where: string; params: QueryParams } {
  const where: string[] = [];
  const params: QueryParams = {};
  if (q.enterprise !== undefined) {
    where.push('m.enterprise = @enterprise');
    params.enterprise = q.enterprise;
  }
  if (q.region !== undefined) {
    where.push('e.region_code = @region');
    params.region = q.region;
  }
  if (q.industry !== undefined) {
    where.push('e.industry_code = @industry');
    params.industry = q.industry;
  }
  if (q.online !== undefined) {
    const online = 'm.dead = 0 AND coalesce(m.last_seen_at, 0) >= @onlineSince';
    where.push(q.online.is ? `(${online})` : `NOT (${online})`);
    params.onlineSince = q.online.since;
  }
  if (q.status !== undefined) where.push(`(${STATUS_SQL[q.status]})`);
  if (q.search !== undefined) {
    where.push(
      "(m.id LIKE @search ESCAPE '\\' OR m.enterprise LIKE @search ESCAPE '\\' OR e.name LIKE @search ESCAPE '\\')",
    );
    params.search = `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  }
  return { where: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '', params };
}
