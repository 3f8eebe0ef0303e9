import {
  AttributeIds,
  type ClientSession,
  ClientSubscription,
  type DataValue,
  makeBrowsePath,
  OPCUAClient,
  StatusCodes,
  TimestampsToReturn,
} from 'node-opcua';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimMachine } from '../../simulators/machine.js';
import { OpcuaSimServer, opcuaNodeId, SIM_NAMESPACE_URI } from '../../simulators/opcua/server.js';
import { waitFor } from '../support/wait.js';

const logger = pino({ level: 'silent' });

describe('OPC UA simulator server', () => {
  const cnc = new SimMachine({ id: 'E001-CNC-001', kind: 'cnc', seed: 7 });
  const loom = new SimMachine({ id: 'E001-LOOM-002', kind: 'loom', seed: 8, dataDepth: 'state+count' });
  const server = new OpcuaSimServer({ logger, machines: [cnc, loom] });
  const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0 } });
  let session: ClientSession;

  beforeAll(async () => {
    for (const t of [0, 60_000, 120_000]) {
      cnc.tick(t);
      loom.tick(t);
    }
    await server.start();
    await server.start(); // idempotent
    await client.connect(server.endpointUrl);
    session = await client.createSession();
  });

  afterAll(async () => {
    await session?.close();
    await client.disconnect();
    await server.close();
    await server.close(); // idempotent
  });

  async function readAll(m: SimMachine): Promise<Map<string, DataValue>> {
    const names = m.signals.map((s) => s.name);
    const values = await session.read(
      names.map((n) => ({ nodeId: opcuaNodeId(m.id, n), attributeId: AttributeIds.Value })),
    );
    return new Map(names.map((n, i) => [n, values[i] as DataValue]));
  }

  it('reports the real port and puts its namespace at the index opcuaNodeId uses', async () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.endpointUrl).toBe(`opc.tcp://127.0.0.1:${server.port}`);
    const nsArray = await session.readNamespaceArray();
    expect(nsArray.indexOf(SIM_NAMESPACE_URI)).toBe(1);
  });

  it("serves every signal with the simulator's value", async () => {
    for (const m of [cnc, loom]) {
      const read = await readAll(m);
      const expected = m.values();
      expect([...read.keys()].sort()).toEqual(Object.keys(expected).sort());
      for (const [name, dv] of read) {
        expect(dv.statusCode.value, name).toBe(StatusCodes.Good.value);
        expect(dv.value.value, name).toEqual(expected[name]);
      }
    }
    // data depth: a state+count loom has no rpm variable
    const [rpm] = await session.read([
      { nodeId: opcuaNodeId(loom.id, 'rpm'), attributeId: AttributeIds.Value },
    ]);
    expect(rpm?.statusCode.value).toBe(StatusCodes.BadNodeIdUnknown.value);
  });

  it('serves pinned values, and BadNotConnected while disconnected', async () => {
    cnc.setSignal('spindleSpeed', 1234.5);
    cnc.setSignal('alarmText', '主轴过载');
    let read = await readAll(cnc);
    expect(read.get('spindleSpeed')?.value.value).toBe(1234.5);
    expect(read.get('alarmText')?.value.value).toBe('主轴过载');

    cnc.disconnect();
    read = await readAll(cnc);
    for (const [name, dv] of read) expect(dv.statusCode.value, name).toBe(StatusCodes.BadNotConnected.value);
    cnc.reconnect();
    read = await readAll(cnc);
    expect(read.get('spindleSpeed')?.statusCode.value).toBe(StatusCodes.Good.value);
    cnc.clearSignals();
  });

  it('serves analog signals as AnalogItems with an EURange, and statuses set for tests', async () => {
    const [range] = await session.translateBrowsePath([
      makeBrowsePath(opcuaNodeId(cnc.id, 'spindleLoad'), '.EURange'),
    ]);
    const target = range?.targets?.[0]?.targetId;
    expect(target).toBeDefined();
    const eu = await session.read({ nodeId: target!.toString(), attributeId: AttributeIds.Value });
    expect(eu.value.value).toMatchObject({ low: 0, high: 200 });
    const [none] = await session.translateBrowsePath([
      makeBrowsePath(opcuaNodeId(cnc.id, 'state'), '.EURange'),
    ]);
    expect(none?.statusCode.isGood()).toBe(false);

    server.setStatus(cnc.id, 'spindleLoad', StatusCodes.UncertainLastUsableValue);
    let dv = (await readAll(cnc)).get('spindleLoad');
    expect(dv?.statusCode.value).toBe(StatusCodes.UncertainLastUsableValue.value);
    expect(dv?.value.value).toBe(cnc.value('spindleLoad'));
    server.setStatus(cnc.id, 'spindleLoad', StatusCodes.BadSensorFailure);
    dv = (await readAll(cnc)).get('spindleLoad');
    expect(dv?.statusCode.value).toBe(StatusCodes.BadSensorFailure.value);
    expect(dv?.value.value).toBeNull();
    server.setStatus(cnc.id, 'spindleLoad', undefined);
    expect((await readAll(cnc)).get('spindleLoad')?.statusCode.value).toBe(StatusCodes.Good.value);
  });

  it('counts sessions and monitored items on the server side', async () => {
    expect(server.stats()).toMatchObject({ currentSessions: 1, currentSubscriptions: 0, monitoredItems: 0 });
    expect(server.stats().cumulatedSessions).toBeGreaterThanOrEqual(1);
  });

  /** The loom's picks, monitored at `samplingInterval`: every notification, and the subscription. */
  async function watchPicks(
    samplingInterval: number,
  ): Promise<{ seen: DataValue[]; subscription: ClientSubscription; revisedMs: number }> {
    const subscription = ClientSubscription.create(session, {
      requestedPublishingInterval: 100,
      requestedMaxKeepAliveCount: 10,
      publishingEnabled: true,
    });
    const item = await subscription.monitor(
      { nodeId: opcuaNodeId(loom.id, 'picks'), attributeId: AttributeIds.Value },
      { samplingInterval, queueSize: 10, discardOldest: true },
      TimestampsToReturn.Both,
    );
    const seen: DataValue[] = [];
    item.on('changed', (dv: DataValue) => seen.push(dv));
    await waitFor(() => seen.length > 0, 'the first value');
    return { seen, subscription, revisedMs: item.result?.revisedSamplingInterval ?? 0 };
  }

  it('delivers changes to a subscription', async () => {
    const { seen, subscription } = await watchPicks(100);
    try {
      loom.setSignal('picks', 424242);
      await waitFor(() => seen.some((dv) => dv.value.value === 424242), 'the change to 424242');
    } finally {
      await subscription.terminate();
    }
  });

  it('serves sampling interval 0 exception-based: each change is pushed, with no sampling', async () => {
    loom.clearSignals();
    const { seen, subscription, revisedMs } = await watchPicks(0);
    try {
      const initial = seen.length;
      loom.tick(180_000);
      await waitFor(() => seen.length > initial, 'the tick pushed');
      const pushed = seen.at(-1)!;
      expect(pushed.value.value).toBe(loom.value('picks'));
      expect(pushed.sourceTimestamp?.getTime()).toBe(180_000);
      // Two changes in one turn both arrive (a sampled item would see only the last): the first
      // at once, once the tick's coalescing window (the revised interval) has closed, the second
      // when the window it opens closes.
      await new Promise((r) => setTimeout(r, 2 * revisedMs + 50));
      loom.setSignal('picks', 111);
      loom.setSignal('picks', 222);
      await waitFor(() => seen.at(-1)?.value.value === 222, 'the second change');
      expect(seen.map((dv) => dv.value.value)).toContain(111);
      // A pinned value, a status override and a disconnect are pushed at once too.
      loom.setSignal('picks', 515151);
      await waitFor(() => seen.at(-1)?.value.value === 515151, 'the pinned value pushed');
      server.setStatus(loom.id, 'picks', StatusCodes.UncertainLastUsableValue);
      await waitFor(
        () => seen.at(-1)?.statusCode.equals(StatusCodes.UncertainLastUsableValue) === true,
        'the status pushed',
      );
      server.setStatus(loom.id, 'picks', undefined);
      loom.disconnect();
      await waitFor(
        () => seen.at(-1)?.statusCode.equals(StatusCodes.BadNotConnected) === true,
        'the disconnect',
      );
      loom.reconnect();
      await waitFor(() => seen.at(-1)?.value.value === 515151, 'back with its value');
    } finally {
      loom.clearSignals();
      await subscription.terminate();
    }
  });
});
