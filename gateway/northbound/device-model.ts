/**
 * The Sparkplug device a machine becomes: its metrics, their datatypes and fixed values,
 * and aliases that are unique across the edge node and stable across rebirths (and across
 * restarts with the same config: they follow the config's order).
 */
import {
  DataType,
  MACHINE_METRIC,
  MACHINE_METRIC_TYPES,
  type MetricValue,
  signalMetricName,
} from '../../protocol/index.js';
import type { MachineConfig, TagConfig } from '../config/schema.js';

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

const MODBUS_DATATYPES = {
  bool: DataType.Boolean,
  int16: DataType.Int16,
  uint16: DataType.UInt16,
  int32: DataType.Int32,
  uint32: DataType.UInt32,
  float32: DataType.Float,
} as const;

/** The Sparkplug datatype a tag's values are published as. */
export function tagDatatype(tag: TagConfig): DataType {
  if ('nodeId' in tag) return DataType[tag.datatype];
  if (tag.scale !== 1) return DataType.Double;
  return MODBUS_DATATYPES[tag.type];
}

/** Builds the devices of all machines, numbering aliases from 1 in config order. */
export function deviceDefinitions(machines: readonly MachineConfig[]): DeviceDefinition[] {
  let alias = 1;
  return machines.map((m) => {
    const metrics: MetricDefinition[] = [
      { name: MACHINE_METRIC.state, alias: alias++, datatype: MACHINE_METRIC_TYPES.state },
      { name: MACHINE_METRIC.kind, alias: alias++, datatype: MACHINE_METRIC_TYPES.kind, fixed: m.kind },
      { name: MACHINE_METRIC.nc, alias: alias++, datatype: MACHINE_METRIC_TYPES.nc, fixed: m.nc },
      { name: MACHINE_METRIC.robot, alias: alias++, datatype: MACHINE_METRIC_TYPES.robot, fixed: m.robot },
      {
        name: MACHINE_METRIC.dataDepth,
        alias: alias++,
        datatype: MACHINE_METRIC_TYPES.dataDepth,
        fixed: m.dataDepth,
      },
      ...m.tags.map((t) => ({ name: signalMetricName(t.name), alias: alias++, datatype: tagDatatype(t) })),
    ];
    return { id: m.id, metrics };
  });
}
