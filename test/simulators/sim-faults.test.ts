/**
 * Issue 13: faults on demand, each seen by a real peer — offline, flap and alarm-storm by a real
 * gateway polling the machine, freeze by a real OPC UA client, power-loss of a demo gateway by
 * the hub (the broker publishes the gateway's NDEATH will, the machines go offline, and come back
 * when the power returns). Also the parsing of fault specs and the HTTP control.
 */
import { join } from 'node:path';
import { AttributeIds, type ClientSession, OPCUAClient } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoFaults, DemoGateways } from '../../cli/demo-gateways.js';
import { gatewayConfigsForFleet } from '../../cli/fleet-gateways.js';
import type { GatewayConfig } from '../../gateway/config/index.js';
import type { Gateway } from '../../gateway/gateway.js';
import type { Hub } from '../../hub/hub.js';
import { FaultControlServer } from '../../simulators/fault-control.js';
import { parseFaultSpec, targetMatches } from '../../simulators/faults.js';
import { generateFleet } from '../../simulators/fleet.js';
import { SimFleet } from '../../simulators/fleet-runtime.js';
import { opcuaNodeId } from '../../simulators/opcua/server.js';
import { silentLogger, tempDir, testHub, waitFor } from '../hub/helpers.js';

const logger = silentLogger();

describe('fault specs', () => {
  it('parses KIND:TARGET[:SECONDS] and names what is wrong', () => {
    expect(parseFaultSpec('offline:E001-CNC-001:30')).toEqual({
      kind: 'offline',
      target: 'E001-CNC-001',
      seconds: 30,
    });
    expect(parseFaultSpec('flap:5%')).toEqual({ kind: 'flap', target: '5%' });
    expect(() => parseFaultSpec('melt:E001')).toThrow(/kind must be one of offline, flap, freeze/);
    expect(() => parseFaultSpec('offline')).toThrow(/KIND:TARGET\[:SECONDS\]/);
    expect(() => parseFaultSpec('offline:E001:soon')).toThrow(/seconds must be a number/);
    expect(() => parseFaultSpec('offline:150%')).toThrow(/at most 100%/);
    expect(() => parseFaultSpec('offline:a b')).toThrow(/target must be/);
  });

  it('picks the same share of machines wherever they are asked', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `E${i % 40}-CNC-${i}`);
    const picked = ids.filter((id) => targetMatches('10%', id, id.slice(0, 3)));
    expect(picked.length).toBeGreaterThan(120);
    expect(picked.length).toBeLessThan(280);
    expect(ids.filter((id) => targetMatches('10%', id, id.slice(0, 3)))).toEqual(picked);
    expect(targetMatches('all', 'x', 'y')).toBe(true);
    expect(targetMatches('E001', 'E001-CNC-001', 'E001')).toBe(true);
    expect(targetMatches('E002', 'E001-CNC-001', 'E001')).toBe(false);
  });
});

