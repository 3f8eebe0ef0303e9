/**
 * The Sparkplug primary host: an mqtt.js client, whether the broker is the hub's own aedes
 * or an external one. It owns the STATE lifecycle (will = offline with the CONNECT
 * timestamp; online, retained, after subscribing; offline before a planned close) and feeds
 * every other message to the MessageProcessor.
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { REAL_CLOCK, type Timers } from '../../protocol/clock.js';
import {
  allGroupsFilter,
  DataType,
  decodeHostState,
  encodeHostState,
  encodePayload,
  NODE_METRIC,
  nodeTopic,
  redactUrl,
  stateTopic,
} from '../../protocol/index.js';
import type { HostTlsOptions } from '../broker/types.js';
import { type ComponentHealth, HubError } from '../errors.js';
import type { HostSink } from '../sink.js';
import { type DurableWrites, JournalAcks } from './acks.js';
import type { HostLimits } from './bounds.js';
import type { EdgeNodeState } from './edge-node.js';
import { MessageProcessor } from './processor.js';
import type { HostCounters } from './types.js';

export interface SparkplugHostOptions {
  /** mqtt://host:port of the broker (embedded or external). */
  readonly url: string;
  readonly hostId: string;
  readonly sink: HostSink;
  readonly logger: Logger;
  readonly clock?: () => number;
  readonly timers?: Timers;
  /** Default 2000 ms. */
  readonly reorderTimeoutMs?: number;
  /** Default 5000 ms. */
  readonly rebirthMinIntervalMs?: number;
  /** How long start() waits for the first connection; default 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /**
   * The ingest's durable-write events: with them the host acknowledges gateway journals
   * (acks.ts); without, it never does (gateways then keep their data until they drop it).
   */
  readonly writes?: DurableWrites;
  /** How often journal acknowledgements go out at most, per edge node; default 500 ms. */
  readonly ackIntervalMs?: number;
  /** A gateway journal not draining for this long makes journalHealth() degraded; default 120 000 ms. */
  readonly journalStallMs?: number;
  /** Credentials for brokers that require them (per-client ACLs come later). */
  readonly username?: string;
  readonly password?: string;
  /** TLS client options for an mqtts:// or wss:// broker (an external one: mqtt.clientTls). */
  readonly tls?: HostTlsOptions;
  /** Bounds on what gateways send (config `limits`, bounds.ts); default DEFAULT_HOST_LIMITS. */
  readonly limits?: HostLimits;
}

/** Own STATE seen wrong (offline, foreign timestamp) is corrected at most this often. */
const STATE_CORRECTION_MIN_MS = 5_000;

export class SparkplugHost {
  readonly #o: SparkplugHostOptions;
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #timers: Timers;
  readonly #stateTopic: string;
  readonly #processor: MessageProcessor;
  readonly #acks: JournalAcks | undefined;
  #client: MqttClient | undefined;
  /** Timestamp of the current CONNECT's will; STATE online and offline repeat it. */
  #connectTs = 0;
  #onlinePublished = false;
  #closing = false;
  #lastCorrection = Number.NEGATIVE_INFINITY;
  #status: ComponentHealth['status'] = 'starting';

