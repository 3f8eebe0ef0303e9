/**
 * The host's session on the hub's own embedded broker, in the same process (the broker's
 * InProcessPort, hub/broker/aedes/in-process.ts): the same calls as the MQTT session
 * (protocol/mqtt-session.ts) that the host uses with an external broker, without a connection.
 *
 * The Sparkplug lifecycle stays the host's: `attempt()` is called once, as before a CONNECT, so
 * STATE carries this session's timestamp; after subscribing to the filters the session says
 * `ready` and the host publishes STATE online (retained); close() publishes the host's last word
 * (STATE offline) before leaving. There is no will to register: the broker lives and dies with
 * the host's process, and its gateways see the connection drop with it.
 */
import type { Logger } from 'pino';
import type {
  PublishOptions,
  SessionAttempt,
  SessionHandler,
  SessionMessage,
} from '../../protocol/mqtt-session.js';
import type { InProcessPort } from '../broker/types.js';

/** What the host needs of its session, in process or over MQTT (MqttSession). */
export interface HostSession {
  readonly connected: boolean;
  start(): Promise<void>;
  close(last?: SessionMessage): Promise<void>;
  publish(topic: string, payload: Uint8Array, options?: PublishOptions): boolean;
  publishAsync(topic: string, payload: Uint8Array, options?: PublishOptions): Promise<void>;
}

export interface InProcessSessionOptions {
  readonly port: InProcessPort;
  readonly filters: readonly string[];
  readonly handler: SessionHandler;
  /** Called once at start(), as before a CONNECT (the will it returns has no use here). */
  readonly attempt: () => SessionAttempt | Promise<SessionAttempt>;
  readonly logger: Logger;
}

export class InProcessSession implements HostSession {
  readonly counters = { published: 0, publishErrors: 0 };
  readonly #o: InProcessSessionOptions;
  #unsubscribe: (() => Promise<void>) | undefined;
  #started = false;
  #closed = false;

  constructor(opts: InProcessSessionOptions) {
    this.#o = opts;
  }

  get connected(): boolean {
    return this.#unsubscribe !== undefined && !this.#closed && this.#o.port.open;
  }

  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    await this.#o.attempt();
    const unsubscribe = await this.#o.port.subscribe(this.#o.filters, this.#o.handler.message);
    if (this.#closed) {
      await unsubscribe();
      return;
    }
    this.#unsubscribe = unsubscribe;
    this.#o.logger.info('attached to the embedded MQTT broker in process');
    this.#o.handler.ready();
  }

  async close(last?: SessionMessage): Promise<void> {
    if (this.#closed) return;
    const wasConnected = this.connected;
    this.#closed = true;
    if (wasConnected && last !== undefined) {
      await this.#o.port
        .publish(last.topic, last.payload, { qos: 1, retain: last.retain })
        .catch((err: unknown) =>
          this.#o.logger.warn({ err, topic: last.topic }, 'last message not published'),
        );
    }
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = undefined;
    if (unsubscribe !== undefined) await unsubscribe();
    this.#o.handler.lost();
  }

  /** Publishes (QoS 0 unless said); false when the session is not attached. */
  publish(topic: string, payload: Uint8Array, options: PublishOptions = {}): boolean {
    if (!this.connected) return false;
    this.#send(topic, payload, options).catch(() => undefined);
    return true;
  }

  publishAsync(topic: string, payload: Uint8Array, options: PublishOptions = {}): Promise<void> {
    if (!this.connected) {
      return Promise.reject(new Error(`cannot publish to ${topic}: not attached to the embedded broker`));
    }
    return this.#send(topic, payload, options);
  }

  async #send(topic: string, payload: Uint8Array, options: PublishOptions): Promise<void> {
    this.counters.published++;
    try {
      await this.#o.port.publish(topic, payload, { qos: options.qos ?? 0, retain: options.retain ?? false });
    } catch (err) {
      this.counters.publishErrors++;
      this.#o.logger.warn({ err, topic }, 'publish failed');
      throw err;
    }
  }
}
