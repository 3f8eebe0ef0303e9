/**
 * The Sparkplug B edge node: one per gateway, its machines are its devices (the gateway's
 * enterprise code is the group id; protocol/naming.ts turns the programme's ids into topics).
 *
 * Once its MQTT session (session.ts, on the one MQTT session of gateway and hub,
 * protocol/mqtt-session.ts) is connected and subscribed to its commands (parsed in commands.ts)
 * and the primary host's STATE, and the host is online (or no host is configured), it publishes
 * NBIRTH, with the gateway's own metrics (node-metrics.ts), and a DBIRTH per online device.
 * The gateway's metrics then go out in NDATA at most every `statusIntervalMs`, only what changed.
 *
 * Every machine's data goes into the journal (gateway/journal/) before it is published, with its
 * journal position in the payload; it leaves the journal when the hub's NCMD acknowledges that
 * the store holds it (`Journal/Ack`), or, with `acknowledgedBy: broker`, once the broker has it.
 * After each birth what is unacknowledged is published again as historical (the journal's
 * gateway/journal/replay.ts).
 */

import type { Logger } from 'pino';
import { type Clock, systemClock, type TimerHandle } from '../../protocol/clock.js';
import {
  commandFilters,
  decodeHostState,
  type GatewayRef,
  gatewayOfConfig,
  gatewayTopic,
  type MetricUpdate,
  type MetricValue,
  machineTopic,
  parseTopic,
  SeqCounter,
  stateTopic,
} from '../../protocol/index.js';
import type { GatewayConfig, JournalConfig } from '../config/schema.js';
import {
  type JournalFigures,
  JournalLink,
  type JournalRecord,
  journalMetricValues,
  type ReplayOutcome,
} from '../journal/index.js';
import { NameIndexes, Readings } from '../readings.js';
import { type DeviceCommandHandler, DeviceCommands, type NodeCommand, parseNodeCommand } from './commands.js';
import { type DeviceDefinition, type MetricDefinition, sameDevice } from './device-model.js';
import { JOURNAL_METRIC_DEFINITIONS, NodeMetricState } from './node-metrics.js';
import { dbirthPayload, ddataPayload, ddeathPayload, nbirthPayload, ndataPayload } from './payloads.js';
import { ReplayHolds } from './replay-holds.js';
import { MqttSession } from './session.js';

export const DEFAULT_STATUS_INTERVAL_MS = 10_000;
/** The replay waits this long for a machine's birth before publishing its history anyway. */
export const REPLAY_HOLD_MS = 15_000;
/** The replay pauses while the MQTT connection holds more than this, unsent. */
const REPLAY_MAX_BUFFERED = 1024 * 1024;

export interface EdgeNodeOptions {
  /** Sparkplug group id: the enterprise code (the config's gateway.group). */
  readonly group: string;
  /** Sparkplug edge node id: this gateway's id (the config's gateway.node). */
  readonly node: string;
  readonly mqtt: GatewayConfig['mqtt'];
  readonly devices: readonly DeviceDefinition[];
  readonly dataDir: string;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** The value of the NBIRTH's Properties/Software metric. */
  readonly software?: string;
  /** The journal's settings (defaults: gateway/config/schema.ts); its folder defaults to <dataDir>/journal. */
  readonly journal?: Partial<JournalConfig>;
  /** The gateway's own metrics (see setNodeMetrics) are read from here; default none. */
  readonly readNodeMetrics?: () => ReadonlyMap<string, MetricValue>;
  /** At most this often an NDATA with the node metrics that changed; default 10 s. */
  readonly statusIntervalMs?: number;
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  /** Default the config's mqtt.connectTimeoutMs (10 s). */
  readonly connectTimeoutMs?: number;
  /** The reconnect backoff's jitter source; default Math.random (session.ts). */
  readonly random?: () => number;
  /** Performs DCMD writes (commands.ts); without it DCMDs are ignored: read-only. */
  readonly onDeviceCommand?: DeviceCommandHandler;
}

