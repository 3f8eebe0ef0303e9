/**
 * What an operator decided about a machine (confirmed, retired, merged into another): the
 * columns of `machines` a birth never touches. hub/registry/machine-status.ts decides what each
 * change means, refuses what it may not do and audits it, in one HubDatabase transaction.
 */
import type { SqlConnection, SqlStatement } from '../sql.js';

/** Who made a change, and when (ms). */
export interface MachineDecision {
  readonly enterprise: string;
  readonly id: string;
  readonly at: number;
  readonly actor: string;
}

/** What a duplicate knew that the machine it is merged into takes over (null: nothing). */
export interface MachineEvidence {
  readonly firstSeen: number;
  readonly lastSeenAt: number | null;
  readonly lastSampleAt: number | null;
  readonly kind: string | null;
  /** 0/1 */
  readonly nc: number | null;
  /** 0/1 */
  readonly robot: number | null;
  readonly dataDepth: string | null;
}

/** Backend-neutral: no driver types in the signatures. */
export interface MachineStatusRepository {
  /** Confirmed by `actor` at `at`, and no longer retired or merged. */
  confirm(d: MachineDecision): void;
  /** Retired by `actor` at `at`. */
  retire(d: MachineDecision): void;
  /** Whether the enterprise is declared or has machines. */
  enterpriseHasMachinesOrLedger(enterprise: string): boolean;
  /** Whether the enterprise has the gateway, or machines last announced by it. */
  gatewayHasMachinesOrRow(enterprise: string, gateway: string): boolean;
  /** The first `limit` unconfirmed, not retired machines, by id (of one gateway, when given). */
  unconfirmedIds(enterprise: string, gateway: string | undefined, limit: number): string[];
  /** Retires every unconfirmed machine (of one gateway, when given); how many. */
  retireUnconfirmed(enterprise: string, gateway: string | undefined, at: number, actor: string): number;
  /** `d.id` is retired as merged into `into`; machines merged into `d.id` before now point to `into`. */
  mergeInto(d: MachineDecision, into: string): void;
  /**
   * `into` keeps the more recent evidence (first seen the earliest, last seen and last sample
   * the latest) and takes the announced kind, NC, robot and data depth where it has none.
   */
  absorb(enterprise: string, into: string, evidence: MachineEvidence): void;
}

const UNCONFIRMED = 'enterprise = @enterprise AND retired_at IS NULL AND confirmed_at IS NULL';
const ON_GATEWAY = ' AND gateway = @gateway';

export class SqliteMachineStatusRepository implements MachineStatusRepository {
  readonly #confirm: SqlStatement<[MachineDecision]>;
  readonly #retire: SqlStatement<[MachineDecision]>;
  readonly #enterpriseKnown: SqlStatement<[string, string], { n: number }>;
  readonly #gatewayKnown: SqlStatement<[string, string, string, string], { n: number }>;
  readonly #unconfirmedIds: SqlStatement<[{ enterprise: string; limit: number }], { id: string }>;
  readonly #unconfirmedIdsOn: SqlStatement<
    [{ enterprise: string; gateway: string; limit: number }],
    { id: string }
  >;
  readonly #retireUnconfirmed: SqlStatement<[{ enterprise: string; at: number; actor: string }]>;
  readonly #retireUnconfirmedOn: SqlStatement<
    [{ enterprise: string; gateway: string; at: number; actor: string }]
  >;
  readonly #merge: SqlStatement<[MachineDecision & { into: string }]>;
  readonly #repoint: SqlStatement<[{ enterprise: string; id: string; into: string }]>;
  readonly #absorb: SqlStatement<[MachineEvidence & { enterprise: string; into: string }]>;

