/**
 * The topic ACL of one gateway credential (group = enterprise, node = gateway):
 * - publish: its own NBIRTH / NDATA / NDEATH, and DBIRTH / DDATA / DDEATH of any of its
 *   devices; never retained;
 * - will: its own NDEATH, not retained;
 * - subscribe: its own NCMD, its own DCMD (one device, `+` or `#`), and the STATE of this
 *   hub's primary host.
 * Everything else is refused with a reason that names the topic and what is allowed.
 * Pure functions: the broker calls them on every publish, so they allocate little.
 */
import { commandFilters, NAMESPACE, nodeTopic, parseTopic, stateTopic } from '../../protocol/index.js';

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

export function checkPublish(g: GatewayGrant, topic: string, retain: boolean): AclVerdict {
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

export function checkSubscribe(g: GatewayGrant, filter: string, allowed: readonly string[]): AclVerdict {
  if (allowed.includes(filter)) return undefined;
  // One device's commands: a DCMD topic of its own node.
  const parsed = parseTopic(filter);
  if (
    parsed.ok &&
    parsed.topic.kind === 'device' &&
    parsed.topic.type === 'DCMD' &&
    parsed.topic.group === g.group &&
    parsed.topic.edgeNode === g.node
  ) {
    return undefined;
  }
  return `subscription "${filter}" is outside this credential's commands and STATE (allowed: ${allowed.join(', ')}, or one of its devices' DCMD)`;
}
