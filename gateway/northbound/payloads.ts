/** Builds the edge node's Sparkplug payloads (pure; the edge node does the I/O). */
import {
  DataType,
  encodePayload,
  type Metric,
  type MetricUpdate,
  NODE_METRIC,
  OPC_DA_QUALITY,
  type PropertySet,
  QUALITY_PROPERTY,
  type Quality,
} from '../../protocol/index.js';
import { coerceValue } from '../values.js';
import type { DeviceDefinition, MetricDefinition } from './device-model.js';
import type { NodeMetricValue } from './node-metrics.js';

/** Non-good values carry the protocol's Quality property; a metric without it is good. */
const QUALITY_PROPERTIES: Readonly<Record<Quality, PropertySet | undefined>> = {
  good: undefined,
  uncertain: Object.freeze({ [QUALITY_PROPERTY]: { type: DataType.Int32, value: OPC_DA_QUALITY.uncertain } }),
  bad: Object.freeze({ [QUALITY_PROPERTY]: { type: DataType.Int32, value: OPC_DA_QUALITY.bad } }),
};

export function ndeathPayload(bdSeq: number, now: number): Uint8Array {
  return encodePayload({
    timestamp: now,
    metrics: [{ name: NODE_METRIC.bdSeq, datatype: DataType.Int64, value: bdSeq }],
  });
}

/** A node metric for the wire; a value that does not fit its datatype goes out null. */
function nodeWireMetric(m: NodeMetricValue, withName: boolean, now: number): Metric {
  const value = m.value === null ? null : (coerceValue(m.value, m.def.datatype) ?? null);
  return {
    ...(withName ? { name: m.def.name } : {}),
    alias: m.def.alias,
    timestamp: now,
    datatype: m.def.datatype,
    value,
  };
}

export function nbirthPayload(
  bdSeq: number,
  seq: number,
  now: number,
  software: string,
  nodeMetrics: readonly NodeMetricValue[] = [],
): Uint8Array {
  return encodePayload({
    timestamp: now,
    seq,
    metrics: [
      { name: NODE_METRIC.bdSeq, datatype: DataType.Int64, value: bdSeq, timestamp: now },
      // Never aliased (Sparkplug 3.0): a host must find it by name.
      { name: NODE_METRIC.rebirth, datatype: DataType.Boolean, value: false, timestamp: now },
      { name: NODE_METRIC.software, datatype: DataType.String, value: software, timestamp: now },
      ...nodeMetrics.map((m) => nodeWireMetric(m, true, now)),
    ],
  });
}

/**
 * NDATA: the node metrics that changed, by alias; `journal`, a journal position the gateway
 * releases (data of a machine no longer configured), for the hub to acknowledge.
 */
export function ndataPayload(
  metrics: readonly NodeMetricValue[],
  seq: number,
  now: number,
  journal?: number,
): Uint8Array {
  return encodePayload({
    timestamp: now,
    seq,
    metrics: metrics.map((m) => nodeWireMetric(m, false, now)),
    ...(journal === undefined ? {} : { journal }),
  });
}

/**
 * A metric for the wire; a value that does not fit its datatype goes out as bad and null.
 * Built field by field: this runs once per published value.
 */
function wireMetric(def: MetricDefinition, u: MetricUpdate, withName: boolean, historical: boolean): Metric {
  const coerced = u.value === null ? null : coerceValue(u.value, def.datatype);
  const quality: Quality = coerced === undefined ? 'bad' : u.quality;
  const m: { -readonly [K in keyof Metric]: Metric[K] } = {
    alias: def.alias,
    timestamp: u.timestamp,
    datatype: def.datatype,
    value: coerced ?? null,
  };
  if (withName) m.name = def.name;
  if (historical) m.isHistorical = true;
  const properties = QUALITY_PROPERTIES[quality];
  if (properties !== undefined) m.properties = properties;
  return m;
}

/** DBIRTH: every metric of the device with name, alias, datatype and current value. */
export function dbirthPayload(
  device: DeviceDefinition,
  current: ReadonlyMap<string, MetricUpdate>,
  seq: number,
  now: number,
  journal?: number,
): Uint8Array {
  const metrics = device.metrics.map((def) => {
    const u: MetricUpdate =
      def.fixed !== undefined
        ? { name: def.name, value: def.fixed, quality: 'good', timestamp: now }
        : (current.get(def.name) ?? { name: def.name, value: null, quality: 'bad', timestamp: now });
    return wireMetric(def, u, true, false);
  });
  return encodePayload({ timestamp: now, seq, metrics, ...(journal === undefined ? {} : { journal }) });
}

/**
 * DDATA: the changed metrics by alias, with their source timestamps; `journal` is the
 * message's journal position (Wanji's payload extension), `historical` marks a replay.
 */
export function ddataPayload(
  defs: ReadonlyMap<string, MetricDefinition>,
  updates: readonly MetricUpdate[],
  seq: number,
  now: number,
  historical = false,
  journal?: number,
): Uint8Array {
  const metrics: Metric[] = [];
  for (const u of updates) {
    const def = defs.get(u.name);
    if (def !== undefined) metrics.push(wireMetric(def, u, false, historical));
  }
  return encodePayload({ timestamp: now, seq, metrics, ...(journal === undefined ? {} : { journal }) });
}

export function ddeathPayload(seq: number, now: number): Uint8Array {
  return encodePayload({ timestamp: now, seq, metrics: [] });
}
