/** Builds the edge node's Sparkplug payloads (pure; the edge node does the I/O). */
import {
  DataType,
  encodePayload,
  type Metric,
  type MetricUpdate,
  type MetricValue,
  NODE_METRIC,
  OPC_DA_QUALITY,
  type PropertySet,
  QUALITY_PROPERTY,
  type Quality,
} from '../../protocol/index.js';
import type { Readings } from '../readings.js';
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
/**
 * A metric for the wire, made with `new` for the hot path (one per published value; see
 * gateway/readings.ts Update: objects of a constructor are never pretenured by V8).
 */
class WireMetric implements Metric {
  constructor(
    readonly name: string | undefined,
    readonly alias: number,
    readonly timestamp: number,
    readonly datatype: DataType,
    readonly value: MetricValue,
    readonly isHistorical: boolean,
    readonly properties: PropertySet | undefined,
  ) {}
}

function wireMetric(
  def: MetricDefinition,
  value: MetricValue,
  valueQuality: Quality,
  timestamp: number,
  withName: boolean,
  historical: boolean,
): Metric {
  const coerced = value === null ? null : coerceValue(value, def.datatype);
  const quality: Quality = coerced === undefined ? 'bad' : valueQuality;
  return new WireMetric(
    withName ? def.name : undefined,
    def.alias,
    timestamp,
    def.datatype,
    coerced ?? null,
    historical,
    QUALITY_PROPERTIES[quality],
  );
}

/**
 * DBIRTH: every metric of the device with name, alias, datatype and current value (`current`
 * by the metric's index in the device's definition; a metric without a reading is bad and null).
 */
export function dbirthPayload(
  device: DeviceDefinition,
  current: Readings,
  seq: number,
  now: number,
  journal?: number,
): Uint8Array {
  const metrics = device.metrics.map((def, i) => {
    if (def.fixed !== undefined) return wireMetric(def, def.fixed, 'good', now, true, false);
    const quality = current.quality(i);
    return quality === undefined
      ? wireMetric(def, null, 'bad', now, true, false)
      : wireMetric(def, current.value(i), quality, current.time(i), true, false);
  });
  return encodePayload({ timestamp: now, seq, metrics, ...(journal === undefined ? {} : { journal }) });
}

/**
 * DDATA: the changed metrics by alias, with their source timestamps; `journal` is the
 * message's journal position (Wanji's payload extension), `historical` marks a replay.
 */
export function ddataPayload(
  device: DeviceDefinition,
  index: ReadonlyMap<string, number>,
  updates: readonly MetricUpdate[],
  seq: number,
  now: number,
  historical = false,
  journal?: number,
): Uint8Array {
  const metrics: Metric[] = [];
  for (const u of updates) {
    const i = index.get(u.name);
    const def = i === undefined ? undefined : device.metrics[i];
    if (def !== undefined) metrics.push(wireMetric(def, u.value, u.quality, u.timestamp, false, historical));
  }
  return encodePayload({ timestamp: now, seq, metrics, ...(journal === undefined ? {} : { journal }) });
}

export function ddeathPayload(seq: number, now: number): Uint8Array {
  return encodePayload({ timestamp: now, seq, metrics: [] });
}
