import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SyntheticModbusServer } from '../../bench/modbus-server.js';
import { ConfigError, type GatewayConfig, validateGatewayConfig } from '../../gateway/config/index.js';
import { Gateway } from '../../gateway/gateway.js';
import { diffConfigs, ReloadError } from '../../gateway/reload.js';
import { type Payload, parseNodeMetricName } from '../../protocol/index.js';
import { testLogger, waitFor } from './helpers.js';
import {
  metricValue,
  type Received,
  SparkplugSubscriber,
  startBroker,
  type TestBroker,
} from './mqtt-helpers.js';

interface MachineSpec {
  readonly id: string;
  readonly connection: string;
  readonly unit: number;
  readonly tags?: readonly string[];
  readonly kind?: string;
}

function machine(m: MachineSpec) {
  return {
    id: m.id,
    connection: m.connection,
    kind: m.kind ?? 'press',
    dataDepth: 'state+count',
    unitId: m.unit,
    pollIntervalMs: 100,
    state: { tag: 'mode', map: { 0: 'stopped' }, default: 'running' },
    tags: ['mode', ...(m.tags ?? ['count'])].map((name, i) => ({
      name,
      table: 'holding',
      address: i,
      type: 'uint16',
    })),
  };
}

function configObject(
  brokerUrl: string,
  servers: Record<string, SyntheticModbusServer>,
  machines: readonly MachineSpec[],
  extra: Record<string, unknown> = {},
) {
  return {
    gateway: { group: 'E042', node: 'GW-E042' },
    mqtt: { url: brokerUrl },
    statusIntervalMs: 200,
    connections: Object.entries(servers).map(([id, s]) => ({
      id,
      type: 'modbus-tcp',
      host: '127.0.0.1',
      port: s.port,
      timeoutMs: 200,
    })),
    machines: machines.map(machine),
    ...extra,
  };
}

const aliases = (p: Payload) => new Map(p.metrics.map((m) => [m.name, m.alias]));

describe('config diff', () => {
  const servers = {
    A: new SyntheticModbusServer({ units: [] }),
    B: new SyntheticModbusServer({ units: [] }),
  };
  // Ports are only read from started servers; the diff needs any number.
  for (const s of Object.values(servers)) Object.defineProperty(s, 'port', { value: 1502 });
  const base = [
    { id: 'a1', connection: 'A', unit: 1 },
    { id: 'b1', connection: 'B', unit: 1 },
  ];
  const config = (machines: MachineSpec[], extra: Record<string, unknown> = {}): GatewayConfig =>
    validateGatewayConfig(configObject('mqtt://127.0.0.1:1883', servers, machines, extra));

  it('keeps connections whose settings and machines did not change, restarts the others', () => {
    const d = diffConfigs(config(base), config([base[0]!, { ...base[1]!, tags: ['count', 'extra'] }]));
    expect(d.restartRequired).toEqual([]);
    expect(d.connections).toEqual({ added: [], removed: [], restarted: ['B'], kept: ['A'] });
    expect(d.machines).toEqual({ added: [], removed: [], changed: ['b1'] });
  });

  it('never restarts a connection for settings only the northbound side reads', () => {
    const d = diffConfigs(config(base), config([base[0]!, { ...base[1]!, kind: 'loom' }]));
    expect(d.connections.restarted).toEqual([]);
    expect(d.machines.changed).toEqual(['b1']);
  });

  it('says which changes need a restart', () => {
    const d = diffConfigs(
      config(base),
      config(base, { gateway: { group: 'E043', node: 'GW-E042' }, mqtt: { url: 'mqtt://other:1883' } }),
    );
    expect(d.restartRequired).toEqual(['gateway.group', 'mqtt']);
    expect(new ReloadError(d.restartRequired).message).toMatch(
      /gateway.group, mqtt changed: restart the gateway to apply them/,
    );
  });
});