  constructor(opts: SparkplugHostOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'host', hostId: opts.hostId });
    this.#clock = opts.clock ?? Date.now;
    this.#stateTopic = stateTopic(opts.hostId);
    const timers = opts.timers ?? REAL_CLOCK;
    this.#timers = timers;
    this.#acks =
      opts.writes === undefined
        ? undefined
        : new JournalAcks({
            writes: opts.writes,
            publish: (group, edgeNode, payload) => this.#publishAck(group, edgeNode, payload),
            requestRebirth: (group, edgeNode, reason) =>
              this.#processor.requestRebirth(group, edgeNode, reason),
            logger: this.#log,
            clock: this.#clock,
            timers,
            ...(opts.ackIntervalMs === undefined ? {} : { intervalMs: opts.ackIntervalMs }),
            ...(opts.journalStallMs === undefined ? {} : { stallMs: opts.journalStallMs }),
          });
    this.#processor = new MessageProcessor({
      sink: opts.sink,
      logger: this.#log,
      clock: this.#clock,
      timers,
      reorderTimeoutMs: opts.reorderTimeoutMs ?? 2_000,
      rebirthMinIntervalMs: opts.rebirthMinIntervalMs ?? 5_000,
      sendRebirth: (group, edgeNode) => this.#publishRebirth(group, edgeNode),
      ...(this.#acks === undefined ? {} : { journals: this.#acks }),
      ...(opts.limits === undefined ? {} : { limits: opts.limits }),
    });
  }

  /** Journal acknowledgements sent and replays asked for. */
  get ackCounters(): Readonly<Record<string, number>> {
    return { ...(this.#acks?.counters ?? {}) };
  }

  /** The journal position acknowledged to an edge node (tests, diagnostics). */
  acknowledged(group: string, edgeNode: string): number | undefined {
    return this.#acks?.acknowledged(group, edgeNode);
  }

  /** Gateway journals that do not drain (acks.ts), for /healthz; up without acknowledgements. */
  journalHealth(): ComponentHealth {
    return this.#acks?.health() ?? { status: 'up' };
  }

  get counters(): Readonly<HostCounters> {
    return this.#processor.counters;
  }

  get connected(): boolean {
    return this.#client?.connected === true && this.#onlinePublished;
  }

  health(): ComponentHealth {
    if (this.#status !== 'up') return { status: this.#status };
    return this.connected ? { status: 'up' } : { status: 'down', detail: 'not connected to the MQTT broker' };
  }

  /** What the host knows about an edge node (tests, diagnostics). */
  node(group: string, edgeNode: string): EdgeNodeState | undefined {
    return this.#processor.node(group, edgeNode);
  }

  requestRebirth(group: string, edgeNode: string): void {
    this.#processor.requestRebirth(group, edgeNode, 'requested by operator');
  }

  async start(): Promise<void> {
    if (this.#client !== undefined) return;
    this.#closing = false;
    this.#connectTs = this.#clock();
    this.#acks?.start();
    const connectTimeoutMs = this.#o.connectTimeoutMs ?? 10_000;
    const opts: IClientOptions = {
      clientId: this.#o.hostId,
      clean: true,
      protocolVersion: 4,
      keepalive: 30,
      reconnectPeriod: 1_000,
      connectTimeout: connectTimeoutMs,
      resubscribe: false,
      will: {
        topic: this.#stateTopic,
        payload: encodeHostState({ online: false, timestamp: this.#connectTs }),
        qos: 1,
        retain: true,
      },
      ...(this.#o.username === undefined ? {} : { username: this.#o.username }),
      ...(this.#o.password === undefined ? {} : { password: this.#o.password }),
      ...this.#o.tls,
    };
    const client = connect(this.#o.url, opts);
    this.#client = client;
    client.on('reconnect', () => {
      // Each CONNECT carries a fresh will timestamp (Sparkplug: STATE repeats it).
      this.#connectTs = this.#clock();
      this.#onlinePublished = false;
      if (client.options.will !== undefined) {
        client.options.will.payload = encodeHostState({ online: false, timestamp: this.#connectTs });
      }
    });
    client.on('error', (err) => {
      // While closing, an acknowledgement racing the end of the socket is expected, not news.
      if (this.#closing) this.#log.debug({ err }, 'MQTT client error while closing');
      else this.#log.warn({ err }, 'MQTT client error');
    });
    client.on('close', () => {
      if (!this.#closing) this.#log.warn('disconnected from the MQTT broker; reconnecting');
      this.#onlinePublished = false;
    });
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    const firstOnline = new Promise<void>((resolve, reject) => {
      const timer = this.#timers.setTimeout(() => {
        reject(
          new HubError(
            'WANJI_E_HOST_CONNECT',
            `Sparkplug host could not connect to ${redactUrl(this.#o.url)} within ${connectTimeoutMs} ms`,
          ),
        );
      }, connectTimeoutMs);
      client.on('connect', () => {
        this.#announceOnline().then(
          () => {
            this.#timers.clearTimeout(timer);
            resolve();
          },
          (err: unknown) => this.#log.warn({ err }, 'could not publish STATE online'),
        );
      });
    });
    try {
      await firstOnline;
    } catch (err) {
      await this.#end();
      throw err;
    }
    this.#status = 'up';
  }

  /** Publishes STATE offline (retained), then disconnects cleanly, so the will is not sent. */
  async close(): Promise<void> {
    if (this.#client === undefined) {
      this.#status = 'closed';
      return;
    }
    this.#closing = true;
    const client = this.#client;
    if (client.connected) {
      try {
        await client.publishAsync(
          this.#stateTopic,
          encodeHostState({ online: false, timestamp: this.#connectTs }),
          { qos: 1, retain: true },
        );
      } catch (err) {
        this.#log.warn({ err }, 'could not publish STATE offline; the broker will send the will');
      }
    }
    await this.#end();
    this.#status = 'closed';
  }

  async #end(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#onlinePublished = false;
    this.#processor.close();
    this.#acks?.close();
    if (client === undefined) return;
    client.removeAllListeners('connect');
    client.removeAllListeners('reconnect');
    await client.endAsync(!client.connected);
    client.removeAllListeners();
  }

  /** Subscribe to our own STATE and every group, then say we are online. */
  async #announceOnline(): Promise<void> {
    const client = this.#client;
    if (client === undefined) return;
    await client.subscribeAsync({ [this.#stateTopic]: { qos: 1 }, [allGroupsFilter()]: { qos: 1 } });
    await this.#publishOnline(client);
    this.#log.info({ url: redactUrl(this.#o.url) }, 'primary host online');
  }

  async #publishOnline(client: MqttClient): Promise<void> {
    await client.publishAsync(
      this.#stateTopic,
      encodeHostState({ online: true, timestamp: this.#connectTs }),
      {
        qos: 1,
        retain: true,
      },
    );
    this.#onlinePublished = true;
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (topic === this.#stateTopic) {
      this.#onOwnState(payload);
      return;
    }
    this.#processor.handle(topic, payload);
  }

  /**
   * A stale retained STATE, or a late will from our previous session, must not stand:
   * edge nodes that read "offline" disconnect. Republish ours (rate-limited, in case a
   * second hub runs with the same host id).
   */
  #onOwnState(payload: Buffer): void {
    const s = decodeHostState(payload);
    if (s === undefined) {
      this.#processor.counters.malformedPayloads++;
      return;
    }
    if (s.online && s.timestamp === this.#connectTs) return;
    const client = this.#client;
    if (client === undefined || this.#closing || !this.#onlinePublished) return;
    const now = this.#clock();
    if (now - this.#lastCorrection < STATE_CORRECTION_MIN_MS) return;
    this.#lastCorrection = now;
    this.#processor.counters.stateCorrections++;
    this.#log.warn({ seen: s }, 'own STATE was overwritten; publishing online again');
    this.#publishOnline(client).catch((err: unknown) => this.#log.warn({ err }, 'STATE republish failed'));
  }

  #publishAck(group: string, edgeNode: string, payload: Uint8Array): void {
    const client = this.#client;
    if (client === undefined || !client.connected) return;
    client.publish(nodeTopic(group, 'NCMD', edgeNode), Buffer.from(payload), { qos: 1 }, (err) => {
      if (err) this.#log.warn({ err, group, edgeNode }, 'journal acknowledgement publish failed');
    });
  }

  #publishRebirth(group: string, edgeNode: string): void {
    const client = this.#client;
    if (client === undefined || !client.connected) return;
    const now = this.#clock();
    const payload = encodePayload({
      timestamp: now,
      metrics: [{ name: NODE_METRIC.rebirth, datatype: DataType.Boolean, value: true, timestamp: now }],
    });
    client.publish(nodeTopic(group, 'NCMD', edgeNode), Buffer.from(payload), { qos: 0 }, (err) => {
      if (err) this.#log.warn({ err, group, edgeNode }, 'rebirth NCMD publish failed');
    });
  }
}
