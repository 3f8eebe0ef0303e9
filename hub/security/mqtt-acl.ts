/**
 * The topic ACL of one gateway credential (group = enterprise, node = gateway):
 * - publish: its own NBIRTH / NDATA / NDEATH, and DBIRTH / DDATA / DDEATH of any of its
 *   devices; never retained;
 * - will: its own NDEATH, not retained;
 * - subscribe: any filter that matches only its own commands — topics at or below its NCMD
 *   (`spBv1.0/G/NCMD/N`) or DCMD (`spBv1.0/G/DCMD/N`), e.g. Eclipse Tahu's `spBv1.0/G/NCMD/N/#`
 *   — and the STATE of this hub's primary host.
 * Everything else is refused with a reason that names the topic and what is allowed.
 * Pure functions: the broker calls them on every publish, so they allocate little.
 */
import {
  commandFilters,
  deviceTopic,
  NAMESPACE,
  nodeTopic,
  parseTopic,
  stateTopic,
} from '../../protocol/index.js';

export interface GatewayGrant {
  readonly group: string;
  readonly node: string;
}

/** Undefined when allowed, else why not. */
export type AclVerdict = string | undefined;

const GATEWAY_PUBLISHES: ReadonlySet<string> = new Set([
  'NBIRTH',
  'NDATA',
  'NDEATH',
  'DBIRTH',
  'DDATA',
  'DDEATH',
]);

/** What a gateway may publish, for refusal messages. */
export function allowedPublishPrefix(g: GatewayGrant): string {
  return `${NAMESPACE}/${g.group}/{NBIRTH|NDATA|NDEATH}/${g.node}, ${NAMESPACE}/${g.group}/{DBIRTH|DDATA|DDEATH}/${g.node}/<device>`;
}

/** The topics a grant may publish, precomputed: the broker checks every message. */
export interface PublishRule {
  readonly nodeTopics: ReadonlySet<string>;
  /** `spBv1.0/<group>/<DBIRTH|DDATA|DDEATH>/<node>/`: one device id may follow. */
  readonly devicePrefixes: readonly string[];
}

export function publishRule(g: GatewayGrant): PublishRule {
  const types = ['NBIRTH', 'NDATA', 'NDEATH'] as const;
  const deviceTypes = ['DBIRTH', 'DDATA', 'DDEATH'] as const;
  return {
    nodeTopics: new Set(types.map((t) => nodeTopic(g.group, t, g.node))),
    devicePrefixes: deviceTypes.map((t) => deviceTopic(g.group, t, g.node, '_').slice(0, -1)),
  };
}

/** A device id: no level separator, no wildcard, no control character. */
function isDeviceId(topic: string, from: number): boolean {
  for (let i = from; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    // '/', '+', '#', C0 controls and DEL
    if (c === 47 || c === 43 || c === 35 || c < 32 || c === 127) return false;
  }
  return true;
}

/** True for an allowed, non-retained publish, without allocating (the hot path). */
function fastAllowed(rule: PublishRule, topic: string): boolean {
  if (rule.nodeTopics.has(topic)) return true;
  for (const prefix of rule.devicePrefixes) {
    if (topic.length > prefix.length && topic.startsWith(prefix)) return isDeviceId(topic, prefix.length);
  }
  return false;
}

/** Undefined when `g` may publish `topic`; else the reason. `rule` speeds up the allowed case. */
export function checkPublish(
  g: GatewayGrant,
  topic: string,
  retain: boolean,
  rule?: PublishRule,
): AclVerdict {
  if (!retain && rule !== undefined && fastAllowed(rule, topic)) return undefined;
  const parsed = parseTopic(topic);
  if (!parsed.ok) return `"${topic}" is not a Sparkplug edge node topic (${parsed.reason})`;
  const t = parsed.topic;
  if (t.kind === 'state') return `"${topic}" is the primary host's STATE; only the hub publishes it`;
  if (t.group !== g.group || t.edgeNode !== g.node) {
    return `"${topic}" belongs to ${t.group}/${t.edgeNode}; this credential publishes only as ${g.group}/${g.node}`;
  }
  if (!GATEWAY_PUBLISHES.has(t.type)) return `"${topic}": a gateway does not publish ${t.type}`;
  if (retain) return `"${topic}": retained publishes are refused (Sparkplug messages are not retained)`;
  return undefined;
}

export function checkWill(g: GatewayGrant, topic: string, retain: boolean): AclVerdict {
  const own = nodeTopic(g.group, 'NDEATH', g.node);
  if (topic !== own) return `will topic "${topic}" must be the gateway's own NDEATH, ${own}`;
  if (retain) return `will on "${topic}" must not be retained`;
  return undefined;
}

/** The filters a gateway may subscribe to; `hostId` is this hub's primary host id. */
export function allowedFilters(g: GatewayGrant, hostId: string): string[] {
  const [ncmd, dcmdAny] = commandFilters(g.group, g.node) as [string, string];
  return [ncmd, dcmdAny, `${dcmdAny.slice(0, -1)}#`, stateTopic(hostId)];
}

/**
 * The levels of a valid MQTT topic filter (`#` only as the whole last level, `+` only as a whole
 * level), or undefined for an invalid one.
 */
function filterLevels(filter: string): string[] | undefined {
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return undefined;
    if (l.includes('+') && l !== '+') return undefined;
  }
  return levels;
}

/**
 * True when every topic `filter` can match is at or below `g`'s own NCMD or DCMD topic: its first
 * four levels are literally `spBv1.0`, the group, NCMD or DCMD, and the node (ids hold no `+ # /`,
 * so no wildcard can stand in them); whatever follows only narrows it to topics below. `#` also
 * matches its parent level, which is then the node's own command topic itself.
 */
function withinOwnCommands(g: GatewayGrant, filter: string): boolean {
  const levels = filterLevels(filter);
  if (levels === undefined || levels.length < 4) return false;
  const [ns, group, type, node] = levels;
  return ns === NAMESPACE && group === g.group && (type === 'NCMD' || type === 'DCMD') && node === g.node;
}

export function checkSubscribe(g: GatewayGrant, filter: string, allowed: readonly string[]): AclVerdict {
  if (allowed.includes(filter) || withinOwnCommands(g, filter)) return undefined;
  return `subscription "${filter}" is outside this credential's commands and STATE (allowed: ${allowed.join(', ')}, or any filter within ${NAMESPACE}/${g.group}/NCMD/${g.node} or ${NAMESPACE}/${g.group}/DCMD/${g.node}, such as ${NAMESPACE}/${g.group}/NCMD/${g.node}/#)`;
}
