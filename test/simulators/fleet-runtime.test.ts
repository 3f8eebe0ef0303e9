import ModbusRTU from 'modbus-serial';
import { AttributeIds, OPCUAClient, StatusCodes } from 'node-opcua';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFleet } from '../../simulators/fleet.js';
import { SimFleet } from '../../simulators/fleet-runtime.js';
import { opcuaNodeId } from '../../simulators/opcua/server.js';

const logger = pino({ level: 'silent' });

describe('SimFleet', () => {
  const plan = generateFleet({ machines: 12, seed: 5 });
  let clock = 1_000_000;
  // Three enterprises on two OPC UA servers: exercises sharing a server between enterprises.
  const fleet = new SimFleet(plan, { logger, tickMs: 0, now: () => clock, maxOpcuaServers: 2 });

  beforeAll(async () => {
    await fleet.start();
    await fleet.start(); // idempotent
  });

  afterAll(async () => {
    await fleet.close();
    await fleet.close(); // idempotent
  });

  it('gives every enterprise endpoints for all its machines', () => {
    for (const e of plan.enterprises) {
      const ep = fleet.endpoints(e.code);
      const own = plan.machines.filter((m) => m.enterpriseCode === e.code);
      const listed = [
        ...(ep.opcua?.machines ?? []),
        ...ep.modbus.flatMap((s) => s.machines.map((m) => m.id)),
      ];
      expect(listed.sort()).toEqual(own.map((m) => m.id).sort());
      if (ep.opcua) expect(ep.opcua.endpointUrl).toMatch(/^opc\.tcp:\/\/127\.0\.0\.1:\d+$/);
      for (const s of ep.modbus) expect(s.port).toBeGreaterThan(0);
    }
    const urls = plan.enterprises.map((e) => fleet.endpoints(e.code).opcua?.endpointUrl).filter(Boolean);
    expect(new Set(urls).size).toBeLessThanOrEqual(2);
    expect(() => fleet.endpoints('E999')).toThrow(/E999/);
  });

  it('serves the machines over OPC UA and Modbus, and disconnects them on request', async () => {
    const e = plan.enterprises[0]!;
    const ep = fleet.endpoints(e.code);
    const opcuaId = ep.opcua!.machines[0]!;
    const modbus = ep.modbus[0]!;
    const unit = modbus.machines[0]!;
    clock += 5_000;
    fleet.tick(clock);

    const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0 } });
    await client.connect(ep.opcua!.endpointUrl);
    const session = await client.createSession();
    const read = async () =>
      await session.read({ nodeId: opcuaNodeId(opcuaId, 'state'), attributeId: AttributeIds.Value });
    expect((await read()).value.value).toBe(fleet.machine(opcuaId).values().state);
    fleet.disconnectMachine(opcuaId);
    expect((await read()).statusCode.value).toBe(StatusCodes.BadNotConnected.value);
    fleet.reconnectMachine(opcuaId);
    await session.close();
    await client.disconnect();

    const mb = new ModbusRTU.default();
    await mb.connectTCP(modbus.host, { port: modbus.port });
    mb.setTimeout(300);
    mb.setID(unit.unitId);
    expect((await mb.readHoldingRegisters(0, 1)).data[0]).toBe(fleet.machine(unit.id).values().state);
    fleet.disconnectMachine(unit.id);
    await expect(mb.readHoldingRegisters(0, 1)).rejects.toMatchObject({ errno: 'ETIMEDOUT' });
    fleet.reconnectMachine(unit.id);
    await new Promise<void>((resolve) => mb.close(() => resolve()));
  });

  it('keeps ticking the other machines when one throws', () => {
    const [bad, good] = fleet.machines();
    bad!.tick = () => {
      throw new Error('boom');
    };
    const before = good!.lastTickMs;
    clock += 1_000;
    expect(() => fleet.tick(clock)).not.toThrow();
    expect(good!.lastTickMs).toBe(clock);
    expect(good!.lastTickMs).not.toBe(before);
  });
});

describe('SimFleet timer', () => {
  it('ticks on its own and stops on close', async () => {
    const fleet = new SimFleet(generateFleet({ machines: 2, seed: 1, enterprises: 1 }), {
      logger,
      tickMs: 20,
      maxOpcuaServers: 1,
    });
    await fleet.start();
    const m = fleet.machines()[0]!;
    const first = m.lastTickMs;
    await new Promise((r) => setTimeout(r, 100));
    expect(m.lastTickMs).toBeGreaterThan(first!);
    await fleet.close();
    const last = m.lastTickMs;
    await new Promise((r) => setTimeout(r, 60));
    expect(m.lastTickMs).toBe(last);
  });
});
