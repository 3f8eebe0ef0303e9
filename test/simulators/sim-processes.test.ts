/**
 * Issue 13: the simulated fleet served from child processes. Two children each serve part of
 * the enterprises; real gateways read machines from each, a machine fault reaches the child
 * that serves the machine, and a child that dies is reported. The children run the built
 * package (dist/cli/sim-child.js), as `wanji sim` and `wanji demo` start them.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigsForFleet } from '../../cli/fleet-gateways.js';
import type { GatewayConfig } from '../../gateway/config/index.js';
import { Gateway } from '../../gateway/gateway.js';
import type { Hub } from '../../hub/hub.js';
import { generateFleet } from '../../simulators/fleet.js';
import {
  dealEnterprises,
  partOfPlan,
  type SimChildExit,
  SimFleetProcesses,
} from '../../simulators/fleet-processes.js';
import { silentLogger, tempDir, testHub, waitFor } from '../hub/helpers.js';
import { assertBuilt } from '../support/wanji-process.js';

const logger = silentLogger();

describe('dealEnterprises', () => {
  it('gives every group an enterprise and about the same number of machines', () => {
    const plan = generateFleet({ machines: 1000, seed: 2 });
    const groups = dealEnterprises(plan, 3);
    expect(groups).toHaveLength(3);
    expect(groups.flat()).toEqual(plan.enterprises.map((e) => e.code));
    const sizes = groups.map((g) => plan.machines.filter((m) => g.includes(m.enterpriseCode)).length);
    for (const n of sizes) expect(n).toBeGreaterThan(200);
    // The parts of a plan (wanji sim --part K/N) are disjoint and cover it.
    const parts = [1, 2, 3].map((index) => partOfPlan(plan, { index, of: 3 }));
    expect(parts.flatMap((p) => p.machines.map((m) => m.id)).sort()).toEqual(
      plan.machines.map((m) => m.id).sort(),
    );
    expect(parts.map((p) => p.enterprises.map((e) => e.code))).toEqual(groups);
    expect(() => partOfPlan(plan, { index: 4, of: 3 })).toThrow(/part must be 1\.\.3/);
    // More groups than enterprises: one enterprise each.
    expect(dealEnterprises(generateFleet({ machines: 6, seed: 1, enterprises: 2 }), 5)).toHaveLength(2);
  });
});

describe('SimFleetProcesses (issue 13)', () => {
  const dir = tempDir();
  const exits: SimChildExit[] = [];
  const fleet = new SimFleetProcesses(
    { machines: 16, seed: 5, enterprises: 4 },
    {
      logger,
      processes: 2,
      tickMs: 200,
      pkiDir: join(dir.path, 'sim-pki'),
      onChildExit: (exit) => exits.push(exit),
    },
  );
  let hub: Hub;
  const gateways: Gateway[] = [];
  let configs: GatewayConfig[] = [];

  beforeAll(async () => {
    assertBuilt();
    await fleet.start();
    await fleet.start(); // idempotent
    hub = testHub(join(dir.path, 'hub'));
    await hub.start();
    for (const e of fleet.plan.enterprises) hub.registry.upsertEnterprise(e, 'test');
  }, 60_000);

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await hub?.close();
    await fleet.close();
    await fleet.close(); // idempotent
    dir.remove();
  }, 30_000);

  it('runs the fleet in two child processes and real gateways read machines from each', async () => {
    const pids = fleet.pids;
    expect(pids).toHaveLength(2);
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(process.pid);
    const codes = fleet.plan.enterprises.map((e) => e.code);
    const first = codes.find((c) => fleet.processOf(c) === 0)!;
    const second = codes.find((c) => fleet.processOf(c) === 1)!;
    expect(first).toBeDefined();
    expect(second).toBeDefined();

    configs = gatewayConfigsForFleet(fleet, {
      mqttUrl: hub.mqttUrl,
      primaryHost: hub.config.hostId,
      pollIntervalMs: 200,
      modbusTimeoutMs: 300,
      dataDir: join(dir.path, 'gateways'),
      opcuaPkiDir: join(dir.path, 'gateway-pki'),
    }).filter((c) => c.gateway.group === first || c.gateway.group === second);
    expect(configs).toHaveLength(2);
    for (const c of configs) gateways.push(new Gateway(c, { logger }));
    await Promise.all(gateways.map((g) => g.start()));
    for (const gateway of gateways) {
      const ids = Object.keys(gateway.status().machines);
      expect(ids.length).toBeGreaterThan(0);
      await waitFor(
        () => ids.every((id) => gateway.status().machines[id]?.online === true),
        `every machine of ${ids[0]?.slice(0, 4)} online at its gateway`,
        30_000,
      );
    }
    const count = configs.reduce((n, c) => n + c.machines.length, 0);
    await waitFor(() => hub.stats().networked >= count, `${count} machines networked at the hub`, 30_000);
  }, 60_000);

  it('sends a machine fault to the child serving the machine, and clears it', async () => {
    const gateway = gateways[1]!;
    const machine = gateway.status().machines;
    const modbusId = configs[1]?.machines.find((m) => m.connection.startsWith('modbus'))?.id;
    expect(modbusId, 'a Modbus machine in the second enterprise').toBeDefined();
    expect(machine[modbusId!]?.online).toBe(true);

    await expect(fleet.addFault({ kind: 'offline', target: 'E999-CNC-001' })).rejects.toThrow(
      /no machine of the fleet matches target "E999-CNC-001"/,
    );
    const fault = await fleet.addFault({ kind: 'offline', target: modbusId! });
    expect(fault).toMatchObject({ kind: 'offline', target: modbusId, matched: 1 });
    expect(await fleet.faults()).toEqual([fault]);
    await waitFor(
      () => gateway.status().machines[modbusId!]?.online === false,
      `${modbusId} offline at its gateway`,
      15_000,
    );
    expect(await fleet.clearFaults(fault.id)).toBe(1);
    expect(await fleet.faults()).toEqual([]);
    await waitFor(
      () => gateway.status().machines[modbusId!]?.online === true,
      `${modbusId} online again`,
      15_000,
    );
  }, 40_000);

  it('reports a child that dies', async () => {
    expect(exits).toEqual([]);
    fleet.killProcess(1);
    const exit = await waitFor(() => exits[0], 'the dead child reported', 10_000);
    expect(exit).toMatchObject({ index: 1, signal: 'SIGKILL' });
    expect(exit.enterprises.length).toBeGreaterThan(0);
  }, 20_000);
});
