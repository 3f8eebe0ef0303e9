/**
 * Bounds on what a gateway sends (config `limits`, docs/hub.md "What the host refuses"): its
 * timestamps against the hub's clock, the number of devices and of metrics in a birth, metric
 * names and the size of string values. Each refusal is counted and logged with the gateway's
 * identity, at most once a minute per gateway and kind, so a flood of bad messages cannot
 * flood the log as well.
 */
import type { Logger } from 'pino';
import { type DeviceTopic, type NodeTopic, type Payload, printableName } from '../../protocol/index.js';
import type { FieldLimits } from '../config.js';
import type { SampleValue } from '../store/types.js';
import type { MetricDef, MetricTable } from './edge-node.js';
import type { HostCounters } from './types.js';

export type HostLimits = FieldLimits;

/** The defaults of hub/config.ts's FieldLimitsSchema, for hosts built without a config. */
export const DEFAULT_HOST_LIMITS: HostLimits = Object.freeze({
  maxFutureSkewMs: 5 * 60_000,
  maxPastMs: 31 * 86_400_000,
  maxDevicesPerGateway: 2_000,
  maxMetricsPerDevice: 2_000,
  maxStringBytes: 4_096,
});

/**
 * Node metrics a gateway may have per device, beyond limits.maxMetricsPerDevice of its own: a
 * Wanji gateway reports 6 `Devices/<machine>/*` fields per machine and a few
 * `Connections/<id>/*` counters (protocol/metrics.ts), so a gateway with the most devices it
 * may have still has a birth the hub takes.
 */
export const NODE_METRICS_PER_DEVICE = 8;

/** The most metrics an NBIRTH (or a node, counting names data used) may have. */
export function nodeMetricLimit(limits: HostLimits): number {
  return limits.maxMetricsPerDevice + NODE_METRICS_PER_DEVICE * limits.maxDevicesPerGateway;
}

/** Why `ts` (ms since the epoch, from the field) cannot be used at hub time `now`, or undefined. */
export function timeRefusal(ts: number, now: number, limits: HostLimits): string | undefined {
  if (!Number.isFinite(ts) || ts < 0) return 'not a time';
  if (ts > now + limits.maxFutureSkewMs)
    return `more than limits.maxFutureSkewMs (${limits.maxFutureSkewMs} ms) ahead of the hub's clock`;
  if (ts < now - limits.maxPastMs)
    return `more than limits.maxPastMs (${limits.maxPastMs} ms) behind the hub's clock`;
  return undefined;
}

/** True when `s` takes more than `max` bytes in UTF-8, without encoding short strings. */
export function exceedsUtf8(s: string, max: number): boolean {
  if (s.length * 3 <= max) return false;
  if (s.length > max) return true;
  return Buffer.byteLength(s, 'utf8') > max;
}

/** Keys kept before the log forgets who it has heard from (it then logs each once more). */
const MAX_KEYS = 10_000;

/** A warn log of refusals, at most once per `intervalMs` per key, counting what it held back. */
class RefusalLog {
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #intervalMs: number;
  readonly #last = new Map<string, { at: number; held: number }>();

  constructor(log: Logger, clock: () => number, intervalMs = 60_000) {
    this.#log = log;
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    const now = this.#clock();
    const last = this.#last.get(key);
    if (last !== undefined && now - last.at < this.#intervalMs) {
      last.held++;
      return;
    }
    if (last === undefined && this.#last.size >= MAX_KEYS) this.#last.clear();
    const held = last?.held ?? 0;
    this.#last.set(key, { at: now, held: 0 });
    this.#log.warn(held > 0 ? { ...fields, alsoRefusedSinceLastLog: held } : fields, msg);
  }
}

/** Where a refused value came from, for the log. */
export interface Origin {
  readonly group: string;
  readonly edgeNode: string;
  readonly device?: string;
}

export function originOf(t: NodeTopic | DeviceTopic): Origin {
  return t.kind === 'device'
    ? { group: t.group, edgeNode: t.edgeNode, device: t.device }
    : { group: t.group, edgeNode: t.edgeNode };
}

export interface FieldBoundsOptions {
  /** The host's counters: refusals are counted there. */
  readonly counters: HostCounters;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly limits?: HostLimits;
}

/**
 * The checks the processor makes on each message: each answers whether to go on, and counts
 * and logs (rate-limited, with the gateway's identity and the bound) what it refuses.
 */
export class FieldBounds {
  readonly #counters: HostCounters;
  readonly #limits: HostLimits;
  readonly #log: RefusalLog;

  constructor(opts: FieldBoundsOptions) {
    this.#counters = opts.counters;
    this.#limits = opts.limits ?? DEFAULT_HOST_LIMITS;
    this.#log = new RefusalLog(opts.logger, opts.clock);
  }

  /** Logs a dropped topic (invalid ids land here: protocol's parseTopic). The caller counts it. */
  malformedTopic(topic: string, reason: string): void {
    this.#log.warn(
      'topic',
      { topic: printableName(topic, 200), reason },
      'malformed Sparkplug topic dropped',
    );
  }

