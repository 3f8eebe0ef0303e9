/**
 * Gateways (Sparkplug edge nodes) as the hub saw them: born, dead, last heard. Written by the
 * ingest (hub/registry/apply.ts decides what a birth or a death means).
 */
import { type Columns, columnChunks, type SqlConnection, type SqlStatement } from '../sql.js';

export interface GatewayRow {
  group_id: string;
  edge_node: string;
  /** 0/1 */
  online: number;
  bd_seq: number | null;
  first_seen: number;
  last_birth_at: number | null;
  last_death_at: number | null;
  last_seen_at: number | null;
}

/** Which gateway, and when (ms): one NBIRTH or NDEATH. */
export interface GatewayLifeEvent {
  readonly group: string;
  readonly edgeNode: string;
  readonly bdSeq: number;
  readonly at: number;
}

/** Backend-neutral: no driver types in the signatures. */
export interface GatewayRepository {
  /** Every gateway, by group and edge node. */
  list(): GatewayRow[];
  byId(group: string, edgeNode: string): GatewayRow | undefined;
  /** NBIRTH: online with `bdSeq`; first seen when new; last seen never goes back. */
  born(e: GatewayLifeEvent): void;
  /** NDEATH: offline, if `bdSeq` is the current birth's and it was online. False when stale. */
  died(e: GatewayLifeEvent): boolean;
  /** Last heard at `seenAt`, unless it was heard later already. */
  seen(group: string, edgeNode: string, seenAt: number): void;
  /**
   * seen() for each row, with the same result as calling it for each in order. On PostgreSQL
   * one statement for all of them (one round trip per flush); on SQLite, seen() per row.
   */
  seenMany(rows: readonly GatewaySeen[]): void;
}

/** A gateway last heard at `seenAt` (ms). */
export interface GatewaySeen {
  readonly group: string;
  readonly edgeNode: string;
  readonly seenAt: number;
}

/** A seen row's fields in seenMany()'s statement, in its unnest() order. */
const SEEN_COLUMNS = ['group', 'edgeNode', 'seenAt'] as const;

export class SqliteGatewayRepository implements GatewayRepository {
  readonly #list: SqlStatement<[], GatewayRow>;
  readonly #byId: SqlStatement<[string, string], GatewayRow>;
  readonly #born: SqlStatement<[GatewayLifeEvent]>;
  readonly #died: SqlStatement<[GatewayLifeEvent]>;
  readonly #seen: SqlStatement<[{ group: string; edgeNode: string; seenAt: number }]>;
  /** PostgreSQL only: seen() for many gateways, one array per column (unnest). */
  readonly #seenMany: SqlStatement<[Columns<GatewaySeen, (typeof SEEN_COLUMNS)[number]>]> | undefined;

  constructor(db: SqlConnection) {
    this.#list = db.prepare('SELECT * FROM gateways ORDER BY group_id, edge_node');
    this.#byId = db.prepare('SELECT * FROM gateways WHERE group_id = ? AND edge_node = ?');
    this.#born = db.prepare(
      `INSERT INTO gateways (group_id, edge_node, online, bd_seq, first_seen, last_birth_at, last_seen_at)
       VALUES (@group, @edgeNode, 1, @bdSeq, @at, @at, @at)
       ON CONFLICT (group_id, edge_node) DO UPDATE SET
         online = 1, bd_seq = excluded.bd_seq, last_birth_at = excluded.last_birth_at,
         last_seen_at = max(coalesce(gateways.last_seen_at, 0), excluded.last_seen_at)`,
    );
    this.#died = db.prepare(
      `UPDATE gateways SET online = 0, last_death_at = @at
       WHERE group_id = @group AND edge_node = @edgeNode AND bd_seq = @bdSeq AND online = 1`,
    );
    this.#seen = db.prepare(
      `UPDATE gateways SET last_seen_at = max(coalesce(last_seen_at, 0), @seenAt)
       WHERE group_id = @group AND edge_node = @edgeNode`,
    );
    if (db.dialect === 'postgres') {
      this.#seenMany = db.prepare(
        `UPDATE gateways AS g SET last_seen_at = max(coalesce(g.last_seen_at, 0), s.seen_at)
         FROM unnest(@group::text[], @edgeNode::text[], @seenAt::bigint[]) AS s(group_id, edge_node, seen_at)
         WHERE g.group_id = s.group_id AND g.edge_node = s.edge_node`,
      );
    }
  }

  list(): GatewayRow[] {
    return this.#list.all();
  }

  byId(group: string, edgeNode: string): GatewayRow | undefined {
    return this.#byId.get(group, edgeNode);
  }

  born(e: GatewayLifeEvent): void {
    this.#born.run({ group: e.group, edgeNode: e.edgeNode, bdSeq: e.bdSeq, at: e.at });
  }

  died(e: GatewayLifeEvent): boolean {
    return this.#died.run({ group: e.group, edgeNode: e.edgeNode, bdSeq: e.bdSeq, at: e.at }).changes > 0;
  }

  seen(group: string, edgeNode: string, seenAt: number): void {
    this.#seen.run({ group, edgeNode, seenAt });
  }

  seenMany(rows: readonly GatewaySeen[]): void {
    if (this.#seenMany === undefined) {
      for (const r of rows) this.#seen.run(r);
      return;
    }
    // An UPDATE … FROM changes each gateway once: its latest time is what seen() in turn leaves.
    const latest = new Map<string, GatewaySeen>();
    for (const r of rows) {
      const key = `${r.group}\u0000${r.edgeNode}`;
      const prev = latest.get(key);
      if (prev === undefined || r.seenAt > prev.seenAt) latest.set(key, r);
    }
    for (const c of columnChunks([...latest.values()], SEEN_COLUMNS)) this.#seenMany.run(c);
  }
}
