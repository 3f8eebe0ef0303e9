/**
 * The metric names Wanji's gateways and hub agree on, on top of Sparkplug.
 * A gateway is an edge node, a machine is a device; group = enterprise code.
 */
import { DataType } from './sparkplug/datatype.js';

/** Node metrics. */
export const NODE_METRIC = {
  /** Int64, in NBIRTH and NDEATH. */
  bdSeq: 'bdSeq',
  /** Boolean; a host writes true in an NCMD to ask for a rebirth. Never aliased. */
  rebirth: 'Node Control/Rebirth',
  /** String, e.g. "wanji 0.1.0". */
  software: 'Properties/Software',
} as const;

/** Device (machine) metrics every Wanji machine carries, besides its own signals. */
export const MACHINE_METRIC = {
  /** String: a MachineState other than offline (offline is a DDEATH). */
  state: 'State',
  /** String: a MachineKind. */
  kind: 'Properties/Kind',
  /** Boolean: an NC (数控) machine. */
  nc: 'Properties/NC',
  /** Boolean: an industrial robot. */
  robot: 'Properties/Robot',
  /** String: a DataDepth. */
  dataDepth: 'Properties/Data Depth',
} as const;

export const MACHINE_METRIC_TYPES: Readonly<Record<keyof typeof MACHINE_METRIC, DataType>> = {
  state: DataType.String,
  kind: DataType.String,
  nc: DataType.Boolean,
  robot: DataType.Boolean,
  dataDepth: DataType.String,
};

/** Signal metrics are published under this folder: "Signals/spindleSpeed". */
export const SIGNAL_PREFIX = 'Signals/';

export function signalMetricName(signal: string): string {
  return `${SIGNAL_PREFIX}${signal}`;
}
