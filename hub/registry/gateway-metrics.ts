/**
 * Gateway (Sparkplug node) metrics as the registry keeps them, and what they say: Wanji
 * gateways publish their counters as `Gateway/*`, each machine's link health as
 * `Devices/<machineId>/*` and each connection's driver counters as `Connections/<id>/*`
 * (protocol/metrics.ts). Other gateways' node metrics are kept as they come.
 */
import {
  DEVICE_HEALTH_FIELD,
  type DeviceHealth,
  GATEWAY_METRIC,
  isDeviceHealth,
  NODE_METRIC,
  parseNodeMetricName,
} from '../../protocol/index.js';
import type { GatewayMetricRow } from '../database/registry/gateway-metrics.js';
import type { GatewayMetric } from './types.js';

/** How `value` reads back: 0 null, 1 number, 2 boolean, 3 string. */
export function encodeMetricValue(v: GatewayMetric['value']): {
  value: number | string | null;
  vtype: number;
} {
  if (v === null) return { value: null, vtype: 0 };
  if (typeof v === 'number') return { value: v, vtype: 1 };
  if (typeof v === 'boolean') return { value: v ? 1 : 0, vtype: 2 };
  return { value: v, vtype: 3 };
}

export function toGatewayMetric(r: GatewayMetricRow): GatewayMetric {
  const value = r.vtype === 0 ? null : r.vtype === 2 ? r.value === 1 : r.value;
  return { name: r.name, value, at: r.updated_at };
}

export interface DeviceHealthCounts {
  online: number;
  degraded: number;
  offline: number;
}

export interface GatewaySummary {
  /** `Properties/Software` of the NBIRTH. */
  readonly software: string | null;
  /** `Gateway/*` counters, by the GATEWAY_METRIC key (samples, published, queued, dropped, …). */
  readonly counters: Readonly<Record<string, number>>;
  /** How many machines the gateway reports online, degraded and offline. */
  readonly devices: DeviceHealthCounts;
  /** Each machine's reported health (`Devices/<id>/Health`) and when it last changed (ms). */
  readonly deviceHealth: ReadonlyMap<string, { readonly health: DeviceHealth; readonly at: number }>;
  /** When a gateway metric last changed; null when it never published any. */
  readonly metricsAt: number | null;
}

export interface DeviceHealthDetail {
  readonly id: string;
  readonly health: DeviceHealth | null;
  readonly reason: string | null;
  readonly connection: string | null;
  readonly samples: number | null;
  readonly badSamples: number | null;
  readonly outages: number | null;
  /** When the health last changed as the hub saw it (ms). */
  readonly healthAt: number | null;
}

export interface ConnectionDetail {
  readonly id: string;
  /** The driver's counters as it names them (reads, errors, timeouts, …). */
  readonly counters: Readonly<Record<string, number>>;
}

const GATEWAY_KEY_BY_NAME: ReadonlyMap<string, string> = new Map(
  Object.entries(GATEWAY_METRIC).map(([k, name]) => [name, k]),
);

const PREFIX = 'Gateway/';

export function summarize(metrics: readonly GatewayMetric[]): GatewaySummary {
  const counters: Record<string, number> = {};
  const devices: DeviceHealthCounts = { online: 0, degraded: 0, offline: 0 };
  const deviceHealth = new Map<string, { health: DeviceHealth; at: number }>();
  let software: string | null = null;
  let metricsAt: number | null = null;
  for (const m of metrics) {
    metricsAt = Math.max(metricsAt ?? m.at, m.at);
    if (m.name === NODE_METRIC.software && typeof m.value === 'string') software = m.value;
    else if (m.name.startsWith(PREFIX) && typeof m.value === 'number') {
      counters[GATEWAY_KEY_BY_NAME.get(m.name) ?? m.name.slice(PREFIX.length)] = m.value;
    } else if (isDeviceHealth(m.value)) {
      const parsed = parseNodeMetricName(m.name);
      if (parsed?.kind === 'device' && parsed.field === DEVICE_HEALTH_FIELD.health) {
        devices[m.value]++;
        deviceHealth.set(parsed.id, { health: m.value, at: m.at });
      }
    }
  }
  return { software, counters, devices, metricsAt, deviceHealth };
}

