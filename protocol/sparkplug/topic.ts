/**
 * Sparkplug B 3.0 topic namespace:
 *   spBv1.0/{group}/{NBIRTH|NDEATH|NDATA|NCMD}/{edge}
 *   spBv1.0/{group}/{DBIRTH|DDEATH|DDATA|DCMD}/{edge}/{device}
 *   spBv1.0/STATE/{host}
 * Every topic string in Wanji is built and parsed here and nowhere else.
 */

import { MAX_ID_LENGTH, printableName, unsafeNameReason } from './names.js';

export { invalidMetricNameReason, MAX_ID_LENGTH, MAX_METRIC_NAME_LENGTH, printableName } from './names.js';

export const NAMESPACE = 'spBv1.0';

export const NODE_MESSAGE_TYPES = ['NBIRTH', 'NDEATH', 'NDATA', 'NCMD'] as const;
export const DEVICE_MESSAGE_TYPES = ['DBIRTH', 'DDEATH', 'DDATA', 'DCMD'] as const;
export type NodeMessageType = (typeof NODE_MESSAGE_TYPES)[number];
export type DeviceMessageType = (typeof DEVICE_MESSAGE_TYPES)[number];
export type MessageType = NodeMessageType | DeviceMessageType;

export interface NodeTopic {
  readonly kind: 'node';
  readonly group: string;
  readonly type: NodeMessageType;
  readonly edgeNode: string;
}

export interface DeviceTopic {
  readonly kind: 'device';
  readonly group: string;
  readonly type: DeviceMessageType;
  readonly edgeNode: string;
  readonly device: string;
}

export interface StateTopic {
  readonly kind: 'state';
  readonly hostId: string;
}

export type SparkplugTopic = NodeTopic | DeviceTopic | StateTopic;

export type TopicParseResult = { ok: true; topic: SparkplugTopic } | { ok: false; reason: string };

/**
 * Why `id` cannot be a Sparkplug id (group, edge node, device, host), or undefined when it can:
 * empty, an MQTT character (+ # /), a control, bidirectional or invisible character (names.ts),
 * or longer than MAX_ID_LENGTH characters.
 */
