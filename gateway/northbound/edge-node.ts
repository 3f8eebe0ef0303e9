/**
 * The Sparkplug B edge node: one per gateway, its machines are its devices.
 *
 * Once its MQTT session (session.ts) is connected and subscribed to its commands (and the
 * primary host's STATE), and the host is online (or no host is configured), it publishes
 * NBIRTH, with the gateway's own metrics (node-metrics.ts), and a DBIRTH per online device.
 * The gateway's metrics then go out in NDATA at most every `statusIntervalMs`, only what changed.
 */
import type { Logger } from 'pino';
import {
  commandFilters,
  decodeHostState,
  decodePayload,
  deviceTopic,
  type MetricValue,
  NODE_METRIC,
  nodeTopic,
  parseTopic,
  SeqCounter,
  stateTopic,
} from '../../protocol/index.js';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import type { GatewayConfig } from '../config/schema.js';
import type { MetricUpdate } from '../sampler.js';
import { type DeviceDefinition, type MetricDefinition, sameDevice } from './device-model.js';
import { NodeMetricState } from './node-metrics.js';
import { MemoryOutbox, type Outbox } from './outbox.js';
import { dbirthPayload, ddataPayload, ddeathPayload, nbirthPayload, ndataPayload } from './payloads.js';
import { MqttSession } from './session.js';

export const DEFAULT_STATUS_INTERVAL_MS = 10_000;

export interface EdgeNodeOptions {
  readonly group: string;
  readonly node: string;
  readonly mqtt: GatewayConfig['mqtt'];
  readonly devices: readonly DeviceDefinition[];
  readonly dataDir: string;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** The value of the NBIRTH's Properties/Software metric. */
  readonly software?: string;
  readonly outbox?: Outbox;
  /** The gateway's own metrics (see setNodeMetrics) are read from here; default none. */
  readonly readNodeMetrics?: () => ReadonlyMap<string, MetricValue>;
  /** At most this often an NDATA with the node metrics that changed; default 10 s. */
  readonly statusIntervalMs?: number;
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  readonly connectTimeoutMs?: number;
}

interface DeviceRuntime {
  def: DeviceDefinition;
  byName: ReadonlyMap<string, MetricDefinition>;
  /** The sampler says the machine is up; it gets a DBIRTH whenever the node is born. */
  online: boolean;
  /** A DBIRTH went out since the last NBIRTH. */
  born: boolean;
  readonly current: Map<string, MetricUpdate>;
}

export interface EdgeNodeStatus {
  readonly connected: boolean;
  readonly born: boolean;
  readonly bdSeq: number;
  readonly queued: number;
  /** Bytes handed to the MQTT connection and not yet sent (a slow or stalled broker). */
  readonly bufferedBytes: number;
  readonly counters: Readonly<Record<string, number>>;
  readonly devices: Readonly<Record<string, { online: boolean; born: boolean }>>;
}

function runtime(def: DeviceDefinition): DeviceRuntime {
  return {
    def,
    byName: new Map(def.metrics.map((m) => [m.name, m])),
    online: false,
    born: false,
    current: new Map(),
  };
}

