/**
 * The Sparkplug device a machine becomes: its metrics, their datatypes and fixed values,
 * and aliases from the node's AliasTable: unique across the edge node, stable across
 * rebirths and reloads, and across restarts with the same config (they follow its order).
 */
import {
  DataType,
  MACHINE_METRIC,
  MACHINE_METRIC_TYPES,
  type MetricValue,
  signalMetricName,
} from '../../protocol/index.js';
import type { MachineConfig, TagConfig } from '../config/schema.js';
import { AliasTable } from './aliases.js';

export interface MetricDefinition {
  readonly name: string;
  readonly alias: number;
  readonly datatype: DataType;
  /** Set for properties that never change (Kind, NC, …). */
  readonly fixed?: MetricValue;
}

export interface DeviceDefinition {
  readonly id: string;
  readonly metrics: readonly MetricDefinition[];
}

const MODBUS_DATATYPES: Readonly<Record<string, DataType>> = {
  bool: DataType.Boolean,
  int16: DataType.Int16,
  uint16: DataType.UInt16,
  int32: DataType.Int32,
  uint32: DataType.UInt32,
  int64: DataType.Int64,
  uint64: DataType.UInt64,
  float32: DataType.Float,
  float64: DataType.Double,
  string: DataType.String,
};

const SIGNAL_NAMES = new Map<string, string>();

/**
 * `Signals/<tag>`, as one string per tag name: a gateway with 100,000 tags has mostly the same
 * few names on every machine, and keeps each name in several maps.
 */
export function signalName(tag: string): string {
  let name = SIGNAL_NAMES.get(tag);
  if (name === undefined) {
    name = signalMetricName(tag);
    SIGNAL_NAMES.set(tag, name);
  }
  return name;
}

/** The Sparkplug datatype a tag's values are published as. */
export function tagDatatype(tag: TagConfig): DataType {
  if ('datatype' in tag) return DataType[tag.datatype];
  if ((tag.type as string) === 'string') return DataType.String;
  const scaled = (tag.scale ?? 1) !== 1 || ('offset' in tag && (tag.offset ?? 0) !== 0);
  if (scaled && tag.type !== 'bool') return DataType.Double;
  return MODBUS_DATATYPES[tag.type] ?? DataType.Double;
}

/** Builds the devices of all machines; a fresh table numbers aliases from 1 in config order. */
export function deviceDefinitions(
  machines: readonly MachineConfig[],
  aliases: AliasTable = new AliasTable(),
): DeviceDefinition[] {
  return machines.map((m) => {
    const metric = (name: string, datatype: DataType, fixed?: MetricValue): MetricDefinition => ({
      name,
      alias: aliases.device(m.id, name),
      datatype,
      ...(fixed === undefined ? {} : { fixed }),
    });
    const metrics: MetricDefinition[] = [
      metric(MACHINE_METRIC.state, MACHINE_METRIC_TYPES.state),
      metric(MACHINE_METRIC.kind, MACHINE_METRIC_TYPES.kind, m.kind),
      metric(MACHINE_METRIC.nc, MACHINE_METRIC_TYPES.nc, m.nc),
      metric(MACHINE_METRIC.robot, MACHINE_METRIC_TYPES.robot, m.robot),
      metric(MACHINE_METRIC.dataDepth, MACHINE_METRIC_TYPES.dataDepth, m.dataDepth),
      ...m.tags.map((t) => metric(signalName(t.name), tagDatatype(t))),
    ];
    return { id: m.id, metrics };
  });
}

/** Whether two definitions of a device announce the same metrics (names, aliases, types, values). */
export function sameDevice(a: DeviceDefinition, b: DeviceDefinition): boolean {
  if (a.id !== b.id || a.metrics.length !== b.metrics.length) return false;
  return a.metrics.every((m, i) => {
    const o = b.metrics[i]!;
    return m.name === o.name && m.alias === o.alias && m.datatype === o.datatype && m.fixed === o.fixed;
  });
}
