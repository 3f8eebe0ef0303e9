/**
 * What crosses the embedded broker, for /metrics: PUBLISH messages taken from clients and
 * forwarded to subscribers, and the bytes read from and written to the clients' sockets
 * (TLS and WebSocket framing included). Counters only grow: a closed connection's bytes are
 * kept in a total, the open ones' are read from their sockets when asked. The hub's own host,
 * when it is in process (in-process.ts), has no socket: its messages count at the size of the
 * PUBLISH packets they would have been.
 */

import type { BrokerTrafficCounters } from '../types.js';

/** The size of an MQTT 3.1.1 PUBLISH packet: fixed header, topic, packet id (QoS > 0), payload. */
export function publishPacketBytes(topic: string, payloadBytes: number, qos: number): number {
  const remaining = 2 + Buffer.byteLength(topic) + (qos > 0 ? 2 : 0) + payloadBytes;
  const lengthBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
  return 1 + lengthBytes + remaining;
}

/** The socket under an MQTT connection (a TCP or TLS socket; a WebSocket's HTTP socket). */
export interface MeteredSocket {
  readonly bytesRead: number;
  readonly bytesWritten: number;
  once(event: 'close', listener: () => void): unknown;
}

export function isMeteredSocket(x: unknown): x is MeteredSocket {
  const s = x as Partial<MeteredSocket> | null | undefined;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.bytesRead === 'number' &&
    typeof s.bytesWritten === 'number' &&
    typeof s.once === 'function'
  );
}

export class BrokerTraffic {
  messagesReceived = 0;
  messagesSent = 0;
  /** The in-process host's PUBLISH packets, counted at the size they have on a connection. */
  inProcessBytesReceived = 0;
  inProcessBytesSent = 0;
  #closedRead = 0;
  #closedWritten = 0;
  readonly #open = new Set<MeteredSocket>();

  /** Counts a connection's socket until it closes, then keeps its totals. */
  track(socket: MeteredSocket): void {
    if (this.#open.has(socket)) return;
    this.#open.add(socket);
    socket.once('close', () => {
      if (!this.#open.delete(socket)) return;
      this.#closedRead += socket.bytesRead;
      this.#closedWritten += socket.bytesWritten;
    });
  }

  counters(): BrokerTrafficCounters {
    let read = this.#closedRead + this.inProcessBytesReceived;
    let written = this.#closedWritten + this.inProcessBytesSent;
    for (const s of this.#open) {
      read += s.bytesRead;
      written += s.bytesWritten;
    }
    return {
      messagesReceived: this.messagesReceived,
      messagesSent: this.messagesSent,
      bytesReceived: read,
      bytesSent: written,
    };
  }
}