describe('Gateway.reload against real Modbus servers and a real broker', () => {
  let broker: TestBroker;
  let sub: SparkplugSubscriber;
  let servers: Record<string, SyntheticModbusServer>;
  let dataDir: string;
  let gw: Gateway | undefined;

  beforeEach(async () => {
    broker = await startBroker();
    sub = new SparkplugSubscriber();
    await sub.start(broker.url);
    servers = {
      A: new SyntheticModbusServer({ units: [1, 2] }),
      B: new SyntheticModbusServer({ units: [1, 2] }),
      C: new SyntheticModbusServer({ units: [1] }),
    };
    for (const s of Object.values(servers)) await s.start();
    dataDir = await mkdtemp(join(tmpdir(), 'wanji-reload-'));
  });

  afterEach(async () => {
    await gw?.close();
    gw = undefined;
    await sub.close();
    for (const s of Object.values(servers)) await s.close();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const dbirthsOf = (id: string, after = 0): Received[] =>
    sub.messages.slice(after).filter((m) => m.type === 'DBIRTH' && m.device === id);

  it('applies only what changed: untouched connections keep their session, aliases stay stable', async () => {
    const { A, B } = servers as { A: SyntheticModbusServer; B: SyntheticModbusServer };
    const v1: MachineSpec[] = [
      { id: 'a1', connection: 'A', unit: 1 },
      { id: 'b1', connection: 'B', unit: 1 },
      { id: 'b2', connection: 'B', unit: 2 },
    ];
    const only = (ids: string[]) => Object.fromEntries(ids.map((id) => [id, servers[id]!]));
    gw = new Gateway(validateGatewayConfig(configObject(broker.url, only(['A', 'B']), v1)), {
      logger: testLogger(),
      dataDir,
    });
    await gw.start();
    await waitFor(
      () => dbirthsOf('a1').length + dbirthsOf('b1').length + dbirthsOf('b2').length === 3 || undefined,
    );
    const nbirth = sub.of('NBIRTH')[0]!;
    const a1Aliases = aliases(dbirthsOf('a1')[0]!.payload);
    const b1Aliases = aliases(dbirthsOf('b1')[0]!.payload);
    expect(A.connections).toBe(1);
    expect(B.connections).toBe(1);

    // 1. A tag more on b1: only B restarts, only b1 is born again, with the new metric.
    let mark = sub.messages.length;
    const v2: MachineSpec[] = [v1[0]!, { ...v1[1]!, tags: ['count', 'extra'] }, v1[2]!];
    const r2 = await gw.reload(validateGatewayConfig(configObject(broker.url, only(['A', 'B']), v2)));
    expect(r2.connections).toEqual({ added: [], removed: [], restarted: ['B'], kept: ['A'] });
    const b1Again = await waitFor(() => dbirthsOf('b1', mark)[0], 'b1 DBIRTH', 5000);
    const b1New = aliases(b1Again.payload);
    expect(b1New.get('Signals/extra')).toBeGreaterThan(
      Math.max(...[...a1Aliases.values(), ...b1Aliases.values()].map(Number)),
    );
    for (const [name, alias] of b1Aliases) expect(b1New.get(name)).toBe(alias);
    await waitFor(() => (gw!.status().drivers.B?.reads ?? 0) > 0 || undefined);
    expect(A.connections).toBe(1);
    expect(B.connections).toBe(2);
    expect(sub.messages.slice(mark).filter((m) => ['NBIRTH', 'DDEATH'].includes(m.type))).toEqual([]);
    expect(dbirthsOf('a1', mark)).toEqual([]);
    expect(dbirthsOf('b2', mark)).toEqual([]);

    // 2. b2 goes, c1 comes on a new connection: DDEATH, then a rebirth (the gateway's own metric
    //    set changed) on the same session, and c1's DBIRTH.
    mark = sub.messages.length;
    const v3: MachineSpec[] = [v2[0]!, v2[1]!, { id: 'c1', connection: 'C', unit: 1 }];
    const r3 = await gw.reload(validateGatewayConfig(configObject(broker.url, only(['A', 'B', 'C']), v3)));
    expect(r3.machines).toEqual({ added: ['c1'], removed: ['b2'], changed: [] });
    expect(r3.connections).toEqual({ added: ['C'], removed: [], restarted: ['B'], kept: ['A'] });
    await waitFor(() => sub.messages.slice(mark).find((m) => m.type === 'DDEATH' && m.device === 'b2'));
    const reborn = await sub.next('NBIRTH', mark);
    expect(metricValue(reborn.payload, 'bdSeq')).toBe(metricValue(nbirth.payload, 'bdSeq'));
    const deviceIds = new Set(
      reborn.payload.metrics
        .map((m) => parseNodeMetricName(m.name ?? ''))
        .flatMap((n) => (n?.kind === 'device' ? [n.id] : [])),
    );
    expect([...deviceIds].sort()).toEqual(['a1', 'b1', 'c1']);
    await waitFor(() => dbirthsOf('c1', mark)[0], 'c1 DBIRTH', 5000);
    expect(aliases(dbirthsOf('a1', mark)[0]!.payload)).toEqual(a1Aliases);
    expect(A.connections).toBe(1);
    expect(gw.status().reloads).toBe(2);
    expect(metricValue(reborn.payload, 'Gateway/Reloads')).toBe(2);
  });

  it('rejects an invalid config or one that needs a restart, and runs on with the old one', async () => {
    const v1: MachineSpec[] = [{ id: 'a1', connection: 'A', unit: 1 }];
    const first = validateGatewayConfig(configObject(broker.url, { A: servers.A! }, v1));
    gw = new Gateway(first, { logger: testLogger(), dataDir });
    await gw.start();
    await waitFor(() => dbirthsOf('a1')[0]);
    const bad = {
      ...configObject(broker.url, { A: servers.A! }, v1),
      heartbeatMs: 5,
    } as unknown as GatewayConfig;
    await expect(gw.reload(bad)).rejects.toBeInstanceOf(ConfigError);
    const moved = validateGatewayConfig(
      configObject(broker.url, { A: servers.A! }, v1, { gateway: { group: 'E042', node: 'GW-OTHER' } }),
    );
    await expect(gw.reload(moved)).rejects.toMatchObject({
      code: 'WANJI_E_RELOAD_RESTART',
      keys: ['gateway.node'],
    });
    expect(gw.config).toBe(first);
    expect(gw.status().reloads).toBe(0);
    expect(servers.A!.connections).toBe(1);
  });

  it('publishes machine health and counters as node metrics, at most every statusIntervalMs, only changes', async () => {
    const v1: MachineSpec[] = [
      { id: 'a1', connection: 'A', unit: 1 },
      { id: 'a2', connection: 'A', unit: 2 },
    ];
    gw = new Gateway(validateGatewayConfig(configObject(broker.url, { A: servers.A! }, v1)), {
      logger: testLogger(),
      dataDir,
    });
    await gw.start();
    const nbirth = await sub.next('NBIRTH');
    const names = new Map(nbirth.payload.metrics.map((m) => [m.alias, m.name]));
    for (const name of [
      'Gateway/Samples',
      'Gateway/Published',
      'Gateway/Queued',
      'Gateway/Dropped',
      'Devices/a1/Health',
      'Devices/a2/Samples',
      'Connections/A/reads',
    ]) {
      expect([...names.values()]).toContain(name);
    }
    const health = (id: string) =>
      sub
        .of('NDATA')
        .flatMap((m) => m.payload.metrics)
        .filter((m) => names.get(m.alias) === `Devices/${id}/Health`)
        .map((m) => m.value);
    await waitFor(() => health('a2').at(-1) === 'online' || undefined, 'a2 online', 5000);
    servers.A!.setSilent(2, true);
    await waitFor(() => health('a2').at(-1) === 'offline' || undefined, 'a2 offline', 5000);
    expect(gw.status().health.a2).toMatchObject({ health: 'offline', outages: 1 });
    expect(health('a1').filter((h) => h !== 'online')).toEqual([]);

    // NDATA at most every 200 ms, and only metrics whose value changed.
    const ndata = sub.of('NDATA');
    const gaps = ndata.slice(1).map((m, i) => m.payload.timestamp! - ndata[i]!.payload.timestamp!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(150);
    for (const m of ndata) expect(m.payload.metrics.every((x) => x.name === undefined)).toBe(true);
    const aliasesPerMessage = ndata.map((m) => m.payload.metrics.length);
    expect(Math.max(...aliasesPerMessage)).toBeLessThan(names.size - 3);
  });
});