interface DeviceRuntime {
  def: DeviceDefinition;
  /** Metric name → index in def.metrics; shared by the devices with the same metric names. */
  index: ReadonlyMap<string, number>;
  /** The sampler says the machine is up; it gets a DBIRTH whenever the node is born. */
  online: boolean;
  /** A DBIRTH went out since the last NBIRTH. */
  born: boolean;
  /** The latest value of each metric, by index in def.metrics: what a DBIRTH carries. */
  current: Readings;
}

export interface EdgeNodeStatus {
  readonly connected: boolean;
  readonly born: boolean;
  readonly bdSeq: number;
  /** Messages in the journal not yet acknowledged. */
  readonly queued: number;
  /** Bytes handed to the MQTT connection and not yet sent (a slow or stalled broker). */
  readonly bufferedBytes: number;
  readonly counters: Readonly<Record<string, number>>;
  readonly devices: Readonly<Record<string, { online: boolean; born: boolean }>>;
  /** Undefined before start(). */
  readonly journal: JournalFigures | undefined;
}

function runtime(def: DeviceDefinition, indexes: NameIndexes): DeviceRuntime {
  return {
    def,
    index: indexes.of(def.metrics.map((m) => m.name)),
    online: false,
    born: false,
    current: new Readings(def.metrics.length),
  };
}

/** Keeps `metrics` as the device's current values (names it does not define are ignored). */
function remember(d: DeviceRuntime, metrics: readonly MetricUpdate[]): void {
  for (const m of metrics) {
    const i = d.index.get(m.name);
    if (i !== undefined) d.current.set(i, m.value, m.quality, m.timestamp);
  }
}