describe('faults seen by a real gateway, client and hub (issue 13)', () => {
  const dir = tempDir();
  const plan = generateFleet({ machines: 8, seed: 7, enterprises: 2 });
  const fleet = new SimFleet(plan, { logger, tickMs: 200, pkiDir: join(dir.path, 'sim-pki') });
  let hub: Hub;
  let configs: GatewayConfig[];
  let gateways: DemoGateways;
  let faults: DemoFaults;
  let control: FaultControlServer;
  const drops: { id: string; dropped: boolean }[] = [];

  /** A machine of enterprise `code` on the given protocol. */
  const machineOf = (code: string, protocol: 'modbus' | 'opcua'): string => {
    const m = plan.machines.find((x) => x.enterpriseCode === code && x.protocol === protocol);
    if (m === undefined) throw new Error(`no ${protocol} machine in ${code}`);
    return m.id;
  };

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
      opcuaPkiDir: join(dir.path, 'gateway-pki'),
    });
    gateways = new DemoGateways(configs, {
      logger,
      // Recorded: the broker, not the gateway, must end the session (so it sends the will).
      disconnectMqttClient: async (id) => {
        const dropped = await hub.disconnectMqttClient(id);
        drops.push({ id, dropped });
        return dropped;
      },
    });
    await gateways.start();
    faults = new DemoFaults(fleet, gateways);
    control = new FaultControlServer({ handler: faults, logger });
    await control.start();
    await waitFor(() => hub.stats().online >= plan.machines.length, 'every machine online', 30_000);
  }, 60_000);

  afterAll(async () => {
    await control?.close();
    await gateways?.close();
    await hub?.close();
    await fleet.close();
    dir.remove();
  }, 30_000);

  /** The running gateway of a machine's enterprise. */
  const gatewayFor = (id: string): Gateway => {
    const code = plan.machines.find((m) => m.id === id)?.enterpriseCode ?? '';
    const gw = gateways.gateway(code);
    if (gw === undefined) throw new Error(`no gateway running for ${code}`);
    return gw;
  };
  const onlineAtGateway = (id: string): boolean => gatewayFor(id).status().machines[id]?.online === true;

  it('offline: the gateway sees the machine go offline, and back online when cleared', async () => {
    const id = machineOf('E001', 'modbus');
    const res = await fetch(`${control.url}/faults`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'offline', target: id }),
    });
    expect(res.status).toBe(201);
    const fault = (await res.json()) as { id: number; matched: number };
    expect(fault.matched).toBe(1);
    await waitFor(() => !onlineAtGateway(id), `${id} offline at its gateway`, 15_000);
    const del = await fetch(`${control.url}/faults/${fault.id}`, { method: 'DELETE' });
    expect(await del.json()).toEqual({ cleared: 1 });
    await waitFor(() => onlineAtGateway(id), `${id} online again`, 15_000);
  }, 40_000);

  it('flap: the gateway sees the link go down and come back by itself, again and again', async () => {
    const id = machineOf('E002', 'modbus');
    const fault = await faults.addFault({ kind: 'flap', target: id, periodSeconds: 8 });
    for (let i = 0; i < 2; i++) {
      await waitFor(() => !onlineAtGateway(id), `${id} down (flap ${i + 1})`, 20_000);
      await waitFor(() => onlineAtGateway(id), `${id} up again by itself (flap ${i + 1})`, 20_000);
    }
    await faults.clearFaults(fault.id);
  }, 90_000);

  it('alarm-storm: the gateway sees the machine enter and leave the alarm state repeatedly', async () => {
    const id = machineOf('E001', 'opcua');
    const fault = await faults.addFault({ kind: 'alarm-storm', target: id });
    const state = () => gatewayFor(id).status().machines[id]?.state;
    for (let i = 0; i < 2; i++) {
      await waitFor(() => state() === 'alarm', `${id} in alarm (${i + 1})`, 15_000);
      await waitFor(() => state() === 'running', `${id} running again (${i + 1})`, 15_000);
    }
    await faults.clearFaults(fault.id);
  }, 60_000);

  it('freeze: an OPC UA client reads the same values tick after tick until it is cleared', async () => {
    const id = machineOf('E001', 'opcua');
    const endpoint = fleet.endpoints('E001').opcua!.endpointUrl;
    const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0 } });
    await client.connect(endpoint);
    let session: ClientSession | undefined;
    try {
      session = await client.createSession();
      const s = session;
      const signals = fleet.machine(id).signals.map((x) => x.name);
      const read = async () =>
        JSON.stringify(
          (
            await s.read(
              signals.map((n) => ({ nodeId: opcuaNodeId(id, n), attributeId: AttributeIds.Value })),
            )
          ).map((d) => d.value.value),
        );
      fleet.machine(id).setState('running');
      const fault = await faults.addFault({ kind: 'freeze', target: id });
      const frozen = await read();
      const tickBefore = fleet.machine(id).lastTickMs!;
      await waitFor(() => fleet.machine(id).lastTickMs! > tickBefore + 1000, 'five ticks', 10_000);
      expect(await read()).toBe(frozen);
      await faults.clearFaults(fault.id);
      await waitFor(async () => (await read()) !== frozen, `${id} values moving again`, 30_000);
    } finally {
      await session?.close();
      await client.disconnect();
    }
  }, 60_000);

  it('power-loss: the hub sees the gateway die (its will) and its machines come back with the power', async () => {
    const e1 = plan.machines.filter((m) => m.enterpriseCode === 'E001').length;
    const total = plan.machines.length;
    await waitFor(() => hub.stats().online >= total, 'every machine online first', 20_000);
    const res = await fetch(`${control.url}/faults`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'power-loss', target: 'E001' }),
    });
    expect(res.status).toBe(201);
    const fault = (await res.json()) as { id: number; matched: number };
    expect(fault.matched).toBe(1);
    expect(drops).toEqual([{ id: 'wanji-E001-GW-E001', dropped: true }]);
    expect(gateways.gateway('E001')).toBeUndefined();
    await waitFor(() => hub.stats().online <= total - e1, "E001's machines offline at the hub", 20_000);
    expect((await (await fetch(`${control.url}/faults`)).json()) as unknown[]).toHaveLength(1);
    await faults.clearFaults(fault.id);
    await waitFor(() => hub.stats().online >= total, "E001's machines online again", 30_000);
  }, 60_000);

  it('refuses a bad fault over HTTP with the reason', async () => {
    const bad = await fetch(`${control.url}/faults`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'melt', target: 'E001' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/kind must be one of/);
    const none = await fetch(`${control.url}/faults`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'offline', target: 'E404' }),
    });
    expect(none.status).toBe(400);
    expect(((await none.json()) as { error: string }).error).toMatch(/no machine of the fleet matches/);
    expect((await fetch(`${control.url}/faults/77`, { method: 'DELETE' })).status).toBe(404);
  });
});
