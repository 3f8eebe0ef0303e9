/**
 * The metric names Wanji's gateways and hub agree on, on top of Sparkplug.
 * A gateway is an edge node, a machine is a device; group = enterprise code.
 */
import type { Quality } from './quality.js';
import { DataType } from './sparkplug/datatype.js';
import type { MetricValue } from './sparkplug/payload.js';

/** Node metrics. */
export const NODE_METRIC = {
  /** Int64, in NBIRTH and NDEATH. */
  bdSeq: 'bdSeq',
  /** Boolean; a host writes true in an NCMD to ask for a rebirth. Never aliased. */
  rebirth: 'Node Control/Rebirth',
  /** String, e.g. "wanji 0.1.0". */
  software: 'Properties/Software',
} as const;

/**
 * Wanji's store-and-forward extension (README "Nothing lost"). A gateway with a journal
 * announces it in its NBIRTH and keeps its figures current in NDATA; the Wanji hub answers
 * with an NCMD carrying `ack` and `id` once the store holds every message up to `ack`. Hosts
 * that do not know these metrics read them as ordinary node metrics and never send the NCMD.
 */
export const JOURNAL_METRIC = {
  /** String: the journal's identity (a new one if its files were lost). NBIRTH, NCMD. */
  id: 'Journal/Id',
  /** UInt64: the first position the gateway still holds unacknowledged (will replay from). */
  start: 'Journal/Start',
  /** UInt64: the last position appended. */
  head: 'Journal/Head',
  /** UInt64: messages held, not yet acknowledged. */
  backlog: 'Journal/Backlog',
  /** UInt64: bytes on disk. */
  bytes: 'Journal/Bytes',
  /** UInt64: messages dropped, unacknowledged, because the journal was full (drop-oldest). */
  dropped: 'Journal/Dropped',
  /** UInt64: messages dropped, unacknowledged, because they were older than the age limit. */
  expired: 'Journal/Expired',
  /** UInt64: messages not taken because the journal was full (stop-sampling). */
  refused: 'Journal/Refused',
  /** UInt64: messages published again, as historical, after a reconnect or restart. */
  replayed: 'Journal/Replayed',
  /**
   * UInt64: messages of machines no longer configured, released rather than replayed: each
   * goes out as an NDATA carrying its journal position, which the hub acknowledges.
   */
  released: 'Journal/Released',
  /** UInt64, in the hub's NCMD: every message up to this position is stored. */
  ack: 'Journal/Ack',
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

/**
 * One metric of a machine as its gateway publishes it: what the sampler hands the edge node,
 * the edge node puts in a DBIRTH or DDATA, and the journal keeps (gateway/journal/format.ts).
 */
export interface MetricUpdate {
  /** The Sparkplug metric name: "State" or "Signals/<tag>". */
  readonly name: string;
  readonly value: MetricValue;
  readonly quality: Quality;
  readonly timestamp: number;
}

/**
 * The gateway's own health, published as node (edge node) metrics in NBIRTH and NDATA:
 * `Gateway/<counter>`, `Devices/<machineId>/<field>` and `Connections/<connectionId>/<counter>`.
 * Field names never contain "/", so a name splits at its last "/".
 */
export const GATEWAY_METRIC = {
  /** UInt64: samples the drivers delivered. */
  samples: 'Gateway/Samples',
  /** UInt64: samples within their deadband, not published. */
  suppressed: 'Gateway/Suppressed',
  /** UInt64: Sparkplug messages published. */
  published: 'Gateway/Published',
  /** UInt64: publishes the broker refused or that failed. */
  publishErrors: 'Gateway/Publish Errors',
  /** UInt64: data messages in the journal not yet acknowledged (Journal/Backlog). */
  queued: 'Gateway/Queued',
  /** UInt64: unacknowledged data messages the journal dropped (full or too old). */
  dropped: 'Gateway/Dropped',
  /** UInt64: config reloads applied since start. */
  reloads: 'Gateway/Reloads',
} as const;

export const DEVICE_METRIC_PREFIX = 'Devices/';
export const CONNECTION_METRIC_PREFIX = 'Connections/';

/** The fields of `Devices/<machineId>/<field>`. */
export const DEVICE_HEALTH_FIELD = {
  /** String: a DeviceHealth. */
  health: 'Health',
  /** String: why the health last changed, for people ("timeout after 1000 ms"). */
  reason: 'Health Reason',
  /** String: the id of the connection the machine is read over. */
  connection: 'Connection',
  /** UInt64: samples the driver delivered for this machine. */
  samples: 'Samples',
  /** UInt64: of those, samples with bad quality. */
  badSamples: 'Bad Samples',
  /** UInt64: times the machine went offline. */
  outages: 'Outages',
} as const;

/** How the gateway sees a machine's link: answering, answering with trouble, or not answering. */
export const DEVICE_HEALTHS = ['online', 'degraded', 'offline'] as const;
export type DeviceHealth = (typeof DEVICE_HEALTHS)[number];

export function isDeviceHealth(v: unknown): v is DeviceHealth {
  return typeof v === 'string' && (DEVICE_HEALTHS as readonly string[]).includes(v);
}

export function deviceMetricName(machineId: string, field: string): string {
  return `${DEVICE_METRIC_PREFIX}${machineId}/${field}`;
}

export function connectionMetricName(connectionId: string, counter: string): string {
  return `${CONNECTION_METRIC_PREFIX}${connectionId}/${counter}`;
}

export type NodeMetricName =
  | { readonly kind: 'device'; readonly id: string; readonly field: string }
  | { readonly kind: 'connection'; readonly id: string; readonly field: string };

/** Splits `Devices/<id>/<field>` and `Connections/<id>/<field>`; undefined for other names. */
export function parseNodeMetricName(name: string): NodeMetricName | undefined {
  const kind = name.startsWith(DEVICE_METRIC_PREFIX)
    ? 'device'
    : name.startsWith(CONNECTION_METRIC_PREFIX)
      ? 'connection'
      : undefined;
  if (kind === undefined) return undefined;
  const rest = name.slice(kind === 'device' ? DEVICE_METRIC_PREFIX.length : CONNECTION_METRIC_PREFIX.length);
  const slash = rest.lastIndexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { kind, id: rest.slice(0, slash), field: rest.slice(slash + 1) };
}
