/**
 * Each connection's MQTT parser (aedes' `_parser`, an mqtt-packet Parser, pinned with aedes'
 * exact version in package.json), with two things added on top of it:
 *
 * - **A bound on packet size.** aedes (1.x) has none: mqtt-packet buffers whatever remaining
 *   length a peer declares, before any login, so one connection could make the hub hold
 *   gigabytes. As soon as a packet's header declares more than the limit, parsing stops and the
 *   connection is dropped, whether the body is still to come or already arrived in the same read.
 * - **PUBLISH packets read in place.** A gateway's data is nearly all PUBLISH packets, several to
 *   a socket read. mqtt-packet takes each read through a buffer list, a state machine and about
 *   fifteen `debug()` calls a packet (each building its arguments while disabled): at 10,000
 *   machines that was a tenth of the hub's busy time. So while the parser holds nothing of an
 *   earlier read, the whole PUBLISH packets at the front of a read are read here, straight from
 *   the read's buffer, into the parser's own packet class with the fields mqtt-packet gives
 *   them (the payload a view of the read, as mqtt-packet's is), and emitted as it would. The
 *   first packet that is anything else, incomplete, oversized or malformed, and everything after
 *   it, goes to mqtt-packet as before; so do MQTT 5 connections (aedes 1.x refuses them).
 */
import type { Client } from 'aedes';

interface ParsedPacket {
  cmd: string | null;
  retain: boolean;
  qos: number;
  dup: boolean;
  length: number;
  topic: string | null;
  payload: Buffer | null;
  messageId?: number;
}

interface PacketParser {
  parse(buf: Buffer): number;
  /** Reads the remaining length into `packet.length`; false until enough bytes are there. */
  _parseLength(): boolean;
  packet: ParsedPacket;
  /** What it holds of a packet not yet whole (a buffer list), where in the packet it is. */
  _list: { length: number };
  _stateCounter: number;
  error: Error | null;
  /** The CONNECT packet once there is one (mqtt-packet keeps it as its settings). */
  settings: { protocolVersion?: number } | undefined;
  emit(event: 'packet', packet: ParsedPacket): boolean;
}

function parserOf(client: Client): PacketParser | undefined {
  const parser = (client as unknown as { _parser?: Partial<PacketParser> })._parser;
  if (
    parser === undefined ||
    typeof parser.parse !== 'function' ||
    typeof parser._parseLength !== 'function' ||
    typeof parser.emit !== 'function' ||
    typeof parser.packet !== 'object' ||
    parser.packet === null ||
    typeof parser._list?.length !== 'number' ||
    typeof parser._stateCounter !== 'number'
  ) {
    return undefined;
  }
  return parser as PacketParser;
}

const PUBLISH = 3;
/** The remaining length's varint: at most 4 bytes (MQTT 3.1.1 §2.2.3). */
const MAX_LENGTH_BYTES = 4;

/**
 * Emits the whole, well-formed PUBLISH packets at the front of `buf` (at most `maxBytes` each)
 * through `parser`; returns how many bytes they took.
 */
function emitPublishes(parser: PacketParser, buf: Buffer, maxBytes: number): number {
  const Packet = parser.packet.constructor as new () => ParsedPacket;
  const n = buf.length;
  let pos = 0;
  while (pos < n) {
    const first = buf[pos]!;
    const qos = (first >> 1) & 3;
    if (first >> 4 !== PUBLISH || qos === 3) break;
    let length = 0;
    let at = pos + 1;
    let whole = false;
    for (let k = 0, mul = 1; k < MAX_LENGTH_BYTES && at < n; k++, mul *= 128) {
      const b = buf[at++]!;
      length += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        whole = true;
        break;
      }
    }
    const end = at + length;
    if (!whole || length > maxBytes || end > n || at + 2 > end) break;
    const topicEnd = at + 2 + buf.readUInt16BE(at);
    const payloadStart = qos > 0 ? topicEnd + 2 : topicEnd;
    if (payloadStart > end) break;
    const packet = new Packet();
    packet.cmd = 'publish';
    packet.retain = (first & 1) !== 0;
    packet.qos = qos;
    packet.dup = (first & 8) !== 0;
    packet.length = length;
    packet.topic = buf.toString('utf8', at + 2, topicEnd);
    if (qos > 0) packet.messageId = buf.readUInt16BE(topicEnd);
    packet.payload = buf.subarray(payloadStart, end);
    pos = end;
    parser.emit('packet', packet);
  }
  return pos;
}

/**
 * Adds the size bound (calling `onOversize(declared)` once and parsing nothing more when a
 * packet declares more than `maxBytes`) and the PUBLISH fast path to `client`'s parser. False
 * when this aedes has no parser to watch (then there is no limit).
 */
export function watchParser(
  client: Client,
  maxBytes: number,
  onOversize: (declared: number) => void,
): boolean {
  const parser = parserOf(client);
  if (parser === undefined) return false;
  const parse = parser.parse.bind(parser);
  const parseLength = parser._parseLength.bind(parser);
  let tripped = false;
  parser._parseLength = (): boolean => {
    if (!parseLength()) return false;
    if (parser.packet.length <= maxBytes) return true;
    // false: "not enough data yet", so the parser stops here and never reads the body.
    if (!tripped) {
      tripped = true;
      onOversize(parser.packet.length);
    }
    return false;
  };
  parser.parse = (buf: Buffer): number => {
    if (tripped) return 0;
    // Only at a packet boundary with nothing held: otherwise mqtt-packet is mid-packet.
    if (
      parser._list.length === 0 &&
      parser._stateCounter === 0 &&
      parser.error === null &&
      parser.settings?.protocolVersion !== 5
    ) {
      const taken = emitPublishes(parser, buf, maxBytes);
      if (taken === buf.length) return 0;
      if (taken > 0) buf = buf.subarray(taken);
      if (tripped) return 0;
    }
    return parse(buf);
  };
  return true;
}
