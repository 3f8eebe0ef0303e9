/** From decoded Sparkplug metrics to what the store and registry hold. */
import {
  DataType,
  isDataDepth,
  isMachineKind,
  isQuality,
  MACHINE_METRIC,
  type Metric,
  type MetricValue,
  type PropertySet,
  QUALITY_PROPERTY,
  type Quality,
  qualityFromCode,
} from '../../protocol/index.js';
import type { GatewayMetric, MachineProperties } from '../registry/types.js';
import type { SampleValue } from '../store/types.js';
import { exactInteger } from '../store/values.js';

/**
 * Whether samples of this datatype can be stored: the scalars Int8 … UUID. Bytes, File,
 * DataSet, Template, property sets, arrays and Unknown cannot; their values (which the
 * decoder does not model and reads as null) are counted as `unsupportedValues`, never
 * stored as null samples.
 */
function storable(datatype: number): boolean {
  return datatype >= DataType.Int8 && datatype <= DataType.UUID;
}

/** A value the store can hold, or undefined (bytes, data sets, templates, arrays). */
export function toSampleValue(v: MetricValue, datatype: number): SampleValue | undefined {
  if (!storable(datatype)) return undefined;
  if (v === null) return null;
  switch (typeof v) {
    case 'number':
    case 'string':
    case 'boolean':
      return v;
    case 'bigint':
      return unsignedFix(v, datatype);
    default:
      return undefined;
  }
}

/**
 * A gateway (node) metric's value as the registry keeps it: like a sample, with an integer
 * beyond ±(2^53−1) as its decimal string (the registry holds no bigints).
 */
export function toNodeMetricValue(v: MetricValue, datatype: number): GatewayMetric['value'] | undefined {
  const value = toSampleValue(v, datatype);
  return typeof value === 'bigint' ? value.toString() : value;
}

/**
 * A data message may leave out the datatype; the codec then reads a long as signed Int64.
 * The birth's datatype tells us when it was unsigned. Exact: a bigint stays one beyond ±(2^53−1).
 */
function unsignedFix(v: bigint, datatype: number): number | bigint {
  const unsigned = datatype === DataType.UInt64 || datatype === DataType.DateTime;
  return exactInteger(unsigned ? BigInt.asUintN(64, v) : BigInt.asIntN(64, v));
}

/** Re-reads a value decoded without its datatype (data messages) by the birth's datatype. */
export function reinterpret(v: MetricValue, decodedAs: number, born: number): MetricValue {
  if (decodedAs === born || typeof v !== 'number') return v;
  switch (born) {
    case DataType.UInt32:
      return v >>> 0;
    case DataType.UInt64:
    case DataType.DateTime:
      return v < 0 && Number.isInteger(v) ? exactInteger(BigInt.asUintN(64, BigInt(v))) : v;
    case DataType.Int8:
      return (v << 24) >> 24;
    case DataType.Int16:
      return (v << 16) >> 16;
    case DataType.UInt8:
      return v & 0xff;
    case DataType.UInt16:
      return v & 0xffff;
    case DataType.Boolean:
      return v !== 0;
    default:
      return v;
  }
}

/**
 * Sample quality from a metric's Quality property: a string good / uncertain / bad, or a code
 * (OPC DA, or an OPC UA StatusCode; see protocol's qualityFromCode). No property means good.
 */
export function qualityOf(props: PropertySet | undefined): Quality | undefined {
  const q = props?.[QUALITY_PROPERTY] ?? props?.quality;
  if (q === undefined || q.value === null) return undefined;
  const v = q.value;
  if (typeof v === 'string') {
    const s = v.toLowerCase();
    return isQuality(s) ? s : undefined;
  }
  if (typeof v === 'number' || typeof v === 'bigint') return qualityFromCode(v);
  return undefined;
}

/** Machine attributes from a DBIRTH's `Properties/*` metrics; unknown values are left out. */
export function machineProperties(metrics: readonly Metric[]): MachineProperties {
  const out: { -readonly [K in keyof MachineProperties]: MachineProperties[K] } = {};
  for (const m of metrics) {
    switch (m.name) {
      case MACHINE_METRIC.kind:
        // A kind Wanji does not know yet still makes a machine; count it as "other".
        if (typeof m.value === 'string') out.kind = isMachineKind(m.value) ? m.value : 'other';
        break;
      case MACHINE_METRIC.nc:
        if (typeof m.value === 'boolean') out.nc = m.value;
        break;
      case MACHINE_METRIC.robot:
        if (typeof m.value === 'boolean') out.robot = m.value;
        break;
      case MACHINE_METRIC.dataDepth:
        if (isDataDepth(m.value)) out.dataDepth = m.value;
        break;
    }
  }
  return out;
}

/** `Properties/*` describe the machine (registry), they are not samples. */
export const PROPERTY_PREFIX = 'Properties/';
