/**
 * The hub's own host on the embedded aedes, without a loopback MQTT connection. Over TCP every
 * message a gateway sends was parsed by aedes, encoded again for the host's connection, written
 * to a socket, read and parsed by mqtt.js, and (QoS 1) acknowledged back; here the host gets
 * the topic and payload aedes parsed, from the broker's own emitter (`aedes.subscribe`), in the
 * order the broker takes them. What the host publishes goes to `aedes.publish` as from a client
 * that needs no login (retained messages stored, subscribers served as for any publish).
 *
 * Delivery is synchronous, inside the publishing client's packet handling: while the host
 * works on a message, aedes reads nothing more from that client, so a busy host slows the
 * gateways' sockets (TCP flow control) instead of queueing in the broker.
 *
 * mqemitter (aedes' emitter) starts the next message it queued from inside the completion of
 * the one before. Completions that are synchronous all the way down would drain a queue as one
 * recursion, several stack frames per message, and a backlog of some thousand messages would
 * overflow the stack (issue 13). So a completion reached while an earlier one of this port is
 * still running is run after it returns, in order: the drain becomes a loop. (The broker's own
 * connections no longer let such a queue form: backlog.ts.)
 */
import type { Aedes, AedesPublishPacket } from 'aedes';
import type { Logger } from 'pino';
import type { InProcessPort } from '../types.js';
import { type BrokerTraffic, publishPacketBytes } from './traffic.js';

type Deliver = (packet: AedesPublishPacket, done: () => void) => void;

export class AedesInProcessPort implements InProcessPort {
  readonly #aedes: Aedes;
  readonly #traffic: BrokerTraffic;
  readonly #log: Logger;
  /** Subscribers attached (the host), counted among the broker's clients. */
  attached = 0;
  /** Completions reached while one was running, to run when it returns (see above). */
  readonly #later: (() => void)[] = [];
  #completing = false;

  constructor(aedes: Aedes, traffic: BrokerTraffic, log: Logger) {
    this.#aedes = aedes;
    this.#traffic = traffic;
    this.#log = log;
  }

  get open(): boolean {
    return !this.#aedes.closed;
  }

  async subscribe(
    filters: readonly string[],
    onMessage: (topic: string, payload: Buffer) => void,
  ): Promise<() => Promise<void>> {
    const traffic = this.#traffic;
    const log = this.#log;
    // A message matching two filters is handed to each of them, one after the other: once is enough.
    let last: AedesPublishPacket | undefined;
    const complete = this.#complete;
    const deliver: Deliver = (packet, done) => {
      if (packet === last) return complete(done);
      last = packet;
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      traffic.messagesSent++;
      traffic.inProcessBytesSent += publishPacketBytes(packet.topic, payload.length, packet.qos);
      try {
        onMessage(packet.topic, payload);
      } catch (err) {
        // The host catches its own errors; one that escapes must not break the publisher's client.
        log.error({ err, topic: packet.topic }, 'in-process host failed on a message');
      }
      complete(done);
    };
    await Promise.all(
      filters.map((f) => new Promise<void>((resolve) => this.#aedes.subscribe(f, deliver, resolve))),
    );
    this.attached++;
    let attached = true;
    return async () => {
      if (attached) this.attached--;
      attached = false;
      if (this.#aedes.closed) return;
      await Promise.all(
        filters.map((f) => new Promise<void>((resolve) => this.#aedes.unsubscribe(f, deliver, resolve))),
      );
    };
  }

  /** Tells mqemitter a delivery is done, without recursing into its queue (see above). */
  readonly #complete = (done: () => void): void => {
    const later = this.#later;
    if (this.#completing) {
      later.push(done);
      return;
    }
    this.#completing = true;
    let ran = 0;
    try {
      done();
      // Each of these may start the next queued message, whose completion lands here too.
      while (ran < later.length) later[ran++]?.();
    } finally {
      if (ran > 0) later.splice(0, ran);
      this.#completing = false;
      // Only after a throw: what is left still has to run, or its publisher would wait forever.
      if (later.length > 0) queueMicrotask(() => this.#complete(noop));
    }
  };

  publish(topic: string, payload: Uint8Array, options: { qos: 0 | 1; retain: boolean }): Promise<void> {
    const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    return new Promise((resolve, reject) => {
      if (this.#aedes.closed) {
        reject(new Error(`cannot publish to ${topic}: the embedded broker is closed`));
        return;
      }
      this.#traffic.messagesReceived++;
      this.#traffic.inProcessBytesReceived += publishPacketBytes(topic, buf.length, options.qos);
      this.#aedes.publish(
        { cmd: 'publish', topic, payload: buf, qos: options.qos, retain: options.retain, dup: false },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }
}

function noop(): void {}
