/**
 * Issue 10, stopping: `wanji gateway` and `wanji hub` on their own stop within seconds of
 * SIGTERM while under load (hundreds of machines polled, data flowing), exit 0 and print no
 * stack trace. Each runs as a child process from the built package; its peers (the simulated
 * fleet, the other side's hub or gateways) run in the test.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { gatewayConfigsForFleet } from '../../cli/fleet-gateways.js';
import { Gateway } from '../../gateway/gateway.js';
import { Hub } from '../../hub/hub.js';
import { generateFleet } from '../../simulators/fleet.js';
import { SimFleet } from '../../simulators/fleet-runtime.js';
import { silentLogger, tempDir, waitFor } from '../hub/helpers.js';
import { assertBuilt } from '../support/wanji-process.js';
import { alarmingLines, Child } from './demo-stop-child.js';

const logger = silentLogger();
const MACHINES = 300;

describe('stopping wanji gateway and wanji hub under load (issue 10)', () => {
  const dir = tempDir();
  const plan = generateFleet({ machines: MACHINES, seed: 11, enterprises: 2 });
  const fleet = new SimFleet(plan, { logger, pkiDir: join(dir.path, 'sim-pki') });
  const closers: (() => Promise<void>)[] = [];
  assertBuilt();

  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await fleet.close();
    dir.remove();
  });

  it(`wanji gateway with one enterprise's machines networked (of ${MACHINES}) exits 0 within 10 s of SIGTERM`, async () => {
    await fleet.start();
    const hub = new Hub({
      dataDir: join(dir.path, 'hub-in-test'),
      mqtt: { port: 0, allowAnonymous: true },
      http: { port: 0 },
      logger,
    });
    closers.push(() => hub.close());
    await hub.start();
    for (const e of plan.enterprises) hub.registry.upsertEnterprise(e, 'test');
    const [config] = gatewayConfigsForFleet(fleet, {
      mqttUrl: hub.mqttUrl,
      primaryHost: hub.config.hostId,
      pollIntervalMs: 500,
      dataDir: join(dir.path, 'gateways'),
    });
    const file = join(dir.path, 'gateway.yaml');
    writeFileSync(file, stringify(config));
    const gateway = new Child(['gateway', '-c', file, '--log-level', 'warn']);
    closers.push(async () => void (await gateway.stop(['SIGKILL'], 5_000)));
    const count = config!.machines.length;
    await waitFor(
      () => !gateway.running || hub.stats().networked >= count,
      `the gateway's ${count} machines networked`,
      120_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${gateway.output()}`);
    });
    expect(gateway.running, gateway.output()).toBe(true);
    const result = await gateway.stop(['SIGTERM'], 10_000);
    expect(result, gateway.output()).toEqual({ code: 0, signal: null });
    expect(alarmingLines(`${gateway.out}\n${gateway.err}`), gateway.output()).toEqual([]);
  }, 180_000);

  it(`wanji hub with ${MACHINES} machines' data flowing in exits 0 within 10 s of SIGTERM`, async () => {
    await fleet.start();
    const file = join(dir.path, 'hub.yaml');
    writeFileSync(
      file,
      stringify({
        dataDir: join(dir.path, 'hub-child'),
        mqtt: { port: 0, allowAnonymous: true },
        http: { port: 0 },
      }),
    );
    const hub = new Child(['hub', '-c', file, '--log-level', 'info']);
    closers.push(async () => void (await hub.stop(['SIGKILL'], 5_000)));
    await waitFor(() => !hub.running || hub.err.includes('"hub started"'), 'the hub to start', 60_000);
    const started = hub.err.split('\n').find((l) => l.includes('"hub started"'));
    expect(started, hub.output()).toBeDefined();
    const { mqttPort } = JSON.parse(started!) as { mqttPort: number };
    const gateways = gatewayConfigsForFleet(fleet, {
      mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
      primaryHost: 'wanji-hub',
      pollIntervalMs: 500,
      dataDir: join(dir.path, 'gateways-to-child'),
    }).map((c) => new Gateway(c, { logger }));
    closers.push(async () => void (await Promise.allSettled(gateways.map((g) => g.close()))));
    await Promise.all(gateways.map((g) => g.start()));
    // Every machine born on the hub (so their data is flowing) before the stop.
    await waitFor(
      () =>
        !hub.running ||
        gateways.every((g) => {
          const devices = Object.values(g.status().edgeNode.devices);
          return devices.length === g.config.machines.length && devices.every((d) => d.born);
        }),
      `all ${MACHINES} machines born on the hub`,
      120_000,
    );
    expect(hub.running, hub.output()).toBe(true);
    const result = await hub.stop(['SIGTERM'], 10_000);
    expect(result, hub.output()).toEqual({ code: 0, signal: null });
    expect(alarmingLines(`${hub.out}\n${hub.err}`), hub.output()).toEqual([]);
  }, 180_000);
});
