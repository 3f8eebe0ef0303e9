/**
 * The latest value of each gateway (Sparkplug node) metric: machine health, gateway counters,
 * connection counters. hub/registry/gateway-metrics.ts encodes values and reads what they say.
 */

import {
  CONNECTION_METRIC_PREFIX,
  DEVICE_HEALTH_FIELD,
  DEVICE_METRIC_PREFIX,
  NODE_METRIC,
} from '../../../protocol/index.js';
import type { SqlConnection, SqlStatement } from '../sql.js';

export interface GatewayMetricRow {
  group_id: string;
  edge_node: string;
  name: string;
  value: number | string | null;
  /** How `value` reads back: 0 null, 1 number, 2 boolean, 3 string. */
  vtype: number;
  updated_at: number;
}

/** One metric value to keep, encoded (hub/registry/gateway-metrics.ts encodeMetricValue). */
export interface GatewayMetricValue {
  readonly name: string;
  readonly value: number | string | null;
  readonly vtype: number;
  /** When the hub received it (ms). */
  readonly at: number;
}

/** Backend-neutral: no driver types in the signatures. */
export interface GatewayMetricRepository {
  /** Every metric of one gateway, by name. */
  of(group: string, edgeNode: string): GatewayMetricRow[];
  /**
   * Of every gateway, the metrics a fleet view needs: `Gateway/*` counters,
   * `Properties/Software` and each machine's `Devices/<id>/Health`.
   */
  fleetSummaryRows(): GatewayMetricRow[];
  /** Every gateway's `Connections/*` counters (for /metrics: one read, not one per gateway). */
  connectionRows(): GatewayMetricRow[];
  /** Of every gateway, the `Devices/<id>/Health` of machines never announced (no such machine). */
  unannouncedHealthRows(): GatewayMetricRow[];
  /** Forgets every metric of one gateway (a new NBIRTH replaces them all). */
  clear(group: string, edgeNode: string): void;
  /** Sets one metric's latest value. */
  set(group: string, edgeNode: string, metric: GatewayMetricValue): void;
}

export class SqliteGatewayMetricRepository implements GatewayMetricRepository {
  readonly #of: SqlStatement<[string, string], GatewayMetricRow>;
  readonly #fleet: SqlStatement<[], GatewayMetricRow>;
  readonly #unannounced: SqlStatement<[], GatewayMetricRow>;
  readonly #connections: SqlStatement<[], GatewayMetricRow>;
  readonly #clear: SqlStatement<[{ group: string; edgeNode: string }]>;
  /** PostgreSQL keeps `value` as text (SQLite's column has no type): numbers are read back. */
  readonly #typed: (rows: GatewayMetricRow[]) => GatewayMetricRow[];
  readonly #set: SqlStatement<
    [
      {
        group: string;
        edgeNode: string;
        name: string;
        value: number | string | null;
        vtype: number;
        at: number;
      },
    ]
  >;

  constructor(db: SqlConnection) {
    this.#typed = db.dialect === 'sqlite' ? (rows) => rows : (rows) => rows.map(numbersOf);
    this.#of = db.prepare('SELECT * FROM gateway_metrics WHERE group_id = ? AND edge_node = ? ORDER BY name');
    this.#fleet = db.prepare(
      `SELECT * FROM gateway_metrics
       WHERE name GLOB 'Gateway/*' OR name = '${NODE_METRIC.software}'
          OR name GLOB '${DEVICE_METRIC_PREFIX}*/${DEVICE_HEALTH_FIELD.health}'`,
    );
    this.#connections = db.prepare(
      `SELECT * FROM gateway_metrics WHERE name GLOB '${CONNECTION_METRIC_PREFIX}*'`,
    );
    this.#unannounced = db.prepare(
      `SELECT * FROM gateway_metrics g
       WHERE g.name GLOB '${DEVICE_METRIC_PREFIX}*/${DEVICE_HEALTH_FIELD.health}'
         AND NOT EXISTS (SELECT 1 FROM machines m WHERE m.enterprise = g.group_id
                         AND g.name = '${DEVICE_METRIC_PREFIX}' || m.id || '/${DEVICE_HEALTH_FIELD.health}')`,
    );
    this.#clear = db.prepare('DELETE FROM gateway_metrics WHERE group_id = @group AND edge_node = @edgeNode');
    this.#set = db.prepare(
      `INSERT INTO gateway_metrics (group_id, edge_node, name, value, vtype, updated_at)
       VALUES (@group, @edgeNode, @name, @value, @vtype, @at)
       ON CONFLICT (group_id, edge_node, name) DO UPDATE SET
         value = excluded.value, vtype = excluded.vtype, updated_at = excluded.updated_at`,
    );
  }

  of(group: string, edgeNode: string): GatewayMetricRow[] {
    return this.#typed(this.#of.all(group, edgeNode));
  }

  fleetSummaryRows(): GatewayMetricRow[] {
    return this.#typed(this.#fleet.all());
  }

  unannouncedHealthRows(): GatewayMetricRow[] {
    return this.#typed(this.#unannounced.all());
  }

  connectionRows(): GatewayMetricRow[] {
    return this.#typed(this.#connections.all());
  }

  clear(group: string, edgeNode: string): void {
    this.#clear.run({ group, edgeNode });
  }

  set(group: string, edgeNode: string, m: GatewayMetricValue): void {
    this.#set.run({ group, edgeNode, name: m.name, value: m.value, vtype: m.vtype, at: m.at });
  }
}

/** vtype 1 (number) and 2 (boolean as 0/1) are numbers. */
function numbersOf(r: GatewayMetricRow): GatewayMetricRow {
  return (r.vtype === 1 || r.vtype === 2) && typeof r.value === 'string'
    ? { ...r, value: Number(r.value) }
    : r;
}
