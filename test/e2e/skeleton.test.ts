/**
 * The walking skeleton end to end, over real sockets: simulated OPC UA and Modbus machines →
 * gateways (in-process, and one as a child process) → the hub's embedded broker → host →
 * SQLite store and registry → HTTP API.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type FleetGatewayOptions, gatewayConfigsForFleet } from '../../cli/fleet-gateways.js';
import { Gateway } from '../../gateway/gateway.js';
import { Hub } from '../../hub/hub.js';
import { generateFleet } from '../../simulators/fleet.js';
import { SimFleet } from '../../simulators/fleet-runtime.js';
import { apiToken, silentLogger } from '../hub/helpers.js';
import { until } from '../support/wait.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'bin', 'wanji.js');
const logger = silentLogger();
const ONLINE_WINDOW_MS = 3_000;

interface ApiMachine {
  enterprise: string;
  id: string;
  online: boolean;
  networked: boolean;
  dead: boolean;
  state: string | null;
}

describe('walking skeleton: simulators → gateways → hub → store', () => {
  let dir: string;
  let hub: Hub;
  let fleet: SimFleet;
  const gateways: Gateway[] = [];
  let child: ChildProcess | undefined;
  let childGroup: string;
  let base: string;
  /** The tags each machine's gateway reads (a Modbus map carries no strings). */
  const tagsOf = new Map<string, Set<string>>();

  let auth: { authorization: string } | undefined;
  const api = async <T>(path: string): Promise<T> => {
    auth ??= apiToken(hub.registry, 'operator');
    const res = await fetch(`${base}${path}`, { headers: auth });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  };
  const machine = async (enterprise: string, id: string) =>
    await api<{ machine: ApiMachine; latest: { metric: string; value: unknown }[] }>(
      `/api/v1/machines/${encodeURIComponent(enterprise)}/${encodeURIComponent(id)}`,
    );

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
      throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    }
    dir = await mkdtemp(join(tmpdir(), 'wanji-e2e-'));
    const plan = generateFleet({ machines: 12, seed: 7, enterprises: 3 });
    hub = new Hub({
      dataDir: join(dir, 'hub'),
      mqtt: { port: 0, allowAnonymous: true },
      http: { port: 0 },
      onlineWindowMs: ONLINE_WINDOW_MS,
      logger,
    });
    await hub.start();
    base = `http://127.0.0.1:${hub.httpPort}`;
    for (const e of plan.enterprises) hub.registry.upsertEnterprise(e, 'e2e test');
    fleet = new SimFleet(plan, { logger, tickMs: 200, pkiDir: join(dir, 'pki') });
    await fleet.start();

    const options: FleetGatewayOptions = {
      mqttUrl: hub.mqttUrl,
      primaryHost: hub.config.hostId,
      pollIntervalMs: 200,
      heartbeatMs: 1_000,
      modbusTimeoutMs: 300,
      dataDir: join(dir, 'gateways'),
    };
    const configs = gatewayConfigsForFleet(fleet, options);
    for (const c of configs) for (const m of c.machines) tagsOf.set(m.id, new Set(m.tags.map((t) => t.name)));
    // The last enterprise's gateway runs as its own process, so it can be killed outright.
    const childConfig = configs.pop()!;
    childGroup = childConfig.gateway.group;
    for (const c of configs) gateways.push(new Gateway(c, { logger }));
    await Promise.all(gateways.map((g) => g.start()));
    const file = join(dir, 'child-gateway.yaml');
    await writeFile(file, stringify(childConfig));
    child = spawn(process.execPath, [cli, 'gateway', '-c', file, '--log-level', 'warn'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  });

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    for (const g of gateways) await g.close();
    await fleet?.close();
    await hub?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('counts every simulated machine networked and online, in at least 3 enterprises and regions', async () => {
    const total = fleet.plan.machines.length;
    const protocols = new Set(fleet.plan.machines.map((m) => m.protocol));
    expect(protocols).toEqual(new Set(['opcua', 'modbus']));
    const stats = await until(
      'every machine networked',
      async () => {
        const s = await api<{ target: number; networked: number; online: number; byRegion: unknown[] }>(
          '/api/v1/stats',
        );
        return s.networked === total && s.online === total ? s : undefined;
      },
      30_000,
    );
    expect(stats.target).toBe(10_000);
    expect(stats.byRegion.length).toBeGreaterThanOrEqual(3);
    const list = await api<{ total: number; machines: ApiMachine[] }>('/api/v1/machines?limit=1000');
    expect(list.total).toBe(total);
    expect(new Set(list.machines.map((m) => m.id))).toEqual(new Set(fleet.plan.machines.map((m) => m.id)));
  });

  it('stores exactly the values the simulator served, over OPC UA and over Modbus', async () => {
    for (const protocol of ['opcua', 'modbus'] as const) {
      const planned = fleet.plan.machines.find(
        (m) => m.protocol === protocol && m.enterpriseCode !== childGroup && m.dataDepth === 'full',
      )!;
      expect(planned, `a full-depth ${protocol} machine`).toBeDefined();
      const sim = fleet.machine(planned.id);
      sim.pause();
      const served = sim.values();
      let mismatch = '';
      await until(`${planned.id}'s stored values to match the simulator`, async () => {
        const { latest } = await machine(planned.enterpriseCode, planned.id);
        const stored = new Map(latest.map((l) => [l.metric, l.value]));
        const read = tagsOf.get(planned.id)!;
        expect(read.size).toBeGreaterThan(5);
        for (const [signal, value] of Object.entries(served)) {
          if (!read.has(signal)) continue;
          const got = stored.get(`Signals/${signal}`);
          // Modbus carries float32 on the wire; OPC UA carries the simulator's own type.
          const want = typeof value === 'number' && !Number.isInteger(value) ? Math.fround(value) : value;
          const equal =
            typeof got === 'number' && typeof want === 'number'
              ? Math.abs(got - want) <= Math.abs(want) * 1e-6 + 1e-9
              : got === want;
          if (!equal) {
            mismatch = `${signal}: stored ${JSON.stringify(got)}, served ${JSON.stringify(want)}`;
            return undefined;
          }
        }
        return true;
      }).catch((err: Error) => {
        throw new Error(`${err.message} (last mismatch ${mismatch})`);
      });
      sim.resume();
    }
  });

  it('reports a machine whose simulator stops answering offline within the window, and back when it answers', async () => {
    for (const protocol of ['modbus', 'opcua'] as const) {
      const planned = fleet.plan.machines.find(
        (m) => m.protocol === protocol && m.enterpriseCode !== childGroup,
      )!;
      fleet.disconnectMachine(planned.id);
      const stoppedAt = Date.now();
      await until(
        `${planned.id} offline`,
        async () => {
          const { machine: m } = await machine(planned.enterpriseCode, planned.id);
          return m.online ? undefined : m;
        },
        ONLINE_WINDOW_MS + 10_000,
      );
      expect(Date.now() - stoppedAt).toBeLessThan(ONLINE_WINDOW_MS + 10_000);
      const others = fleet.plan.machines.filter((m) => m.id !== planned.id);
      const stats = await api<{ online: number }>('/api/v1/stats');
      expect(stats.online).toBe(others.length);
      fleet.reconnectMachine(planned.id);
      await until(`${planned.id} online again`, async () => {
        const { machine: m } = await machine(planned.enterpriseCode, planned.id);
        return m.online ? m : undefined;
      });
    }
  });

  it('marks a gateway killed without a clean disconnect dead through its will, and its machines offline', async () => {
    const gw = await until('the child gateway to be online', async () => {
      const { gateways: list } = await api<{
        gateways: { group: string; edgeNode: string; online: boolean }[];
      }>('/api/v1/gateways');
      return list.find((g) => g.group === childGroup && g.online);
    });
    child!.kill('SIGKILL');
    await until(
      `${gw.edgeNode} dead`,
      async () => {
        const { gateways: list } = await api<{ gateways: { group: string; online: boolean }[] }>(
          '/api/v1/gateways',
        );
        return list.find((g) => g.group === childGroup && !g.online);
      },
      10_000,
    );
    const { machines } = await api<{ machines: ApiMachine[] }>(
      `/api/v1/machines?enterprise=${encodeURIComponent(childGroup)}&limit=1000`,
    );
    expect(machines.length).toBeGreaterThan(0);
    for (const m of machines) {
      expect(m.online, m.id).toBe(false);
      expect(m.networked, m.id).toBe(true);
    }
  });
});