export class EdgeNode {
  readonly #o: EdgeNodeOptions;
  /** This gateway in the programme's words, for its topics. */
  readonly #gateway: GatewayRef;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #session: MqttSession;
  #link: JournalLink | undefined;
  /** Machines the replay is waiting for, or had to announce itself. */
  readonly #holds: ReplayHolds;
  /** Machines no longer configured whose journalled data this replay released (logged once). */
  readonly #releasedDevices = new Set<string>();
  readonly #devices = new Map<string, DeviceRuntime>();
  readonly #indexes = new NameIndexes();
  readonly #nodeMetrics = new NodeMetricState();
  readonly #commands: DeviceCommands;
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
    stateMalformed: 0,
    stateStale: 0,
    hostOffline: 0,
    nodeData: 0,
    acks: 0,
    acksStale: 0,
    replayDiscarded: 0,
  };

  constructor(opts: EdgeNodeOptions) {
    this.#o = opts;
    this.#gateway = gatewayOfConfig(opts);
    this.#clock = opts.clock ?? systemClock;
    this.#log = opts.logger.child({ component: 'edge-node', group: opts.group, node: opts.node });
    this.#statusIntervalMs = opts.statusIntervalMs ?? DEFAULT_STATUS_INTERVAL_MS;
    this.#commands = new DeviceCommands(this.#log, opts.onDeviceCommand);
    this.#holds = new ReplayHolds(() => this.#clock.now(), REPLAY_HOLD_MS);
    this.#nodeMetrics.setDefinitions(JOURNAL_METRIC_DEFINITIONS);
    for (const def of opts.devices) this.#devices.set(def.id, runtime(def, this.#indexes));
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
      ...(opts.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: opts.connectTimeoutMs }),
      ...(opts.random === undefined ? {} : { random: opts.random }),
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

  /** Opens the journal, loads the bdSeq and starts connecting (without waiting for the broker). */
  async start(): Promise<void> {
    if (this.#closed || this.#link !== undefined) return;
    this.#link = new JournalLink({
      config: this.#o.journal ?? {},
      dataDir: this.#o.dataDir,
      logger: this.#log,
      clock: this.#clock,
      session: this.#session,
      target: {
        replay: (r) => this.#replay(r),
        ready: () =>
          this.#born && this.#session.connected && this.#session.bufferedBytes < REPLAY_MAX_BUFFERED,
        finished: () => this.#replayFinished(),
      },
    });
    this.#armStatus();
    await this.#session.start();
  }

  /** Publishes NDEATH, then disconnects cleanly (so the broker drops the will). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#statusTimer);
    this.#link?.replayer.stop();
    await this.#session.close();
    await this.#link?.close();
  }

  /**
   * Replaces the gateway's own metric set. A different set needs a new NBIRTH: when the node
   * is born it is reborn (NBIRTH and every DBIRTH, same bdSeq, same MQTT session).
   */
  setNodeMetrics(defs: readonly MetricDefinition[]): void {
    if (!this.#nodeMetrics.setDefinitions([...defs, ...JOURNAL_METRIC_DEFINITIONS]) || !this.#born) return;
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
      if (d === undefined) this.#devices.set(def.id, runtime(def, this.#indexes));
      else if (!sameDevice(d.def, def)) {
        const next = runtime(def, this.#indexes);
        d.def = def;
        d.index = next.index;
        d.online = false;
        d.born = false;
        d.current = next.current;
      }
    }
  }

  /** A machine is up: its values are journalled, and announced in a DBIRTH when the node is born. */
  deviceBirth(deviceId: string, metrics: readonly MetricUpdate[]): void {
    const d = this.#devices.get(deviceId);
    if (d === undefined) return;
    d.online = true;
    d.current.clear();
    remember(d, metrics);
    this.#holds.forget(deviceId);
    const position = this.#link?.journal.append(deviceId, metrics);
    if (this.#born) this.#publishDbirth(d, position);
  }

  /**
   * New values of a machine: journalled, then published live when the node and the machine
   * are born; otherwise they wait in the journal for the replay after the next birth.
   */
  deviceData(deviceId: string, metrics: readonly MetricUpdate[]): void {
    const d = this.#devices.get(deviceId);
    if (d === undefined || !d.online) return;
    remember(d, metrics);
    const position = this.#link?.journal.append(deviceId, metrics);
    if (position === undefined) return; // refused (journal full, stop-sampling): counted there
    if (!this.#born || !d.born || !this.#session.connected) {
      this.#counters.queued++;
      return;
    }
    const payload = ddataPayload(
      d.def,
      d.index,
      metrics,
      this.#seq.next(),
      this.#clock.now(),
      false,
      position,
    );
    this.#publish(machineTopic(this.#gateway, 'DDATA', deviceId), payload, position);
  }

  deviceDeath(deviceId: string): void {
    const d = this.#devices.get(deviceId);
    if (d === undefined) return;
    d.online = false;
    d.current.clear();
    if (this.#born && d.born) {
      this.#session.publish(
        machineTopic(this.#gateway, 'DDEATH', deviceId),
        ddeathPayload(this.#seq.next(), this.#clock.now()),
      );
    }
    d.born = false;
  }

  /** Publishes the node metrics that changed now (normally every statusIntervalMs). */
  publishNodeData(): void {
    if (!this.#born || !this.#session.connected) return;
    const changes = this.#nodeMetrics.changes(this.#readNodeMetrics());
    if (changes.length === 0) return;
    this.#counters.nodeData++;
    this.#session.publish(
      gatewayTopic(this.#gateway, 'NDATA'),
      ndataPayload(changes, this.#seq.next(), this.#clock.now()),
    );
  }

  status(): EdgeNodeStatus {
    const devices: Record<string, { online: boolean; born: boolean }> = {};
    for (const [id, d] of this.#devices) devices[id] = { online: d.online, born: d.born };
    const journal = this.journalFigures();
    return {
      connected: this.#session.connected,
      born: this.#born,
      bdSeq: this.#session.bdSeq,
      queued: journal?.backlog ?? 0,
      bufferedBytes: this.#session.bufferedBytes,
      counters: {
        ...this.#session.counters,
        ...this.#counters,
        ...this.#commands.counters,
        ...this.#link?.counters(),
        dropped: (journal?.dropped ?? 0) + (journal?.expired ?? 0),
      },
      devices,
      journal,
    };
  }

  /** The journal's figures, published as the Journal/* node metrics. */
  journalFigures(): JournalFigures | undefined {
    return this.#link?.figures();
  }

  /** The gateway's node metrics and the journal's. */
  #readNodeMetrics(): Map<string, MetricValue> {
    const out = new Map(this.#o.readNodeMetrics?.() ?? []);
    const j = this.journalFigures();
    if (j !== undefined) for (const [k, v] of journalMetricValues(j)) out.set(k, v);
    return out;
  }

  #publish(topic: string, payload: Uint8Array, position: number | undefined): void {
    if (this.#link === undefined) this.#session.publish(topic, payload);
    else this.#link.publish(topic, payload, position);
  }

  /** One journalled message again, as historical (the replay's target). */
  #replay(r: JournalRecord): ReplayOutcome {
    const d = this.#devices.get(r.deviceId);
    if (d === undefined) {
      this.#release(r);
      return 'skip';
    }
    const decision = this.#holds.decide(d.def.id, d.born);
    if (decision === 'wait') return 'wait';
    if (decision === 'announce') {
      this.#log.info({ device: d.def.id }, 'machine offline; announcing it to replay its journalled data');
      this.#publishDbirth(d);
    }
    const payload = ddataPayload(
      d.def,
      d.index,
      r.metrics,
      this.#seq.next(),
      this.#clock.now(),
      true,
      r.position,
    );
    this.#publish(machineTopic(this.#gateway, 'DDATA', r.deviceId), payload, r.position);
    return 'sent';
  }

  /**
   * Journalled data of a machine no longer configured is released, not replayed: announcing a
   * machine the operator removed (or moved to another gateway) would bring it back on the hub.
   * The NDATA carries the position, which the hub acknowledges, so its acknowledgement never
   * waits for a message this gateway will not send; Journal/Released counts them.
   */
  #release(r: JournalRecord): void {
    const link = this.#link;
    if (link === undefined) return;
    this.#counters.replayDiscarded++;
    if (!this.#releasedDevices.has(r.deviceId)) {
      this.#releasedDevices.add(r.deviceId);
      this.#log.warn(
        { device: r.deviceId, position: r.position },
        'journalled data of a machine no longer configured; released (counted in Journal/Released), not replayed',
      );
    }
    link.release(r.position, () => ({
      topic: gatewayTopic(this.#gateway, 'NDATA'),
      payload: ndataPayload(
        this.#nodeMetrics.changes(this.#readNodeMetrics()),
        this.#seq.next(),
        this.#clock.now(),
        r.position,
      ),
    }));
  }

  #replayFinished(): void {
    for (const id of this.#holds.finish()) {
      if (this.#devices.get(id)?.online === false) this.deviceDeath(id);
    }
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
    this.#link?.replayer.stop();
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
    else if (t.kind === 'device' && t.type === 'DCMD')
      void this.#commands.handle(t.device, this.#devices.get(t.device)?.def, payload);
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
    let command: NodeCommand;
    try {
      command = parseNodeCommand(payload);
    } catch (err) {
      this.#counters.ncmdMalformed++;
      this.#log.warn({ err }, 'malformed NCMD dropped');
      return;
    }
    const { rebirth, ack, journalId } = command;
    if (ack !== undefined) {
      const outcome = this.#link?.hubAck(ack, journalId) ?? 'stale';
      if (outcome === 'acked') this.#counters.acks++;
      else if (outcome === 'stale') this.#counters.acksStale++;
      else this.#counters.ncmdMalformed++;
      if (rebirth === undefined) return;
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

  /** NBIRTH and a DBIRTH per online device, then the replay of what is unacknowledged. */
  #birth(): void {
    const now = this.#clock.now();
    const software = this.#o.software ?? 'wanji';
    const nodeMetrics = this.#nodeMetrics.birth(this.#readNodeMetrics());
    this.#session.publish(
      gatewayTopic(this.#gateway, 'NBIRTH'),
      nbirthPayload(this.#session.bdSeq, this.#seq.birth(), now, software, nodeMetrics),
    );
    this.#born = true;
    this.#counters.births++;
    for (const d of this.#devices.values()) {
      d.born = false;
      if (d.online) this.#publishDbirth(d);
    }
    this.#holds.clear();
    this.#releasedDevices.clear();
    if (this.#link !== undefined) this.#link.replayer.start(this.#link.journal.head);
  }

  /** `position`: the journal position of the values it carries, when they are new (deviceBirth). */
  #publishDbirth(d: DeviceRuntime, position?: number): void {
    const payload = dbirthPayload(d.def, d.current, this.#seq.next(), this.#clock.now(), position);
    this.#publish(machineTopic(this.#gateway, 'DBIRTH', d.def.id), payload, position);
    d.born = true;
  }
}
