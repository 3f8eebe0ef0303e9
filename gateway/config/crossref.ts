/**
 * Checks the schema cannot express: references between parts of the config, unique ids and
 * names, Sparkplug-valid ids, and protocol rules. Tolerant of a malformed shape (the schema
 * reports those), so every problem is found in one pass.
 */
import { Value } from '@sinclair/typebox/value';
import { didYouMean } from '../../protocol/config-check.js';
import { invalidIdReason } from '../../protocol/index.js';
import { modbusTagIssues } from '../southbound/modbus/tags.js';
import { opcuaConnectionIssues, opcuaTagIssues } from '../southbound/opcua/schema.js';
import { type ConfigIssue, isRecord, schemaIssues } from './issues.js';
import { MachineSchema, PROTOCOL_SCHEMAS } from './schema.js';
import { mqttTlsIssues } from './tls.js';

const noChoice = () => undefined;
const AnyTag = MachineSchema.properties.tags.items;
const PROTOCOL_MACHINE_KEYS = new Set<string>(Object.values(PROTOCOL_SCHEMAS).flatMap((p) => p.machineKeys));

function list(v: unknown): Array<[number, Record<string, unknown>]> {
  if (!Array.isArray(v)) return [];
  return v.flatMap((item, i) => (isRecord(item) ? [[i, item] as [number, Record<string, unknown>]] : []));
}

function idIssue(path: string, id: unknown, what: string): ConfigIssue[] {
  if (typeof id !== 'string' || id === '') return [];
  const reason = invalidIdReason(id);
  return reason === undefined
    ? []
    : [
        {
          path,
          message: `${what} ${reason}`,
          fix: 'use letters, digits, - _ . (no + # / or control characters)',
        },
      ];
}

function duplicates(
  items: Array<[number, Record<string, unknown>]>,
  key: string,
  base: string,
  what: string,
) {
  const issues: ConfigIssue[] = [];
  const first = new Map<unknown, number>();
  for (const [i, item] of items) {
    const v = item[key];
    if (typeof v !== 'string') continue;
    const j = first.get(v);
    if (j === undefined) first.set(v, i);
    else
      issues.push({
        path: `${base}/${i}/${key}`,
        message: `duplicate ${what} "${v}" (also at ${base}/${j}/${key})`,
        fix: `give each ${what.replace(/ (id|name)$/, '')} its own ${key}`,
      });
  }
  return issues;
}

function tagRef(tagNames: string[], ref: unknown, path: string, role: string): ConfigIssue[] {
  if (typeof ref !== 'string' || tagNames.includes(ref)) return [];
  return [
    {
      path,
      message: `${role} "${ref}" is not one of the machine's tags`,
      fix: `${didYouMean(ref, tagNames)}name a tag listed under tags (${tagNames.join(', ') || 'none yet'})`,
    },
  ];
}

function machineIssues(
  m: Record<string, unknown>,
  path: string,
  connections: Map<string, string>,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [...idIssue(`${path}/id`, m.id, 'machine id')];
  const type = typeof m.connection === 'string' ? connections.get(m.connection) : undefined;
  if (typeof m.connection === 'string' && type === undefined) {
    const ids = [...connections.keys()];
    issues.push({
      path: `${path}/connection`,
      message: `no connection "${m.connection}" is defined`,
      fix: `${didYouMean(m.connection, ids)}${ids.length > 0 ? `use one of: ${ids.join(', ')}` : 'define it under connections'}`,
    });
  }
  const protocol = type !== undefined ? PROTOCOL_SCHEMAS[type as keyof typeof PROTOCOL_SCHEMAS] : undefined;
  if (protocol !== undefined) {
    for (const k of PROTOCOL_MACHINE_KEYS) {
      if (m[k] !== undefined && !(protocol.machineKeys as readonly string[]).includes(k)) {
        issues.push({
          path: `${path}/${k}`,
          message: `${k} does not apply to ${type} connections`,
          fix: 'remove it',
        });
      }
    }
  }
  const tags = list(m.tags);
  issues.push(...duplicates(tags, 'name', `${path}/tags`, 'tag name'));
  for (const [j, tag] of tags) {
    const tagPath = `${path}/tags/${j}`;
    issues.push(...idIssue(`${tagPath}/name`, tag.name, 'tag name'));
    if (protocol !== undefined && Value.Check(AnyTag, tag) && !Value.Check(protocol.tag, tag)) {
      // Valid as some other protocol's tag, but not for this machine's connection.
      issues.push(...schemaIssues(protocol.tag, tag, tagPath, noChoice));
    }
    if (type?.startsWith('modbus-')) issues.push(...modbusTagIssues(tag, tagPath));
  }
  const names = tags.flatMap(([, t]) => (typeof t.name === 'string' ? [t.name] : []));
  if (isRecord(m.state)) {
    const s = m.state;
    if ('tag' in s) issues.push(...tagRef(names, s.tag, `${path}/state/tag`, 'state tag'));
    if (isRecord(s.stackLight)) {
      const lamps = Object.entries(s.stackLight);
      for (const [colour, ref] of lamps) {
        issues.push(...tagRef(names, ref, `${path}/state/stackLight/${colour}`, `${colour} lamp`));
      }
      if (lamps.length === 0) {
        issues.push({
          path: `${path}/state/stackLight`,
          message: 'no lamp is configured',
          fix: 'name the tag of at least one lamp: red, yellow or green',
        });
      }
    }
  }
  return issues;
}

export function crossIssues(root: unknown): ConfigIssue[] {
  if (!isRecord(root)) return [];
  const issues: ConfigIssue[] = [];
  if (isRecord(root.gateway)) {
    issues.push(...idIssue('/gateway/group', root.gateway.group, 'group id'));
    issues.push(...idIssue('/gateway/node', root.gateway.node, 'edge node id'));
  }
  if (isRecord(root.mqtt)) issues.push(...idIssue('/mqtt/primaryHost', root.mqtt.primaryHost, 'host id'));
  issues.push(...mqttTlsIssues(root.mqtt));
  const connections = list(root.connections);
  issues.push(...duplicates(connections, 'id', '/connections', 'connection id'));
  const types = new Map<string, string>();
  for (const [, c] of connections) {
    if (typeof c.id === 'string' && typeof c.type === 'string' && !types.has(c.id)) types.set(c.id, c.type);
  }
  const machines = list(root.machines);
  issues.push(...duplicates(machines, 'id', '/machines', 'machine id'));
  for (const [i, m] of machines) issues.push(...machineIssues(m, `/machines/${i}`, types));
  issues.push(...opcuaIssues(connections, machines));
  return issues;
}

/** OPC UA rules between keys: security mode and policy, identity files, tag settings per mode. */
function opcuaIssues(
  connections: Array<[number, Record<string, unknown>]>,
  machines: Array<[number, Record<string, unknown>]>,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const opcua = new Map<unknown, Record<string, unknown>>();
  for (const [i, c] of connections) {
    if (c.type !== 'opcua') continue;
    if (!opcua.has(c.id)) opcua.set(c.id, c);
    issues.push(...opcuaConnectionIssues(c, `/connections/${i}`));
  }
  for (const [i, m] of machines) {
    const c = opcua.get(m.connection);
    if (c === undefined) continue;
    for (const [j, tag] of list(m.tags)) issues.push(...opcuaTagIssues(tag, `/machines/${i}/tags/${j}`, c));
  }
  return issues;
}
