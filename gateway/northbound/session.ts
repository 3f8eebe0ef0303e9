/**
 * The edge node's MQTT session: the one MQTT session of gateway and hub (protocol/mqtt-session.ts)
 * with what makes it a Sparkplug edge node's. Its will is the NDEATH of the session's bdSeq; the
 * bdSeq to use next is persisted (state-file.ts) before each CONNECT, so a restart never reuses
 * one; close() and die() publish that NDEATH themselves first. Its reconnects are jittered (a
 * box runs hundreds of gateways that lose one broker together) and its connect timeout is the
 * config's mqtt.connectTimeoutMs.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.js';
import { BdSeqCounter, nextSeq, nodeTopic } from '../../protocol/index.js';
import {
  MqttSession as Session,
  type SessionAttempt,
  type SessionHandler,
  type SessionMessage,
} from '../../protocol/mqtt-session.js';
import type { GatewayConfig } from '../config/schema.js';
import { mqttTlsError, mqttTlsOptions } from './mqtt-tls.js';
import { ndeathPayload } from './payloads.js';
import { StateFile } from './state-file.js';

export type { SessionHandler };

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
  /** Default the config's mqtt.connectTimeoutMs, else 10 s. */
  readonly connectTimeoutMs?: number;
  /**
   * The reconnect backoff's jitter (protocol/backoff.ts); default Math.random, so gateways that
   * lost the broker together do not come back in lockstep. Tests inject their own.
   */
  readonly random?: () => number;
}

export class MqttSession {
  readonly #o: SessionOptions;
  readonly #log: Logger;
  readonly #stateFile: StateFile;
  readonly #deathTopic: string;
  readonly #session: Session;
  #bdSeq = new BdSeqCounter();
  /** bdSeq of the current session (its will and NBIRTH). */
  #sessionBdSeq = 0;
  #stateFileErrors = 0;
  #started = false;

  constructor(opts: SessionOptions) {
    this.#o = opts;
    this.#log = opts.logger;
    this.#stateFile = new StateFile(opts.dataDir);
    this.#deathTopic = nodeTopic(opts.group, 'NDEATH', opts.node);
    const { url, username, password, keepaliveS, clientId } = opts.mqtt;
    this.#session = new Session({
      url,
      clientId: clientId ?? `wanji-${opts.group}-${opts.node}`,
      keepaliveS,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      logger: opts.logger,
      clock: opts.clock,
      attempt: () => this.#attempt(),
      filters: opts.filters,
      handler: opts.handler,
      reconnectMinMs: opts.reconnectMinMs ?? 1000,
      reconnectMaxMs: opts.reconnectMaxMs ?? 30_000,
      connectTimeoutMs: opts.connectTimeoutMs ?? opts.mqtt.connectTimeoutMs ?? 10_000,
      jitter: opts.random ?? Math.random,
      // A failed TLS handshake is a setting to fix, said in the config's words (WANJI_E_MQTT_TLS).
      describeError: (err) => {
        const tlsErr = mqttTlsError(err, opts.mqtt, opts.clock.now());
        return tlsErr === undefined
          ? undefined
          : { err: tlsErr, msg: 'MQTT TLS connection to the broker failed' };
      },
    });
  }

  get counters(): Readonly<Record<string, number>> {
    return { ...this.#session.counters, stateFileErrors: this.#stateFileErrors };
  }

  get connected(): boolean {
    return this.#session.connected;
  }

  /** Bytes written to the connection that the socket has not sent yet. */
  get bufferedBytes(): number {
    return this.#session.bufferedBytes;
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
      this.#stateFileErrors++;
      this.#log.error({ err }, 'cannot read the bdSeq state file; starting at 0');
    }
    await this.#session.start();
  }

  /** Publishes NDEATH, then disconnects cleanly (so the broker drops the will). */
  async close(): Promise<void> {
    await this.#session.close(this.#ndeath());
  }

  /**
   * Publishes at QoS 0; false when there is no connection. `onSent` learns whether the message
   * was written to the connection.
   */
  publish(topic: string, payload: Uint8Array, onSent?: (ok: boolean) => void): boolean {
    return this.#session.publish(topic, payload, { qos: 0 }, onSent);
  }

  /** Publishes NDEATH and ends the session; a new one follows (the primary host went away). */
  die(): void {
    this.#session.restart(this.#ndeath());
  }

  #ndeath(): SessionMessage {
    return {
      topic: this.#deathTopic,
      payload: ndeathPayload(this.#sessionBdSeq, this.#o.clock.now()),
      retain: false,
    };
  }

  /** Each session takes the next bdSeq, persisted first, and its NDEATH is the will. */
  async #attempt(): Promise<SessionAttempt> {
    const bdSeq = this.#bdSeq.current;
    this.#bdSeq.advance();
    try {
      await this.#stateFile.saveNextBdSeq(nextSeq(bdSeq));
    } catch (err) {
      this.#stateFileErrors++;
      this.#log.error({ err }, 'cannot persist bdSeq; a restart may reuse it');
    }
    this.#sessionBdSeq = bdSeq;
    return { will: this.#ndeath(), tls: mqttTlsOptions(this.#o.mqtt), log: { bdSeq } };
  }
}
