/**
 * The one MQTT session of gateway and hub: under the edge node (gateway/northbound/session.ts)
 * and under the Sparkplug primary host (hub/host/host.ts). One connection at a time, MQTT 3.1.1,
 * clean session.
 *
 * mqtt.js's own reconnect is off because a Sparkplug will changes with every session (the edge
 * node's NDEATH carries the session's bdSeq, the host's STATE the CONNECT's timestamp): before
 * each CONNECT the owner's `attempt()` gives this attempt's will (and bumps whatever it keeps per
 * session), so every connection is a new mqtt.js client with its own will, never one rewritten in
 * place. After each CONNACK the session subscribes to the owner's filters, then says `ready`. A
 * closed connection is retried after the one backoff (protocol/backoff.ts) on the injected clock.
 * close() publishes the owner's last word (the NDEATH, the STATE offline) and disconnects
 * cleanly, so the broker drops the will; a connection that drops without that gets the will.
 * Broker URLs are logged through redactUrl (protocol/broker-url.ts).
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { backoffDelay } from './backoff.js';
import { redactUrl } from './broker-url.js';
import type { Clock, TimerHandle } from './clock.js';

/** A message the session publishes at QoS 1 on the owner's behalf: a will, or the last word at close. */
export interface SessionMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly retain: boolean;
}

/** TLS client options for mqtts:// (file contents, read by the owner). */
export interface SessionTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly rejectUnauthorized?: boolean;
}

/** What one CONNECT carries, built by the owner just before it. */
export interface SessionAttempt {
  readonly will: SessionMessage;
  readonly tls?: SessionTls;
  /** Fields for this connection's 'connected' log line (the edge node's bdSeq). */
  readonly log?: Readonly<Record<string, unknown>>;
}

export interface SessionHandler {
  /** Connected and subscribed to the filters. */
  ready(): void;
  message(topic: string, payload: Buffer): void;
  /** The connection (or the attempt at one) closed; the session reconnects by itself unless closed. */
  lost(): void;
}

export interface MqttSessionOptions {
  /** mqtt://, mqtts://, ws:// or wss://; may carry a login (never logged: redactUrl). */
  readonly url: string;
  readonly clientId: string;
  readonly keepaliveS: number;
  readonly username?: string;
  readonly password?: string;
  readonly logger: Logger;
  readonly clock: Clock;
  /**
   * Called before every CONNECT, the first included. What it throws stops start() (an unreadable
   * TLS file) or, on a reconnect, is logged and ends the retries.
   */
  readonly attempt: () => SessionAttempt | Promise<SessionAttempt>;
  /** Subscribed (QoS 1) after every CONNACK. */
  readonly filters: readonly string[];
  readonly handler: SessionHandler;
  /** The first reconnect waits this long, doubling up to reconnectMaxMs; default 1000 ms. */
  readonly reconnectMinMs?: number;
  /** Default 30 000 ms; equal to reconnectMinMs for a fixed period. */
  readonly reconnectMaxMs?: number;
  /** A random source (Math.random) for the backoff's equal jitter; default none. */
  readonly jitter?: () => number;
  /** How long one attempt waits for its CONNACK; default 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /**
   * A connection error said in the owner's words (the gateway's WANJI_E_MQTT_TLS), logged as an
   * error instead of the raw one; undefined leaves it a warning.
   */
  readonly describeError?: (err: Error) => { readonly err: Error; readonly msg: string } | undefined;
}

export interface PublishOptions {
  readonly qos?: 0 | 1;
  readonly retain?: boolean;
}

/** How long close() waits for the last word's acknowledgement, and for the disconnect. */
const CLOSE_WAIT_MS = 2_000;

export class MqttSession {
  readonly counters = { connects: 0, published: 0, publishErrors: 0 };
  readonly #o: MqttSessionOptions;
  readonly #log: Logger;
  readonly #url: string;
  #client: MqttClient | undefined;
  /** The current client has had its CONNACK. */
  #wasConnected = false;
  /** The current connection is being ended on purpose (restart()), not lost. */
  #restarting = false;
  #started = false;
  #closed = false;
  #attempt = 0;
  #reconnectTimer: TimerHandle | undefined;
  /** The filters subscribed after every CONNACK: the options' and those added since. */
  readonly #filters: Set<string>;

  constructor(opts: MqttSessionOptions) {
    this.#o = opts;
    this.#filters = new Set(opts.filters);
    this.#log = opts.logger;
    this.#url = redactUrl(opts.url);
  }

  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  /** Bytes written to the connection that the socket has not sent yet. */
  get bufferedBytes(): number {
    return this.#client?.stream?.writableLength ?? 0;
  }