export class EdgeNode {
  readonly #o: EdgeNodeOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #outbox: Outbox;
  readonly #session: MqttSession;
  readonly #devices = new Map<string, DeviceRuntime>();
  readonly #nodeMetrics = new NodeMetricState();
  readonly #seq = new SeqCounter();
  #subscribed = false;
  #hostOnline = false;
  #lastHostTimestamp = Number.NEGATIVE_INFINITY;
  #born = false;
  #closed = false;
  #statusIntervalMs: number;
  #statusTimer: TimerHandle | undefined;
  readonly #counters = {
    connectionLosses: 0,
    births: 0,
    rebirths: 0,
    queued: 0,
    ncmdMalformed: 0,
    ncmdIgnored: 0,
    dcmdIgnored: 0,
    stateMalformed: 0,
    stateStale: 0,
    hostOffline: 0,
    nodeData: 0,
  };

  constructor(opts: EdgeNodeOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#log = opts.logger.child({ component: 'edge-node', group: opts.group, node: opts.node });
    this.#outbox = opts.outbox ?? new MemoryOutbox();
    this.#statusIntervalMs = opts.statusIntervalMs ?? DEFAULT_STATUS_INTERVAL_MS;
    for (const def of opts.devices) this.#devices.set(def.id, runtime(def));
    const filters = commandFilters(opts.group, opts.node);
    if (opts.mqtt.primaryHost !== undefined) filters.push(stateTopic(opts.mqtt.primaryHost));
    this.#session = new MqttSession({
      group: opts.group,
      node: opts.node,
      mqtt: opts.mqtt,
      dataDir: opts.dataDir,
      logger: this.#log,
      clock: this.#clock,
      filters,
      reconnectMinMs: opts.reconnectMinMs ?? 1000,
      reconnectMaxMs: opts.reconnectMaxMs ?? 30_000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      handler: {
        ready: () => {
          this.#subscribed = true;
          this.#maybeBirth();
        },
        message: (topic, payload) => this.#onMessage(topic, payload),
        lost: () => this.#onLost(),
      },
    });
  }

  /** Loads the bdSeq and starts connecting; resolves without waiting for the broker. */
  async start(): Promise<void> {
    if (this.#closed) return;
    this.#armStatus();
    await this.#session.start();
  }

  /** Publishes NDEATH, then disconnects cleanly (so the broker drops the will). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#statusTimer);
    await this.#session.close();
  }

  /**
   * Replaces the gateway's own metric set. A different set needs a new NBIRTH: when the node
   * is born it is reborn (NBIRTH and every DBIRTH, same bdSeq, same MQTT session).
   */
  setNodeMetrics(defs: readonly MetricDefinition[]): void {
    if (!this.#nodeMetrics.setDefinitions(defs) || !this.#born) return;
    this.#log.info({ metrics: defs.length }, 'node metric set changed; rebirth');
    this.#counters.rebirths++;
    this.#birth();
  }

  setStatusInterval(ms: number): void {
    if (ms === this.#statusIntervalMs) return;
    this.#statusIntervalMs = ms;
    this.#armStatus();
  }

  /**
   * Follows a reloaded machine list. A removed device gets its DDEATH (if born); a changed one
   * waits, offline, for its next deviceBirth, which announces the new metric set.
   */
  setDevices(defs: readonly DeviceDefinition[]): void {
    const ids = new Set(defs.map((d) => d.id));
    for (const id of [...this.#devices.keys()]) {
      if (ids.has(id)) continue;
      this.deviceDeath(id);
      this.#devices.delete(id);
    }
    for (const def of defs) {
      const d = this.#devices.get(def.id);
      if (d === undefined) this.#devices.set(def.id, runtime(def));
      else if (!sameDevice(d.def, def)) {
        d.def = def;
        d.byName = new Map(def.metrics.map((m) => [m.name, m]));
        d.online = false;
        d.born = false;
        d.current.clear();
      }
    }
  }

  deviceBirth(deviceId: string, metrics: readonly MetricUpdate[]): void {
    const d = this.#devices.get(deviceId);
    if (d === undefined) return;
    d.online = true;
    d.current.clear();
    for (const m of metrics) d.current.set(m.name, m);
    if (this.#born) this.#publishDbirth(d);
  }

  deviceData(deviceId: string, metrics: readonly MetricUpdate[]): void {
    const d = this.#devices.get(deviceId);
    if (d === undefined || !d.online) return;
    for (const m of metrics) d.current.set(m.name, m);
    if (this.#born && d.born && this.#session.connected) {
      const payload = ddataPayload(d.byName, metrics, this.#seq.next(), this.#clock.now());
      this.#session.publish(deviceTopic(this.#o.group, 'DDATA', this.#o.node, deviceId), payload);
      return;
    }
    // Not lost silently: kept until the next birth, then replayed as historical.
    this.#counters.queued++;
    this.#outbox.push({ deviceId, metrics });
  }

  deviceDeath(deviceId: string): void {
    const d = this.#devices.get(deviceId);
    if (d === undefined) return;
    d.online = false;
    d.current.clear();
    if (this.#born && d.born) {
      this.#session.publish(
        deviceTopic(this.#o.group, 'DDEATH', this.#o.node, deviceId),
        ddeathPayload(this.#seq.next(), this.#clock.now()),
      );
    }
    d.born = false;
  }

  /** Publishes the node metrics that changed now (normally every statusIntervalMs). */
  publishNodeData(): void {
    const read = this.#o.readNodeMetrics;
    if (read === undefined || !this.#born || !this.#session.connected) return;
    const changes = this.#nodeMetrics.changes(read());
    if (changes.length === 0) return;
    this.#counters.nodeData++;
    this.#session.publish(
      nodeTopic(this.#o.group, 'NDATA', this.#o.node),
      ndataPayload(changes, this.#seq.next(), this.#clock.now()),
    );
  }

  status(): EdgeNodeStatus {
    const devices: Record<string, { online: boolean; born: boolean }> = {};
    for (const [id, d] of this.#devices) devices[id] = { online: d.online, born: d.born };
    return {
      connected: this.#session.connected,
      born: this.#born,
      bdSeq: this.#session.bdSeq,
      queued: this.#outbox.size,
      bufferedBytes: this.#session.bufferedBytes,
      counters: { ...this.#session.counters, ...this.#counters, dropped: this.#outbox.dropped },
      devices,
    };
  }

  #armStatus(): void {
    this.#clock.clearTimeout(this.#statusTimer);
    if (this.#closed) return;
    this.#statusTimer = this.#clock.setTimeout(() => {
      this.publishNodeData();
      this.#armStatus();
    }, this.#statusIntervalMs);
  }

  #onLost(): void {
    this.#subscribed = false;
    this.#hostOnline = false;
    if (this.#born) this.#counters.connectionLosses++;
    this.#born = false;
    for (const d of this.#devices.values()) d.born = false;
  }

  #onMessage(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    if (!parsed.ok) return;
    const t = parsed.topic;
    if (t.kind === 'state') this.#onHostState(payload);
    else if (t.kind === 'node' && t.type === 'NCMD') this.#onNodeCommand(payload);
    else if (t.kind === 'device' && t.type === 'DCMD') {
      // Gateways are read-only by default (DOMAIN.md); writes come with per-tag opt-in.
      this.#counters.dcmdIgnored++;
      this.#log.debug({ device: t.device }, 'DCMD ignored: writing to machines is not enabled');
    }
  }

  #onHostState(payload: Buffer): void {
    const state = decodeHostState(payload);
    if (state === undefined) {
      this.#counters.stateMalformed++;
      this.#log.warn('malformed STATE message dropped');
      return;
    }
    if (state.timestamp < this.#lastHostTimestamp) {
      this.#counters.stateStale++;
      return;
    }
    this.#lastHostTimestamp = state.timestamp;
    this.#hostOnline = state.online;
    if (state.online) {
      this.#maybeBirth();
      return;
    }
    if (!this.#born) return;
    // The primary host went away: die, disconnect, and start over (Sparkplug 3.0).
    this.#counters.hostOffline++;
    this.#log.warn(
      { host: this.#o.mqtt.primaryHost },
      'primary host offline; publishing NDEATH and reconnecting',
    );
    this.#born = false;
    this.#session.die();
  }

  #onNodeCommand(payload: Buffer): void {
    let rebirth: unknown;
    try {
      const p = decodePayload(payload);
      rebirth = p.metrics.find((m) => m.name === NODE_METRIC.rebirth)?.value;
    } catch (err) {
      this.#counters.ncmdMalformed++;
      this.#log.warn({ err }, 'malformed NCMD dropped');
      return;
    }
    if (rebirth === undefined || rebirth === false) {
      this.#counters.ncmdIgnored++;
      return;
    }
    if (rebirth !== true) {
      this.#counters.ncmdMalformed++;
      return;
    }
    if (!this.#born) return;
    this.#counters.rebirths++;
    this.#log.info('rebirth requested');
    this.#birth();
  }

  #maybeBirth(): void {
    if (this.#born || !this.#subscribed || !this.#session.connected) return;
    if (this.#o.mqtt.primaryHost !== undefined && !this.#hostOnline) return;
    this.#birth();
  }

  /** NBIRTH and a DBIRTH per online device, then what waited in the outbox. */
  #birth(): void {
    const now = this.#clock.now();
    const software = this.#o.software ?? 'wanji';
    const nodeMetrics = this.#nodeMetrics.birth(this.#o.readNodeMetrics?.() ?? new Map());
    this.#session.publish(
      nodeTopic(this.#o.group, 'NBIRTH', this.#o.node),
      nbirthPayload(this.#session.bdSeq, this.#seq.birth(), now, software, nodeMetrics),
    );
    this.#born = true;
    this.#counters.births++;
    for (const d of this.#devices.values()) {
      d.born = false;
      if (d.online) this.#publishDbirth(d);
    }
    for (const r of this.#outbox.drain()) {
      const d = this.#devices.get(r.deviceId);
      if (d === undefined || !d.born) continue;
      const payload = ddataPayload(d.byName, r.metrics, this.#seq.next(), this.#clock.now(), true);
      this.#session.publish(deviceTopic(this.#o.group, 'DDATA', this.#o.node, r.deviceId), payload);
    }
  }

  #publishDbirth(d: DeviceRuntime): void {
    const payload = dbirthPayload(d.def, d.current, this.#seq.next(), this.#clock.now());
    this.#session.publish(deviceTopic(this.#o.group, 'DBIRTH', this.#o.node, d.def.id), payload);
    d.born = true;
  }
}
