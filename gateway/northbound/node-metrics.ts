/**
 * The gateway's own metrics, published as Sparkplug node metrics: every one in NBIRTH, then
 * in NDATA at most every `statusIntervalMs`, only those whose value changed since they were
 * last published. Names are in protocol/metrics.ts (GATEWAY_METRIC, Devices/…, Connections/…).
 */
import {
  connectionMetricName,
  DataType,
  DEVICE_HEALTH_FIELD,
  deviceMetricName,
  GATEWAY_METRIC,
  JOURNAL_METRIC,
  type MetricValue,
} from '../../protocol/index.js';
import type { MachineConfig } from '../config/schema.js';
import type { DeviceHealthView } from '../health.js';
import type { AliasTable } from './aliases.js';
import type { MetricDefinition } from './device-model.js';

/** A driver counter whose name says it is a duration or a ratio is a Double, others UInt64. */
export function counterDatatype(counter: string): DataType {
  return /latency|ms$|avg|mean|ratio|rate/i.test(counter) ? DataType.Double : DataType.UInt64;
}

/** Every node metric of a gateway with these machines and these driver counters (by connection). */
export function nodeMetricDefinitions(
  machines: readonly MachineConfig[],
  driverCounters: ReadonlyMap<string, readonly string[]>,
  aliases: AliasTable,
): MetricDefinition[] {
  const defs: MetricDefinition[] = [];
  const add = (name: string, datatype: DataType): void => {
    defs.push({ name, alias: aliases.node(name), datatype });
  };
  for (const name of Object.values(GATEWAY_METRIC)) add(name, DataType.UInt64);
  for (const [connection, counters] of driverCounters) {
    for (const c of counters) add(connectionMetricName(connection, c), counterDatatype(c));
  }
  for (const m of machines) {
    add(deviceMetricName(m.id, DEVICE_HEALTH_FIELD.health), DataType.String);
    add(deviceMetricName(m.id, DEVICE_HEALTH_FIELD.reason), DataType.String);
    add(deviceMetricName(m.id, DEVICE_HEALTH_FIELD.connection), DataType.String);
    add(deviceMetricName(m.id, DEVICE_HEALTH_FIELD.samples), DataType.UInt64);
    add(deviceMetricName(m.id, DEVICE_HEALTH_FIELD.badSamples), DataType.UInt64);
    add(deviceMetricName(m.id, DEVICE_HEALTH_FIELD.outages), DataType.UInt64);
  }
  return defs;
}

/** What the node metrics are read from. */
export interface GatewaySnapshot {
  readonly sampler: Readonly<Record<string, number>>;
  readonly edge: {
    readonly published: number;
    readonly publishErrors: number;
    readonly queued: number;
    readonly dropped: number;
  };
  readonly reloads: number;
  readonly devices: ReadonlyMap<string, DeviceHealthView>;
  /** Driver counters by connection id. */
  readonly drivers: ReadonlyMap<string, Readonly<Record<string, number>>>;
}

export function nodeMetricValues(s: GatewaySnapshot): Map<string, MetricValue> {
  const out = new Map<string, MetricValue>([
    [GATEWAY_METRIC.samples, s.sampler.samples ?? 0],
    [GATEWAY_METRIC.suppressed, s.sampler.suppressed ?? 0],
    [GATEWAY_METRIC.published, s.edge.published],
    [GATEWAY_METRIC.publishErrors, s.edge.publishErrors],
    [GATEWAY_METRIC.queued, s.edge.queued],
    [GATEWAY_METRIC.dropped, s.edge.dropped],
    [GATEWAY_METRIC.reloads, s.reloads],
  ]);
  for (const [connection, counters] of s.drivers) {
    for (const [c, v] of Object.entries(counters)) out.set(connectionMetricName(connection, c), v);
  }
  for (const [id, d] of s.devices) {
    out.set(deviceMetricName(id, DEVICE_HEALTH_FIELD.health), d.health);
    out.set(deviceMetricName(id, DEVICE_HEALTH_FIELD.reason), d.reason);
    out.set(deviceMetricName(id, DEVICE_HEALTH_FIELD.connection), d.connection);
    out.set(deviceMetricName(id, DEVICE_HEALTH_FIELD.samples), d.samples);
    out.set(deviceMetricName(id, DEVICE_HEALTH_FIELD.badSamples), d.badSamples);
    out.set(deviceMetricName(id, DEVICE_HEALTH_FIELD.outages), d.outages);
  }
  return out;
}

export interface NodeMetricValue {
  readonly def: MetricDefinition;
  readonly value: MetricValue;
}

/** The node metric set and what was last published of it, for report by exception. */
export class NodeMetricState {
  #defs: readonly MetricDefinition[] = [];
  readonly #last = new Map<string, MetricValue>();

  get definitions(): readonly MetricDefinition[] {
    return this.#defs;
  }

  /** Replaces the set; true when it differs (names, aliases or types), which needs an NBIRTH. */
  setDefinitions(defs: readonly MetricDefinition[]): boolean {
    const same =
      defs.length === this.#defs.length &&
      defs.every((d, i) => {
        const o = this.#defs[i]!;
        return d.name === o.name && d.alias === o.alias && d.datatype === o.datatype;
      });
    this.#defs = defs;
    return !same;
  }

  /** Every metric with its value now, for an NBIRTH; remembered as published. */
  birth(values: ReadonlyMap<string, MetricValue>): NodeMetricValue[] {
    this.#last.clear();
    return this.#defs.map((def) => {
      const value = values.get(def.name) ?? null;
      this.#last.set(def.name, value);
      return { def, value };
    });
  }

  /** The metrics whose value changed since they were last published; remembered as published. */
  changes(values: ReadonlyMap<string, MetricValue>): NodeMetricValue[] {
    const out: NodeMetricValue[] = [];
    for (const def of this.#defs) {
      const value = values.get(def.name) ?? null;
      if (Object.is(this.#last.get(def.name), value)) continue;
      this.#last.set(def.name, value);
      out.push({ def, value });
    }
    return out;
  }
}

/**
 * The journal's node metrics (JOURNAL_METRIC), which the edge node adds to whatever the
 * gateway defines. Their aliases sit far above the gateway's (which count up from 1).
 */
export const JOURNAL_METRIC_DEFINITIONS: readonly MetricDefinition[] = Object.entries(JOURNAL_METRIC)
  .filter(([key]) => key !== 'ack') // the hub's, in its NCMD
  .map(([key, name], i) => ({
    name,
    alias: 2 ** 40 + i,
    datatype: key === 'id' ? DataType.String : DataType.UInt64,
  }));