  /** Starts connecting; resolves once the first CONNECT is on its way, not when it is answered. */
  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    await this.#connect();
  }

  /**
   * Publishes `last` (QoS 1) when connected, then disconnects cleanly, so the broker drops the
   * will. Each wait is bounded; no reconnect follows.
   */
  async close(last?: SessionMessage): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.clock.clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    if (client === undefined) return;
    if (client.connected && last !== undefined) {
      await this.#within(
        client.publishAsync(last.topic, Buffer.from(last.payload), { qos: 1, retain: last.retain }),
        'the last message',
      ).catch((err: unknown) =>
        this.#log.warn({ err, topic: last.topic }, 'last message not acknowledged before close'),
      );
    }
    await this.#within(client.endAsync(!client.connected), 'the disconnect').catch(() => client.end(true));
  }

  /**
   * Publishes `last` (QoS 1), then ends this connection; a new session follows after the
   * backoff (the edge node's answer to its primary host going offline).
   */
  restart(last: SessionMessage): void {
    const client = this.#client;
    if (client === undefined) return;
    this.#restarting = true;
    client.publish(last.topic, Buffer.from(last.payload), { qos: 1, retain: last.retain }, () =>
      client.end(),
    );
  }

  /**
   * Publishes (QoS 0 unless said); false when there is no connection. `onSent` learns whether the
   * message was written to the connection (QoS 0) or acknowledged (QoS 1).
   */
  publish(
    topic: string,
    payload: Uint8Array,
    options: PublishOptions = {},
    onSent?: (ok: boolean) => void,
  ): boolean {
    const client = this.#client;
    if (client === undefined || !client.connected) {
      onSent?.(false);
      return false;
    }
    this.counters.published++;
    client.publish(
      topic,
      Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
      { qos: options.qos ?? 0, retain: options.retain ?? false },
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

  /** Publishes and resolves once sent (QoS 0) or acknowledged (QoS 1); rejects without a connection. */
  publishAsync(topic: string, payload: Uint8Array, options: PublishOptions = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.connected) {
        reject(new Error(`cannot publish to ${topic}: not connected to the MQTT broker`));
        return;
      }
      this.publish(topic, payload, options, (ok) =>
        ok ? resolve() : reject(new Error(`publish to ${topic} failed (the connection closed)`)),
      );
    });
  }

  /**
   * Subscribes to more filters (QoS 1), now when connected and after every later CONNACK; resolves
   * once the broker granted them (or at once when not connected: the next CONNACK subscribes).
   */
  async addFilters(filters: readonly string[]): Promise<void> {
    const fresh = filters.filter((f) => !this.#filters.has(f));
    for (const f of fresh) this.#filters.add(f);
    const client = this.#client;
    if (fresh.length === 0 || client === undefined || !client.connected) return;
    await client.subscribeAsync(fresh, { qos: 1 });
  }

  /** Stops subscribing to filters added before (now and after later CONNACKs). */
  async removeFilters(filters: readonly string[]): Promise<void> {
    const gone = filters.filter((f) => this.#filters.delete(f));
    const client = this.#client;
    if (gone.length === 0 || client === undefined || !client.connected) return;
    await client.unsubscribeAsync(gone);
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const attempt = await this.#o.attempt();
    if (this.#closed) return;
    const { url, clientId, keepaliveS, username, password } = this.#o;
    const will = attempt.will;
    const client = mqtt.connect(url, {
      protocolVersion: 4,
      clean: true,
      clientId,
      keepalive: keepaliveS,
      reconnectPeriod: 0,
      connectTimeout: this.#o.connectTimeoutMs ?? 10_000,
      queueQoSZero: false,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...attempt.tls,
      will: { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: will.retain },
    });
    this.#client = client;
    this.#wasConnected = false;
    this.#restarting = false;
    client.on('connect', () => this.#onConnect(client, attempt));
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
      const described = this.#o.describeError?.(err);
      if (described === undefined) this.#log.warn({ err }, 'MQTT error');
      else this.#log.error({ err: described.err }, described.msg);
    });
    client.on('close', () => this.#onClose(client));
  }

  #onConnect(client: MqttClient, attempt: SessionAttempt): void {
    if (client !== this.#client) return;
    this.#attempt = 0;
    this.#wasConnected = true;
    this.counters.connects++;
    this.#log.info({ url: this.#url, ...attempt.log }, 'connected to the MQTT broker');
    if (this.#filters.size === 0) {
      this.#o.handler.ready();
      return;
    }
    client.subscribe([...this.#filters], { qos: 1 }, (err) => {
      if (client !== this.#client) return;
      if (err) {
        this.#log.error({ err }, 'subscribing failed; reconnecting');
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
    this.#o.handler.lost();
    if (this.#closed) return;
    // What this client still waits for (a QoS 1 acknowledgement) fails now instead of never.
    client.end(true);
    const delayMs = backoffDelay(
      this.#attempt++,
      this.#o.reconnectMinMs ?? 1_000,
      this.#o.reconnectMaxMs ?? 30_000,
      this.#o.jitter,
    );
    if (this.#wasConnected && !this.#restarting) {
      this.#log.warn({ url: this.#url, delayMs }, 'disconnected from the MQTT broker; reconnecting');
    } else {
      this.#log.info({ url: this.#url, delayMs }, 'MQTT connection closed; reconnecting');
    }
    this.#reconnectTimer = this.#o.clock.setTimeout(() => {
      this.#connect().catch((err: unknown) => this.#log.error({ err }, 'reconnect failed'));
    }, delayMs);
  }

  /** `p`, or a rejection after CLOSE_WAIT_MS on the session's clock. */
  async #within<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: TimerHandle | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, reject) => {
          timer = this.#o.clock.setTimeout(
            () => reject(new Error(`${what} timed out after ${CLOSE_WAIT_MS} ms`)),
            CLOSE_WAIT_MS,
          );
        }),
      ]);
    } finally {
      this.#o.clock.clearTimeout(timer);
    }
  }
}