/** Per gateway ("group/edgeNode"), the summary of its rows. */
export function summariesOf(rows: readonly GatewayMetricRow[]): Map<string, GatewaySummary> {
  return new Map([...byGateway(rows)].map(([k, metrics]) => [k, summarize(metrics)]));
}

/** Per gateway ("group/edgeNode"), its connections' counters, from `Connections/*` rows. */
export function connectionsOf(rows: readonly GatewayMetricRow[]): Map<string, ConnectionDetail[]> {
  return new Map([...byGateway(rows)].map(([k, metrics]) => [k, details(metrics).connections]));
}

function byGateway(rows: readonly GatewayMetricRow[]): Map<string, GatewayMetric[]> {
  const out = new Map<string, GatewayMetric[]>();
  for (const r of rows) {
    const key = `${r.group_id}/${r.edge_node}`;
    const list = out.get(key) ?? [];
    if (list.length === 0) out.set(key, list);
    list.push(toGatewayMetric(r));
  }
  return out;
}

/**
 * The summary as it stands with the gateway's own state: the `Devices/<id>/Health` a gateway
 * published last stay in the registry after its death (NDEATH), but a dead gateway reads
 * nothing, so all its machines count as offline then (issue 10: the list showed them online).
 */
export function asOfGateway(s: GatewaySummary, gatewayOnline: boolean): GatewaySummary {
  if (gatewayOnline) return s;
  const offline = s.devices.online + s.devices.degraded + s.devices.offline;
  return {
    ...s,
    devices: { online: 0, degraded: 0, offline },
    deviceHealth: new Map([...s.deviceHealth].map(([id, h]) => [id, { health: 'offline', at: h.at }])),
  };
}

/** The reason shown for a machine of a gateway that is offline. */
export function gatewayOfflineReason(health: DeviceHealth | null, reason: string | null): string {
  const last = health === null ? '' : `; last reported ${health}${reason ? `: ${reason}` : ''}`;
  return `the gateway is offline${last}`;
}

/**
 * Per machine and per connection, from the `Devices/*` and `Connections/*` metrics. While the
 * gateway is offline its machines are offline, the reason saying so and what was last reported.
 */
export function details(
  metrics: readonly GatewayMetric[],
  gatewayOnline = true,
): {
  devices: DeviceHealthDetail[];
  connections: ConnectionDetail[];
} {
  const devices = new Map<string, { -readonly [K in keyof DeviceHealthDetail]: DeviceHealthDetail[K] }>();
  const connections = new Map<string, Record<string, number>>();
  for (const m of metrics) {
    const parsed = parseNodeMetricName(m.name);
    if (parsed === undefined) continue;
    if (parsed.kind === 'connection') {
      if (typeof m.value !== 'number') continue;
      const c = connections.get(parsed.id) ?? {};
      connections.set(parsed.id, c);
      c[parsed.field] = m.value;
      continue;
    }
    let d = devices.get(parsed.id);
    if (d === undefined) {
      d = {
        id: parsed.id,
        health: null,
        reason: null,
        connection: null,
        samples: null,
        badSamples: null,
        outages: null,
        healthAt: null,
      };
      devices.set(parsed.id, d);
    }
    const str = typeof m.value === 'string' ? m.value : null;
    const num = typeof m.value === 'number' ? m.value : null;
    switch (parsed.field) {
      case DEVICE_HEALTH_FIELD.health:
        d.health = isDeviceHealth(m.value) ? m.value : null;
        d.healthAt = m.at;
        break;
      case DEVICE_HEALTH_FIELD.reason:
        d.reason = str;
        break;
      case DEVICE_HEALTH_FIELD.connection:
        d.connection = str;
        break;
      case DEVICE_HEALTH_FIELD.samples:
        d.samples = num;
        break;
      case DEVICE_HEALTH_FIELD.badSamples:
        d.badSamples = num;
        break;
      case DEVICE_HEALTH_FIELD.outages:
        d.outages = num;
        break;
    }
  }
  if (!gatewayOnline) {
    for (const d of devices.values()) {
      d.reason = gatewayOfflineReason(d.health, d.reason);
      d.health = 'offline';
    }
  }
  const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return {
    devices: [...devices.values()].sort(byId),
    connections: [...connections].map(([id, counters]) => ({ id, counters })).sort(byId),
  };
}
