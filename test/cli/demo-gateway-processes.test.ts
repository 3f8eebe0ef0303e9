/**
 * Issue 13: the demo's gateways in child processes (cli/gateway-child.ts), against a real hub and
 * a real simulated fleet: every machine networked through them, their figures reported over the
 * channel, a power cut of one enterprise's gateway (the hub sees its will; its machines come
 * back with the power), and a child that dies (its machines go offline at the hub, the demo is
 * told). Runs the compiled child (dist/): `npm run build` first.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoGateways } from '../../cli/demo-gateways.js';
import { gatewayConfigsForFleet } from '../../cli/fleet-gateways.js';
import { dealGateways, type GatewayChildExit } from '../../cli/gateway-pool.js';
import type { GatewayConfig } from '../../gateway/config/index.js';
import type { Hub } from '../../hub/hub.js';
import { generateFleet } from '../../simulators/fleet.js';
import { SimFleet } from '../../simulators/fleet-runtime.js';
import { silentLogger, tempDir, testHub, waitFor } from '../hub/helpers.js';

const logger = silentLogger();

describe('the demo gateways in child processes', () => {
  const dir = tempDir();
  const plan = generateFleet({ machines: 24, seed: 3, enterprises: 4 });
  const fleet = new SimFleet(plan, { logger, tickMs: 200, pkiDir: join(dir.path, 'sim-pki') });
  let hub: Hub;
  let configs: GatewayConfig[];
  let gateways: DemoGateways;
  const exits: GatewayChildExit[] = [];
  const drops: string[] = [];

  beforeAll(async () => {
    await fleet.start();
    hub = testHub(join(dir.path, 'hub'));
    await hub.start();
    for (const e of plan.enterprises) hub.registry.upsertEnterprise(e, 'test');
    configs = gatewayConfigsForFleet(fleet, {
      mqttUrl: hub.mqttUrl,
      primaryHost: hub.config.hostId,
      pollIntervalMs: 200,
      modbusTimeoutMs: 300,
      dataDir: join(dir.path, 'gateways'),
      // One PKI folder for every gateway, made by one child before the others use it.
      opcuaPkiDir: join(dir.path, 'gateway-pki'),
    });
    gateways = new DemoGateways(configs, {
      logger,
      processes: 2,
      disconnectMqttClient: async (id) => {
        drops.push(id);
        return await hub.disconnectMqttClient(id);
      },
      onChildExit: (exit) => exits.push(exit),
    });
    await gateways.start();
  }, 60_000);

  afterAll(async () => {
    await gateways?.close();
    await hub?.close();
    await fleet.close();
    dir.remove();
  }, 30_000);

  it('networks every machine from two processes and reports what the gateways sent', async () => {
    expect(gateways.pids).toHaveLength(2);
    expect(new Set(gateways.pids).size).toBe(2);
    expect(gateways.pids).not.toContain(process.pid);
    // In child processes: no gateway object here.
    expect(gateways.gateway('E001')).toBeUndefined();
    await waitFor(() => hub.stats().networked >= plan.machines.length, 'every machine networked', 40_000);
    // Births alone network a machine; the data messages (report by exception) may come later.
    const report = await waitFor(
      async () => {
        const r = await gateways.report();
        return r.published > 0 && r;
      },
      'the gateways publishing data',
      20_000,
    );
    expect(report.gateways).toBe(plan.enterprises.length);
    expect(report.born).toBe(plan.enterprises.length);
    expect(report.births).toBeGreaterThanOrEqual(plan.machines.length);
    expect(report.birthValues).toBeGreaterThan(report.births);
  }, 60_000);

  it('cuts and restores one gateway in its child', async () => {
    const total = plan.machines.length;
    const e2 = plan.machines.filter((m) => m.enterpriseCode === 'E002').length;
    await waitFor(() => hub.stats().online >= total, 'every machine online first', 30_000);
    const fault = await gateways.cut({ kind: 'power-loss', target: 'E002' });
    expect(fault.matched).toBe(1);
    expect(drops).toEqual(['wanji-E002-GW-E002']);
    await waitFor(() => hub.stats().online <= total - e2, "E002's machines offline at the hub", 20_000);
    expect((await gateways.report()).gateways).toBe(plan.enterprises.length - 1);
    await gateways.restore(fault.id);
    await waitFor(() => hub.stats().online >= total, "E002's machines online again", 30_000);
  }, 60_000);

  it('tells when a child dies, and the hub sees its machines go offline', async () => {
    const [first] = dealGateways(configs, 2);
    const lost = first!.reduce((n, c) => n + c.machines.length, 0);
    const total = plan.machines.length;
    await waitFor(() => hub.stats().online >= total, 'every machine online first', 30_000);
    gateways.killProcess(0);
    await waitFor(() => exits.length === 1, 'the child exit told', 10_000);
    expect(exits[0]).toMatchObject({ index: 0, signal: 'SIGKILL' });
    expect([...exits[0]!.enterprises].sort()).toEqual(first!.map((c) => c.gateway.group).sort());
    await waitFor(() => hub.stats().online <= total - lost, "the dead child's machines offline", 30_000);
  }, 60_000);
});

describe('dealGateways', () => {
  it('deals gateways by machine count, each group in the configs order', () => {
    const config = (group: string, machines: number) =>
      ({ gateway: { group }, machines: Array.from({ length: machines }) }) as unknown as GatewayConfig;
    const configs = [config('A', 10), config('B', 1), config('C', 6), config('D', 5)];
    const groups = dealGateways(configs, 2).map((g) => g.map((c) => c.gateway.group));
    expect(groups).toEqual([
      ['A', 'B'],
      ['C', 'D'],
    ]);
    expect(dealGateways(configs, 9)).toHaveLength(4);
    expect(dealGateways(configs, 1)[0]!.map((c) => c.gateway.group)).toEqual(['A', 'B', 'C', 'D']);
  });
});