  constructor(db: SqlConnection) {
    this.#confirm = db.prepare(
      `UPDATE machines SET confirmed_at = @at, confirmed_by = @actor,
         retired_at = NULL, retired_by = NULL, merged_into = NULL
       WHERE enterprise = @enterprise AND id = @id`,
    );
    this.#retire = db.prepare(
      `UPDATE machines SET retired_at = @at, retired_by = @actor
       WHERE enterprise = @enterprise AND id = @id`,
    );
    this.#enterpriseKnown = db.prepare(
      `SELECT (SELECT count(*) FROM enterprises WHERE code = ?)
            + (SELECT count(*) FROM machines WHERE enterprise = ?) AS n`,
    );
    this.#gatewayKnown = db.prepare(
      `SELECT (SELECT count(*) FROM gateways WHERE group_id = ? AND edge_node = ?)
            + (SELECT count(*) FROM machines WHERE enterprise = ? AND gateway = ?) AS n`,
    );
    this.#unconfirmedIds = db.prepare(
      `SELECT id FROM machines WHERE ${UNCONFIRMED} ORDER BY id LIMIT @limit`,
    );
    this.#unconfirmedIdsOn = db.prepare(
      `SELECT id FROM machines WHERE ${UNCONFIRMED}${ON_GATEWAY} ORDER BY id LIMIT @limit`,
    );
    this.#retireUnconfirmed = db.prepare(
      `UPDATE machines SET retired_at = @at, retired_by = @actor WHERE ${UNCONFIRMED}`,
    );
    this.#retireUnconfirmedOn = db.prepare(
      `UPDATE machines SET retired_at = @at, retired_by = @actor WHERE ${UNCONFIRMED}${ON_GATEWAY}`,
    );
    this.#merge = db.prepare(
      `UPDATE machines SET retired_at = @at, retired_by = @actor, merged_into = @into
       WHERE enterprise = @enterprise AND id = @id`,
    );
    this.#repoint = db.prepare(
      'UPDATE machines SET merged_into = @into WHERE enterprise = @enterprise AND merged_into = @id',
    );
    this.#absorb = db.prepare(
      `UPDATE machines SET
         first_seen = min(first_seen, @firstSeen),
         last_seen_at = CASE WHEN CAST(@lastSeenAt AS BIGINT) IS NULL THEN last_seen_at
           ELSE max(coalesce(last_seen_at, 0), @lastSeenAt) END,
         last_sample_at = CASE WHEN CAST(@lastSampleAt AS BIGINT) IS NULL THEN last_sample_at
           ELSE max(coalesce(last_sample_at, 0), @lastSampleAt) END,
         kind = coalesce(kind, @kind), nc = coalesce(nc, @nc), robot = coalesce(robot, @robot),
         data_depth = coalesce(data_depth, @dataDepth)
       WHERE enterprise = @enterprise AND id = @into`,
    );
  }

  confirm(d: MachineDecision): void {
    this.#confirm.run(pick(d));
  }

  retire(d: MachineDecision): void {
    this.#retire.run(pick(d));
  }

  enterpriseHasMachinesOrLedger(enterprise: string): boolean {
    return (this.#enterpriseKnown.get(enterprise, enterprise)?.n ?? 0) > 0;
  }

  gatewayHasMachinesOrRow(enterprise: string, gateway: string): boolean {
    return (this.#gatewayKnown.get(enterprise, gateway, enterprise, gateway)?.n ?? 0) > 0;
  }

  unconfirmedIds(enterprise: string, gateway: string | undefined, limit: number): string[] {
    const rows =
      gateway === undefined
        ? this.#unconfirmedIds.all({ enterprise, limit })
        : this.#unconfirmedIdsOn.all({ enterprise, gateway, limit });
    return rows.map((r) => r.id);
  }

  retireUnconfirmed(enterprise: string, gateway: string | undefined, at: number, actor: string): number {
    return gateway === undefined
      ? this.#retireUnconfirmed.run({ enterprise, at, actor }).changes
      : this.#retireUnconfirmedOn.run({ enterprise, gateway, at, actor }).changes;
  }

  mergeInto(d: MachineDecision, into: string): void {
    this.#merge.run({ ...pick(d), into });
    this.#repoint.run({ enterprise: d.enterprise, id: d.id, into });
  }

  absorb(enterprise: string, into: string, e: MachineEvidence): void {
    this.#absorb.run({
      enterprise,
      into,
      firstSeen: e.firstSeen,
      lastSeenAt: e.lastSeenAt,
      lastSampleAt: e.lastSampleAt,
      kind: e.kind,
      nc: e.nc,
      robot: e.robot,
      dataDepth: e.dataDepth,
    });
  }
}

/** Only the statement's parameters (a caller's object may carry more). */
const pick = (d: MachineDecision): MachineDecision => ({
  enterprise: d.enterprise,
  id: d.id,
  at: d.at,
  actor: d.actor,
});
