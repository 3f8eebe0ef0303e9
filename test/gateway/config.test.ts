import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  type ConfigIssue,
  loadGatewayConfig,
  parseGatewayConfig,
  validateGatewayConfig,
} from '../../gateway/config/index.js';
import { sampleConfigObject } from './fixtures.js';

type Json = Record<string, unknown>;

function issuesOf(obj: unknown, file = 'gw.yaml'): ConfigIssue[] {
  try {
    validateGatewayConfig(obj, file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.code).toBe('WANJI_E_CONFIG');
    expect(e.file).toBe(file);
    expect(e.message).toContain(file);
    return [...e.issues];
  }
  throw new Error('expected a ConfigError');
}

function machines(cfg: Json): Json[] {
  return cfg.machines as Json[];
}
function tags(m: Json): Json[] {
  return m.tags as Json[];
}

describe('gateway config', () => {
  it('accepts the sample, fills defaults and freezes the result', () => {
    const cfg = validateGatewayConfig(sampleConfigObject(), 'sample');
    expect(cfg.mqtt.keepaliveS).toBe(30);
    const press = cfg.machines[1]!;
    expect(press.nc).toBe(false);
    expect(press.robot).toBe(false);
    const partCount = press.tags[0]!;
    expect(partCount).toMatchObject({ order: 'CDAB', scale: 1, deadband: 0 });
    expect(cfg.connections[1]).toMatchObject({ port: 502, backoffMaxMs: 30000 });
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.machines[0]!.tags[0])).toBe(true);
  });

  it('parses YAML, including integer keys of a state map', () => {
    const cfg = parseGatewayConfig(
      `gateway: { group: E001, node: GW-1 }
mqtt: { url: "mqtt://127.0.0.1:1883" }
connections:
  - { id: plc-1, type: modbus-tcp, host: 127.0.0.1 }
machines:
  - id: M1
    connection: plc-1
    kind: loom
    dataDepth: state
    state: { tag: s, map: { 0: stopped, 3: running } }
    tags: [{ name: s, table: holding, address: 0, type: uint16 }]
`,
      'inline.yaml',
    );
    const state = cfg.machines[0]!.state;
    expect('map' in state && state.map['3']).toBe('running');
    expect(cfg.heartbeatMs).toBe(60000);
  });

  it('names an unknown key with a suggestion, and reports every problem at once', () => {
    const cfg = sampleConfigObject();
    const t = tags(machines(cfg)[1]!)[0]!;
    t.adress = t.address;
    delete t.address;
    (cfg.mqtt as Json).keepalive = 10;
    machines(cfg)[0]!.kind = 'lathe';
    const issues = issuesOf(cfg);
    const unknown = issues.find((i) => i.path === '/machines/1/tags/0/adress');
    expect(unknown?.message).toBe('unknown key "adress"');
    expect(unknown?.fix).toContain('did you mean "address"?');
    expect(issues.find((i) => i.path === '/machines/1/tags/0/address')?.message).toContain(
      'missing required key',
    );
    expect(issues.find((i) => i.path === '/mqtt/keepalive')?.fix).toContain('did you mean "keepaliveS"?');
    const kind = issues.find((i) => i.path === '/machines/0/kind');
    expect(kind?.fix).toContain('cnc, injection, press, loom, robot, other');
    // Nothing about the OPC UA shape of a Modbus tag: the union is resolved by the connection.
    expect(issues.some((i) => i.path.endsWith('/nodeId'))).toBe(false);
    // File order: mqtt before machines.
    expect(issues.map((i) => i.path)).toEqual([
      '/mqtt/keepalive',
      '/machines/0/kind',
      // The unknown key from the schema, then the Modbus rule (table + address, or register).
      '/machines/1/tags/0/adress',
      '/machines/1/tags/0/address',
    ]);
  });

  it('names the path and the expected type for a wrong type', () => {
    const cfg = sampleConfigObject();
    tags(machines(cfg)[1]!)[0]!.address = 'ten';
    (cfg.connections as Json[])[1]!.port = 70000;
    const issues = issuesOf(cfg, '/etc/wanji/gateway.yaml');
    expect(issues).toContainEqual({
      path: '/machines/1/tags/0/address',
      message: 'expected an integer, got "ten"',
      fix: expect.stringContaining('0-based protocol address'),
    });
    expect(issues.find((i) => i.path === '/connections/1/port')?.fix).toContain('between 1 and 65535');
  });

  it('reports a machine whose connection is not defined, with a suggestion', () => {
    const cfg = sampleConfigObject();
    machines(cfg)[0]!.connection = 'opc1';
    const issue = issuesOf(cfg).find((i) => i.path === '/machines/0/connection');
    expect(issue?.message).toBe('no connection "opc1" is defined');
    expect(issue?.fix).toContain('did you mean "opc-1"?');
  });

  it('reports duplicate machine ids, connection ids and tag names', () => {
    const cfg = sampleConfigObject();
    machines(cfg)[1]!.id = 'E001-CNC-001';
    (cfg.connections as Json[])[1]!.id = 'opc-1';
    (cfg.connections as Json[])[1]!.type = 'opcua';
    (cfg.connections as Json[])[1]!.endpoint = 'opc.tcp://h:4840';
    delete (cfg.connections as Json[])[1]!.host;
    delete (cfg.connections as Json[])[1]!.port;
    tags(machines(cfg)[0]!)[1]!.name = 'state';
    const paths = issuesOf(cfg).map((i) => i.path);
    expect(paths).toContain('/connections/1/id');
    expect(paths).toContain('/machines/1/id');
    expect(paths).toContain('/machines/0/tags/1/name');
  });

  it('rejects ids that are not valid Sparkplug ids', () => {
    const cfg = sampleConfigObject();
    (cfg.gateway as Json).node = 'GW/1';
    machines(cfg)[0]!.id = 'CNC#1';
    const issues = issuesOf(cfg);
    expect(issues.find((i) => i.path === '/gateway/node')?.message).toContain('+ # /');
    expect(issues.find((i) => i.path === '/machines/0/id')?.message).toContain('machine id');
  });

  it('checks protocol rules and references', () => {
    const cfg = sampleConfigObject();
    const press = machines(cfg)[1]!;
    tags(press)[1]!.type = 'int16'; // a coil holds a bit
    (press.state as Json).stackLight = { red: 'lampRedd' };
    machines(cfg)[0]!.unitId = 3; // OPC UA machine
    (cfg.connections as Json[])[0]!.type = 'opc-ua';
    const issues = issuesOf(cfg);
    expect(issues.find((i) => i.path === '/machines/1/tags/1/type')?.fix).toContain('use type bool');
    expect(issues.find((i) => i.path === '/machines/1/state/stackLight/red')?.fix).toContain(
      'did you mean "lampRed"?',
    );
    expect(issues.find((i) => i.path === '/connections/0/type')?.fix).toContain('did you mean "opcua"?');
  });

  it('rejects a Modbus tag on an OPC UA machine', () => {
    const cfg = sampleConfigObject();
    tags(machines(cfg)[0]!).push({ name: 'count', table: 'holding', address: 1, type: 'uint16' });
    const issues = issuesOf(cfg);
    expect(issues.find((i) => i.path === '/machines/0/tags/2/nodeId')?.message).toContain(
      'missing required key',
    );
  });

  it('loads a file and names it in YAML and read errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wanji-config-'));
    try {
      const file = join(dir, 'gw.yaml');
      await writeFile(file, 'gateway:\n  group: E001\n  group: E002\n');
      await expect(loadGatewayConfig(file)).rejects.toThrow(/gw\.yaml.*\n.*line 3/);
      await expect(loadGatewayConfig(join(dir, 'missing.yaml'))).rejects.toThrow(/does not exist/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