export function invalidIdReason(id: string): string | undefined {
  if (id.length === 0) return 'is empty';
  if (/[+#/]/.test(id)) return `"${printableName(id)}" contains one of the MQTT characters + # /`;
  return unsafeNameReason(id, MAX_ID_LENGTH);
}

function assertId(what: string, id: string): void {
  const reason = invalidIdReason(id);
  if (reason !== undefined) throw new TypeError(`invalid Sparkplug ${what}: ${reason}`);
}

export function nodeTopic(group: string, type: NodeMessageType, edgeNode: string): string {
  assertId('group id', group);
  assertId('edge node id', edgeNode);
  return `${NAMESPACE}/${group}/${type}/${edgeNode}`;
}

export function deviceTopic(
  group: string,
  type: DeviceMessageType,
  edgeNode: string,
  device: string,
): string {
  assertId('group id', group);
  assertId('edge node id', edgeNode);
  assertId('device id', device);
  return `${NAMESPACE}/${group}/${type}/${edgeNode}/${device}`;
}

export function stateTopic(hostId: string): string {
  assertId('host id', hostId);
  return `${NAMESPACE}/STATE/${hostId}`;
}

/** Subscription filter for every Sparkplug message of every group (what a host listens to). */
export function allGroupsFilter(): string {
  return `${NAMESPACE}/#`;
}

/** Subscription filter for every group's NBIRTH (a hub cluster worker learns new groups from them). */
export function allNodeBirthsFilter(): string {
  return `${NAMESPACE}/+/NBIRTH/+`;
}

/** Subscription filters for what a host takes in of one group, NBIRTH left out (allNodeBirthsFilter). */
export function groupFilters(group: string): string[] {
  assertId('group id', group);
  return [
    `${NAMESPACE}/${group}/NDATA/+`,
    `${NAMESPACE}/${group}/NDEATH/+`,
    `${NAMESPACE}/${group}/DBIRTH/+/+`,
    `${NAMESPACE}/${group}/DDATA/+/+`,
    `${NAMESPACE}/${group}/DDEATH/+/+`,
  ];
}

/** Subscription filters for the commands addressed to one edge node and its devices. */
export function commandFilters(group: string, edgeNode: string): string[] {
  return [nodeTopic(group, 'NCMD', edgeNode), `${NAMESPACE}/${group}/DCMD/${edgeNode}/+`];
}

export function buildTopic(t: SparkplugTopic): string {
  switch (t.kind) {
    case 'node':
      return nodeTopic(t.group, t.type, t.edgeNode);
    case 'device':
      return deviceTopic(t.group, t.type, t.edgeNode, t.device);
    case 'state':
      return stateTopic(t.hostId);
  }
}

function isNodeType(s: string): s is NodeMessageType {
  return (NODE_MESSAGE_TYPES as readonly string[]).includes(s);
}

function isDeviceType(s: string): s is DeviceMessageType {
  return (DEVICE_MESSAGE_TYPES as readonly string[]).includes(s);
}

/** Parses a topic; a malformed one comes back with the reason, never as an exception. */
export function parseTopic(topic: string): TopicParseResult {
  const parts = topic.split('/');
  if (parts[0] !== NAMESPACE) {
    return { ok: false, reason: `namespace is "${parts[0] ?? ''}", expected "${NAMESPACE}"` };
  }
  if (parts[1] === 'STATE') {
    if (parts.length !== 3) return { ok: false, reason: 'a STATE topic is spBv1.0/STATE/{host_id}' };
    const hostId = parts[2] ?? '';
    const reason = invalidIdReason(hostId);
    if (reason !== undefined) return { ok: false, reason: `host id ${reason}` };
    return { ok: true, topic: { kind: 'state', hostId } };
  }
  if (parts.length < 4) {
    return { ok: false, reason: `too few levels (${parts.length}); expected spBv1.0/{group}/{type}/{edge}` };
  }
  const [, group = '', type = '', edgeNode = '', device] = parts;
  const groupReason = invalidIdReason(group);
  if (groupReason !== undefined) return { ok: false, reason: `group id ${groupReason}` };
  const edgeNodeReason = invalidIdReason(edgeNode);
  if (edgeNodeReason !== undefined) return { ok: false, reason: `edge node id ${edgeNodeReason}` };
  if (isNodeType(type)) {
    if (parts.length !== 4) return { ok: false, reason: `${type} takes no device id` };
    return { ok: true, topic: { kind: 'node', group, type, edgeNode } };
  }
  if (isDeviceType(type)) {
    if (parts.length !== 5 || device === undefined) {
      return { ok: false, reason: `${type} needs exactly one device id after the edge node id` };
    }
    const reason = invalidIdReason(device);
    if (reason !== undefined) return { ok: false, reason: `device id ${reason}` };
    return { ok: true, topic: { kind: 'device', group, type, edgeNode, device } };
  }
  return { ok: false, reason: `unknown message type "${type}"` };
}

/**
 * parseTopic with its answers kept, for a host that sees the same topics again and again (each
 * machine's DDATA once a second): a Map lookup instead of a split and the id checks, and the same
 * id strings every time (V8 keeps their hash for the maps downstream). The ids are also the same
 * strings across a node's or device's topics (its DBIRTH's and its DDATA's): the maps the host,
 * the registry and the store key by those ids then find their key by identity, without reading
 * the stored key's characters (a cache miss per lookup once 10,000 machines outgrow the CPU's
 * cache). Only well-formed topics are kept, at most `max` of them; when full it starts over.
 */
export class TopicParser {
  readonly #parsed = new Map<string, TopicParseResult>();
  /** Each group, edge node and device id once, by itself. */
  readonly #ids = new Map<string, string>();

  constructor(readonly max = 100_000) {}

  parse(topic: string): TopicParseResult {
    const kept = this.#parsed.get(topic);
    if (kept !== undefined) return kept;
    const parsed = parseTopic(topic);
    if (!parsed.ok) return parsed;
    if (this.#parsed.size >= this.max) {
      this.#parsed.clear();
      this.#ids.clear();
    }
    const shared: TopicParseResult = { ok: true, topic: this.#sharedIds(parsed.topic) };
    this.#parsed.set(topic, shared);
    return shared;
  }

  #sharedIds(t: SparkplugTopic): SparkplugTopic {
    switch (t.kind) {
      case 'node':
        return { ...t, group: this.#id(t.group), edgeNode: this.#id(t.edgeNode) };
      case 'device':
        return { ...t, group: this.#id(t.group), edgeNode: this.#id(t.edgeNode), device: this.#id(t.device) };
      case 'state':
        return t;
    }
  }

  #id(s: string): string {
    const kept = this.#ids.get(s);
    if (kept !== undefined) return kept;
    this.#ids.set(s, s);
    return s;
  }

  /** Topics kept (tests). */
  get size(): number {
    return this.#parsed.size;
  }
}
