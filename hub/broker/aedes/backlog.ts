/**
 * Deliveries to a connection that never hold up the rest of the broker, and a bound on what the
 * broker keeps for one subscriber.
 *
 * aedes hands each message to its subscribers through mqemitter, which lets `concurrency` (100)
 * messages be in flight and queues every later message of every client behind them. aedes'
 * delivery to a connection completes only once the socket took the bytes, or, when its buffer
 * is full, at the socket's next 'drain' (aedes' `drainTimeout`, then it drops the connection).
 * So 100 deliveries to one subscriber that stops reading stopped the whole broker, the hub's
 * own ingest included, and the queue behind them grew with every gateway's traffic. When the
 * slots freed, mqemitter started each queued message from inside the completion of the one
 * before; the hub's in-process host completes synchronously, so the backlog drained as one
 * recursion, several stack frames per message: `RangeError: Maximum call stack size exceeded`
 * (issue 13) at some thousand queued messages.
 *
 * Here a connection's delivery completes as soon as aedes has taken the message for it (the
 * write itself stays aedes', in order, as before), so no slot is held while a socket is full and
 * mqemitter's queue never forms. This connection's backlog is what its socket buffers plus what
 * was taken for it and not yet written; past `maxBytes` the connection is dropped (its will is
 * published), as aedes' drain timeout (which stays) does for one that takes nothing for 30 s. The hooks are aedes' per-client `deliver0`/`deliverQoS`
 * (aedes 1.x, pinned with its exact version in package.json), replaced before the client can
 * subscribe: subscriptions take them at SUBSCRIBE time.
 */
import type { AedesPublishPacket, Client } from 'aedes';
import { publishPacketBytes } from './traffic.js';

type Deliver = (packet: AedesPublishPacket, done: () => void) => void;

interface Deliveries {
  deliver0: Deliver;
  deliverQoS: Deliver;
}

function deliveriesOf(client: Client): Deliveries | undefined {
  const d = client as unknown as Partial<Deliveries>;
  if (typeof d.deliver0 !== 'function' || typeof d.deliverQoS !== 'function') return undefined;
  return d as Deliveries;
}

function payloadBytes(packet: AedesPublishPacket): number {
  const p = packet.payload;
  return typeof p === 'string' ? Buffer.byteLength(p) : p.length;
}

/**
 * Completes `client`'s deliveries at once and, when more than `maxBytes` would wait for its socket
 * (what the socket buffers plus what was taken for it since the event loop last wrote; a single
 * message with nothing waiting always passes), calls `onOverflow(backlogBytes)` once and drops
 * every later message. False when this aedes has no such hooks (then deliveries are aedes' own).
 */
export function boundSubscriberBacklog(
  client: Client,
  maxBytes: number,
  onOverflow: (backlogBytes: number) => void,
): boolean {
  const d = deliveriesOf(client);
  if (d === undefined) return false;
  const conn = client.conn as Partial<{ writableLength: number }>;
  const deliver0 = d.deliver0;
  const deliverQoS = d.deliverQoS;
  // aedes writes each message in a setImmediate after taking it; after this turn's writes the
  // bytes are in the socket's writableLength, or sent.
  let inTransit = 0;
  let turnEnding = false;
  const endTurn = (): void => {
    inTransit = 0;
    turnEnding = false;
  };
  let overflowed = false;
  const bounded =
    (deliver: Deliver): Deliver =>
    (packet, done) => {
      if (overflowed) return done();
      const bytes = publishPacketBytes(packet.topic, payloadBytes(packet), packet.qos);
      const waiting = inTransit + (conn.writableLength ?? 0);
      if (waiting > 0 && waiting + bytes > maxBytes) {
        overflowed = true;
        onOverflow(waiting + bytes);
        return done();
      }
      inTransit += bytes;
      deliver(packet, noop);
      if (!turnEnding) {
        turnEnding = true;
        setImmediate(endTurn);
      }
      done();
    };
  const bounded0 = bounded(deliver0);
  const boundedQoS = bounded(deliverQoS);
  d.deliver0 = bounded0;
  // aedes' deliverQoS hands a QoS 0 message to `this.deliver0`: go there directly, counted once.
  d.deliverQoS = (packet, done) => (packet.qos === 0 ? bounded0(packet, done) : boundedQoS(packet, done));
  return true;
}

function noop(): void {}
