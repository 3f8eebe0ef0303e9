/**
 * The edge node's MQTT session: one connection at a time (3.1.1, clean session) whose will is
 * the NDEATH of the session's bdSeq. The bdSeq to use next is persisted before connecting, so
 * a restart never reuses one. mqtt.js's own reconnect is off because the will must change with
 * every session: this class reconnects with backoff, and tells its handler when the session is
 * ready (connected and subscribed), what arrives, and when it is lost.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { backoffDelay } from '../../protocol/backoff.js';
import type { Clock, TimerHandle } from '../../protocol/clock.js';
import { BdSeqCounter, nextSeq, nodeTopic } from '../../protocol/index.js';
import { withTimeout } from '../async.js';
import type { GatewayConfig } from '../config/schema.js';
import { mqttTlsError, mqttTlsOptions } from './mqtt-tls.js';
import { ndeathPayload } from './payloads.js';
import { StateFile } from './state-file.js';

export interface SessionHandler {
  /** Connected and subscribed to the filters. */
  ready(): void;
  message(topic: string, payload: Buffer): void;
  /** The connection closed; the session reconnects by itself unless closed. */
  lost(): void;
}

export interface SessionOptions {
  readonly group: string;
  readonly node: string;
  readonly mqtt: GatewayConfig['mqtt'];
  readonly dataDir: string;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Subscribed (QoS 1) after every CONNACK. */
  readonly filters: readonly string[];
  readonly handler: SessionHandler;
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  readonly connectTimeoutMs?: number;
}

export class MqttSession {
  readonly counters = { connects: 0, published: 0, publishErrors: 0, stateFileErrors: 0 };
  readonly #o: SessionOptions;
  readonly #log: Logger;
  readonly #stateFile: StateFile;
  readonly #deathTopic: string;
  #bdSeq = new BdSeqCounter();
  #client: MqttClient | undefined;
  /** bdSeq of the current session (its will and NBIRTH). */
  #sessionBdSeq = 0;
  #started = false;
  #closed = false;
  #attempt = 0;
  #reconnectTimer: TimerHandle | undefined;

  constructor(opts: SessionOptions) {
    this.#o = opts;
    this.#log = opts.logger;
    this.#stateFile = new StateFile(opts.dataDir);
    this.#deathTopic = nodeTopic(opts.group, 'NDEATH', opts.node);
  }

  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  /** Bytes written to the connection that the socket has not sent yet. */
  get bufferedBytes(): number {
    return this.#client?.stream?.writableLength ?? 0;
  }

  get bdSeq(): number {
    return this.#sessionBdSeq;
  }

  /** Loads the bdSeq and starts connecting; resolves without waiting for the broker. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    try {
      this.#bdSeq = new BdSeqCounter((await this.#stateFile.loadNextBdSeq()) ?? 0);
    } catch (err) {
      this.counters.stateFileErrors++;
      this.#log.error({ err }, 'cannot read the bdSeq state file; starting at 0');
    }
    await this.#connect();
  }

  /** Publishes NDEATH, then disconnects cleanly (so the broker drops the will). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.clock.clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    if (client === undefined) return;
    if (client.connected) {
      await withTimeout(client.publishAsync(this.#deathTopic, this.#ndeath(), { qos: 1 }), 2000).catch(
        (err: unknown) => this.#log.warn({ err }, 'NDEATH not acknowledged before close'),
      );
    }
    await withTimeout(client.endAsync(!client.connected), 2000).catch(() => client.end(true));
  }

  /**
   * Publishes at QoS 0; false when there is no connection. `onSent` learns whether the message
   * was written to the connection.
   */
  publish(topic: string, payload: Uint8Array, onSent?: (ok: boolean) => void): boolean {
    const client = this.#client;
    if (client === undefined || !client.connected) {
      onSent?.(false);
      return false;
    }
    this.counters.published++;
    client.publish(
      topic,
      Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
      { qos: 0, retain: false },
      (err) => {
        if (err) {
          this.counters.publishErrors++;
          this.#log.warn({ err, topic }, 'publish failed');
        }
        onSent?.(!err);
      },
    );
    return true;
  }

  /** Publishes NDEATH and ends the session; a new one follows (the primary host went away). */
  die(): void {
    const client = this.#client;
    if (client === undefined) return;
    client.publish(this.#deathTopic, this.#ndeath(), { qos: 1 }, () => client.end());
  }

  #ndeath(): Buffer {
    return Buffer.from(ndeathPayload(this.#sessionBdSeq, this.#o.clock.now()));
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const bdSeq = this.#bdSeq.current;
    try {
      await this.#stateFile.saveNextBdSeq(nextSeq(bdSeq));
    } catch (err) {
      this.counters.stateFileErrors++;
      this.#log.error({ err }, 'cannot persist bdSeq; a restart may reuse it');
    }
    if (this.#closed) return;
    const { url, username, password, keepaliveS, clientId } = this.#o.mqtt;
    this.#sessionBdSeq = bdSeq;
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
      ...mqttTlsOptions(this.#o.mqtt),
      will: { topic: this.#deathTopic, payload: this.#ndeath(), qos: 1, retain: false },
    });
    this.#client = client;
    client.on('connect', () => this.#onConnect(client));
    client.on('message', (topic, payload) => {
      if (client === this.#client) this.#o.handler.message(topic, payload);
    });
    client.on('error', (err) => {
      // While closing, mqtt.js may still answer a message that arrived with a PUBACK after the
      // stream ended ("write after end", issue 10): expected at shutdown, not worth a warning.
      if (this.#closed) {
        this.#log.debug({ err }, 'MQTT error while closing');
        return;
      }
      // A failed TLS handshake is a setting to fix, said in the config's words (WANJI_E_MQTT_TLS).
      const tlsErr = mqttTlsError(err, this.#o.mqtt, this.#o.clock.now());
      if (tlsErr === undefined) this.#log.warn({ err }, 'MQTT error');
      else this.#log.error({ err: tlsErr }, 'MQTT TLS connection to the broker failed');
    });
    client.on('close', () => this.#onClose(client));
  }

  #onConnect(client: MqttClient): void {
    if (client !== this.#client) return;
    this.#attempt = 0;
    this.counters.connects++;
    this.#log.info({ bdSeq: this.#sessionBdSeq }, 'connected to the MQTT broker');
    client.subscribe([...this.#o.filters], { qos: 1 }, (err) => {
      if (client !== this.#client) return;
      if (err) {
        this.#log.error({ err }, 'subscribing to commands failed; reconnecting');
        client.end(true);
        return;
      }
      this.#o.handler.ready();
    });
  }

  #onClose(client: MqttClient): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    client.removeAllListeners('message');
    client.on('error', () => {}); // a late error of a dead client must not crash the process
    this.#bdSeq.advance();
    this.#o.handler.lost();
    if (this.#closed) return;
    const delay = backoffDelay(
      this.#attempt++,
      this.#o.reconnectMinMs ?? 1000,
      this.#o.reconnectMaxMs ?? 30_000,
    );
    this.#log.info({ delayMs: delay }, 'MQTT connection closed; reconnecting');
    this.#reconnectTimer = this.#o.clock.setTimeout(() => {
      this.#connect().catch((err: unknown) => this.#log.error({ err }, 'reconnect failed'));
    }, delay);
  }
}
