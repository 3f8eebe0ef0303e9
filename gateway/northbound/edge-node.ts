/**
 * The Sparkplug B edge node: one per gateway, its machines are its devices.
 *
 * Each MQTT session (3.1.1, clean session) registers an NDEATH will carrying the session's
 * bdSeq; the bdSeq to use next is persisted before connecting. After CONNACK the node
 * subscribes to its commands (and the primary host's STATE), then, once the host is online
 * (or no host is configured), publishes NBIRTH and a DBIRTH per online device. mqtt.js's
 * own reconnect is off because the will must change with every session.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import {
  BdSeqCounter,
  commandFilters,
  decodeHostState,
  decodePayload,
  deviceTopic,
  NODE_METRIC,
  nextSeq,
  nodeTopic,
  parseTopic,
  SeqCounter,
  stateTopic,
} from '../../protocol/index.js';
import { withTimeout } from '../async.js';
import { backoffDelay, type Clock, systemClock, type TimerHandle } from '../clock.js';
import type { GatewayConfig } from '../config/schema.js';
import type { MetricUpdate } from '../sampler.js';
import type { DeviceDefinition, MetricDefinition } from './device-model.js';
import { MemoryOutbox, type Outbox } from './outbox.js';
import { dbirthPayload, ddataPayload, ddeathPayload, nbirthPayload, ndeathPayload } from './payloads.js';
import { StateFile } from './state-file.js';

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
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  readonly connectTimeoutMs?: number;
}

interface DeviceRuntime {
  readonly def: DeviceDefinition;
  readonly byName: ReadonlyMap<string, MetricDefinition>;
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
  readonly counters: Readonly<Record<string, number>>;
  readonly devices: Readonly<Record<string, { online: boolean; born: boolean }>>;
}

export class EdgeNode {
  readonly #o: EdgeNodeOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #outbox: Outbox;
  readonly #stateFile: StateFile;
  readonly #devices = new Map<string, DeviceRuntime>();
  readonly #seq = new SeqCounter();
  #bdSeq = new BdSeqCounter();
  #client: MqttClient | undefined;
  /** bdSeq of the current session (its will and NBIRTH). */
  #sessionBdSeq = 0;
  #subscribed = false;
  #hostOnline = false;
  #lastHostTimestamp = Number.NEGATIVE_INFINITY;
  #born = false;
  #started = false;
  #closed = false;
  #attempt = 0;
  #reconnectTimer: TimerHandle | undefined;
  readonly #counters = {
    connects: 0,
    connectionLosses: 0,
    births: 0,
    rebirths: 0,
    published: 0,
    publishErrors: 0,
    queued: 0,
    ncmdMalformed: 0,
    ncmdIgnored: 0,
    dcmdIgnored: 0,
    stateMalformed: 0,
    stateStale: 0,
    hostOffline: 0,
    stateFileErrors: 0,
  };

  constructor(opts: EdgeNodeOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#log = opts.logger.child({ component: 'edge-node', group: opts.group, node: opts.node });
    this.#outbox = opts.outbox ?? new MemoryOutbox();
    this.#stateFile = new StateFile(opts.dataDir);
    for (const def of opts.devices) {
      this.#devices.set(def.id, {
        def,
        byName: new Map(def.metrics.map((m) => [m.name, m])),
        online: false,
        born: false,
        current: new Map(),
      });
    }
  }

  /** Loads the bdSeq and starts connecting; resolves without waiting for the broker. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    try {
      this.#bdSeq = new BdSeqCounter((await this.#stateFile.loadNextBdSeq()) ?? 0);
    } catch (err) {
      this.#counters.stateFileErrors++;
      this.#log.error({ err }, 'cannot read the bdSeq state file; starting at 0');
    }
    await this.#connect();
  }

  /** Publishes NDEATH, then disconnects cleanly (so the broker drops the will). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    if (client === undefined) return;
    if (client.connected) {
      const topic = nodeTopic(this.#o.group, 'NDEATH', this.#o.node);
      const ndeath = Buffer.from(ndeathPayload(this.#sessionBdSeq, this.#clock.now()));
      await withTimeout(client.publishAsync(topic, ndeath, { qos: 1 }), 2000).catch((err: unknown) =>
        this.#log.warn({ err }, 'NDEATH not acknowledged before close'),
      );
    }
    await withTimeout(client.endAsync(!client.connected), 2000).catch(() => client.end(true));
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
    if (this.#born && d.born && this.#client?.connected) {
      const payload = ddataPayload(d.byName, metrics, this.#seq.next(), this.#clock.now());
      this.#publish(deviceTopic(this.#o.group, 'DDATA', this.#o.node, deviceId), payload);
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
      this.#publish(
        deviceTopic(this.#o.group, 'DDEATH', this.#o.node, deviceId),
        ddeathPayload(this.#seq.next(), this.#clock.now()),
      );
    }
    d.born = false;
  }

  status(): EdgeNodeStatus {
    const devices: Record<string, { online: boolean; born: boolean }> = {};
    for (const [id, d] of this.#devices) devices[id] = { online: d.online, born: d.born };
    return {
      connected: this.#client?.connected ?? false,
      born: this.#born,
      bdSeq: this.#sessionBdSeq,
      queued: this.#outbox.size,
      counters: { ...this.#counters, dropped: this.#outbox.dropped },
      devices,
    };
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const bdSeq = this.#bdSeq.current;
    try {
      await this.#stateFile.saveNextBdSeq(nextSeq(bdSeq));
    } catch (err) {
      this.#counters.stateFileErrors++;
      this.#log.error({ err }, 'cannot persist bdSeq; a restart may reuse it');
    }
    if (this.#closed) return;
    const { url, username, password, keepaliveS, clientId } = this.#o.mqtt;
    this.#sessionBdSeq = bdSeq;
    this.#subscribed = false;
    this.#hostOnline = false;
    const client = mqtt.connect(url, {
      protocolVersion: 4,
      clean: true,
      clientId: clientId ?? `wanji-${this.#o.group}-${this.#o.node}`,
      keepalive: keepaliveS,
      reconnectPeriod: 0,
      connectTimeout: this.#o.connectTimeoutMs ?? 10_000,
      queueQoSZero: false,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      will: {
        topic: nodeTopic(this.#o.group, 'NDEATH', this.#o.node),
        payload: Buffer.from(ndeathPayload(bdSeq, this.#clock.now())),
        qos: 1,
        retain: false,
      },
    });
    this.#client = client;
    client.on('connect', () => this.#onConnect(client));
    client.on('message', (topic, payload) => this.#onMessage(client, topic, payload));
    client.on('error', (err) => this.#log.warn({ err }, 'MQTT error'));
    client.on('close', () => this.#onClose(client));
  }

  #onConnect(client: MqttClient): void {
    if (client !== this.#client) return;
    this.#attempt = 0;
    this.#counters.connects++;
    this.#log.info({ bdSeq: this.#sessionBdSeq }, 'connected to the MQTT broker');
    const filters = commandFilters(this.#o.group, this.#o.node);
    if (this.#o.mqtt.primaryHost !== undefined) filters.push(stateTopic(this.#o.mqtt.primaryHost));
    client.subscribe(filters, { qos: 1 }, (err) => {
      if (client !== this.#client) return;
      if (err) {
        this.#log.error({ err }, 'subscribing to commands failed; reconnecting');
        client.end(true);
        return;
      }
      this.#subscribed = true;
      this.#maybeBirth();
    });
  }

  #onClose(client: MqttClient): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    client.removeAllListeners('message');
    client.on('error', () => {}); // a late error of a dead client must not crash the process
    if (this.#born) this.#counters.connectionLosses++;
    this.#born = false;
    for (const d of this.#devices.values()) d.born = false;
    this.#bdSeq.advance();
    if (this.#closed) return;
    const delay = backoffDelay(
      this.#attempt++,
      this.#o.reconnectMinMs ?? 1000,
      this.#o.reconnectMaxMs ?? 30_000,
    );
    this.#log.info({ delayMs: delay }, 'MQTT connection closed; reconnecting');
    this.#reconnectTimer = this.#clock.setTimeout(() => {
      this.#connect().catch((err: unknown) => this.#log.error({ err }, 'reconnect failed'));
    }, delay);
  }

  #onMessage(client: MqttClient, topic: string, payload: Buffer): void {
    if (client !== this.#client) return;
    const parsed = parseTopic(topic);
    if (!parsed.ok) return;
    const t = parsed.topic;
    if (t.kind === 'state') this.#onHostState(client, payload);
    else if (t.kind === 'node' && t.type === 'NCMD') this.#onNodeCommand(payload);
    else if (t.kind === 'device' && t.type === 'DCMD') {
      // Gateways are read-only by default (DOMAIN.md); writes come with per-tag opt-in.
      this.#counters.dcmdIgnored++;
      this.#log.debug({ device: t.device }, 'DCMD ignored: writing to machines is not enabled');
    }
  }

  #onHostState(client: MqttClient, payload: Buffer): void {
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
    const ndeath = Buffer.from(ndeathPayload(this.#sessionBdSeq, this.#clock.now()));
    this.#born = false;
    client.publish(nodeTopic(this.#o.group, 'NDEATH', this.#o.node), ndeath, { qos: 1 }, () => client.end());
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
    if (this.#born || !this.#subscribed || !this.#client?.connected) return;
    if (this.#o.mqtt.primaryHost !== undefined && !this.#hostOnline) return;
    this.#birth();
  }

  /** NBIRTH and a DBIRTH per online device, then what waited in the outbox. */
  #birth(): void {
    const now = this.#clock.now();
    const software = this.#o.software ?? 'wanji';
    this.#publish(
      nodeTopic(this.#o.group, 'NBIRTH', this.#o.node),
      nbirthPayload(this.#sessionBdSeq, this.#seq.birth(), now, software),
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
      this.#publish(deviceTopic(this.#o.group, 'DDATA', this.#o.node, r.deviceId), payload);
    }
  }

  #publishDbirth(d: DeviceRuntime): void {
    const payload = dbirthPayload(d.def, d.current, this.#seq.next(), this.#clock.now());
    this.#publish(deviceTopic(this.#o.group, 'DBIRTH', this.#o.node, d.def.id), payload);
    d.born = true;
  }

  #publish(topic: string, payload: Uint8Array): void {
    const client = this.#client;
    if (client === undefined || !client.connected) return;
    this.#counters.published++;
    client.publish(topic, Buffer.from(payload), { qos: 0, retain: false }, (err) => {
      if (err) {
        this.#counters.publishErrors++;
        this.#log.warn({ err, topic }, 'publish failed');
      }
    });
  }
}
