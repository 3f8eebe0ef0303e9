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

/** Sample quality as drivers report it and the store keeps it. */
export type Quality = 'good' | 'uncertain' | 'bad';

/**
 * Non-good values carry a "Quality" metric property (Int32) with the OPC DA quality code, as
 * Ignition and other Sparkplug hosts read it. A metric without it is good.
 */
export const QUALITY_PROPERTY = 'Quality';
export const QUALITY_CODE: Readonly<Record<Quality, number>> = { good: 192, uncertain: 64, bad: 0 };

/**
 * Reads a quality code: OPC DA codes (0–63 bad, 64–191 uncertain, 192–255 good; Ignition's 500
 * "stale" and other small codes are bad), or, above 0xFFFF, an OPC UA StatusCode by its
 * severity bits (00 good, 01 uncertain, 1x bad).
 */
export function qualityFromCode(code: number | bigint): Quality {
  const n = BigInt.asUintN(32, BigInt(code));
  if (n > 0xffffn) {
    const severity = Number(n >> 30n);
    return severity === 0 ? 'good' : severity === 1 ? 'uncertain' : 'bad';
  }
  if (n >= 192n && n <= 255n) return 'good';
  if (n >= 64n && n < 192n) return 'uncertain';
  return 'bad';
}
