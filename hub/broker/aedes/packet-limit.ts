/**
 * A bound on the size of an MQTT packet. aedes (1.x) has none: mqtt-packet buffers whatever
 * remaining length a peer declares, before any login, so one connection could make the hub
 * hold gigabytes. The check sits on the parser of each connection (aedes' `_parser`, an
 * mqtt-packet Parser, pinned with aedes' exact version in package.json): as soon as a
 * packet's header declares more than the limit, parsing stops and the connection is dropped,
 * whether the body is still to come or already arrived in the same read.
 */
import type { Client } from 'aedes';

interface PacketParser {
  parse(buf: Buffer): number;
  /** Reads the remaining length into `packet.length`; false until enough bytes are there. */
  _parseLength(): boolean;
  packet: { length: number };
}

function parserOf(client: Client): PacketParser | undefined {
  const parser = (client as unknown as { _parser?: Partial<PacketParser> })._parser;
  if (
    parser === undefined ||
    typeof parser.parse !== 'function' ||
    typeof parser._parseLength !== 'function' ||
    typeof parser.packet !== 'object'
  ) {
    return undefined;
  }
  return parser as PacketParser;
}

/**
 * Calls `onOversize(declared)` once and stops parsing when a packet declares more than
 * `maxBytes`. False when this aedes has no parser to watch (then there is no limit).
 */
export function limitPacketSize(
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
  parser.parse = (buf: Buffer): number => (tripped ? 0 : parse(buf));
  return true;
}
