/**
 * What a config reload changes (pure; gateway.ts applies it). Connections are compared with
 * the machines they serve, because a driver is built for both: a connection whose settings or
 * whose machines' driver-side settings changed is restarted, every other one keeps its driver
 * and its session. Settings only the gateway's northbound side uses (kind, nc, robot, data
 * depth, state derivation) never restart a connection.
 */
import { WanjiError } from '../protocol/errors.js';
import type { ConnectionConfig, GatewayConfig, MachineConfig } from './config/schema.js';

/** Where the gateway is on the network; changing any of these needs a restart. */
const RESTART_KEYS = ['gateway.group', 'gateway.node', 'mqtt', 'dataDir', 'journal'] as const;

/** Machine keys the drivers never read. */
const NORTHBOUND_ONLY: ReadonlySet<string> = new Set(['kind', 'nc', 'robot', 'dataDepth', 'state']);

export interface ConfigDiff {
  /** Keys whose change needs a restart (nothing is applied while there are any). */
  readonly restartRequired: readonly string[];
  readonly connections: {
    readonly added: readonly string[];
    readonly removed: readonly string[];
    /** Settings or machines changed: the driver is closed and a new one started. */
    readonly restarted: readonly string[];
    readonly kept: readonly string[];
  };
  readonly machines: {
    readonly added: readonly string[];
    readonly removed: readonly string[];
    /** Anything changed; born again with the new metric set. */
    readonly changed: readonly string[];
  };
  /** heartbeatMs or statusIntervalMs changed. */
  readonly timing: boolean;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** The part of a machine's config its driver reads. */
function driverSide(m: MachineConfig): Record<string, unknown> {
  return Object.fromEntries(Object.entries(m).filter(([k]) => !NORTHBOUND_ONLY.has(k)));
}

function pick(c: GatewayConfig, key: (typeof RESTART_KEYS)[number]): unknown {
  switch (key) {
    case 'gateway.group':
      return c.gateway.group;
    case 'gateway.node':
      return c.gateway.node;
    case 'mqtt':
      return c.mqtt;
    case 'dataDir':
      return c.dataDir;
    case 'journal':
      return c.journal;
  }
}

function machinesOf(c: GatewayConfig, connection: string): MachineConfig[] {
  return c.machines.filter((m) => m.connection === connection);
}

export function diffConfigs(before: GatewayConfig, after: GatewayConfig): ConfigDiff {
  const restartRequired = RESTART_KEYS.filter((k) => !deepEqual(pick(before, k), pick(after, k)));
  const oldConn = new Map<string, ConnectionConfig>(before.connections.map((c) => [c.id, c]));
  const newConn = new Map<string, ConnectionConfig>(after.connections.map((c) => [c.id, c]));
  const connections = {
    added: [] as string[],
    removed: [] as string[],
    restarted: [] as string[],
    kept: [] as string[],
  };
  for (const id of oldConn.keys()) if (!newConn.has(id)) connections.removed.push(id);
  for (const [id, c] of newConn) {
    const old = oldConn.get(id);
    if (old === undefined) {
      connections.added.push(id);
      continue;
    }
    const sameMachines = deepEqual(
      machinesOf(before, id).map(driverSide),
      machinesOf(after, id).map(driverSide),
    );
    if (deepEqual(old, c) && sameMachines) connections.kept.push(id);
    else connections.restarted.push(id);
  }
  const oldMachines = new Map(before.machines.map((m) => [m.id, m]));
  const newIds = new Set(after.machines.map((m) => m.id));
  const machines = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
  for (const id of oldMachines.keys()) if (!newIds.has(id)) machines.removed.push(id);
  for (const m of after.machines) {
    const old = oldMachines.get(m.id);
    if (old === undefined) machines.added.push(m.id);
    else if (!deepEqual(old, m)) machines.changed.push(m.id);
  }
  const timing =
    before.heartbeatMs !== after.heartbeatMs || before.statusIntervalMs !== after.statusIntervalMs;
  return { restartRequired, connections, machines, timing };
}

/** Whether the diff changes anything at all. */
export function isEmptyDiff(d: ConfigDiff): boolean {
  const c = d.connections;
  const m = d.machines;
  return (
    d.restartRequired.length === 0 &&
    !d.timing &&
    c.added.length +
      c.removed.length +
      c.restarted.length +
      m.added.length +
      m.removed.length +
      m.changed.length ===
      0
  );
}

/** A reload that cannot be applied while running: the gateway keeps its old config. */
export class ReloadError extends WanjiError<'WANJI_E_RELOAD_RESTART'> {
  readonly keys: readonly string[];

  constructor(keys: readonly string[]) {
    super(
      'WANJI_E_RELOAD_RESTART',
      `${keys.join(', ')} changed: restart the gateway to apply ${keys.length === 1 ? 'it' : 'them'}; nothing was reloaded and the gateway runs on with its previous config`,
    );
    this.name = 'ReloadError';
    this.keys = keys;
  }
}