  /** A DBIRTH within limits.maxMetricsPerDevice, an NBIRTH within nodeMetricLimit. */
  birthSizeOk(t: NodeTopic | DeviceTopic, p: Payload): boolean {
    const max = this.#metricLimit(t.kind);
    if (p.metrics.length <= max) return true;
    this.#counters.birthsRefused++;
    const bound =
      t.kind === 'node'
        ? `limits.maxMetricsPerDevice + ${NODE_METRICS_PER_DEVICE} × limits.maxDevicesPerGateway`
        : 'limits.maxMetricsPerDevice';
    this.#log.warn(
      `birth/${t.group}/${t.edgeNode}`,
      { ...originOf(t), metrics: p.metrics.length, limit: max },
      `${t.type} refused: ${p.metrics.length} metrics, more than ${bound} (${max})`,
    );
    return false;
  }

  #metricLimit(kind: 'node' | 'device'): number {
    return kind === 'node' ? nodeMetricLimit(this.#limits) : this.#limits.maxMetricsPerDevice;
  }

  /**
   * A device the edge node already has (`known`), or room for one more within
   * limits.maxDevicesPerGateway; then it is added to `known`.
   */
  deviceAllowed(t: DeviceTopic, known: Set<string>): boolean {
    if (known.has(t.device)) return true;
    const max = this.#limits.maxDevicesPerGateway;
    if (known.size < max) {
      known.add(t.device);
      return true;
    }
    this.#counters.devicesRefused++;
    this.#log.warn(
      `devices/${t.group}/${t.edgeNode}`,
      { ...originOf(t), known: known.size, limit: max },
      `DBIRTH of a new device refused: the gateway already has limits.maxDevicesPerGateway (${max}) devices`,
    );
    return false;
  }

  /** The payload's own timestamp in bounds, or none. */
  payloadTimeOk(t: NodeTopic | DeviceTopic, p: Payload, now: number): boolean {
    if (p.timestamp === undefined) return true;
    const why = timeRefusal(p.timestamp, now, this.#limits);
    if (why === undefined) return true;
    this.#refuseTime(
      originOf(t),
      undefined,
      p.timestamp,
      why,
      now,
      `${t.type} refused: its timestamp is ${why}`,
    );
    return false;
  }

  /**
   * A metric value whose name, own timestamp (if any) and size are within bounds. `t` is the
   * message's topic: who sent it is worked out only for a refusal (this runs per metric).
   */
  valueOk(
    t: NodeTopic | DeviceTopic,
    d: MetricDef,
    value: SampleValue,
    ts: number | undefined,
    now: number,
  ): boolean {
    if (d.refused !== undefined) {
      this.#counters.invalidMetricNames++;
      this.#log.warn(
        `name/${t.group}/${t.edgeNode}`,
        { ...originOf(t), metric: printableName(d.name), reason: d.refused },
        `metric value refused: its name ${d.refused}`,
      );
      return false;
    }
    const why = ts === undefined ? undefined : timeRefusal(ts, now, this.#limits);
    if (ts !== undefined && why !== undefined) {
      this.#refuseTime(originOf(t), d.name, ts, why, now, `metric value refused: its timestamp is ${why}`);
      return false;
    }
    const max = this.#limits.maxStringBytes;
    if (typeof value === 'string' && exceedsUtf8(value, max)) {
      this.#counters.oversizedValues++;
      this.#log.warn(
        `size/${t.group}/${t.edgeNode}`,
        { ...originOf(t), metric: printableName(d.name), chars: value.length, limit: max },
        `metric value refused: longer than limits.maxStringBytes (${max}) in UTF-8`,
      );
      return false;
    }
    return true;
  }

  /**
   * A metric the birth did not announce is taken by its name (Sparkplug hosts are lenient
   * there), but only while the device has fewer than limits.maxMetricsPerDevice metrics (a
   * node: nodeMetricLimit). One the birth announced is taken without a lookup (this runs per
   * metric).
   */
  metricAdmitted(t: NodeTopic | DeviceTopic, table: MetricTable, d: MetricDef): boolean {
    if (d.unannounced !== true) return true;
    const max = this.#metricLimit(t.kind);
    if (table.admit(d.name, max)) return true;
    this.#counters.metricsRefused++;
    this.#log.warn(
      `metrics/${t.group}/${t.edgeNode}`,
      { ...originOf(t), metric: printableName(d.name), limit: max },
      `metric value refused: not in the birth, and already ${max} metrics (limits.maxMetricsPerDevice)`,
    );
    return false;
  }

  #refuseTime(
    o: Origin,
    metric: string | undefined,
    ts: number,
    why: string,
    now: number,
    msg: string,
  ): void {
    this.#counters.timestampsRefused++;
    this.#log.warn(
      `time/${o.group}/${o.edgeNode}`,
      {
        ...o,
        ...(metric === undefined ? {} : { metric: printableName(metric) }),
        timestamp: ts,
        hubTime: now,
        bound: why,
      },
      msg,
    );
  }
}
