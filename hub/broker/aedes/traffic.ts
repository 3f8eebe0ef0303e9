/**
 * What crosses the embedded broker, for /metrics: PUBLISH messages taken from clients and
 * forwarded to subscribers, and the bytes read from and written to the clients' sockets
 * (TLS and WebSocket framing included). Counters only grow: a closed connection's bytes are
 * kept in a total, the open ones' are read from their sockets when asked.
 */
import type { BrokerTrafficCounters } from '../types.js';

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
    let read = this.#closedRead;
    let written = this.#closedWritten;
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
